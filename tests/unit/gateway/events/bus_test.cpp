#include "gateway/events/bus.h"

#include <gtest/gtest.h>

#include <thread>

namespace gw::events {
namespace {

struct Capture final : Sink {
  std::mutex mutex;
  std::vector<Event> seen;
  void consume(const Event& event) override {
    std::lock_guard lock(mutex);
    seen.push_back(event);
  }
};

TEST(Bus, EverySubscribedSinkSeesEveryEventInOrder) {
  Bus bus;
  auto a = std::make_shared<Capture>();
  auto b = std::make_shared<Capture>();
  auto sa = bus.subscribe(a);
  auto sb = bus.subscribe(b);
  bus.emit(Received{{.queue_id = "A"}});
  bus.emit(Completed{{.queue_id = "A"}});
  ASSERT_EQ(a->seen.size(), 2u);
  ASSERT_EQ(b->seen.size(), 2u);
  EXPECT_EQ(name_of(a->seen[0]), "received");
  EXPECT_EQ(name_of(a->seen[1]), "completed");
}

TEST(Bus, StampsTheTimeWhenTheEmitterLeftItUnset) {
  Bus bus;
  auto sink = std::make_shared<Capture>();
  auto s = bus.subscribe(sink);
  const auto before = std::chrono::system_clock::now();
  bus.emit(Completed{});
  const Time fixed = std::chrono::system_clock::from_time_t(1000);
  bus.emit(Completed{{.time = fixed}});
  EXPECT_GE(subject_of(sink->seen[0]).time, before);
  EXPECT_EQ(subject_of(sink->seen[1]).time, fixed);
}

TEST(Bus, ASinkStopsReceivingWhenItsSubscriptionEnds) {
  Bus bus;
  auto sink = std::make_shared<Capture>();
  {
    auto s = bus.subscribe(sink);
    bus.emit(Completed{});
  }
  bus.emit(Completed{});
  EXPECT_EQ(sink->seen.size(), 1u);
}

TEST(Bus, AThrowingSinkDoesNotStopTheOthers) {
  struct Throwing final : Sink {
    void consume(const Event&) override { throw std::runtime_error("broken sink"); }
  };
  Bus bus;
  auto good = std::make_shared<Capture>();
  auto s1 = bus.subscribe(std::make_shared<Throwing>());
  auto s2 = bus.subscribe(good);
  bus.emit(Completed{});
  EXPECT_EQ(good->seen.size(), 1u);
}

TEST(Bus, EmitsFromManyThreadsWhileSinksComeAndGo) {
  Bus bus;
  auto sink = std::make_shared<Capture>();
  auto s = bus.subscribe(sink);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) bus.emit(Completed{});
    });
  for (int i = 0; i < 100; ++i) auto transient = bus.subscribe(std::make_shared<Capture>());
  for (auto& t : threads) t.join();
  EXPECT_EQ(sink->seen.size(), 4000u);
}

TEST(Bus, ReopenAsksEverySinkAndReportsTheFirstFailure) {
  struct Failing final : Sink {
    void consume(const Event&) override {}
    bool reopen(std::string* error) override {
      *error = "permission denied";
      return false;
    }
  };
  Bus bus;
  auto s1 = bus.subscribe(std::make_shared<Capture>());
  auto s2 = bus.subscribe(std::make_shared<Failing>());
  std::string error;
  EXPECT_FALSE(bus.reopen(&error));
  EXPECT_EQ(error, "permission denied");
}

}  // namespace
}  // namespace gw::events
