// ActiveQueue: which messages the queue manager works on, and when.
//
// A message is submitted (categorized, recovered, released, woken by its
// timer) and waits its turn; at most `concurrency` passes run at once, each
// started on the executor with the message's id. A message has at most one
// owner at a time -- a pass, an ATRN connection that borrowed it, or an
// administrator's change -- and a submission while it is owned runs one more
// pass once the owner lets go. An administrator's change waits for the owner
// (claim()) and goes before a pass asked for meanwhile, so a pass's stored
// envelope never undoes an acknowledged change. force() makes the next pass
// ignore retry times and holds (gatewayctl retry, ETRN). wake_at() submits a
// message again at a time given by the Clock (its earliest next attempt).
// Executor: every call on the executor given at construction; stop() drops
// what waits and every timer, passes in flight complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/clock.h"
#include "gateway/common/queue_id.h"

namespace gw::qmgr {

class ActiveQueue : public std::enable_shared_from_this<ActiveQueue> {
 public:
  // One pass over message `id`; `forced` = ignore retry times and holds.
  using Pass = std::function<asio::awaitable<void>(QueueId id, bool forced)>;

  ActiveQueue(asio::any_io_executor executor, const Clock& clock, std::size_t concurrency, Pass pass);
  ActiveQueue(const ActiveQueue&) = delete;
  ActiveQueue& operator=(const ActiveQueue&) = delete;

  // The pass to run (when it could not be given at construction).
  void set_pass(Pass pass) { pass_ = std::move(pass); }
  // Passes start once open() was called (the queue manager has settings).
  void open();
  void enqueue(QueueId id);
  void force(const QueueId& id) { forced_.insert(id); }

  bool owned(const QueueId& id) const { return owned_.contains(id); }
  // Takes the message now when nobody owns it (ATRN's borrow).
  bool try_claim(const QueueId& id) { return owned_.insert(id).second; }
  // Waits until nobody owns the message, then owns it (administrators).
  asio::awaitable<void> claim(const QueueId& id);
  // The owner lets go: a waiting claim goes first, then a pass asked for meanwhile.
  void release(const QueueId& id);

  void wake_at(const QueueId& id, std::int64_t when_unix);
  void cancel_wake(const QueueId& id);
  // When the message will be submitted again by its timer (seconds since the epoch).
  std::optional<std::int64_t> wake_time(const QueueId& id) const;

  void stop();
  bool stopped() const noexcept { return stopped_; }
  std::size_t running() const noexcept { return running_; }
  std::size_t waiting() const noexcept { return waiting_.size(); }

 private:
  void start_more();
  static asio::awaitable<void> run(std::shared_ptr<ActiveQueue> self, QueueId id, bool forced);

  asio::any_io_executor executor_;
  const Clock& clock_;
  std::size_t concurrency_;
  Pass pass_;
  bool open_ = false;
  bool stopped_ = false;
  std::size_t running_ = 0;
  std::deque<QueueId> waiting_;
  std::set<QueueId> waiting_set_;
  std::set<QueueId> owned_;
  std::set<QueueId> again_;    // submitted while owned: one more pass
  std::set<QueueId> forced_;
  std::map<QueueId, std::vector<std::shared_ptr<asio::steady_timer>>> claims_;  // waiting administrators
  struct Wake {
    std::unique_ptr<asio::steady_timer> timer;
    std::int64_t when_unix = 0;
  };
  std::map<QueueId, Wake> timers_;
};

}  // namespace gw::qmgr
