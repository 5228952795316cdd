// Bus: the one place events go. Stages call emit(); every sink added to the
// bus sees every event, in emission order per thread, synchronously on the
// emitting thread (a sink must therefore be quick and thread-safe: the
// application log and the tracking file append one line, the metrics sink
// bumps counters).
//
// There is one bus per process (bus()), the way there is one default logger,
// so a stage needs no constructor argument to emit; tests add a sink for
// their scope (Subscription) and see exactly what the code under test emitted.
// Emitting with no sink costs one atomic load. Sinks never throw into the
// emitter: an exception from a sink is swallowed after the first report on
// stderr.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "gateway/events/event.h"

namespace gw::events {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void consume(const Event& event) = 0;
  // Reopens any file the sink writes (SIGUSR1/SIGHUP after a log rotation).
  // Returns false with `error` set when a file could not be reopened (the
  // sink keeps writing where it did).
  virtual bool reopen(std::string* /*error*/) { return true; }
};

class Bus;

// Removes its sink from the bus when destroyed.
class Subscription {
 public:
  Subscription() = default;
  Subscription(Bus* bus, std::shared_ptr<Sink> sink) : bus_(bus), sink_(std::move(sink)) {}
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();
  void reset();

 private:
  Bus* bus_ = nullptr;
  std::shared_ptr<Sink> sink_;
};

class Bus {
 public:
  // Thread-safe. The sink receives every event emitted after this returns.
  [[nodiscard]] Subscription subscribe(std::shared_ptr<Sink> sink);
  void unsubscribe(const Sink* sink);
  // Thread-safe. Stamps subject.time with the system clock when it is unset.
  void emit(Event event) const;
  // Thread-safe: asks every sink to reopen its files; false when one failed
  // (the first error in `error`).
  bool reopen(std::string* error = nullptr) const;

 private:
  using SinkList = std::vector<std::shared_ptr<Sink>>;
  std::mutex mutex_;  // serialises writers of sinks_
  std::shared_ptr<const SinkList> sinks_ = std::make_shared<const SinkList>();
};

// The process's bus.
Bus& bus();

// bus().emit(event)
inline void emit(Event event) { bus().emit(std::move(event)); }

}  // namespace gw::events
