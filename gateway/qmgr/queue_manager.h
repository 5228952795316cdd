// QueueManager: the queue manager behind the categorizer -- it takes a
// categorized message from "waiting to be routed" to delivered, retried,
// reported on, or failed (the role of Postfix's qmgr plus smtp/lmtp), and it is
// the gateway's QueueAdmin (gatewayctl, ETRN, ATRN).
//
// It is assembled from small units, each with its own header and tests:
//   ActiveQueue     which messages are worked on, one owner per message, wake-ups
//   DeliveryPass    one pass over one message: route, deliver per next hop,
//                   record outcomes, reports, store or remove (delivery_pass.h)
//   HopDelivery     the seam to the network; NetworkDelivery is the real one
//   ReportWriter    DSNs queued as new messages
//   ConnectorRetry  connectors whose hosts would not take a session
//   Administration  freeze, retry, delete, frozen queues, ETRN
//   TurnLender      ATRN: messages lent to a reversed connection
//   Settings        what one metabase says, shared by the passes it started
// The Clock is injected (options.clock), so every time-based rule is tested
// with a clock the test moves.
// Executor: everything runs on the executor given at construction; submit(),
// configure() and stop() may be called from any thread; the QueueAdmin
// operations are awaited on executor() (deliver_turn on its stream's).
// Not responsible for categorization (CategorizeStage), the SMTP client's
// protocol work or DSN wording (gw_delivery, gw_dsn).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/clock.h"
#include "gateway/common/queue_id.h"
#include "gateway/qmgr/hop_delivery.h"
#include "gateway/qmgr/network_delivery.h"
#include "gateway/qmgr/outcome.h"
#include "gateway/queue/named_queues.h"
#include "gateway/queue/queue_admin.h"
#include "gateway/queue/spool.h"
#include "proto/metabase.pb.h"

namespace gw::qmgr {

struct QueueManagerOptions {
  std::size_t concurrency = 64;            // messages in a pass at once
  NetworkDeliveryOptions network;          // TLS trust, client timeouts, DNS timeout
  // Originals larger than this come back in failure reports as headers only.
  std::uint64_t max_full_return_size = 10 * 1024 * 1024;
  // A queued report (a new message id) is handed on, normally to the categorize stage.
  std::function<void(const QueueId&)> on_report_queued;
  // The wall clock; null = the system clock. Must outlive the queue manager.
  const Clock* clock = nullptr;
  // Carries out transactions; null = NetworkDelivery. Tests script one.
  std::shared_ptr<HopDelivery> delivery;
};

class QueueManager final : public queue::QueueAdmin {
 public:
  QueueManager(asio::any_io_executor executor, queue::Spool& spool, queue::NamedQueues& queues,
               QueueManagerOptions options = {});
  ~QueueManager() override;
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  // Thread-safe: the metabase whose routing, retry schedule and limits apply
  // from now on. A reload looks at every waiting message again (one not yet
  // due is left as it is, without a write).
  void configure(std::shared_ptr<const metabase::Metabase> metabase);
  // Thread-safe: a message that may have work (categorized, recovered, released).
  void submit(QueueId id);
  // Thread-safe: no new attempts; transactions in flight complete.
  void stop();

  // On executor() (or after the loops stopped).
  DeliveryStats stats() const;

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
