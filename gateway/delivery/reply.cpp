#include "gateway/delivery/reply.h"

#include <cctype>

namespace gw::delivery {
namespace {

class ReplyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "delivery.reply"; }
  std::string message(int ev) const override {
    switch (static_cast<ReplyErrc>(ev)) {
      case ReplyErrc::Malformed: return "malformed SMTP reply line";
      case ReplyErrc::MixedCodes: return "multiline SMTP reply with differing codes";
      case ReplyErrc::LineTooLong: return "SMTP reply line too long";
    }
    return "unknown reply error";
  }
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

const std::error_category& reply_category() noexcept {
  static const ReplyCategory category;
  return category;
}

std::error_code make_error_code(ReplyErrc e) noexcept { return {static_cast<int>(e), reply_category()}; }

std::string Reply::text() const {
  if (lines.empty()) return {};
  std::string_view first = lines.front();
  if (enhanced) {
    const auto space = first.find(' ');
    first = space == std::string_view::npos ? std::string_view{} : first.substr(space + 1);
  }
  return std::string(first);
}

std::string Reply::str() const {
  std::string out = std::to_string(code);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += i == 0 ? " " : "; ";
    out += lines[i];
  }
  return out;
}

std::optional<Result<Reply>> ReplyParser::next() {
  if (failed_) return make_error(ReplyErrc::Malformed, "parser already failed");
  for (;;) {
    const auto eol = buffer_.find('\n', scan_);
    if (eol == std::string::npos) {
      if (buffer_.size() - scan_ > kMaxLineLength) {
        failed_ = true;
        return make_error(ReplyErrc::LineTooLong);
      }
      return std::nullopt;
    }
    std::string_view line(buffer_.data() + scan_, eol - scan_);
    scan_ = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLineLength) {
      failed_ = true;
      return make_error(ReplyErrc::LineTooLong);
    }
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) || line[0] < '2' ||
        line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      failed_ = true;
      return make_error(ReplyErrc::Malformed, "line \"" + std::string(line.substr(0, 64)) + "\"");
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    const bool last = line.size() == 3 || line[3] == ' ';
    if (partial_.lines.empty()) {
      partial_.code = code;
    } else if (partial_.code != code) {
      failed_ = true;
      return make_error(ReplyErrc::MixedCodes);
    }
    partial_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    if (!last) continue;

    Reply reply = std::move(partial_);
    partial_ = Reply{};
    const std::string& first = reply.lines.front();
    const auto token_end = first.find(' ');
    if (auto status = EnhancedStatus::parse(std::string_view(first).substr(0, token_end));
        status && status->klass == reply.code / 100) {
      reply.enhanced = status;
    }
    // Drop consumed bytes now and then so a long-lived connection's buffer stays small.
    consumed_ = scan_;
    if (consumed_ > 8192 || consumed_ == buffer_.size()) {
      buffer_.erase(0, consumed_);
      scan_ -= consumed_;
      consumed_ = 0;
    }
    return reply;
  }
}

}  // namespace gw::delivery
