// Scheduler: when to try a message or recipient again, when the sender is owed a
// delay notification and when the message expires.
//
// Pure logic with the clock passed in, so every rule is unit-tested with a fake
// clock; it never sleeps, reads files or includes Asio. The retry schedule follows
// the Exchange SMTP virtual server's delivery settings: a first, second and third
// retry interval after the first, second and third failed attempt, then the
// "subsequent" interval; a delay notification once the message has waited longer
// than the notification timeout; expiry (-> 4.4.7 DSN) once it has waited longer
// than the expiration timeout. The delivery stage calls it after each transient
// failure and records the answer in the envelope (Spool::update).
// Not responsible for per-destination concurrency or connection caching.
#pragma once

#include <chrono>
#include <cstdint>

#include "gateway/common/clock.h"

namespace gw::queue {

using Seconds = std::chrono::seconds;
using TimePoint = WallTime;
using gw::Clock;
using gw::SystemClock;

// Defaults are the Exchange 2000 virtual server defaults: 10, 10, 10 and 15
// minutes; delay notification after 12 hours; expiry after 2 days.
struct RetrySchedule {
  Seconds first_retry{std::chrono::minutes(10)};
  Seconds second_retry{std::chrono::minutes(10)};
  Seconds third_retry{std::chrono::minutes(10)};
  Seconds subsequent_retry{std::chrono::minutes(15)};
  Seconds delay_notification{std::chrono::hours(12)};
  Seconds expiration{std::chrono::hours(48)};
};

// What to do after a failed attempt.
struct RetryDecision {
  bool expired = false;                 // give up: DSN 4.4.7 to the sender
  TimePoint next_attempt{};             // when !expired
  bool send_delay_notification = false; // owed now (and not sent before)
};

class Scheduler {
 public:
  Scheduler(RetrySchedule schedule, const Clock& clock) : schedule_(schedule), clock_(clock) {}

  // The interval that follows the `failed_attempts`-th failure (1-based):
  // 1 -> first, 2 -> second, 3 -> third, 4 and later -> subsequent.
  Seconds retry_interval(std::uint32_t failed_attempts) const noexcept;

  TimePoint delay_notification_due(TimePoint arrival) const noexcept {
    return arrival + schedule_.delay_notification;
  }
  TimePoint expires_at(TimePoint arrival) const noexcept { return arrival + schedule_.expiration; }

  bool expired(TimePoint arrival) const noexcept { return clock_.now() >= expires_at(arrival); }

  // Called right after a transient failure. `failed_attempts` counts it. The next
  // attempt is now + retry_interval(failed_attempts), but never later than the
  // expiry deadline, so the last try happens before the message expires.
  RetryDecision after_transient_failure(TimePoint arrival, std::uint32_t failed_attempts,
                                        bool delay_already_notified) const noexcept;

  // True when `next_attempt` has come (a message that was never tried is due).
  bool due(TimePoint next_attempt) const noexcept { return clock_.now() >= next_attempt; }

  const RetrySchedule& schedule() const noexcept { return schedule_; }

 private:
  RetrySchedule schedule_;
  const Clock& clock_;
};

}  // namespace gw::queue
