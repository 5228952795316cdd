#include "gateway/dsn/dsn_builder.h"

#include <array>
#include <memory>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace gw::dsn {
namespace {

constexpr std::string_view kCrlf = "\r\n";
// Keeps header lines well under RFC 5322's 998-octet limit.
constexpr std::size_t kMaxFieldText = 900;

// Peer-supplied text in a header or report field: no CR/LF (no injected
// fields), no other controls, no 8-bit octets unless the report is SMTPUTF8.
std::string clean(std::string_view text, bool allow_utf8, std::size_t max_len = kMaxFieldText) {
  std::string out;
  out.reserve(std::min(text.size(), max_len));
  bool last_space = false;
  for (unsigned char c : text) {
    if (out.size() >= max_len) break;
    if (c == '\r' || c == '\n' || c == '\t') {
      if (!last_space && !out.empty()) out += ' ';
      last_space = true;
      continue;
    }
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && !allow_utf8)) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
    last_space = c == ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool has_non_ascii(std::string_view text) {
  for (unsigned char c : text)
    if (c >= 0x80) return true;
  return false;
}

std::string_view subject_of(ReportType type) {
  switch (type) {
    case ReportType::Failure: return "Delivery Status Notification (Failure)";
    case ReportType::Delay: return "Delivery Status Notification (Delay)";
    case ReportType::Success: return "Delivery Status Notification (Success)";
  }
  return "Delivery Status Notification";
}

// "rfc822;user@example.com" -> "rfc822; user@example.com".
std::string typed_address(std::string_view value, bool allow_utf8) {
  const auto semi = value.find(';');
  if (semi == std::string_view::npos) return "rfc822; " + clean(value, allow_utf8);
  std::string_view type = value.substr(0, semi), addr = value.substr(semi + 1);
  while (!addr.empty() && addr.front() == ' ') addr.remove_prefix(1);
  return clean(type, false) + "; " + clean(addr, allow_utf8);
}

std::string human_text(const ReportContent& r) {
  const bool utf8 = r.smtputf8;
  std::string text = "This is the mail system at host " + clean(r.reporting_mta, false) + ".\r\n\r\n";
  switch (r.type) {
    case ReportType::Failure:
      text +=
          "Your message could not be delivered to one or more recipients.\r\n"
          "The reason for each is given below; the delivery report is attached.\r\n\r\n";
      break;
    case ReportType::Delay:
      text += "Delivery of your message to the following recipients has been delayed.\r\n";
      if (!r.recipients.empty() && r.recipients.front().will_retry_until_unix != 0)
        text += "The mail system will keep trying until " + format_date(r.recipients.front().will_retry_until_unix) +
                ".\r\n";
      else
        text += "The mail system will keep trying.\r\n";
      text += "You do not need to send the message again.\r\n\r\n";
      break;
    case ReportType::Success:
      text += "Your message was delivered to the following recipients.\r\n\r\n";
      break;
  }
  for (const auto& rcpt : r.recipients) {
    text += "<" + clean(rcpt.final_recipient, utf8) + ">: ";
    switch (rcpt.action) {
      case Action::Delivered: text += "delivered"; break;
      case Action::Relayed: text += "relayed to a system that does not return delivery notifications"; break;
      case Action::Expanded: text += "delivered to the members of the distribution list"; break;
      case Action::Failed:
      case Action::Delayed:
        text += rcpt.diagnostic.empty() ? "status " + rcpt.status.str() : clean(rcpt.diagnostic, utf8);
        break;
    }
    text += kCrlf;
    if (!rcpt.remote_mta.empty()) text += "    (remote host " + clean(rcpt.remote_mta, false) + ")\r\n";
  }
  text += kCrlf;
  if (r.returned_headers_for_size)
    text += "The original message was too large to return in full; its header is attached.\r\n";
  else if (r.ret == ReturnContent::Full)
    text += "The original message is attached.\r\n";
  else
    text += "The header of the original message is attached.\r\n";
  return text;
}

std::string delivery_status(const ReportContent& r) {
  const bool utf8 = r.smtputf8;
  std::string out = "Reporting-MTA: dns; " + clean(r.reporting_mta, false) + "\r\n";
  if (!r.envid.empty()) out += "Original-Envelope-Id: " + clean(r.envid, false) + "\r\n";
  if (!r.received_from_mta.empty()) out += "Received-From-MTA: dns; " + clean(r.received_from_mta, false) + "\r\n";
  if (r.arrival_unix != 0) out += "Arrival-Date: " + format_date(r.arrival_unix) + "\r\n";
  for (const auto& rcpt : r.recipients) {
    out += kCrlf;
    // RFC 6533 section 3: non-ASCII addresses use the "utf-8" address type.
    const std::string type = utf8 && has_non_ascii(rcpt.final_recipient) ? "utf-8" : "rfc822";
    out += "Final-Recipient: " + type + "; " + clean(rcpt.final_recipient, utf8) + "\r\n";
    if (!rcpt.original_recipient.empty())
      out += "Original-Recipient: " + typed_address(rcpt.original_recipient, utf8) + "\r\n";
    out += "Action: " + std::string(action_name(rcpt.action)) + "\r\n";
    out += "Status: " + rcpt.status.str() + "\r\n";
    if (!rcpt.remote_mta.empty()) out += "Remote-MTA: dns; " + clean(rcpt.remote_mta, false) + "\r\n";
    if (!rcpt.diagnostic.empty()) {
      const bool smtp_form = rcpt.diagnostic.size() >= 3 && std::isdigit(static_cast<unsigned char>(rcpt.diagnostic[0]));
      out += std::string("Diagnostic-Code: ") + (smtp_form ? "smtp; " : "X-Gateway; ") + clean(rcpt.diagnostic, utf8) +
             "\r\n";
    }
    if (rcpt.last_attempt_unix != 0) out += "Last-Attempt-Date: " + format_date(rcpt.last_attempt_unix) + "\r\n";
    if (rcpt.action == Action::Delayed && rcpt.will_retry_until_unix != 0)
      out += "Will-Retry-Until: " + format_date(rcpt.will_retry_until_unix) + "\r\n";
  }
  return out;
}

}  // namespace

std::string_view action_name(Action action) noexcept {
  switch (action) {
    case Action::Failed: return "failed";
    case Action::Delayed: return "delayed";
    case Action::Delivered: return "delivered";
    case Action::Relayed: return "relayed";
    case Action::Expanded: return "expanded";
  }
  return "failed";
}

std::string format_date(std::int64_t unix_seconds) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_seconds tp{seconds{unix_seconds}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const weekday wd{day};
  const hh_mm_ss hms{tp - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %u %s %d %02d:%02d:%02d +0000", kDays[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string make_boundary(std::string_view queue_id, std::int64_t unix_seconds, std::uint64_t sequence) {
  std::string safe;
  for (char c : queue_id)
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) safe += c;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llx.%llx", static_cast<unsigned long long>(unix_seconds),
                static_cast<unsigned long long>(sequence));
  // "=_" cannot occur in base64, nor in quoted-printable text.
  return "=_dsn." + safe + "." + buf;
}

bool valid_boundary(std::string_view boundary) {
  // RFC 2046 5.1.1 bchars, at most 70, not ending in a space.
  if (boundary.empty() || boundary.size() > 70 || boundary.back() == ' ') return false;
  for (char c : boundary)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("'()+_,-./:=? ").find(c) == std::string_view::npos)
      return false;
  return true;
}

// Copies the original with CRLF line ends; in header mode stops at the blank
// line that ends the header section.
class ReportStream::Copier {
 public:
  explicit Copier(bool headers_only) : headers_only_(headers_only) {}

  void put(std::string_view octets, std::string& out) {
    out.reserve(out.size() + octets.size() + octets.size() / 32 + 2);
    for (std::size_t i = 0; i < octets.size() && !done_; ++i) put(octets[i], out);
  }
  bool done() const noexcept { return done_; }
  // What ends the copied part.
  std::string tail() const {
    if (pending_cr_ || line_length_ > 0) return "\r\n";  // unterminated last line
    if (!done_ && !wrote_any_) return "\r\n";            // empty original: keep the part well-formed
    return {};
  }

 private:
  void put(char c, std::string& chunk) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        end_line(chunk);
        return;
      }
      chunk += '\r';  // a lone CR is kept as data
      ++line_length_;
    }
    if (c == '\r') {
      pending_cr_ = true;
    } else if (c == '\n') {
      end_line(chunk);
    } else {
      chunk += c;
      ++line_length_;
      wrote_any_ = true;
    }
  }

  void end_line(std::string& chunk) {
    if (headers_only_ && line_length_ == 0) {
      done_ = true;
      return;
    }
    chunk += "\r\n";
    line_length_ = 0;
    wrote_any_ = true;
  }

  bool headers_only_;
  bool pending_cr_ = false;
  bool done_ = false;
  bool wrote_any_ = false;
  std::size_t line_length_ = 0;
};

ReportStream::ReportStream(ReportStream&&) noexcept = default;
ReportStream& ReportStream::operator=(ReportStream&&) noexcept = default;
ReportStream::~ReportStream() = default;

Result<ReportStream> ReportStream::start(const ReportContent& r) {
  if (!valid_boundary(r.boundary))
    return make_error(std::make_error_code(std::errc::invalid_argument), "dsn: invalid MIME boundary");
  const bool utf8 = r.smtputf8;
  // 8BITMIME originals may carry 8-bit octets in the header too, so even RET=HDRS is 8bit.
  const bool eight_bit = utf8 || r.original_8bit;
  const std::string delimiter = "\r\n--" + r.boundary;

  std::string head;
  head += "Date: " + format_date(r.date_unix) + "\r\n";
  head += "From: Mail Delivery System <postmaster@" + clean(r.reporting_mta, false) + ">\r\n";
  head += "To: " + (r.to.empty() ? std::string("<>") : clean(r.to, utf8)) + "\r\n";
  head += "Subject: " + std::string(subject_of(r.type)) + "\r\n";
  head += "Message-ID: " + clean(r.message_id, false) + "\r\n";
  if (!r.original_message_id.empty()) head += "References: " + clean(r.original_message_id, utf8) + "\r\n";
  // RFC 3834: an automatic response, so responders do not answer it.
  head += "Auto-Submitted: auto-replied\r\n";
  head += "MIME-Version: 1.0\r\n";
  head += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + r.boundary + "\"\r\n";
  if (eight_bit) head += "Content-Transfer-Encoding: 8bit\r\n";
  head += "\r\nThis is a MIME-encapsulated message.\r\n";

  head += delimiter + "\r\n";
  head += "Content-Description: Notification\r\n";
  head += std::string("Content-Type: text/plain; charset=") + (utf8 ? "utf-8" : "us-ascii") + "\r\n";
  if (utf8) head += "Content-Transfer-Encoding: 8bit\r\n";
  head += "\r\n" + human_text(r);

  head += delimiter + "\r\n";
  head += "Content-Description: Delivery report\r\n";
  head += std::string("Content-Type: ") +
          (utf8 ? "message/global-delivery-status" : "message/delivery-status") + "\r\n";
  if (utf8) head += "Content-Transfer-Encoding: 8bit\r\n";
  head += "\r\n" + delivery_status(r);

  head += delimiter + "\r\n";
  if (r.ret == ReturnContent::Full) {
    head += "Content-Description: Undelivered message\r\n";
    head += std::string("Content-Type: ") + (utf8 ? "message/global" : "message/rfc822") + "\r\n";
    if (eight_bit) head += "Content-Transfer-Encoding: 8bit\r\n";
  } else {
    head += "Content-Description: Message header\r\n";
    head += std::string("Content-Type: ") + (utf8 ? "message/global-headers" : "text/rfc822-headers") + "\r\n";
    if (eight_bit) head += "Content-Transfer-Encoding: 8bit\r\n";
  }
  head += "\r\n";

  ReportStream stream;
  stream.head_ = std::move(head);
  stream.closing_ = delimiter + "--\r\n";
  stream.copier_ = std::make_unique<Copier>(r.ret == ReturnContent::Headers);
  return stream;
}

void ReportStream::put_original(std::string_view octets, std::string& out) { copier_->put(octets, out); }

bool ReportStream::original_done() const noexcept { return copier_->done(); }

std::string ReportStream::finish() const { return copier_->tail() + closing_; }

Result<void> write_report(const ReportContent& r, BodySource& original, ReportSink& out) {
  auto stream = ReportStream::start(r);
  if (!stream) return std::unexpected(stream.error());
  if (auto w = out.write(stream->head()); !w) return w;
  std::array<char, 16384> buffer;
  std::string chunk;
  while (!stream->original_done()) {
    auto got = original.read(buffer);
    if (!got) return std::unexpected(got.error());
    if (*got == 0) break;
    chunk.clear();
    stream->put_original(std::string_view(buffer.data(), *got), chunk);
    if (!chunk.empty())
      if (auto w = out.write(chunk); !w) return w;
  }
  return out.write(stream->finish());
}

ReportContent report_from_envelope(const gw::envelope::Envelope& envelope, const PlannedReport& planned,
                                   const ReportSettings& settings) {
  ReportContent r;
  r.type = planned.type;
  r.reporting_mta = settings.reporting_mta;
  r.to = envelope.sender();
  r.envid = envelope.envid();
  r.received_from_mta = envelope.helo();
  r.arrival_unix = envelope.arrival_unix();
  r.date_unix = settings.now_unix;
  r.message_id = settings.message_id;
  r.original_message_id = envelope.message_id();
  r.boundary = settings.boundary;
  r.smtputf8 = envelope.smtputf8();
  r.original_8bit = envelope.body_type() == gw::envelope::BODY_8BITMIME;

  // RFC 3461 4.3: RET asks for the content of failure reports. Delay and
  // success ("delivered", "relayed", "expanded") reports carry the header
  // section only, whatever RET says, so nobody can have the gateway reflect a
  // large message to a third party by naming it as the sender with
  // NOTIFY=SUCCESS RET=FULL.
  if (planned.type != ReportType::Failure) {
    r.ret = ReturnContent::Headers;
  } else {
    r.ret = envelope.ret() == gw::envelope::RET_HDRS ? ReturnContent::Headers : ReturnContent::Full;
  }
  // Binary MIME cannot be embedded in a non-binary report (RFC 3030); size caps the rest.
  if (r.ret == ReturnContent::Full && envelope.body_type() == gw::envelope::BODY_BINARYMIME)
    r.ret = ReturnContent::Headers;
  if (r.ret == ReturnContent::Full && settings.max_full_return_size != 0 &&
      envelope.body_size() > settings.max_full_return_size) {
    r.ret = ReturnContent::Headers;
    r.returned_headers_for_size = true;
  }

  for (int index : planned.recipients) {
    const auto& src = envelope.recipients(index);
    RecipientReport rcpt;
    rcpt.final_recipient = src.address();
    rcpt.original_recipient = src.orcpt();
    switch (src.state()) {
      case gw::envelope::FAILED: rcpt.action = Action::Failed; break;
      case gw::envelope::DELIVERED: rcpt.action = Action::Delivered; break;
      case gw::envelope::RELAYED: rcpt.action = Action::Relayed; break;
      case gw::envelope::EXPANDED: rcpt.action = Action::Expanded; break;
      default: rcpt.action = Action::Delayed; break;
    }
    const EnhancedStatus fallback = rcpt.action == Action::Failed    ? EnhancedStatus{5, 0, 0}
                                    : rcpt.action == Action::Delayed ? EnhancedStatus{4, 0, 0}
                                                                     : EnhancedStatus{2, 0, 0};
    rcpt.status = EnhancedStatus::parse(src.status()).value_or(fallback);
    rcpt.remote_mta = src.remote_mta();
    if (src.reply_code() != 0) {
      const std::string code = std::to_string(src.reply_code());
      rcpt.diagnostic = src.diagnostic().starts_with(code)
                            ? src.diagnostic()
                            : code + " " + rcpt.status.str() + (src.diagnostic().empty() ? "" : " " + src.diagnostic());
    } else {
      rcpt.diagnostic = src.diagnostic();
    }
    if (src.attempts() > 0) rcpt.last_attempt_unix = settings.now_unix;
    if (rcpt.action == Action::Delayed) rcpt.will_retry_until_unix = settings.retry_until_unix;
    r.recipients.push_back(std::move(rcpt));
  }
  return r;
}

}  // namespace gw::dsn
