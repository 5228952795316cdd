// The DSN builder: writes one RFC 3464 delivery status notification
// (multipart/report; report-type=delivery-status) for one planned report.
//
// Layout: a human-readable text/plain part; the message/delivery-status part
// (per-message fields Reporting-MTA, Original-Envelope-Id, Received-From-MTA,
// Arrival-Date; per-recipient Final-Recipient, Original-Recipient, Action,
// Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until);
// then the original message (RET=FULL, message/rfc822) or only its header
// (RET=HDRS, text/rfc822-headers). With SMTPUTF8 the RFC 6533 types are used
// (message/global-delivery-status, message/global, message/global-headers) and
// non-ASCII addresses get the "utf-8" address type.
// Contract: the original is streamed from a BodySource to a ReportSink in
// bounded chunks, never held whole in memory; output lines end in CRLF (bare LF
// in the original is repaired); text that came from peers is stripped of
// CR/LF so it cannot inject header fields. The builder reads no clock and no
// randomness: the caller passes the date, Message-ID and boundary, so output
// is reproducible (golden tests). Not responsible for deciding who gets a
// report (report_plan.h) or for sending it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/enhanced_status.h"
#include "gateway/common/result.h"
#include "gateway/dsn/report_plan.h"
#include "proto/envelope.pb.h"

namespace gw::dsn {

enum class Action { Failed, Delayed, Delivered, Relayed, Expanded };
std::string_view action_name(Action action) noexcept;  // "failed" ...

struct RecipientReport {
  std::string final_recipient;        // the address as delivered to / attempted
  std::string original_recipient;     // ORCPT "rfc822;user@example.com"; empty = none
  Action action = Action::Failed;
  EnhancedStatus status{5, 0, 0};
  std::string remote_mta;             // host name; empty = none
  std::string diagnostic;             // "550 5.1.1 <x@y>: user unknown"; empty = none
  std::int64_t last_attempt_unix = 0; // 0 = none
  std::int64_t will_retry_until_unix = 0;  // delayed recipients only; 0 = none
};

enum class ReturnContent { Full, Headers };

struct ReportContent {
  ReportType type = ReportType::Failure;
  std::string reporting_mta;          // FQDN of this server (virtual server FQDN)
  std::string to;                     // the original reverse-path
  std::string envid;                  // RFC 3461 ENVID; empty = none
  std::string received_from_mta;      // HELO name of the client; empty = none
  std::int64_t arrival_unix = 0;
  std::int64_t date_unix = 0;         // Date: of the report
  std::string message_id;             // "<...>" of the report
  std::string original_message_id;    // "<...>" of the original, for References; empty = none
  std::string boundary;               // make_boundary()
  ReturnContent ret = ReturnContent::Full;
  bool returned_headers_for_size = false;  // RET=FULL asked, original too large to return
  bool smtputf8 = false;
  bool original_8bit = false;         // original was 8BITMIME
  std::vector<RecipientReport> recipients;
};

// Reads the original message (as spooled) in chunks. read() returns the
// number of octets placed in `buffer`, 0 at the end.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<std::size_t> read(std::span<char> buffer) = 0;
};

class ReportSink {
 public:
  virtual ~ReportSink() = default;
  virtual Result<void> write(std::string_view octets) = 0;
};

// The report in three steps, for a caller that reads the original where this
// unit cannot (asynchronously, from the spool): head(), then the original's
// octets through put_original() until it is used up or original_done(), then
// finish(). The octets come out exactly as write_report() writes them.
class ReportStream {
 public:
  // Fails on an invalid MIME boundary.
  static Result<ReportStream> start(const ReportContent& report);
  ReportStream(ReportStream&&) noexcept;
  ReportStream& operator=(ReportStream&&) noexcept;
  ~ReportStream();

  // Everything before the original's octets.
  const std::string& head() const noexcept { return head_; }
  // Appends the report's form of `octets` (CRLF line ends; with headers only,
  // nothing after the header section) to `out`.
  void put_original(std::string_view octets, std::string& out);
  // The returned header section is complete: the rest of the original is not needed.
  bool original_done() const noexcept;
  // The end of the original's part and the closing delimiter.
  std::string finish() const;

 private:
  ReportStream() = default;
  struct Copier;
  std::string head_;
  std::string closing_;
  std::unique_ptr<Copier> copier_;
};

// Writes the whole report (header and body, CRLF line ends, no dot-stuffing).
// Errors from the source or sink are returned unchanged; the sink then holds
// a partial report that the caller discards.
Result<void> write_report(const ReportContent& report, BodySource& original, ReportSink& out);

struct ReportSettings {
  std::string reporting_mta;          // virtual server FQDN
  std::int64_t now_unix = 0;
  std::string message_id;             // for the report
  std::string boundary;
  std::int64_t retry_until_unix = 0;  // for delay reports: arrival + expiration timeout
  std::uint64_t max_full_return_size = 0;  // larger originals come back as headers only; 0 = no limit
};

// Maps a planned report and the envelope's per-recipient state to the
// builder's input (RET, ENVID, ORCPT, Status, Remote-MTA, Diagnostic-Code).
// Failure reports: the whole message unless RET=HDRS (headers too for BINARYMIME
// and above max_full_return_size). Delay and success reports: headers only,
// whatever RET says (RFC 3461 4.3: RET is about failure reports).
ReportContent report_from_envelope(const gw::envelope::Envelope& envelope, const PlannedReport& planned,
                                   const ReportSettings& settings);

// "Sun, 29 Nov 2026 02:25:58 +0000" (RFC 5322 section 3.3, always UTC).
std::string format_date(std::int64_t unix_seconds);

// A boundary that is unique per report and never occurs in base64 or
// quoted-printable text: derived from the queue id, time and a sequence.
std::string make_boundary(std::string_view queue_id, std::int64_t unix_seconds, std::uint64_t sequence = 0);

}  // namespace gw::dsn
