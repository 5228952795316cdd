#include "gateway/dsn/report_plan.h"

namespace gw::dsn {
namespace {

using gw::envelope::Recipient;

bool still_in_progress(const Recipient& r) {
  return r.state() == gw::envelope::PENDING || r.state() == gw::envelope::RESOLVED ||
         r.state() == gw::envelope::RETRY;
}

bool counts_as_success(const Recipient& r) {
  return r.state() == gw::envelope::DELIVERED || r.state() == gw::envelope::RELAYED ||
         r.state() == gw::envelope::EXPANDED;
}

}  // namespace

bool notify_wants(const gw::envelope::Notify& notify, ReportType type) noexcept {
  if (notify.never()) return false;
  const bool specified = notify.success() || notify.failure() || notify.delay();
  switch (type) {
    case ReportType::Failure: return !specified || notify.failure();
    case ReportType::Delay: return !specified || notify.delay();
    case ReportType::Success: return notify.success();
  }
  return false;
}

ReportPlan plan_reports(const gw::envelope::Envelope& envelope, const PlanOptions& options) {
  ReportPlan plan;
  PlannedReport failure{ReportType::Failure, {}, {}};
  PlannedReport delay{ReportType::Delay, {}, {}};
  PlannedReport success{ReportType::Success, {}, {}};
  bool any_in_progress = false;
  bool any_failed = false;

  for (int i = 0; i < envelope.recipients_size(); ++i) {
    const Recipient& r = envelope.recipients(i);
    if (still_in_progress(r)) {
      any_in_progress = true;
      const bool delay_due = options.delay_notification_seconds > 0 && !r.delay_notified() &&
                             options.now_unix - envelope.arrival_unix() >= options.delay_notification_seconds;
      if (delay_due && notify_wants(r.notify(), ReportType::Delay)) delay.recipients.push_back(i);
    } else if (r.state() == gw::envelope::FAILED && !r.final_report_sent()) {
      any_failed = true;
      if (notify_wants(r.notify(), ReportType::Failure)) failure.recipients.push_back(i);
    } else if (counts_as_success(r) && !r.final_report_sent() && notify_wants(r.notify(), ReportType::Success)) {
      success.recipients.push_back(i);
    }
  }

  // RFC 5321 section 6.1 / RFC 3461 section 6.2: never report on a report.
  if (envelope.sender().empty()) {
    plan.badmail = any_failed;
    return plan;
  }
  if (options.hold_failures_until_final && any_in_progress) failure.recipients.clear();

  if (!failure.recipients.empty()) {
    failure.send_to.push_back(envelope.sender());
    if (!options.ndr_copy_to.empty() && options.ndr_copy_to != envelope.sender())
      failure.send_to.push_back(options.ndr_copy_to);
    plan.reports.push_back(std::move(failure));
  }
  if (!delay.recipients.empty()) {
    delay.send_to.push_back(envelope.sender());
    plan.reports.push_back(std::move(delay));
  }
  if (!success.recipients.empty()) {
    success.send_to.push_back(envelope.sender());
    plan.reports.push_back(std::move(success));
  }
  return plan;
}

void mark_reported(gw::envelope::Envelope& envelope, const ReportPlan& plan) {
  for (const auto& report : plan.reports) {
    for (int i : report.recipients) {
      auto* r = envelope.mutable_recipients(i);
      if (report.type == ReportType::Delay)
        r->set_delay_notified(true);
      else
        r->set_final_report_sent(true);
    }
  }
  if (plan.badmail)
    for (auto& r : *envelope.mutable_recipients())
      if (r.state() == gw::envelope::FAILED) r.set_final_report_sent(true);
}

}  // namespace gw::dsn
