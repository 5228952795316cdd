// The active queue: at most `concurrency` passes, one owner per message, a
// waiting administrator before a pass asked for meanwhile, forced passes, and
// wake-ups at the injected clock's times.
#include "gateway/qmgr/active_queue.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/manual_clock.h"

namespace gw::qmgr {
namespace {

QueueId id_of(int n) {
  auto id = QueueId::parse("019C0000000000000000" + std::to_string(1000 + n));
  if (!id) throw std::logic_error("bad test id");
  return *id;
}

// Passes that hold the message until the test opens their gate.
class ActiveQueueTest : public ::testing::Test {
 protected:
  std::shared_ptr<ActiveQueue> make(std::size_t concurrency) {
    return std::make_shared<ActiveQueue>(
        io_.get_executor(), clock_, concurrency, [this](QueueId id, bool forced) -> asio::awaitable<void> {
          return hold(id, forced);
        });
  }

  asio::awaitable<void> hold(QueueId id, bool forced) {
    started_.push_back({id, forced});
    asio::steady_timer gate(io_, asio::steady_timer::time_point::max());
    gates_.push_back(&gate);
    boost::system::error_code ignored;
    co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    finished_.push_back(id);
  }

  // Runs what is ready (a loop that ran out of work must be restarted first).
  void poll() {
    io_.restart();
    io_.poll();
  }

  void open_gates() {
    for (auto* gate : gates_) gate->cancel();
    gates_.clear();
    poll();
  }

  struct Started {
    QueueId id;
    bool forced = false;
  };
  asio::io_context io_;
  gw::test::ManualClock clock_;
  std::vector<Started> started_;
  std::vector<QueueId> finished_;
  std::vector<asio::steady_timer*> gates_;
};

TEST_F(ActiveQueueTest, NoPassStartsBeforeTheQueueIsOpen) {
  auto active = make(2);
  active->enqueue(id_of(1));
  poll();
  EXPECT_TRUE(started_.empty());
  active->open();
  poll();
  EXPECT_EQ(started_.size(), 1u);
  open_gates();
}

TEST_F(ActiveQueueTest, AtMostConcurrencyPassesRunAtOnce) {
  auto active = make(2);
  active->open();
  for (int i = 1; i <= 3; ++i) active->enqueue(id_of(i));
  poll();
  EXPECT_EQ(started_.size(), 2u);
  EXPECT_EQ(active->waiting(), 1u);
  open_gates();
  EXPECT_EQ(started_.size(), 3u);
  open_gates();
  EXPECT_EQ(finished_.size(), 3u);
  EXPECT_EQ(active->running(), 0u);
}

TEST_F(ActiveQueueTest, SubmittingAMessageTwiceWhileItWaitsRunsOnePass) {
  auto active = make(1);
  active->open();
  active->enqueue(id_of(1));
  active->enqueue(id_of(2));
  active->enqueue(id_of(2));
  poll();
  open_gates();
  open_gates();
  EXPECT_EQ(finished_.size(), 2u);
}

TEST_F(ActiveQueueTest, SubmittingAMessageDuringItsPassRunsOneMorePassAfterIt) {
  auto active = make(2);
  active->open();
  active->enqueue(id_of(1));
  poll();
  active->enqueue(id_of(1));
  poll();
  EXPECT_EQ(started_.size(), 1u);  // one owner at a time
  open_gates();
  EXPECT_EQ(started_.size(), 2u);
  open_gates();
}

TEST_F(ActiveQueueTest, AnAdministratorWaitsForThePassAndGoesBeforeAPassAskedForMeanwhile) {
  auto active = make(2);
  active->open();
  active->enqueue(id_of(1));
  poll();
  std::vector<std::string> order;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    co_await active->claim(id_of(1));
    order.push_back("admin");
    active->release(id_of(1));
  }, asio::detached);
  active->enqueue(id_of(1));  // asked for while the pass runs
  poll();
  EXPECT_TRUE(order.empty());
  open_gates();
  EXPECT_EQ(order, std::vector<std::string>{"admin"});
  EXPECT_EQ(started_.size(), 2u);  // the pass asked for meanwhile runs after the administrator
  open_gates();
}

TEST_F(ActiveQueueTest, ForcedPassIsForcedOnce) {
  auto active = make(1);
  active->open();
  active->force(id_of(1));
  active->enqueue(id_of(1));
  poll();
  open_gates();
  active->enqueue(id_of(1));
  poll();
  open_gates();
  ASSERT_EQ(started_.size(), 2u);
  EXPECT_TRUE(started_[0].forced);
  EXPECT_FALSE(started_[1].forced);
}

TEST_F(ActiveQueueTest, AClaimedMessageCannotBeClaimedAgainUntilReleased) {
  auto active = make(1);
  EXPECT_TRUE(active->try_claim(id_of(1)));
  EXPECT_FALSE(active->try_claim(id_of(1)));
  EXPECT_TRUE(active->owned(id_of(1)));
  active->release(id_of(1));
  EXPECT_TRUE(active->try_claim(id_of(1)));
}

TEST_F(ActiveQueueTest, AWakeUpAtAPastTimeSubmitsTheMessageAtOnce) {
  auto active = make(1);
  active->open();
  active->wake_at(id_of(1), clock_.unix_now() - 5);
  EXPECT_EQ(active->wake_time(id_of(1)), clock_.unix_now() - 5);
  io_.restart();
  io_.run_one();  // the timer
  poll();
  EXPECT_EQ(started_.size(), 1u);
  EXPECT_FALSE(active->wake_time(id_of(1)));
  open_gates();
}

TEST_F(ActiveQueueTest, StopDropsWaitingMessagesAndWakeUps) {
  auto active = make(1);
  active->open();
  active->enqueue(id_of(1));
  active->enqueue(id_of(2));
  active->wake_at(id_of(3), clock_.unix_now() + 60);
  poll();
  active->stop();
  EXPECT_EQ(active->waiting(), 0u);
  EXPECT_FALSE(active->wake_time(id_of(3)));
  open_gates();
  EXPECT_EQ(finished_.size(), 1u);
}

}  // namespace
}  // namespace gw::qmgr
