// Reply: one SMTP server reply (RFC 5321 4.2), possibly multi-line, with its RFC
// 3463 enhanced status code (RFC 2034).
//
// Contract: wire() renders "ddd-text\r\n" for every line but the last and
// "ddd text\r\n" for the last; when an enhanced status is present it prefixes
// every line's text, as RFC 2034 3 requires. The greeting and the EHLO/HELO
// replies carry no enhanced status (RFC 2034 3 exempts them). Text is taken as
// given: the session only puts printable ASCII into it.
//
// Not responsible for: choosing codes (Session does) or writing to a socket.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/common/enhanced_status.h"

namespace gw::smtp {

struct Reply {
  int code = 250;
  std::optional<EnhancedStatus> status;
  std::vector<std::string> lines;  // at least one; may be empty strings

  Reply() = default;
  Reply(int reply_code, std::optional<EnhancedStatus> enhanced, std::string text)
      : code(reply_code), status(enhanced), lines{std::move(text)} {}
  Reply(int reply_code, std::optional<EnhancedStatus> enhanced, std::vector<std::string> text_lines)
      : code(reply_code), status(enhanced), lines(std::move(text_lines)) {}

  bool positive() const noexcept { return code >= 200 && code < 400; }
  bool transient() const noexcept { return code >= 400 && code < 500; }
  bool permanent() const noexcept { return code >= 500; }

  // The reply as it is written to the peer, CRLF-terminated.
  std::string wire() const;
  // "250 2.1.0 Sender OK" (first line only), for logs and test messages.
  std::string summary() const;

  friend bool operator==(const Reply&, const Reply&) = default;
};

// Shorthand for enhanced status literals: status(5, 7, 1).
constexpr EnhancedStatus status(int klass, int subject, int detail) {
  return EnhancedStatus{static_cast<std::uint8_t>(klass), static_cast<std::uint16_t>(subject),
                        static_cast<std::uint16_t>(detail)};
}

}  // namespace gw::smtp
