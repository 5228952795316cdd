#include "gateway/dsn/report_plan.h"

#include <gtest/gtest.h>

namespace gw::dsn {
namespace {

using gw::envelope::Envelope;
using gw::envelope::RecipientState;

constexpr std::int64_t kArrival = 1'800'000'000;

Envelope message(std::string sender = "alice@example.com") {
  Envelope e;
  e.set_sender(std::move(sender));
  e.set_arrival_unix(kArrival);
  return e;
}

gw::envelope::Recipient& add(Envelope& e, const std::string& address, RecipientState state) {
  auto* r = e.add_recipients();
  r->set_address(address);
  r->set_state(state);
  return *r;
}

PlanOptions at(std::int64_t seconds_after_arrival) {
  PlanOptions o;
  o.now_unix = kArrival + seconds_after_arrival;
  o.delay_notification_seconds = 12 * 3600;
  return o;
}

TEST(NotifyDefaults, AbsentNotifyMeansFailureAndDelay) {
  gw::envelope::Notify none;
  EXPECT_TRUE(notify_wants(none, ReportType::Failure));
  EXPECT_TRUE(notify_wants(none, ReportType::Delay));
  EXPECT_FALSE(notify_wants(none, ReportType::Success));
}

TEST(NotifyDefaults, ExplicitListIsTakenLiterally) {
  gw::envelope::Notify success_only;
  success_only.set_success(true);
  EXPECT_FALSE(notify_wants(success_only, ReportType::Failure));
  EXPECT_FALSE(notify_wants(success_only, ReportType::Delay));
  EXPECT_TRUE(notify_wants(success_only, ReportType::Success));
}

TEST(NotifyDefaults, NeverSuppressesEverything) {
  gw::envelope::Notify never;
  never.set_never(true);
  for (auto type : {ReportType::Failure, ReportType::Delay, ReportType::Success})
    EXPECT_FALSE(notify_wants(never, type));
}

TEST(ReportPlan, OneFailureReportListsEveryFailedRecipient) {
  auto e = message();
  add(e, "a@partner.example", gw::envelope::FAILED);
  add(e, "b@partner.example", gw::envelope::DELIVERED);
  add(e, "c@partner.example", gw::envelope::FAILED);
  const auto plan = plan_reports(e, at(60));
  ASSERT_EQ(plan.reports.size(), 1u);
  EXPECT_EQ(plan.reports[0].type, ReportType::Failure);
  EXPECT_EQ(plan.reports[0].recipients, (std::vector<int>{0, 2}));
  EXPECT_EQ(plan.reports[0].send_to, (std::vector<std::string>{"alice@example.com"}));
  EXPECT_FALSE(plan.badmail);
}

TEST(ReportPlan, FailuresWaitWhileAnotherRecipientIsInRetry) {
  auto e = message();
  add(e, "a@partner.example", gw::envelope::FAILED);
  add(e, "b@slow.example", gw::envelope::RETRY);
  EXPECT_TRUE(plan_reports(e, at(60)).reports.empty());
  auto now = at(60);
  now.hold_failures_until_final = false;
  ASSERT_EQ(plan_reports(e, now).reports.size(), 1u);
}

TEST(ReportPlan, NdrCopyAddressGetsTheFailureReportToo) {
  auto e = message();
  add(e, "a@partner.example", gw::envelope::FAILED);
  auto options = at(60);
  options.ndr_copy_to = "ndr-archive@example.com";
  const auto plan = plan_reports(e, options);
  ASSERT_EQ(plan.reports.size(), 1u);
  EXPECT_EQ(plan.reports[0].send_to, (std::vector<std::string>{"alice@example.com", "ndr-archive@example.com"}));
}

TEST(ReportPlan, NullSenderIsNeverBouncedButGoesToBadmail) {
  auto e = message("");
  add(e, "a@partner.example", gw::envelope::FAILED);
  auto options = at(60);
  options.ndr_copy_to = "ndr-archive@example.com";
  const auto plan = plan_reports(e, options);
  EXPECT_TRUE(plan.reports.empty());
  EXPECT_TRUE(plan.badmail);
}

TEST(ReportPlan, NullSenderGetsNoDelayOrSuccessReportsEither) {
  auto e = message("");
  add(e, "a@slow.example", gw::envelope::RETRY);
  add(e, "b@partner.example", gw::envelope::DELIVERED).mutable_notify()->set_success(true);
  const auto plan = plan_reports(e, at(13 * 3600));
  EXPECT_TRUE(plan.reports.empty());
  EXPECT_FALSE(plan.badmail);
}

TEST(ReportPlan, NotifyNeverRecipientIsLeftOutOfTheNdr) {
  auto e = message();
  add(e, "quiet@partner.example", gw::envelope::FAILED).mutable_notify()->set_never(true);
  add(e, "loud@partner.example", gw::envelope::FAILED);
  const auto plan = plan_reports(e, at(60));
  ASSERT_EQ(plan.reports.size(), 1u);
  EXPECT_EQ(plan.reports[0].recipients, (std::vector<int>{1}));
}

TEST(ReportPlan, DelayReportOnlyAfterTheNotificationTimeAndOnlyOnce) {
  auto e = message();
  add(e, "a@slow.example", gw::envelope::RETRY);
  EXPECT_TRUE(plan_reports(e, at(12 * 3600 - 1)).reports.empty());
  auto plan = plan_reports(e, at(12 * 3600));
  ASSERT_EQ(plan.reports.size(), 1u);
  EXPECT_EQ(plan.reports[0].type, ReportType::Delay);
  mark_reported(e, plan);
  EXPECT_TRUE(e.recipients(0).delay_notified());
  EXPECT_TRUE(plan_reports(e, at(20 * 3600)).reports.empty());
}

TEST(ReportPlan, DelayReportsCanBeSwitchedOff) {
  auto e = message();
  add(e, "a@slow.example", gw::envelope::RETRY);
  auto options = at(100 * 3600);
  options.delay_notification_seconds = 0;
  EXPECT_TRUE(plan_reports(e, options).reports.empty());
}

TEST(ReportPlan, SuccessReportsOnlyWhenRequestedWithTheRightAction) {
  auto e = message();
  add(e, "plain@partner.example", gw::envelope::DELIVERED);
  add(e, "asked@partner.example", gw::envelope::DELIVERED).mutable_notify()->set_success(true);
  add(e, "relayed@legacy.example", gw::envelope::RELAYED).mutable_notify()->set_success(true);
  add(e, "list@example.com", gw::envelope::EXPANDED).mutable_notify()->set_success(true);
  const auto plan = plan_reports(e, at(60));
  ASSERT_EQ(plan.reports.size(), 1u);
  EXPECT_EQ(plan.reports[0].type, ReportType::Success);
  EXPECT_EQ(plan.reports[0].recipients, (std::vector<int>{1, 2, 3}));
}

TEST(ReportPlan, FailureDelayAndSuccessComeInThatOrder) {
  auto e = message();
  add(e, "ok@partner.example", gw::envelope::DELIVERED).mutable_notify()->set_success(true);
  add(e, "slow@slow.example", gw::envelope::RETRY);
  add(e, "bad@partner.example", gw::envelope::FAILED);
  auto options = at(13 * 3600);
  options.hold_failures_until_final = false;
  const auto plan = plan_reports(e, options);
  ASSERT_EQ(plan.reports.size(), 3u);
  EXPECT_EQ(plan.reports[0].type, ReportType::Failure);
  EXPECT_EQ(plan.reports[1].type, ReportType::Delay);
  EXPECT_EQ(plan.reports[2].type, ReportType::Success);
}

TEST(ReportPlan, MarkReportedPreventsASecondNdr) {
  auto e = message();
  add(e, "a@partner.example", gw::envelope::FAILED);
  const auto plan = plan_reports(e, at(60));
  mark_reported(e, plan);
  EXPECT_TRUE(e.recipients(0).final_report_sent());
  EXPECT_TRUE(plan_reports(e, at(120)).reports.empty());
}

TEST(ReportPlan, MarkReportedRecordsBadmailSoItIsNotReconsidered) {
  auto e = message("");
  add(e, "a@partner.example", gw::envelope::FAILED);
  mark_reported(e, plan_reports(e, at(60)));
  EXPECT_FALSE(plan_reports(e, at(120)).badmail);
}

}  // namespace
}  // namespace gw::dsn
