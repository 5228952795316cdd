#include "gateway/server/auth_throttle.h"

#include <gtest/gtest.h>

namespace gw::server {
namespace {

using namespace std::chrono_literals;
using Clock = AuthThrottle::Clock;

AuthThrottleSettings short_settings() {
  AuthThrottleSettings settings;
  settings.delay_after = 3;
  settings.initial_delay = 1000ms;
  settings.max_delay = 4000ms;
  settings.lockout_after = 6;
  settings.lockout = 60s;
  settings.window = 300s;
  return settings;
}

const Clock::time_point kStart = Clock::time_point{} + 1000h;

TEST(AuthThrottle, FirstFailuresAreAnsweredWithoutDelay) {
  AuthThrottle throttle(short_settings());
  EXPECT_EQ(throttle.record_failure("192.0.2.1", kStart).delay, 0ms);
  EXPECT_EQ(throttle.record_failure("192.0.2.1", kStart + 1s).delay, 0ms);
}

TEST(AuthThrottle, DelayStartsAtThresholdAndDoublesUpToTheCap) {
  AuthThrottle throttle(short_settings());
  auto now = kStart;
  throttle.record_failure("192.0.2.1", now);
  throttle.record_failure("192.0.2.1", now += 1s);
  EXPECT_EQ(throttle.record_failure("192.0.2.1", now += 1s).delay, 1000ms);
  EXPECT_EQ(throttle.record_failure("192.0.2.1", now += 1s).delay, 2000ms);
  EXPECT_EQ(throttle.record_failure("192.0.2.1", now += 1s).delay, 4000ms);
  EXPECT_EQ(throttle.record_failure("192.0.2.1", now += 1s).delay, 4000ms);
  EXPECT_EQ(throttle.counters().delayed, 4u);
}

TEST(AuthThrottle, LockoutRefusesFurtherAttemptsUntilItExpires) {
  AuthThrottle throttle(short_settings());
  auto now = kStart;
  AuthThrottle::FailureOutcome last;
  for (int i = 0; i < 6; ++i) last = throttle.record_failure("192.0.2.1", now += 1s);
  EXPECT_TRUE(last.locked_out);
  EXPECT_EQ(last.failures, 6u);

  auto admission = throttle.admit("192.0.2.1", now + 10s);
  EXPECT_FALSE(admission.allowed);
  EXPECT_EQ(admission.retry_after, 50s);
  EXPECT_EQ(throttle.counters().lockouts, 1u);
  EXPECT_EQ(throttle.counters().refused, 1u);
}

TEST(AuthThrottle, LockoutReleasesAfterItsDurationWithAFreshCount) {
  AuthThrottle throttle(short_settings());
  auto now = kStart;
  for (int i = 0; i < 6; ++i) throttle.record_failure("192.0.2.1", now += 1s);
  EXPECT_TRUE(throttle.admit("192.0.2.1", now + 60s).allowed);
  // The count started again: one more failure is neither delayed nor a lockout.
  auto outcome = throttle.record_failure("192.0.2.1", now + 61s);
  EXPECT_EQ(outcome.failures, 1u);
  EXPECT_EQ(outcome.delay, 0ms);
  EXPECT_FALSE(outcome.locked_out);
}

TEST(AuthThrottle, OtherAddressesAreNotAffectedByALockout) {
  AuthThrottle throttle(short_settings());
  auto now = kStart;
  for (int i = 0; i < 6; ++i) throttle.record_failure("192.0.2.1", now += 1s);
  EXPECT_TRUE(throttle.admit("192.0.2.2", now).allowed);
  EXPECT_EQ(throttle.record_failure("192.0.2.2", now).delay, 0ms);
}

TEST(AuthThrottle, SuccessClearsTheFailureCount) {
  AuthThrottle throttle(short_settings());
  throttle.record_failure("192.0.2.1", kStart);
  throttle.record_failure("192.0.2.1", kStart + 1s);
  throttle.record_success("192.0.2.1");
  EXPECT_EQ(throttle.record_failure("192.0.2.1", kStart + 2s).failures, 1u);
}

TEST(AuthThrottle, FailuresOlderThanTheWindowAreForgotten) {
  AuthThrottle throttle(short_settings());
  throttle.record_failure("192.0.2.1", kStart);
  throttle.record_failure("192.0.2.1", kStart + 1s);
  auto outcome = throttle.record_failure("192.0.2.1", kStart + 1s + 300s);
  EXPECT_EQ(outcome.failures, 1u);
  EXPECT_EQ(outcome.delay, 0ms);
}

TEST(AuthThrottle, TrackedAddressesAreBounded) {
  AuthThrottleSettings settings = short_settings();
  settings.max_tracked_addresses = 3;
  AuthThrottle throttle(settings);
  for (int i = 0; i < 10; ++i) throttle.record_failure("192.0.2." + std::to_string(i), kStart + std::chrono::seconds(i));
  EXPECT_LE(throttle.tracked_addresses(), 3u);
  // The newest address is still tracked.
  EXPECT_EQ(throttle.record_failure("192.0.2.9", kStart + 20s).failures, 2u);
}

}  // namespace
}  // namespace gw::server
