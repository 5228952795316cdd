// QueueId: the name of one queued message, as shown in logs, the "250 2.6.0 queued
// as <id>" reply, the admin CLI and the spool's file names.
//
// Contract: an id is 24 upper-case hexadecimal characters -- 14 for the arrival time
// in microseconds since the Unix epoch, 4 for a per-process counter and 6 random --
// so ids sort by arrival, stay unique across restarts and are safe as file names.
// This header is only the value type (parse, compare, hash); ids are minted by
// gw::queue::QueueIdGenerator (gateway/queue/queue_id_generator.h). No I/O.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace gw {

class QueueId {
 public:
  static constexpr std::size_t kLength = 24;
  static constexpr std::size_t kTimeDigits = 14;
  static constexpr std::size_t kCounterDigits = 4;
  static constexpr std::size_t kRandomDigits = 6;

  QueueId() = default;

  // The id when `text` has exactly the form above, nullopt otherwise (a file name
  // that does not parse is not a queue file).
  static std::optional<QueueId> parse(std::string_view text) {
    if (text.size() != kLength) return std::nullopt;
    for (char c : text) {
      const bool hex_digit = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
      if (!hex_digit) return std::nullopt;
    }
    return QueueId(std::string(text));
  }

  const std::string& str() const noexcept { return text_; }
  bool empty() const noexcept { return text_.empty(); }

  friend auto operator<=>(const QueueId&, const QueueId&) = default;
  friend bool operator==(const QueueId&, const QueueId&) = default;

 private:
  explicit QueueId(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace gw

template <>
struct std::hash<gw::QueueId> {
  std::size_t operator()(const gw::QueueId& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
