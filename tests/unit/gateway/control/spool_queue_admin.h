// SpoolQueueAdmin: a small QueueAdmin for the control tests, acting on a real
// gw::queue::Spool and NamedQueues in a temporary directory the way the
// gateway's delivery stage does (envelope on disk first, then the index), but
// without any delivery: "retry" only makes held recipients due, and
// "delete --ndr" queues a plain null-sender report to the sender.
#pragma once

#include <set>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/queue/named_queues.h"
#include "gateway/queue/queue_admin.h"
#include "gateway/queue/spool.h"
#include "gateway/queue/spool_error.h"

namespace gw::control::test {

class SpoolQueueAdmin : public queue::QueueAdmin {
 public:
  SpoolQueueAdmin(asio::any_io_executor executor, queue::Spool& spool, queue::NamedQueues& index)
      : executor_(std::move(executor)), spool_(spool), index_(index) {}

  asio::any_io_executor executor() const override { return executor_; }

  asio::awaitable<std::vector<queue::QueueSummary>> list_queues() override {
    std::vector<queue::QueueSummary> out;
    std::set<queue::QueueKey> keys = frozen_queues_;
    const auto counts = index_.counts();
    for (const auto& [key, count] : counts) keys.insert(key);
    for (const auto& key : keys) {
      const auto it = counts.find(key);
      out.push_back({key, queue::display_name(key), it == counts.end() ? 0 : it->second,
                     frozen_queues_.contains(key)});
    }
    co_return out;
  }

  asio::awaitable<std::vector<queue::QueuedMessage>> list_messages(queue::QueueKey key,
                                                                   std::size_t limit) override {
    std::optional<std::string_view> hop;
    if (!key.next_hop.empty()) hop = key.next_hop;
    co_return index_.list(key.queue, limit, hop);
  }

  asio::awaitable<Result<envelope::Envelope>> message(QueueId id) override {
    co_return co_await spool_.load(id);
  }

  asio::awaitable<Result<void>> freeze_message(QueueId id, bool frozen) override {
    auto envelope = co_await spool_.load(id);
    if (!envelope) co_return std::unexpected(envelope.error());
    envelope->set_frozen(frozen);
    auto stored = co_await spool_.update(id, *envelope);
    if (!stored) co_return stored;
    index_.upsert(queue::QueuedMessage::from_envelope(*envelope));
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> freeze_queue(queue::QueueKey key, bool frozen) override {
    if (frozen) frozen_queues_.insert(key);
    else frozen_queues_.erase(key);
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> retry_message(QueueId id) override {
    auto envelope = co_await spool_.load(id);
    if (!envelope) co_return std::unexpected(envelope.error());
    for (auto& rcpt : *envelope->mutable_recipients())
      if (rcpt.state() == envelope::RETRY) rcpt.set_next_attempt_unix(0);
    co_return co_await spool_.update(id, *envelope);
  }

  asio::awaitable<Result<std::size_t>> retry_queue(queue::QueueKey key) override {
    std::optional<std::string_view> hop;
    if (!key.next_hop.empty()) hop = key.next_hop;
    std::size_t made_due = 0;
    const auto messages = index_.list(key.queue, index_.size(), hop);
    for (const auto& message : messages) {
      if (message.frozen) continue;
      QueueId id = message.id;
      auto result = co_await retry_message(std::move(id));
      if (!result) co_return std::unexpected(result.error());
      ++made_due;
    }
    co_return made_due;
  }

  asio::awaitable<Result<void>> delete_message(QueueId id, bool send_ndr) override {
    auto envelope = co_await spool_.load(id);
    if (!envelope) co_return std::unexpected(envelope.error());
    if (send_ndr && !envelope->sender().empty()) {
      envelope::Envelope report;
      report.add_recipients()->set_address(envelope->sender());
      auto writer = co_await spool_.begin(std::move(report));
      if (!writer) co_return std::unexpected(writer.error());
      const std::string body = "Subject: Undeliverable: deleted by the administrator\r\n\r\n" + id.str() + "\r\n";
      auto written = co_await writer->write(body);
      if (!written) co_return std::unexpected(written.error());
      auto committed = co_await spool_.commit(std::move(*writer));
      if (!committed) co_return std::unexpected(committed.error());
      auto stored = co_await spool_.load(*committed);
      if (stored) index_.upsert(queue::QueuedMessage::from_envelope(*stored));
    }
    auto removed = co_await spool_.remove(id);
    if (!removed) co_return removed;
    index_.erase(id);
    co_return Result<void>{};
  }

  asio::awaitable<queue::ReleaseResult> release_domain(std::string domain) override {
    queue::ReleaseResult result;
    const auto messages = index_.list(envelope::REMOTE_DELIVERY, index_.size(), domain);
    for (const auto& message : messages) {
      result.known_domain = true;
      QueueId id = message.id;
      if (co_await retry_message(std::move(id))) ++result.messages;
    }
    co_return result;
  }

  // The control socket has no ATRN: nothing to borrow.
  asio::awaitable<queue::Turn> take_for_turn(std::vector<std::string>, std::vector<std::string>,
                                             std::size_t) override {
    co_return queue::Turn{};
  }
  asio::awaitable<std::size_t> deliver_turn(queue::Turn, ByteStream&, queue::TurnPeer) override { co_return 0; }
  asio::awaitable<void> return_turn(queue::Turn) override { co_return; }

 private:
  asio::any_io_executor executor_;
  queue::Spool& spool_;
  queue::NamedQueues& index_;
  std::set<queue::QueueKey> frozen_queues_;
};

}  // namespace gw::control::test
