// Clock: the wall clock as a dependency. Code that decides by the time of day
// (retry times, expiry, delay notifications, connector schedules, hop health)
// asks an injected Clock instead of calling std::time() or
// std::chrono::system_clock::now() itself, so every rule is unit-tested with a
// clock the test moves (ManualClock, tests/support/manual_clock.h). Timers that
// wait for such a time still run on the event loop's steady clock; the Clock
// only says what time it is. Thread-safe: now() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace gw {

using WallTime = std::chrono::system_clock::time_point;

// Seconds since the epoch, as envelopes store times.
inline std::int64_t to_unix(WallTime time) noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}
inline WallTime from_unix(std::int64_t seconds) noexcept { return WallTime(std::chrono::seconds(seconds)); }

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime now() const = 0;
  std::int64_t unix_now() const { return to_unix(now()); }
};

class SystemClock final : public Clock {
 public:
  WallTime now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace gw
