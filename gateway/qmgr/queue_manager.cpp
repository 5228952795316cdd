#include "gateway/qmgr/queue_manager.h"

#include <limits>
#include <set>

#include "gateway/common/log.h"
#include "gateway/delivery/smtp_client.h"
#include "gateway/qmgr/active_queue.h"
#include "gateway/qmgr/administration.h"
#include "gateway/qmgr/connector_retry.h"
#include "gateway/qmgr/delivery_pass.h"
#include "gateway/qmgr/reports.h"
#include "gateway/qmgr/spooled_body.h"
#include "gateway/qmgr/turns.h"

namespace gw::qmgr {
namespace {

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace

struct QueueManager::State : std::enable_shared_from_this<State> {
  asio::any_io_executor executor;
  queue::Spool& spool;
  queue::NamedQueues& index;
  const Clock& clock;
  DeliveryStats stats;
  std::shared_ptr<NetworkDelivery> network;   // null when options.delivery was given
  std::shared_ptr<HopDelivery> delivery;
  ReportWriter reports;
  ConnectorRetry connectors;
  std::set<queue::QueueKey> frozen_queues;
  std::shared_ptr<ActiveQueue> active;
  PassContext context;
  Administration administration;
  TurnLender turns;
  SettingsPtr settings;                       // null until the first configure()

  State(asio::any_io_executor e, queue::Spool& s, queue::NamedQueues& q, QueueManagerOptions& options)
      : executor(std::move(e)),
        spool(s),
        index(q),
        clock(options.clock ? *options.clock : system_clock()),
        network(options.delivery ? nullptr : std::make_shared<NetworkDelivery>(executor, spool, options.network)),
        delivery(options.delivery ? options.delivery : network),
        reports(spool, index, clock, stats, ReportOptions{options.max_full_return_size, options.on_report_queued}),
        connectors(clock),
        active(std::make_shared<ActiveQueue>(executor, clock, options.concurrency, ActiveQueue::Pass{})),
        context{spool, index, clock, *delivery, reports, connectors, frozen_queues, *active, stats},
        administration(context, frozen_queues, [this] { return settings; }),
        turns(context, [this] { return settings; }) {}

  // The pass the active queue runs: a frame that keeps the whole state alive.
  void wire() {
    auto pass = [weak = weak_from_this()](QueueId id, bool forced) -> asio::awaitable<void> {
      return run(weak.lock(), std::move(id), forced);
    };
    active->set_pass(std::move(pass));
  }

  static asio::awaitable<void> run(std::shared_ptr<State> self, QueueId id, bool forced) {
    if (!self || !self->settings) co_return;
    co_await run_pass(self->context, self->settings, std::move(id), forced);
  }

  // On the stream's executor: the client session over the reversed connection.
  static asio::awaitable<std::size_t> deliver_turn(std::shared_ptr<State> self, queue::Turn turn, ByteStream& stream,
                                                   queue::TurnPeer peer) {
    const log::Context ctx{"delivery", 0, peer.name};
    auto fetch = [self, ids = turn.messages]() -> asio::awaitable<std::vector<std::optional<delivery::OutboundMessage>>> {
      co_return self->turns.messages(ids);
    };
    auto fetched = asio::co_spawn(self->executor, std::move(fetch), asio::use_awaitable);
    const auto messages = co_await std::move(fetched);
    std::vector<std::optional<delivery::MessageResult>> results(turn.messages.size());
    delivery::ClientOptions options;
    options.session.helo_name = peer.helo_name;
    options.timeouts.greeting = options.timeouts.command = peer.reply_timeout;
    const std::string remote = peer.name;
    delivery::Endpoint endpoint{peer.name, peer.address};
    const asio::any_io_executor here = co_await asio::this_coro::executor;
    auto connection = co_await delivery::OutboundConnection::adopt(here, stream, std::move(endpoint), options);
    std::size_t attempted = 0;
    for (std::size_t i = 0; i < turn.messages.size() && connection->usable(); ++i) {
      if (!messages[i]) continue;
      QueueId id = turn.messages[i];
      auto body = co_await SpooledBody::open(self->spool, std::move(id));
      if (!body) {
        log::error(ctx, "ATRN: cannot open the body of {}: {}", turn.messages[i].str(), body.error().message());
        continue;
      }
      results[i] = co_await connection->deliver(*messages[i], **body);
      ++attempted;
    }
    if (connection->failure()) log::info(ctx, "ATRN: reversed session ended: {}", connection->failure()->text);
    co_await connection->quit();
    log::info(ctx, "ATRN: {} of {} message(s) sent over the reversed connection", attempted, turn.messages.size());
    auto give_back = [self, ids = std::move(turn.messages), results = std::move(results),
                      remote]() mutable -> asio::awaitable<void> {
      for (std::size_t i = 0; i < ids.size(); ++i) co_await self->turns.give_back(ids[i], std::move(results[i]), remote);
    };
    auto returned = asio::co_spawn(self->executor, std::move(give_back), asio::use_awaitable);
    co_await std::move(returned);
    co_return attempted;
  }
};

QueueManager::QueueManager(asio::any_io_executor executor, queue::Spool& spool, queue::NamedQueues& queues,
                           QueueManagerOptions options)
    : state_(std::make_shared<State>(std::move(executor), spool, queues, options)) {
  state_->wire();
  state_->administration.load_frozen_queues();
}

QueueManager::~QueueManager() = default;

void QueueManager::configure(std::shared_ptr<const metabase::Metabase> metabase) {
  asio::post(state_->executor, [state = state_, metabase = std::move(metabase)]() mutable {
    if (!metabase) return;
    const bool reload = state->settings != nullptr;
    state->settings = std::make_shared<const Settings>(std::move(metabase));
    if (state->network) state->network->configure(*state->settings);
    // Routes, schedules and connectors may have changed: every waiting message
    // is looked at again (one not yet due is left as it is, without a write).
    if (reload) {
      for (auto queue : {envelope::WAITING_TO_BE_ROUTED, envelope::LOCAL_DELIVERY, envelope::REMOTE_DELIVERY,
                         envelope::FINAL_DESTINATION_UNREACHABLE})
        for (const auto& message : state->index.list(queue, std::numeric_limits<std::size_t>::max()))
          state->active->enqueue(message.id);
    }
    state->active->open();
  });
}

void QueueManager::submit(QueueId id) {
  asio::post(state_->executor, [state = state_, id = std::move(id)]() mutable { state->active->enqueue(std::move(id)); });
}

void QueueManager::stop() {
  asio::post(state_->executor, [state = state_] { state->active->stop(); });
}

DeliveryStats QueueManager::stats() const { return state_->stats; }

asio::any_io_executor QueueManager::executor() const { return state_->executor; }

asio::awaitable<std::vector<queue::QueueSummary>> QueueManager::list_queues() {
  std::vector<queue::QueueSummary> out;
  auto counts = state_->index.counts();
  for (const auto& key : state_->frozen_queues) counts.try_emplace(key, 0);
  for (const auto& [key, count] : counts)
    out.push_back(queue::QueueSummary{key, queue::display_name(key), count, state_->frozen_queues.contains(key)});
  co_return out;
}

asio::awaitable<std::vector<queue::QueuedMessage>> QueueManager::list_messages(queue::QueueKey key, std::size_t limit) {
  std::optional<std::string_view> hop;
  if (!key.next_hop.empty()) hop = key.next_hop;
  co_return state_->index.list(key.queue, limit, hop);
}

asio::awaitable<Result<envelope::Envelope>> QueueManager::message(QueueId id) {
  co_return co_await state_->spool.load(id);
}

asio::awaitable<Result<void>> QueueManager::freeze_message(QueueId id, bool frozen) {
  co_return co_await state_->administration.freeze_message(id, frozen);
}

asio::awaitable<Result<void>> QueueManager::freeze_queue(queue::QueueKey key, bool frozen) {
  co_return co_await state_->administration.freeze_queue(key, frozen);
}

asio::awaitable<Result<void>> QueueManager::retry_message(QueueId id) {
  co_return co_await state_->administration.retry_message(id);
}

asio::awaitable<Result<std::size_t>> QueueManager::retry_queue(queue::QueueKey key) {
  co_return co_await state_->administration.retry_queue(key);
}

asio::awaitable<Result<void>> QueueManager::delete_message(QueueId id, bool send_ndr) {
  co_return co_await state_->administration.delete_message(id, send_ndr);
}

asio::awaitable<queue::ReleaseResult> QueueManager::release_domain(std::string domain) {
  co_return co_await state_->administration.release_domain(std::move(domain));
}

asio::awaitable<queue::Turn> QueueManager::take_for_turn(std::vector<std::string> connectors,
                                                         std::vector<std::string> domains, std::size_t limit) {
  co_return co_await state_->turns.take(std::move(connectors), std::move(domains), limit);
}

asio::awaitable<std::size_t> QueueManager::deliver_turn(queue::Turn turn, ByteStream& stream, queue::TurnPeer peer) {
  co_return co_await State::deliver_turn(state_, std::move(turn), stream, std::move(peer));
}

asio::awaitable<void> QueueManager::return_turn(queue::Turn turn) {
  for (const auto& id : turn.messages) co_await state_->turns.give_back(id, std::nullopt, {});
}

}  // namespace gw::qmgr
