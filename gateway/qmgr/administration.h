// Administration: what gatewayctl and ETRN do to queued messages -- freeze and
// thaw messages and named queues (the frozen queues survive restarts: the
// spool's state/frozen-queues, stored before a change is acknowledged),
// delete with or without a failure report, release the mail held for a domain
// (ETRN, RFC 1985). Changes to a message's envelope own the message for their
// duration (ActiveQueue::claim), so no pass overwrites them; the envelope on
// disk changes first, then the index.
// Executor: the queue manager's. Results are values; nothing throws.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/common/result.h"
#include "gateway/qmgr/delivery_pass.h"
#include "gateway/queue/queue_admin.h"

namespace gw::qmgr {

class Administration {
 public:
  // `settings` gives the current settings (null before the first metabase).
  Administration(PassContext& context, std::set<queue::QueueKey>& frozen_queues,
                 std::function<SettingsPtr()> settings);

  // Start-up: the frozen queues stored by an earlier run (blocking read).
  void load_frozen_queues();

  asio::awaitable<Result<void>> freeze_message(const QueueId& id, bool frozen);
  asio::awaitable<Result<void>> freeze_queue(const queue::QueueKey& key, bool frozen);
  asio::awaitable<Result<void>> retry_message(const QueueId& id);
  asio::awaitable<Result<std::size_t>> retry_queue(const queue::QueueKey& key);
  asio::awaitable<Result<void>> delete_message(const QueueId& id, bool send_ndr);
  asio::awaitable<queue::ReleaseResult> release_domain(std::string domain);

 private:
  asio::awaitable<Result<void>> set_frozen_owned(const QueueId& id, bool frozen);
  asio::awaitable<Result<void>> delete_owned(const QueueId& id, bool send_ndr);
  asio::awaitable<Result<void>> store_frozen_queues();

  PassContext& context_;
  std::set<queue::QueueKey>& frozen_queues_;
  std::function<SettingsPtr()> settings_;
};

}  // namespace gw::qmgr
