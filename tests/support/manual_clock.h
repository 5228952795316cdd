// ManualClock: a Clock that stands still until the test moves it.
#pragma once

#include <atomic>
#include <chrono>

#include "gateway/common/clock.h"

namespace gw::test {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime start = from_unix(1'800'000'000)) : now_(start.time_since_epoch().count()) {}
  WallTime now() const override { return WallTime(WallTime::duration(now_.load())); }
  void set(WallTime time) { now_ = time.time_since_epoch().count(); }
  void advance(std::chrono::seconds by) { now_ += std::chrono::duration_cast<WallTime::duration>(by).count(); }

 private:
  std::atomic<WallTime::rep> now_;
};

}  // namespace gw::test
