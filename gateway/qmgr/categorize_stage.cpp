#include "gateway/qmgr/categorize_stage.h"

#include <algorithm>
#include <ctime>
#include <list>

#include "gateway/common/log.h"
#include "gateway/events/bus.h"

namespace gw::qmgr {

struct CategorizeStage::State : std::enable_shared_from_this<State> {
  queue::Spool& spool;
  queue::NamedQueues& queues;
  categorizer::DirectoryService& directory;
  CategorizeStageOptions options;
  CategorizeStageStats stats;
  // On the directory executor only:
  std::deque<QueueId> waiting;
  std::size_t running = 0;
  bool stopped = false;
  std::list<std::shared_ptr<asio::steady_timer>> retry_timers;

  State(queue::Spool& s, queue::NamedQueues& q, categorizer::DirectoryService& d, CategorizeStageOptions o)
      : spool(s), queues(q), directory(d), options(std::move(o)) {
    if (options.backoff.empty()) options.backoff.push_back(std::chrono::seconds(60));
    options.concurrency = std::max<std::size_t>(1, options.concurrency);
  }

  void enqueue(QueueId id) {
    if (stopped) return;
    waiting.push_back(std::move(id));
    start_more();
  }

  void start_more() {
    while (!stopped && running < options.concurrency && !waiting.empty()) {
      QueueId id = std::move(waiting.front());
      waiting.pop_front();
      ++running;
      asio::co_spawn(directory.executor(), process(shared_from_this(), std::move(id)), asio::detached);
    }
  }

  void retry_later(const QueueId& id, std::uint32_t attempt) {
    if (stopped) return;
    auto timer = std::make_shared<asio::steady_timer>(directory.executor());
    timer->expires_after(backoff_for(options.backoff, attempt));
    retry_timers.push_back(timer);
    auto where = std::prev(retry_timers.end());
    timer->async_wait([self = shared_from_this(), id, where](boost::system::error_code ec) {
      self->retry_timers.erase(where);
      if (!ec) self->enqueue(id);
    });
  }

  static asio::awaitable<void> process(std::shared_ptr<State> self, QueueId id) {
    co_await self->categorize_one(id);
    --self->running;
    self->start_more();
  }

  // One event per recipient: what the directory made of it.
  static void emit_categorized(const QueueId& id, const envelope::Envelope& env, const envelope::Recipient& r) {
    events::Categorized e;
    e.subject = {{}, id.str(), env.message_id(), env.sender(), r.address()};
    const auto& resolution = r.resolution();
    e.object = resolution.object_dn();
    if (r.state() == envelope::FAILED) {
      e.resolution = "failed";
      e.reply_code = r.reply_code();
      e.status = r.status();
      e.detail = r.diagnostic();
    } else if (r.state() == envelope::EXPANDED) {
      e.resolution = "group";
    } else {
      switch (resolution.kind()) {
        case envelope::Resolution::MAILBOX:
          e.resolution = "mailbox";
          e.target = resolution.home_server_fqdn();
          break;
        case envelope::Resolution::CONTACT:
          e.resolution = "contact";
          e.target = resolution.target_address();
          break;
        case envelope::Resolution::GROUP:
          e.resolution = "group";
          break;
        case envelope::Resolution::NON_AUTHORITATIVE:
          e.resolution = "non-authoritative";
          break;
        default:
          e.resolution = "remote";
          break;
      }
    }
    if (!resolution.expanded_from_dn().empty())
      e.detail += (e.detail.empty() ? "" : "; ") + std::string("member of ") + resolution.expanded_from_dn();
    events::emit(std::move(e));
  }

  asio::awaitable<void> categorize_one(const QueueId& id) {
    const log::Context ctx{"categorize", 0, {}, id.str()};
    auto loaded = co_await spool.load(id);
    if (!loaded) {
      // Removed meanwhile (NotFound) or unreadable: nothing to retry from memory.
      ++stats.errors;
      log::error(ctx, "cannot load envelope: {}", loaded.error().message());
      co_return;
    }
    envelope::Envelope env = std::move(*loaded);
    if (env.queue() != envelope::AWAITING_DIRECTORY_LOOKUP) co_return;
    queues.upsert(queue::QueuedMessage::from_envelope(env));

    Result<void> outcome = make_error(make_error_code(categorizer::DirectoryErrc::Unavailable), "no directory endpoints in the metabase");
    if (auto categorizer = directory.categorizer()) {
      envelope::Envelope working = env;
      outcome = co_await categorizer->categorize(working);
      if (outcome) env = std::move(working);
    }

    if (!outcome) {
      const std::uint32_t attempt = env.categorizer_attempts() + 1;
      const auto delay = backoff_for(options.backoff, attempt);
      env.set_categorizer_attempts(attempt);
      env.set_next_attempt_unix(static_cast<std::int64_t>(std::time(nullptr)) +
                                std::chrono::ceil<std::chrono::seconds>(delay).count());
      ++stats.deferred;
      events::emit(events::CategorizationDeferred{
          {{}, id.str(), env.message_id(), env.sender(), ""}, attempt, delay, outcome.error().message()});
      if (auto written = co_await spool.update(id, env); !written)
        log::error(ctx, "cannot record the attempt: {}", written.error().message());
      retry_later(id, attempt);
      co_return;
    }

    env.set_queue(envelope::WAITING_TO_BE_ROUTED);
    env.set_next_attempt_unix(0);
    if (auto written = co_await spool.update(id, env); !written) {
      // The stored envelope still says "awaiting directory lookup": try the whole step again.
      ++stats.errors;
      log::error(ctx, "cannot store the categorized envelope: {}", written.error().message());
      retry_later(id, env.categorizer_attempts() + 1);
      co_return;
    }
    queues.upsert(queue::QueuedMessage::from_envelope(env));
    ++stats.categorized;
    for (const auto& recipient : env.recipients()) emit_categorized(id, env, recipient);
    if (options.on_categorized) options.on_categorized(id);
  }
};

CategorizeStage::CategorizeStage(queue::Spool& spool, queue::NamedQueues& queues, categorizer::DirectoryService& directory,
                                 CategorizeStageOptions options)
    : state_(std::make_shared<State>(spool, queues, directory, std::move(options))) {}

CategorizeStage::~CategorizeStage() {
  // Timers and coroutines hold the state; the executor's shutdown releases them.
}

void CategorizeStage::submit(QueueId id) {
  asio::post(state_->directory.executor(), [state = state_, id = std::move(id)]() mutable {
    state->enqueue(std::move(id));
  });
}

void CategorizeStage::stop() {
  asio::post(state_->directory.executor(), [state = state_] {
    state->stopped = true;
    state->waiting.clear();
    for (auto& timer : state->retry_timers) timer->cancel();
  });
}

const CategorizeStageStats& CategorizeStage::stats() const noexcept { return state_->stats; }

std::chrono::milliseconds CategorizeStage::backoff_for(const std::vector<std::chrono::milliseconds>& steps,
                                                       std::uint32_t attempt) {
  if (steps.empty()) return std::chrono::seconds(60);
  const std::size_t index = attempt == 0 ? 0 : std::min<std::size_t>(attempt - 1, steps.size() - 1);
  return steps[index];
}

}  // namespace gw::qmgr
