// Which delivery status notifications a queued message owes, and to whom.
//
// plan_reports() is pure: it reads an envelope's per-recipient state and the
// DSN parameters (RFC 3461 NOTIFY, default FAILURE+DELAY when absent) and
// answers which recipients go into a Failure, a Delay and a Success report.
// Rules:
//   * one failure report per message lists every failed recipient; by default
//     it waits until no recipient is still pending or in retry;
//   * delay reports go out once per recipient (Recipient.delay_notified), after
//     the virtual server's delay-notification time;
//   * success covers delivered, relayed (to a non-DSN MTA) and expanded (list)
//     recipients, only when NOTIFY contains SUCCESS;
//   * NOTIFY=NEVER suppresses every report for that recipient;
//   * a message with the null reverse-path is never reported on: failures make
//     it "badmail" (kept in the Badmail queue for the administrator);
//   * the virtual server's NDR-copy address (msExchSmtpSendNDRTo) receives
//     every failure report as an additional envelope recipient.
// mark_reported() records in the envelope what a plan covered, so that the
// next plan does not repeat it. Not responsible for writing the report
// (dsn_builder.h) or submitting it (the queue sends it with MAIL FROM:<>).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/envelope.pb.h"

namespace gw::dsn {

enum class ReportType { Failure, Delay, Success };

struct PlannedReport {
  ReportType type = ReportType::Failure;
  std::vector<int> recipients;          // indices into Envelope.recipients, in envelope order
  std::vector<std::string> send_to;     // envelope recipients of the report itself
};

struct ReportPlan {
  bool badmail = false;                 // failed recipients of a null-sender message
  std::vector<PlannedReport> reports;   // in the order Failure, Delay, Success, each at most once
};

struct PlanOptions {
  std::int64_t now_unix = 0;
  std::int64_t delay_notification_seconds = 0;  // 0 = never send delay reports
  std::string ndr_copy_to;                       // empty = none
  bool hold_failures_until_final = true;         // one NDR listing every failed recipient
};

// NOTIFY as RFC 3461 section 4.1 defines it; no flags at all means FAILURE,DELAY.
bool notify_wants(const gw::envelope::Notify& notify, ReportType type) noexcept;

ReportPlan plan_reports(const gw::envelope::Envelope& envelope, const PlanOptions& options);

// Sets delay_notified / final_report_sent on the recipients the plan covered,
// and on failed recipients of a badmail message.
void mark_reported(gw::envelope::Envelope& envelope, const ReportPlan& plan);

}  // namespace gw::dsn
