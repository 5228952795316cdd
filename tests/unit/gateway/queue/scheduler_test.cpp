#include "gateway/queue/scheduler.h"

#include <gtest/gtest.h>

namespace gw::queue {
namespace {

using namespace std::chrono_literals;

class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(std::chrono::seconds by) { now_ += by; }
  void set(TimePoint at) { now_ = at; }

 private:
  TimePoint now_ = TimePoint(std::chrono::seconds(1'700'000'000));
};

class SchedulerTest : public ::testing::Test {
 protected:
  RetrySchedule schedule() {
    RetrySchedule s;
    s.first_retry = 60s;
    s.second_retry = 120s;
    s.third_retry = 300s;
    s.subsequent_retry = 900s;
    s.delay_notification = 4h;
    s.expiration = 24h;
    return s;
  }
  FakeClock clock;
  TimePoint arrival = clock.now();
};

TEST_F(SchedulerTest, DefaultsAreTheExchangeVirtualServerDefaults) {
  const RetrySchedule defaults;
  EXPECT_EQ(defaults.first_retry, 10min);
  EXPECT_EQ(defaults.second_retry, 10min);
  EXPECT_EQ(defaults.third_retry, 10min);
  EXPECT_EQ(defaults.subsequent_retry, 15min);
  EXPECT_EQ(defaults.delay_notification, 12h);
  EXPECT_EQ(defaults.expiration, 48h);
}

TEST_F(SchedulerTest, UsesFirstSecondThirdThenSubsequentInterval) {
  const Scheduler scheduler(schedule(), clock);
  EXPECT_EQ(scheduler.retry_interval(1), 60s);
  EXPECT_EQ(scheduler.retry_interval(2), 120s);
  EXPECT_EQ(scheduler.retry_interval(3), 300s);
  EXPECT_EQ(scheduler.retry_interval(4), 900s);
  EXPECT_EQ(scheduler.retry_interval(40), 900s);
}

TEST_F(SchedulerTest, NextAttemptIsNowPlusTheIntervalForThatFailure) {
  const Scheduler scheduler(schedule(), clock);
  clock.advance(10s);
  const auto first = scheduler.after_transient_failure(arrival, 1, false);
  EXPECT_FALSE(first.expired);
  EXPECT_EQ(first.next_attempt, clock.now() + 60s);
  clock.advance(60s);
  EXPECT_EQ(scheduler.after_transient_failure(arrival, 2, false).next_attempt, clock.now() + 120s);
  clock.advance(120s);
  EXPECT_EQ(scheduler.after_transient_failure(arrival, 3, false).next_attempt, clock.now() + 300s);
  clock.advance(300s);
  EXPECT_EQ(scheduler.after_transient_failure(arrival, 4, false).next_attempt, clock.now() + 900s);
}

TEST_F(SchedulerTest, IsDueOnlyOnceTheNextAttemptHasCome) {
  const Scheduler scheduler(schedule(), clock);
  const auto decision = scheduler.after_transient_failure(arrival, 1, false);
  EXPECT_FALSE(scheduler.due(decision.next_attempt));
  clock.advance(59s);
  EXPECT_FALSE(scheduler.due(decision.next_attempt));
  clock.advance(1s);
  EXPECT_TRUE(scheduler.due(decision.next_attempt));
}

TEST_F(SchedulerTest, NoDelayNotificationBeforeTheTimeout) {
  const Scheduler scheduler(schedule(), clock);
  clock.advance(4h - 1s);
  EXPECT_FALSE(scheduler.after_transient_failure(arrival, 5, false).send_delay_notification);
}

TEST_F(SchedulerTest, DelayNotificationIsOwedOnceTheTimeoutHasPassed) {
  const Scheduler scheduler(schedule(), clock);
  clock.advance(4h);
  EXPECT_TRUE(scheduler.after_transient_failure(arrival, 5, false).send_delay_notification);
  EXPECT_EQ(scheduler.delay_notification_due(arrival), arrival + 4h);
}

TEST_F(SchedulerTest, DelayNotificationIsSentOnlyOnce) {
  const Scheduler scheduler(schedule(), clock);
  clock.advance(5h);
  EXPECT_FALSE(scheduler.after_transient_failure(arrival, 6, true).send_delay_notification);
}

TEST_F(SchedulerTest, ExpiresOnceTheExpirationTimeoutHasPassed) {
  const Scheduler scheduler(schedule(), clock);
  clock.advance(24h - 1s);
  EXPECT_FALSE(scheduler.expired(arrival));
  EXPECT_FALSE(scheduler.after_transient_failure(arrival, 9, true).expired);
  clock.advance(1s);
  EXPECT_TRUE(scheduler.expired(arrival));
  EXPECT_TRUE(scheduler.after_transient_failure(arrival, 10, true).expired);
}

TEST_F(SchedulerTest, LastRetryIsScheduledAtTheExpiryDeadlineNotAfterIt) {
  const Scheduler scheduler(schedule(), clock);
  clock.advance(24h - 100s);
  const auto decision = scheduler.after_transient_failure(arrival, 9, true);
  EXPECT_FALSE(decision.expired);
  EXPECT_EQ(decision.next_attempt, scheduler.expires_at(arrival));
}

}  // namespace
}  // namespace gw::queue
