#include "gateway/qmgr/turns.h"

#include <algorithm>
#include <limits>

#include "gateway/common/address.h"
#include "gateway/common/ascii.h"
#include "gateway/common/log.h"
#include "gateway/qmgr/message_facts.h"
#include "gateway/qmgr/next_hop.h"

namespace gw::qmgr {

TurnLender::TurnLender(PassContext& context, std::function<SettingsPtr()> settings)
    : context_(context), settings_(std::move(settings)) {}

asio::awaitable<queue::Turn> TurnLender::take(std::vector<std::string> connectors, std::vector<std::string> domains,
                                              std::size_t limit) {
  queue::Turn taken;
  const auto settings = settings_();
  if (context_.active.stopped() || !settings) co_return taken;
  for (auto& name : connectors) name = ascii_lower(name);
  for (auto& domain : domains) domain = ascii_lower(domain);
  const auto held = context_.index.list(envelope::REMOTE_DELIVERY, std::numeric_limits<std::size_t>::max());
  for (const auto& queued : held) {
    if (taken.messages.size() >= limit) break;
    // Owned before the first suspension, so no pass starts on it meanwhile.
    if (queued.frozen || !context_.active.try_claim(queued.id)) continue;
    if (co_await lend(queued.id, *settings, connectors, domains)) {
      taken.messages.push_back(queued.id);
      continue;
    }
    context_.active.release(queued.id);
  }
  log::info({"delivery"}, "ATRN: {} message(s) taken for delivery over the client's connection",
            taken.messages.size());
  co_return taken;
}

asio::awaitable<bool> TurnLender::lend(const QueueId& id, const Settings& settings,
                                       const std::vector<std::string>& connectors,
                                       const std::vector<std::string>& domains) {
  auto loaded = co_await context_.spool.load(id);
  if (!loaded || loaded->frozen() || !is_delivery_queue(loaded->queue())) co_return false;
  const envelope::Envelope& env = *loaded;
  routing::Priority priority = routing::Priority::Normal;
  if (settings.needs_priority()) priority = co_await read_priority(context_.spool, id);
  const auto state = context_.connectors.route_state(id);
  Loan loan;
  std::vector<std::string> addresses;
  for (int i = 0; i < env.recipients_size(); ++i) {
    const auto& recipient = env.recipients(i);
    if (recipient.state() != envelope::RESOLVED && recipient.state() != envelope::RETRY) continue;
    const auto categorized = categorized_for_routing(env, i, priority);
    if (!categorized) continue;
    const routing::NextHop hop = routing::route(settings.snapshot(), *categorized, state);
    if (!held_for_remote_trigger(hop)) continue;
    if (std::find(connectors.begin(), connectors.end(), ascii_lower(connector_of(hop))) == connectors.end()) continue;
    std::string address = delivery_address(*categorized);
    const std::string domain = domain_of(address).value_or("");
    if (std::none_of(domains.begin(), domains.end(), [&](const std::string& form) { return domain_in_form(domain, form); }))
      continue;
    const queue::QueueKey key = queue_key(hop);
    if (context_.frozen_queues.contains(key)) continue;
    loan.recipients.push_back(i);
    loan.hops.push_back(key.next_hop);
    loan.queue_by_recipient[i] = key.queue;
    addresses.push_back(std::move(address));
  }
  if (loan.recipients.empty()) co_return false;
  loan.message = outbound_message(env, loan.recipients, addresses);
  loans_[id] = std::move(loan);
  co_return true;
}

std::vector<std::optional<delivery::OutboundMessage>> TurnLender::messages(const std::vector<QueueId>& ids) const {
  std::vector<std::optional<delivery::OutboundMessage>> out;
  for (const auto& id : ids) {
    const auto found = loans_.find(id);
    out.push_back(found == loans_.end() ? std::nullopt : std::optional(found->second.message));
  }
  return out;
}

asio::awaitable<void> TurnLender::give_back(const QueueId& id, std::optional<delivery::MessageResult> result,
                                            const std::string& remote_mta) {
  const auto found = loans_.find(id);
  if (found == loans_.end()) co_return;
  const Loan loan = std::move(found->second);
  loans_.erase(found);
  const log::Context ctx{"delivery", 0, {}, id.str()};
  const auto settings = settings_();
  if (result && settings) {
    auto loaded = co_await context_.spool.load(id);
    if (loaded) {
      envelope::Envelope env = std::move(*loaded);
      const std::string stored = env.SerializeAsString();
      const auto* vs = settings->virtual_server(env.virtual_server_id());
      queue::Scheduler scheduler(settings->retry_schedule(vs, false), context_.clock);
      ++context_.stats.attempts;
      record_results(env, loan.recipients, loan.hops, *result, remote_mta, scheduler, from_unix(env.arrival_unix()),
                     context_.stats, nullptr);
      co_await finish_pass(context_, *settings, ctx, id, env, vs, stored, loan.queue_by_recipient);
    } else if (loaded.error().code != queue::SpoolErrc::NotFound) {
      log::error(ctx, "cannot load envelope after ATRN delivery: {}", loaded.error().message());
    }
  }
  context_.active.release(id);
}

}  // namespace gw::qmgr
