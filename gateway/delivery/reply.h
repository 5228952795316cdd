// Reply and ReplyParser: SMTP/LMTP server replies as the outbound client reads them.
//
// ReplyParser is sans-I/O: the driver put()s whatever bytes arrived (one octet or
// many), then takes complete replies with next(). A reply is one or more lines
// "ddd-text" ending with "ddd text" or "ddd" (RFC 5321 4.2); every line of one
// reply must carry the same code, otherwise the peer is broken and next()
// reports a protocol error. Lines end in CRLF; a bare LF is tolerated because
// being strict here only delays mail. The enhanced status code (RFC 2034/3463)
// is taken from the start of the first line when its class matches the reply's
// first digit. Lines longer than kMaxLineLength are a protocol error.
// Not responsible for deciding what a reply means; ClientSession does that.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gateway/common/enhanced_status.h"
#include "gateway/common/result.h"

namespace gw::delivery {

enum class ReplyErrc {
  Malformed = 1,     // not "ddd", "ddd text" or "ddd-text"
  MixedCodes,        // lines of one multiline reply disagree on the code
  LineTooLong,       // longer than ReplyParser::kMaxLineLength
};

const std::error_category& reply_category() noexcept;
std::error_code make_error_code(ReplyErrc e) noexcept;

struct Reply {
  int code = 0;                              // 250, 354, 451 ...
  std::optional<EnhancedStatus> enhanced;    // from the first line, when present
  std::vector<std::string> lines;            // text after "ddd-"/"ddd ", CRLF removed

  bool positive_completion() const noexcept { return code / 100 == 2; }
  bool intermediate() const noexcept { return code / 100 == 3; }
  bool transient() const noexcept { return code / 100 == 4; }
  bool permanent() const noexcept { return code / 100 == 5; }

  // The first line's text without the enhanced status code.
  std::string text() const;
  // "250 2.0.0 text" in one line for logs and DSN diagnostic codes (lines joined with "; ").
  std::string str() const;
};

class ReplyParser {
 public:
  // RFC 5321 4.5.3.1.5 allows 512 octets; real servers exceed it in EHLO and
  // banner lines, so the cap is generous but finite.
  static constexpr std::size_t kMaxLineLength = 4096;

  void put(std::string_view bytes) { buffer_.append(bytes); }

  // The next complete reply; nullopt when more bytes are needed. After an
  // error the parser is unusable (the connection must be dropped).
  std::optional<Result<Reply>> next();

  // Bytes received but not yet consumed as a complete reply.
  std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;   // bytes of buffer_ already part of returned replies
  std::size_t scan_ = 0;       // where the current reply's next line starts
  Reply partial_;
  bool failed_ = false;
};

}  // namespace gw::delivery

namespace std {
template <>
struct is_error_code_enum<gw::delivery::ReplyErrc> : true_type {};
}  // namespace std
