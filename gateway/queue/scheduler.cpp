#include "gateway/queue/scheduler.h"

#include <algorithm>

namespace gw::queue {

Seconds Scheduler::retry_interval(std::uint32_t failed_attempts) const noexcept {
  switch (failed_attempts) {
    case 0:
    case 1: return schedule_.first_retry;
    case 2: return schedule_.second_retry;
    case 3: return schedule_.third_retry;
    default: return schedule_.subsequent_retry;
  }
}

RetryDecision Scheduler::after_transient_failure(TimePoint arrival, std::uint32_t failed_attempts,
                                                 bool delay_already_notified) const noexcept {
  const TimePoint now = clock_.now();
  RetryDecision decision;
  if (now >= expires_at(arrival)) {
    decision.expired = true;
    return decision;
  }
  decision.next_attempt = std::min(now + retry_interval(failed_attempts), expires_at(arrival));
  decision.send_delay_notification = !delay_already_notified && now >= delay_notification_due(arrival);
  return decision;
}

}  // namespace gw::queue
