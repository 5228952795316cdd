#include "gateway/events/bus.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

namespace gw::events {

Subscription::Subscription(Subscription&& other) noexcept
    : bus_(std::exchange(other.bus_, nullptr)), sink_(std::move(other.sink_)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    bus_ = std::exchange(other.bus_, nullptr);
    sink_ = std::move(other.sink_);
  }
  return *this;
}

Subscription::~Subscription() { reset(); }

void Subscription::reset() {
  if (bus_ && sink_) bus_->unsubscribe(sink_.get());
  bus_ = nullptr;
  sink_.reset();
}

Subscription Bus::subscribe(std::shared_ptr<Sink> sink) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<SinkList>(*std::atomic_load(&sinks_));
  next->push_back(sink);
  std::atomic_store(&sinks_, std::shared_ptr<const SinkList>(std::move(next)));
  return Subscription(this, std::move(sink));
}

void Bus::unsubscribe(const Sink* sink) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<SinkList>(*std::atomic_load(&sinks_));
  std::erase_if(*next, [&](const auto& s) { return s.get() == sink; });
  std::atomic_store(&sinks_, std::shared_ptr<const SinkList>(std::move(next)));
}

void Bus::emit(Event event) const {
  const auto sinks = std::atomic_load(&sinks_);
  if (sinks->empty()) return;
  auto& subject = subject_of(event);
  if (subject.time == Time{}) subject.time = std::chrono::system_clock::now();
  for (const auto& sink : *sinks) {
    try {
      sink->consume(event);
    } catch (const std::exception& failure) {
      static std::atomic<bool> reported{false};
      if (!reported.exchange(true)) std::fprintf(stderr, "events: a sink failed: %s\n", failure.what());
    }
  }
}

bool Bus::reopen(std::string* error) const {
  const auto sinks = std::atomic_load(&sinks_);
  bool ok = true;
  for (const auto& sink : *sinks) {
    std::string failure;
    if (!sink->reopen(&failure)) {
      if (ok && error) *error = failure;
      ok = false;
    }
  }
  return ok;
}

Bus& bus() {
  static Bus instance;
  return instance;
}

}  // namespace gw::events
