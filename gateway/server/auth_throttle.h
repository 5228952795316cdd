// AuthThrottle: slows down and then locks out clients that keep failing AUTH,
// per client IP address. Pure: no clock of its own, no I/O, no timers; the caller
// passes `now` and performs the delay itself.
//
// Policy (counts are consecutive failures from one address inside `window`):
//  - below `delay_after` failures: the 535 is sent at once;
//  - from `delay_after` on: the 535 is sent after a delay that doubles with each
//    further failure (`initial_delay`, 2x, 4x, ... capped at `max_delay`), so a
//    guesser gets a few tries per minute while a user who mistyped twice notices
//    nothing;
//  - at `lockout_after` failures: the address is locked out for `lockout`. While
//    locked out, AUTH is answered 454 4.7.0 "Too many authentication failures,
//    try again later" without looking at the credentials: a temporary code,
//    because the lock releases by itself and a legitimate client sharing the
//    address (NAT) should retry later rather than give up (421 would also drop
//    the connection and clients reconnect at once).
//  - a success clears the address's record; a record with no failure for
//    `window` is forgotten.
// At most `max_tracked_addresses` records are kept; when full, the oldest ones
// are dropped (a distributed attack then meets the per-connection limits).
// Thread-safe (one mutex): gatewayd's worker loops share one instance, so a
// client cannot escape the count by landing on another thread.
// Not responsible for: sending replies, sleeping, logging (the caller logs the
// counters it returns).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace gw::server {

struct AuthThrottleSettings {
  std::uint32_t delay_after = 3;
  std::chrono::milliseconds initial_delay{1000};
  std::chrono::milliseconds max_delay{16000};
  std::uint32_t lockout_after = 10;
  std::chrono::seconds lockout{600};
  std::chrono::seconds window{900};
  std::size_t max_tracked_addresses = 100000;
};

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Admission {
    bool allowed = true;
    Clock::duration retry_after{};  // locked out: time until the lock releases
  };
  struct FailureOutcome {
    std::chrono::milliseconds delay{0};  // wait this long before the 535
    std::uint32_t failures = 0;          // consecutive failures of this address
    bool locked_out = false;             // this failure started a lockout
  };
  struct Counters {
    std::uint64_t failures = 0;
    std::uint64_t delayed = 0;
    std::uint64_t lockouts = 0;
    std::uint64_t refused = 0;  // AUTH attempts refused while locked out
  };

  explicit AuthThrottle(AuthThrottleSettings settings = {});

  // Before an AUTH exchange from `address`.
  Admission admit(const std::string& address, Clock::time_point now);
  FailureOutcome record_failure(const std::string& address, Clock::time_point now);
  void record_success(const std::string& address);

  Counters counters() const;
  std::size_t tracked_addresses() const;
  const AuthThrottleSettings& settings() const noexcept { return settings_; }

 private:
  struct Record {
    std::uint32_t failures = 0;
    Clock::time_point last_failure{};
    Clock::time_point locked_until{};
  };
  void forget_expired(Clock::time_point now);
  void drop_oldest();

  AuthThrottleSettings settings_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Record> records_;
  Counters counters_;
};

}  // namespace gw::server
