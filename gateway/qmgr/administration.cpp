#include "gateway/qmgr/administration.h"

#include <limits>

#include "gateway/common/address.h"
#include "gateway/common/ascii.h"
#include "gateway/common/log.h"

namespace gw::qmgr {
namespace {

// The frozen named queues live in the spool's state/frozen-queues, one
// "<QueueName enum name><TAB><next hop>" per line.
constexpr const char* kFrozenQueuesFile = "frozen-queues";

std::optional<std::string_view> hop_filter(const queue::QueueKey& key) {
  if (key.next_hop.empty()) return std::nullopt;
  return std::string_view(key.next_hop);
}

}  // namespace

Administration::Administration(PassContext& context, std::set<queue::QueueKey>& frozen_queues,
                               std::function<SettingsPtr()> settings)
    : context_(context), frozen_queues_(frozen_queues), settings_(std::move(settings)) {}

void Administration::load_frozen_queues() {
  auto text = context_.spool.read_state(kFrozenQueuesFile);
  if (!text) {
    if (text.error().code != queue::SpoolErrc::NotFound)
      log::error({"delivery"}, "cannot read the frozen queues: {}; none are frozen", text.error().message());
    return;
  }
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const auto tab = line.find('\t');
    envelope::QueueName name;
    if (tab == std::string_view::npos || !envelope::QueueName_Parse(std::string(line.substr(0, tab)), &name)) {
      if (!line.empty()) log::warn({"delivery"}, "frozen queues: ignoring \"{}\"", log::printable(line));
      continue;
    }
    frozen_queues_.insert(queue::QueueKey{name, std::string(line.substr(tab + 1))});
  }
  for (const auto& key : frozen_queues_) log::info({"delivery"}, "queue {} is frozen", queue::display_name(key));
}

asio::awaitable<Result<void>> Administration::store_frozen_queues() {
  std::string text;
  for (const auto& key : frozen_queues_) text += envelope::QueueName_Name(key.queue) + "\t" + key.next_hop + "\n";
  std::string name = kFrozenQueuesFile;
  co_return co_await context_.spool.write_state(std::move(name), std::move(text));
}

asio::awaitable<Result<void>> Administration::freeze_message(const QueueId& id, bool frozen) {
  co_await context_.active.claim(id);
  auto done = co_await set_frozen_owned(id, frozen);
  context_.active.release(id);
  co_return done;
}

asio::awaitable<Result<void>> Administration::set_frozen_owned(const QueueId& id, bool frozen) {
  auto loaded = co_await context_.spool.load(id);
  if (!loaded) co_return std::unexpected(loaded.error());
  loaded->set_frozen(frozen);
  if (auto written = co_await context_.spool.update(id, *loaded); !written) co_return written;
  context_.index.upsert(queue::QueuedMessage::from_envelope(*loaded));
  if (!frozen) context_.active.enqueue(id);
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Administration::freeze_queue(const queue::QueueKey& key, bool frozen) {
  if (key.next_hop.find_first_of("\t\r\n") != std::string::npos)
    co_return make_error(std::make_error_code(std::errc::invalid_argument), "no such queue");
  const bool changed = frozen ? frozen_queues_.insert(key).second : frozen_queues_.erase(key) > 0;
  if (changed) {
    // Stored before it is acknowledged: a freeze outlasts a restart.
    if (auto stored = co_await store_frozen_queues(); !stored) {
      if (frozen)
        frozen_queues_.erase(key);
      else
        frozen_queues_.insert(key);
      co_return stored;
    }
  }
  if (changed && !frozen) {
    for (const auto& message : context_.index.list(key.queue, std::numeric_limits<std::size_t>::max(), hop_filter(key)))
      context_.active.enqueue(message.id);
  }
  log::info({"delivery"}, "queue {} {}", queue::display_name(key), frozen ? "frozen" : "thawed");
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Administration::retry_message(const QueueId& id) {
  if (!context_.index.find(id)) co_return make_error(make_error_code(queue::SpoolErrc::NotFound), "no such message");
  context_.active.cancel_wake(id);
  context_.active.force(id);
  context_.active.enqueue(id);
  co_return Result<void>{};
}

asio::awaitable<Result<std::size_t>> Administration::retry_queue(const queue::QueueKey& key) {
  const auto messages = context_.index.list(key.queue, std::numeric_limits<std::size_t>::max(), hop_filter(key));
  for (const auto& message : messages) {
    context_.active.cancel_wake(message.id);
    context_.active.force(message.id);
    context_.active.enqueue(message.id);
  }
  co_return messages.size();
}

asio::awaitable<Result<void>> Administration::delete_message(const QueueId& id, bool send_ndr) {
  co_await context_.active.claim(id);
  auto done = co_await delete_owned(id, send_ndr);
  context_.active.release(id);
  co_return done;
}

asio::awaitable<Result<void>> Administration::delete_owned(const QueueId& id, bool send_ndr) {
  auto loaded = co_await context_.spool.load(id);
  if (!loaded) co_return std::unexpected(loaded.error());
  envelope::Envelope env = std::move(*loaded);
  const log::Context ctx{"delivery", 0, {}, id.str()};
  const auto settings = settings_();
  if (send_ndr && !settings)
    co_return make_error(std::make_error_code(std::errc::resource_unavailable_try_again), "no configuration yet");
  if (send_ndr) {
    for (auto& recipient : *env.mutable_recipients()) {
      if (is_final(recipient.state())) continue;
      Outcome deleted;
      deleted.state = envelope::FAILED;
      deleted.reply_code = 550;
      deleted.status = "5.3.0";
      deleted.diagnostic = "550 5.3.0 Message deleted by the administrator";
      record(recipient, deleted, recipient.next_hop());
    }
    const auto* vs = settings->virtual_server(env.virtual_server_id());
    const auto reports = co_await queue_reports(context_, *settings, ctx, id, env, vs, true);
    if (!reports.queued) co_return std::unexpected(*reports.error);
  }
  if (auto removed = co_await context_.spool.remove(id); !removed) co_return removed;
  context_.index.erase(id);
  context_.active.cancel_wake(id);
  log::info(ctx, "deleted by the administrator{}", send_ndr ? " (NDR sent)" : "");
  co_return Result<void>{};
}

asio::awaitable<queue::ReleaseResult> Administration::release_domain(std::string domain) {
  queue::ReleaseResult result;
  domain = ascii_lower(domain);
  if (const auto settings = settings_()) {
    for (const auto& connector : settings->metabase().connectors()) {
      const bool remote_triggered = connector.queue_for_remote_triggered_delivery() ||
                                    connector.schedule().style() == metabase::Schedule::REMOTE_TRIGGERED;
      if (!remote_triggered) continue;
      for (const auto& etrn : connector.etrn_domains())
        if (iequals(etrn, domain)) result.known_domain = true;
      for (const auto& space : connector.address_spaces())
        if (iequals(space.pattern(), domain)) result.known_domain = true;
    }
  }
  auto candidates = context_.index.list(envelope::REMOTE_DELIVERY, std::numeric_limits<std::size_t>::max());
  auto unreachable =
      context_.index.list(envelope::FINAL_DESTINATION_UNREACHABLE, std::numeric_limits<std::size_t>::max());
  candidates.insert(candidates.end(), unreachable.begin(), unreachable.end());
  for (const auto& message : candidates) {
    auto loaded = co_await context_.spool.load(message.id);
    if (!loaded) continue;
    bool matches = false;
    for (const auto& recipient : loaded->recipients())
      if (!is_final(recipient.state()) && domain_in_form(domain_of(recipient.address()).value_or(""), domain))
        matches = true;
    if (!matches) continue;
    result.known_domain = true;
    ++result.messages;
    context_.active.force(message.id);
    context_.active.enqueue(message.id);
  }
  log::info({"delivery"}, "ETRN {}: {} message(s) released", domain, result.messages);
  co_return result;
}

}  // namespace gw::qmgr
