#include "gateway/server/auth_throttle.h"

#include <algorithm>
#include <vector>

namespace gw::server {

AuthThrottle::AuthThrottle(AuthThrottleSettings settings) : settings_(settings) {}

AuthThrottle::Counters AuthThrottle::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::size_t AuthThrottle::tracked_addresses() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

AuthThrottle::Admission AuthThrottle::admit(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = records_.find(address);
  if (found == records_.end()) return {};
  Record& record = found->second;
  if (now < record.locked_until) {
    ++counters_.refused;
    return {false, record.locked_until - now};
  }
  if (record.locked_until != Clock::time_point{}) {
    // The lock has run out: a fresh start, otherwise the next failure would lock again at once.
    records_.erase(found);
  } else if (now - record.last_failure >= settings_.window) {
    records_.erase(found);
  }
  return {};
}

AuthThrottle::FailureOutcome AuthThrottle::record_failure(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  ++counters_.failures;
  auto found = records_.find(address);
  if (found == records_.end()) {
    if (records_.size() >= settings_.max_tracked_addresses) {
      forget_expired(now);
      if (records_.size() >= settings_.max_tracked_addresses) drop_oldest();
    }
    found = records_.emplace(address, Record{}).first;
  }
  Record& record = found->second;
  if (record.failures > 0 && now - record.last_failure >= settings_.window) record.failures = 0;
  ++record.failures;
  record.last_failure = now;

  FailureOutcome outcome;
  outcome.failures = record.failures;
  if (record.failures >= settings_.delay_after) {
    const std::uint32_t doublings = std::min<std::uint32_t>(record.failures - settings_.delay_after, 30);
    auto delay = settings_.initial_delay * (std::int64_t{1} << doublings);
    outcome.delay = std::min(delay, settings_.max_delay);
    if (outcome.delay.count() > 0) ++counters_.delayed;
  }
  if (record.failures >= settings_.lockout_after && record.locked_until <= now) {
    record.locked_until = now + settings_.lockout;
    outcome.locked_out = true;
    ++counters_.lockouts;
  }
  return outcome;
}

void AuthThrottle::record_success(const std::string& address) {
  std::lock_guard lock(mutex_);
  records_.erase(address);
}

void AuthThrottle::forget_expired(Clock::time_point now) {
  std::erase_if(records_, [&](const auto& entry) {
    const Record& record = entry.second;
    return now >= record.locked_until && now - record.last_failure >= settings_.window;
  });
}

void AuthThrottle::drop_oldest() {
  // Drops the oldest eighth at once, so a flood of new addresses costs one scan per
  // max_tracked_addresses / 8 insertions rather than one per insertion.
  if (records_.empty()) return;
  std::vector<Clock::time_point> times;
  times.reserve(records_.size());
  for (const auto& entry : records_) times.push_back(entry.second.last_failure);
  const std::size_t cut = std::max<std::size_t>(1, times.size() / 8) - 1;
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(cut), times.end());
  const Clock::time_point threshold = times[cut];
  std::erase_if(records_, [&](const auto& entry) { return entry.second.last_failure <= threshold; });
}

}  // namespace gw::server
