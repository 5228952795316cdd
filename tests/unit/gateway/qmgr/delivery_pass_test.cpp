// One delivery pass over one message, against a real spool in a temporary
// directory, the sample organization's routing, a clock the test sets and
// scripted peers (ScriptedDelivery): what each answer does to the envelope,
// the spool, the queue index and the next wake-up.
#include "gateway/qmgr/delivery_pass.h"

#include <gtest/gtest.h>

#include <set>

#include "gateway/qmgr/active_queue.h"
#include "gateway/qmgr/connector_retry.h"
#include "gateway/qmgr/reports.h"
#include "gateway/queue/named_queues.h"
#include "tests/support/manual_clock.h"
#include "tests/support/run_to_completion.h"
#include "tests/unit/gateway/qmgr/qmgr_test_support.h"
#include "tests/unit/gateway/queue/spool_test_support.h"

namespace gw::qmgr {
namespace {

using namespace std::chrono_literals;
using test::add_mailbox;
using test::add_remote;
using test::categorized;

HopReport answered(const HopAttempt& attempt, delivery::Outcome outcome, int code, EnhancedStatus status,
                   std::string text, std::string remote_mta = "mx.test") {
  HopReport report;
  report.result = test::all_answered(attempt, outcome, code, status, std::move(text));
  report.remote_mta = std::move(remote_mta);
  return report;
}

class DeliveryPassTest : public ::testing::Test {
 protected:
  DeliveryPassTest() {
    active_ = std::make_shared<ActiveQueue>(io_.get_executor(), clock_, 4, ActiveQueue::Pass{});
    reports_ = std::make_unique<ReportWriter>(spool_, index_, clock_, stats_, ReportOptions{});
    context_ = std::make_unique<PassContext>(PassContext{spool_, index_, clock_, delivery_, *reports_, connectors_,
                                                         frozen_, *active_, stats_});
  }

  std::int64_t now() const { return clock_.unix_now(); }

  QueueId queue(envelope::Envelope env) {
    auto id = test::commit(io_, spool_, std::move(env));
    auto stored = gw::test::run_to_completion(io_, spool_.load(id));
    index_.upsert(queue::QueuedMessage::from_envelope(*stored));
    return id;
  }

  void pass(const QueueId& id, bool forced = false) {
    gw::test::run_to_completion(io_, [&]() -> asio::awaitable<bool> {
      co_await run_pass(*context_, settings_, id, forced);
      co_return true;
    }());
  }

  Result<envelope::Envelope> stored(const QueueId& id) { return gw::test::run_to_completion(io_, spool_.load(id)); }

  // The reports the pass queued: null-sender messages in the index.
  std::vector<queue::QueuedMessage> reports() const {
    std::vector<queue::QueuedMessage> out;
    for (const auto& m : index_.list(envelope::AWAITING_DIRECTORY_LOOKUP, 100))
      if (m.sender.empty()) out.push_back(m);
    return out;
  }

  queue::test::TempDir dir_;
  asio::io_context io_;
  queue::Spool spool_{queue::SpoolOptions{dir_.path()}};
  queue::NamedQueues index_;
  gw::test::ManualClock clock_;
  test::ScriptedDelivery delivery_;
  DeliveryStats stats_;
  ConnectorRetry connectors_{clock_};
  std::set<queue::QueueKey> frozen_;
  std::shared_ptr<ActiveQueue> active_;
  std::unique_ptr<ReportWriter> reports_;
  std::unique_ptr<PassContext> context_;
  SettingsPtr settings_ = test::settings_of(test::sample_org());
};

TEST_F(DeliveryPassTest, DeliveredRecipientLeavesTheSpoolAndTheIndex) {
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  const auto id = queue(std::move(env));

  pass(id);

  ASSERT_EQ(delivery_.calls.size(), 1u);
  EXPECT_EQ(delivery_.calls[0].hop_name, "Remote delivery [partner.example]");
  EXPECT_EQ(delivery_.calls[0].recipients, std::vector<std::string>{"bob@partner.example"});
  EXPECT_EQ(stored(id).error().code, queue::SpoolErrc::NotFound);
  EXPECT_FALSE(index_.find(id));
  EXPECT_EQ(stats_.delivered, 1u);
  EXPECT_EQ(stats_.completed, 1u);
  EXPECT_TRUE(reports().empty());
}

TEST_F(DeliveryPassTest, TransientReplyWaitsForTheFirstRetryIntervalInItsHopsQueue) {
  delivery_.answer("Remote delivery [partner.example]", [](const HopAttempt& a) {
    return answered(a, delivery::Outcome::Transient, 451, {4, 3, 0}, "try later");
  });
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  const auto id = queue(std::move(env));

  pass(id);

  const auto after = stored(id);
  ASSERT_TRUE(after);
  const auto& rcpt = after->recipients(0);
  EXPECT_EQ(rcpt.state(), envelope::RETRY);
  EXPECT_EQ(rcpt.status(), "4.3.0");
  EXPECT_EQ(rcpt.diagnostic(), "451 try later");
  EXPECT_EQ(rcpt.remote_mta(), "mx.test");
  EXPECT_EQ(rcpt.attempts(), 1u);
  EXPECT_EQ(rcpt.next_attempt_unix(), now() + 600);  // the Exchange default first retry, 10 minutes
  EXPECT_EQ(after->queue(), envelope::REMOTE_DELIVERY);
  EXPECT_EQ(index_.list(envelope::REMOTE_DELIVERY, 10, "partner.example").size(), 1u);
  EXPECT_EQ(active_->wake_time(id), now() + 600);
  EXPECT_EQ(stats_.deferred, 1u);
}

TEST_F(DeliveryPassTest, PermanentReplyFailsTheRecipientAndQueuesOneFailureReport) {
  delivery_.answer("Remote delivery [partner.example]", [](const HopAttempt& a) {
    return answered(a, delivery::Outcome::Permanent, 550, {5, 1, 1}, "5.1.1 no such user");
  });
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  const auto id = queue(std::move(env));

  pass(id);

  EXPECT_EQ(stored(id).error().code, queue::SpoolErrc::NotFound);
  const auto queued = reports();
  ASSERT_EQ(queued.size(), 1u);
  const auto report = stored(queued[0].id);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->sender(), "");
  ASSERT_EQ(report->recipients_size(), 1);
  EXPECT_EQ(report->recipients(0).address(), "alice@example.com");
  EXPECT_EQ(stats_.failed, 1u);
  EXPECT_EQ(stats_.reports, 1u);
}

TEST_F(DeliveryPassTest, RecipientsOfTwoNextHopsAreTwoTransactions) {
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  add_remote(env, "carol@other.example");
  add_remote(env, "dave@partner.example");
  const auto id = queue(std::move(env));

  pass(id);

  ASSERT_EQ(delivery_.calls.size(), 2u);
  std::map<std::string, std::vector<std::string>> by_hop;
  for (const auto& call : delivery_.calls) by_hop[call.hop_name] = call.recipients;
  EXPECT_EQ(by_hop["Remote delivery [partner.example]"],
            (std::vector<std::string>{"bob@partner.example", "dave@partner.example"}));
  EXPECT_EQ(by_hop["Remote delivery [other.example]"], std::vector<std::string>{"carol@other.example"});
  EXPECT_EQ(stats_.attempts, 2u);
}

TEST_F(DeliveryPassTest, MailboxUserWaitsInHerMailboxServersLocalDeliveryQueue) {
  delivery_.answer("Local delivery [mbx1.example.com]", [](const HopAttempt& a) {
    return answered(a, delivery::Outcome::Transient, 452, {4, 2, 2}, "mailbox full");
  });
  auto env = categorized(now());
  add_mailbox(env, "bob@example.com");
  const auto id = queue(std::move(env));

  pass(id);

  ASSERT_EQ(delivery_.calls.size(), 1u);
  const auto after = stored(id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->queue(), envelope::LOCAL_DELIVERY);
  EXPECT_EQ(after->recipients(0).next_hop(), "mbx1.example.com");
  EXPECT_EQ(index_.list(envelope::LOCAL_DELIVERY, 10, "mbx1.example.com").size(), 1u);
}

TEST_F(DeliveryPassTest, RetryNotYetDueIsNotAttempted) {
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  env.mutable_recipients(0)->set_state(envelope::RETRY);
  env.mutable_recipients(0)->set_next_attempt_unix(now() + 300);
  env.set_queue(envelope::REMOTE_DELIVERY);
  const auto id = queue(std::move(env));

  pass(id);

  EXPECT_TRUE(delivery_.calls.empty());
  EXPECT_EQ(stored(id)->recipients(0).state(), envelope::RETRY);
  EXPECT_EQ(active_->wake_time(id), now() + 300);
}

TEST_F(DeliveryPassTest, ForcedPassAttemptsARetryNotYetDue) {
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  env.mutable_recipients(0)->set_state(envelope::RETRY);
  env.mutable_recipients(0)->set_next_attempt_unix(now() + 300);
  const auto id = queue(std::move(env));

  pass(id, true);

  EXPECT_EQ(delivery_.calls.size(), 1u);
  EXPECT_EQ(stored(id).error().code, queue::SpoolErrc::NotFound);
}

TEST_F(DeliveryPassTest, ExpiredMessageFailsWith447WithoutAnAttempt) {
  auto env = categorized(now() - 49 * 3600);  // the default expiry is 48 hours
  add_remote(env, "bob@partner.example");
  const auto id = queue(std::move(env));

  pass(id);

  EXPECT_TRUE(delivery_.calls.empty());
  EXPECT_EQ(stored(id).error().code, queue::SpoolErrc::NotFound);
  ASSERT_EQ(reports().size(), 1u);
}

TEST_F(DeliveryPassTest, FrozenQueueIsNotAttempted) {
  frozen_.insert(queue::QueueKey{envelope::REMOTE_DELIVERY, "partner.example"});
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  const auto id = queue(std::move(env));

  pass(id);

  EXPECT_TRUE(delivery_.calls.empty());
  const auto after = stored(id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->recipients(0).state(), envelope::RESOLVED);
  EXPECT_EQ(after->queue(), envelope::REMOTE_DELIVERY);
}

TEST_F(DeliveryPassTest, ConnectorWhoseHostsRefuseGoesIntoRetryAndTheNextBestConnectorIsTried) {
  // *.mil goes to the Military connector's smart hosts; they refuse every
  // session, so the connector is put in retry and "*" (Internet, DNS) takes it.
  delivery_.answer("Remote delivery [Military]", [](const HopAttempt& a) {
    return answered(a, delivery::Outcome::Transient, 421, {4, 4, 1}, "no greeting", "");
  });
  auto env = categorized(now());
  add_remote(env, "sam@army.mil");
  const auto id = queue(std::move(env));

  pass(id);

  ASSERT_EQ(delivery_.calls.size(), 2u);
  EXPECT_EQ(delivery_.calls[0].hop_name, "Remote delivery [Military]");
  EXPECT_EQ(delivery_.calls[1].hop_name, "Remote delivery [army.mil]");
  EXPECT_TRUE(connectors_.in_retry("military"));
  EXPECT_EQ(stored(id).error().code, queue::SpoolErrc::NotFound);
  clock_.advance(601s);
  EXPECT_FALSE(connectors_.in_retry("Military"));
}

TEST_F(DeliveryPassTest, HopWhoseHostsCannotBeFoundDefersWithoutAnAttempt) {
  delivery_.answer("Remote delivery [partner.example]", [](const HopAttempt&) {
    HopReport report;
    report.not_attempted = outcome_of(FailureKind::DnsTemporaryFailure, "SERVFAIL");
    return report;
  });
  auto env = categorized(now());
  add_remote(env, "bob@partner.example");
  const auto id = queue(std::move(env));

  pass(id);

  const auto after = stored(id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->recipients(0).state(), envelope::RETRY);
  EXPECT_EQ(after->recipients(0).status(), "4.4.3");
  EXPECT_EQ(stats_.attempts, 0u);
}

}  // namespace
}  // namespace gw::qmgr
