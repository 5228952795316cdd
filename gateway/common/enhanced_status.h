// EnhancedStatus: an RFC 3463 enhanced mail system status code (class.subject.detail).
//
// Used in SMTP replies, per-recipient envelope state and DSNs. Pure value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw {

struct EnhancedStatus {
  std::uint8_t klass = 2;     // 2 success, 4 persistent transient, 5 permanent
  std::uint16_t subject = 0;
  std::uint16_t detail = 0;

  std::string str() const {
    return std::to_string(klass) + "." + std::to_string(subject) + "." + std::to_string(detail);
  }
  bool permanent() const noexcept { return klass == 5; }
  bool transient() const noexcept { return klass == 4; }
  friend bool operator==(const EnhancedStatus&, const EnhancedStatus&) = default;

  // Parses "x.y.z"; nullopt when the text is not an enhanced status code.
  static std::optional<EnhancedStatus> parse(std::string_view text);
};

}  // namespace gw
