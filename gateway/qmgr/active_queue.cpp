#include "gateway/qmgr/active_queue.h"

#include <algorithm>

#include "gateway/common/log.h"

namespace gw::qmgr {

ActiveQueue::ActiveQueue(asio::any_io_executor executor, const Clock& clock, std::size_t concurrency, Pass pass)
    : executor_(std::move(executor)), clock_(clock), concurrency_(std::max<std::size_t>(1, concurrency)),
      pass_(std::move(pass)) {}

void ActiveQueue::open() {
  open_ = true;
  start_more();
}

void ActiveQueue::enqueue(QueueId id) {
  if (stopped_) return;
  if (owned_.contains(id)) {
    again_.insert(id);
    return;
  }
  if (!waiting_set_.insert(id).second) return;
  waiting_.push_back(std::move(id));
  start_more();
}

void ActiveQueue::start_more() {
  while (open_ && !stopped_ && running_ < concurrency_ && !waiting_.empty()) {
    QueueId id = std::move(waiting_.front());
    waiting_.pop_front();
    waiting_set_.erase(id);
    ++running_;
    owned_.insert(id);
    const bool forced = forced_.erase(id) > 0;
    asio::co_spawn(executor_, run(shared_from_this(), std::move(id), forced), asio::detached);
  }
}

asio::awaitable<void> ActiveQueue::run(std::shared_ptr<ActiveQueue> self, QueueId id, bool forced) {
  try {
    co_await self->pass_(id, forced);
  } catch (const std::exception& error) {
    // Nothing below throws by design; a bug must not stop the queue for everyone.
    log::error({"delivery", 0, {}, id.str()}, "delivery pass failed: {}", error.what());
  }
  --self->running_;
  self->release(id);
  self->start_more();
}

asio::awaitable<void> ActiveQueue::claim(const QueueId& id) {
  while (owned_.contains(id)) {
    auto waiter = std::make_shared<asio::steady_timer>(executor_, asio::steady_timer::time_point::max());
    claims_[id].push_back(waiter);
    boost::system::error_code ignored;
    co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  owned_.insert(id);
}

void ActiveQueue::release(const QueueId& id) {
  owned_.erase(id);
  if (const auto waiting_admin = claims_.find(id); waiting_admin != claims_.end()) {
    const auto waiters = std::move(waiting_admin->second);
    claims_.erase(waiting_admin);
    for (const auto& waiter : waiters) waiter->cancel();
    return;
  }
  if (again_.erase(id) > 0) enqueue(id);
}

void ActiveQueue::wake_at(const QueueId& id, std::int64_t when_unix) {
  if (stopped_) return;
  auto& wake = timers_[id];
  if (!wake.timer) wake.timer = std::make_unique<asio::steady_timer>(executor_);
  wake.when_unix = when_unix;
  auto& timer = wake.timer;
  const auto delay = std::chrono::seconds(std::max<std::int64_t>(0, when_unix - clock_.unix_now()));
  log::debug({"delivery", 0, {}, id.str()}, "next attempt in {} s", delay.count());
  timer->expires_after(delay);
  timer->async_wait([self = shared_from_this(), id](boost::system::error_code ec) {
    if (ec) return;
    self->timers_.erase(id);
    self->enqueue(id);
  });
}

void ActiveQueue::cancel_wake(const QueueId& id) {
  if (auto it = timers_.find(id); it != timers_.end()) {
    it->second.timer->cancel();
    timers_.erase(it);
  }
}

std::optional<std::int64_t> ActiveQueue::wake_time(const QueueId& id) const {
  const auto it = timers_.find(id);
  if (it == timers_.end()) return std::nullopt;
  return it->second.when_unix;
}

void ActiveQueue::stop() {
  stopped_ = true;
  waiting_.clear();
  waiting_set_.clear();
  for (auto& [id, wake] : timers_) wake.timer->cancel();
  timers_.clear();
}

}  // namespace gw::qmgr
