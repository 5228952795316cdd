// QueueIdGenerator: mints QueueIds (format in gateway/common/queue_id.h).
//
// Ids from one generator are strictly increasing: the time part never goes back
// even when the wall clock does, and the counter orders ids minted in the same
// microsecond. The random part, drawn per id from a generator seeded by
// std::random_device, keeps ids unique across restarts and between processes
// sharing a spool. Thread-safe. Not responsible for checking the spool for
// collisions (the spool creates files with O_EXCL).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

#include "gateway/common/queue_id.h"

namespace gw::queue {

class QueueIdGenerator {
 public:
  QueueIdGenerator();
  QueueId next();
  // For tests: an id for the given time, counter and random value.
  static QueueId make(std::uint64_t unix_micros, std::uint32_t counter, std::uint32_t random);
  // The arrival time encoded in an id.
  static std::chrono::system_clock::time_point time_of(const QueueId& id);

 private:
  std::mutex mutex_;
  std::uint64_t last_micros_ = 0;
  std::uint32_t counter_ = 0;
  std::mt19937_64 random_;
};

}  // namespace gw::queue
