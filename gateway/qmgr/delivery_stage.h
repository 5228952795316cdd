// DeliveryStage: the queue manager behind the categorizer -- it takes a
// categorized message from "waiting to be routed" to delivered, retried,
// reported on, or failed (the role of Postfix's qmgr plus smtp/lmtp).
//
// For each due recipient (RESOLVED, or RETRY whose next attempt has come) the
// stage asks the router for its next hop with the current metabase's routing
// snapshot, groups the recipients of a message by next hop and hands each group
// to the outbound client (one transaction per group, connections reused through
// one ConnectionPool; LMTP per-recipient replies come back per recipient). Each
// outcome is recorded in the envelope on disk before anything else happens:
//   delivered  -> DELIVERED (RELAYED when NOTIFY=SUCCESS and the peer has no DSN)
//   5xx / route failure -> FAILED with the status table's (or peer's) codes
//   4xx, unreachable, DNS trouble -> RETRY, next attempt from the virtual
//     server's retry schedule (first/second/third/subsequent); after the
//     expiration timeout -> FAILED 4.4.7
// Then plan_reports() decides the DSNs owed (one failure report per message
// listing every failed recipient, delay reports after the notification time,
// success/relayed when asked); each report is queued as a new message with the
// null reverse-path and goes through the categorizer like any other mail. A
// null-sender message with failures ends in the Badmail queue instead. A message
// whose recipients are all final is removed from the spool; otherwise it stays
// in Local delivery / Remote delivery [hop] / Final destination currently
// unreachable and a timer wakes it at its earliest next attempt.
// Connectors: a connection-level failure of a connector's hop puts the
// connector in retry, so the router falls back to the next best connector until
// the retry interval has passed. Connector schedules hold recipients until the
// next activation window (the oversize schedule for large messages);
// remote-triggered connectors hold them until an ETRN releases the domain, or
// until an ATRN client borrows them (take_for_turn) and the stage delivers them
// over the client's own connection (deliver_turn; recorded like any attempt).
// Frozen messages and queues are not attempted (expiry still applies).
// Executor: everything runs on the executor given at construction (the
// gateway's control loop); submit() and configure() may be called from any
// thread. Not responsible for categorization, the SMTP client's protocol work
// or DSN wording (gw_delivery, gw_dsn).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/delivery/smtp_client.h"
#include "gateway/queue/named_queues.h"
#include "gateway/queue/queue_admin.h"
#include "gateway/queue/spool.h"
#include "gateway/queue/queue_admin.h"
#include "proto/metabase.pb.h"

namespace gw::qmgr {

struct DeliveryStageOptions {
  std::size_t concurrency = 64;            // messages in delivery at once
  std::string tls_ca_file;                 // trust for TLS-required hops; empty = system store
  delivery::Timeouts timeouts;             // command timeout overridden by Outbound.connection_timeout
  std::chrono::milliseconds dns_timeout = std::chrono::seconds(5);
  // Originals larger than this come back in failure reports as headers only.
  std::uint64_t max_full_return_size = 10 * 1024 * 1024;
  // A queued report (a new message id) is handed on, normally to the categorize stage.
  std::function<void(const QueueId&)> on_report_queued;
};

struct DeliveryStageStats {
  std::uint64_t attempts = 0;        // transactions tried (one per next hop of a message pass)
  std::uint64_t delivered = 0;       // recipients delivered or relayed
  std::uint64_t deferred = 0;        // recipients left in retry
  std::uint64_t failed = 0;          // recipients failed
  std::uint64_t reports = 0;         // DSNs queued
  std::uint64_t completed = 0;       // messages removed after every recipient was final
};

class DeliveryStage final : public queue::QueueAdmin {
 public:
  DeliveryStage(asio::any_io_executor executor, queue::Spool& spool, queue::NamedQueues& queues,
                DeliveryStageOptions options = {});
  ~DeliveryStage() override;
  DeliveryStage(const DeliveryStage&) = delete;
  DeliveryStage& operator=(const DeliveryStage&) = delete;

  // Thread-safe: the metabase whose routing, retry schedule and limits apply from now on.
  void configure(std::shared_ptr<const metabase::Metabase> metabase);
  // Thread-safe: a message that may have work (categorized, recovered, released).
  void submit(QueueId id);
  // Thread-safe: no new attempts; transactions in flight complete.
  void stop();

  // On executor() (or after the loops stopped).
  DeliveryStageStats stats() const;

  asio::any_io_executor executor() const override;
  asio::awaitable<std::vector<queue::QueueSummary>> list_queues() override;
  asio::awaitable<std::vector<queue::QueuedMessage>> list_messages(queue::QueueKey key, std::size_t limit) override;
  asio::awaitable<Result<envelope::Envelope>> message(QueueId id) override;
  asio::awaitable<Result<void>> freeze_message(QueueId id, bool frozen) override;
  asio::awaitable<Result<void>> freeze_queue(queue::QueueKey key, bool frozen) override;
  asio::awaitable<Result<void>> retry_message(QueueId id) override;
  asio::awaitable<Result<std::size_t>> retry_queue(queue::QueueKey key) override;
  asio::awaitable<Result<void>> delete_message(QueueId id, bool send_ndr) override;
  asio::awaitable<queue::ReleaseResult> release_domain(std::string domain) override;
  asio::awaitable<queue::Turn> take_for_turn(std::vector<std::string> connectors, std::vector<std::string> domains,
                                             std::size_t limit) override;
  asio::awaitable<std::size_t> deliver_turn(queue::Turn turn, ByteStream& stream, queue::TurnPeer peer) override;
  asio::awaitable<void> return_turn(queue::Turn turn) override;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace gw::qmgr
