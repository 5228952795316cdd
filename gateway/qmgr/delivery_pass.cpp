#include "gateway/qmgr/delivery_pass.h"

#include <variant>
#include <vector>

#include "gateway/events/bus.h"
#include "gateway/qmgr/message_facts.h"
#include "gateway/qmgr/next_hop.h"
#include "gateway/queue/scheduler.h"

namespace gw::qmgr {
namespace {

// A group of recipients of one message that share a next hop.
struct HopGroup {
  routing::NextHop hop;
  std::string name;                      // hop_name(hop)
  std::vector<int> recipients;           // envelope indices
  std::vector<std::string> addresses;    // forward-paths, same order
};

// Held recipients (remote trigger, a schedule with no window) have no next
// attempt, yet the message must still be reported on and expire: the time a
// pass is due for that; 0 = nothing held.
std::int64_t held_wake(const envelope::Envelope& env, const queue::RetrySchedule& schedule, std::int64_t now) {
  bool held = false;
  bool delay_pending = false;
  for (const auto& r : env.recipients()) {
    if ((r.state() != envelope::RESOLVED && r.state() != envelope::RETRY) || r.next_attempt_unix() != 0) continue;
    held = true;
    delay_pending = delay_pending || !r.delay_notified();
  }
  if (!held) return 0;
  const std::int64_t delay_at = env.arrival_unix() + schedule.delay_notification.count();
  const std::int64_t expire_at = env.arrival_unix() + schedule.expiration.count();
  if (delay_pending && schedule.delay_notification.count() > 0 && delay_at > now) return std::min(delay_at, expire_at);
  return std::max(expire_at, now + 1);
}

// The earliest time a pending recipient becomes due, no later than `floor`
// (0 = no floor); 0 = nothing scheduled.
std::int64_t next_wake(const envelope::Envelope& env, std::int64_t floor) {
  std::int64_t earliest = 0;
  for (const auto& r : env.recipients()) {
    if (is_final(r.state()) || r.next_attempt_unix() == 0) continue;
    if (earliest == 0 || r.next_attempt_unix() < earliest) earliest = r.next_attempt_unix();
  }
  if (floor != 0 && (earliest == 0 || earliest > floor)) earliest = floor;
  return earliest;
}

asio::awaitable<void> store(PassContext& context, const log::Context& ctx, const QueueId& id, envelope::Envelope& env,
                            std::int64_t wake, const std::string& stored,
                            const std::map<int, envelope::QueueName>& queue_by_recipient) {
  // The message's queue is where its first pending recipient waits.
  envelope::QueueName where = env.queue();
  for (int i = 0; i < env.recipients_size(); ++i) {
    if (is_final(env.recipients(i).state())) continue;
    if (const auto it = queue_by_recipient.find(i); it != queue_by_recipient.end()) where = it->second;
    break;
  }
  if (where == envelope::WAITING_TO_BE_ROUTED) where = envelope::REMOTE_DELIVERY;
  env.set_queue(where);
  if (env.SerializeAsString() == stored) {
    // Nothing to write.
  } else if (auto written = co_await context.spool.update(id, env); !written) {
    log::error(ctx, "cannot store the envelope: {}", written.error().message());
    wake = context.clock.unix_now() + 60;
  }
  context.index.upsert(queue::QueuedMessage::from_envelope(env));
  if (wake != 0) context.active.wake_at(id, wake);
}

class Pass {
 public:
  Pass(PassContext& context, SettingsPtr settings, QueueId id)
      : context_(context), settings_(std::move(settings)), id_(std::move(id)), ctx_{"delivery", 0, {}, id_.str()} {}

  asio::awaitable<void> run(bool forced) {
    auto loaded = co_await context_.spool.load(id_);
    if (!loaded) {
      if (loaded.error().code != queue::SpoolErrc::NotFound)
        log::error(ctx_, "cannot load envelope: {}", loaded.error().message());
      context_.index.erase(id_);
      co_return;
    }
    env_ = std::move(*loaded);
    if (!is_delivery_queue(env_.queue())) co_return;
    const std::string stored = env_.SerializeAsString();  // a pass that changed nothing writes nothing
    vs_ = settings_->virtual_server(env_.virtual_server_id());
    arrival_ = from_unix(env_.arrival_unix());
    co_await route_and_deliver(forced);
    co_await finish_pass(context_, *settings_, ctx_, id_, env_, vs_, stored, queue_by_recipient_, [this](int index) {
      const auto it = latency_.find(index);
      return it == latency_.end() ? std::chrono::milliseconds(0) : it->second;
    });
  }

 private:
  // Routes every due recipient, groups them by next hop and delivers. Recipients
  // of a connector whose hosts would not take a session are routed again at
  // once with that connector in retry, so they take the next best connector
  // (or wait in "final destination currently unreachable" when there is none).
  asio::awaitable<void> route_and_deliver(bool forced) {
    const std::int64_t now = context_.clock.unix_now();
    const bool message_frozen = env_.frozen();
    std::vector<int> candidates;
    for (int i = 0; i < env_.recipients_size(); ++i) candidates.push_back(i);
    std::map<int, Outcome> reroute;
    // Connectors that restrict by priority need the message's: read its header section.
    routing::Priority priority = routing::Priority::Normal;
    if (settings_->needs_priority()) priority = co_await read_priority(context_.spool, id_);
    const std::size_t max_rounds = 1 + static_cast<std::size_t>(settings_->metabase().connectors_size());
    for (std::size_t round = 0; round < max_rounds && !candidates.empty(); ++round) {
      std::map<std::string, HopGroup> groups;
      const auto state = context_.connectors.route_state(id_);
      for (int i : candidates) {
        auto& recipient = *env_.mutable_recipients(i);
        if (recipient.state() != envelope::RESOLVED && recipient.state() != envelope::RETRY) continue;
        auto categorized = categorized_for_routing(env_, i, priority);
        if (!categorized) {
          record(recipient, outcome_of(FailureKind::CategorizerFailure, "recipient was not categorized"), {});
          continue;
        }
        routing::NextHop hop = routing::route(settings_->snapshot(), *categorized, state);
        const bool local = std::holds_alternative<routing::LocalDelivery>(hop);
        queue::Scheduler scheduler(settings_->retry_schedule(vs_, local), context_.clock);
        const auto failed_before = reroute.find(i);
        if (scheduler.expired(arrival_)) {
          Outcome expired = outcome_of(FailureKind::ExpiredInQueue, {});
          const std::string last =
              failed_before != reroute.end() ? failed_before->second.diagnostic : recipient.diagnostic();
          if (!last.empty()) expired.diagnostic += "; last error: " + last;
          record(recipient, expired, recipient.next_hop());
          continue;
        }
        if (const auto* fail = std::get_if<routing::Fail>(&hop)) {
          record(recipient, outcome_of(fail->kind, fail->detail), {});
          continue;
        }
        const queue::QueueKey key = queue_key(hop);
        recipient.set_next_hop(key.next_hop);
        queue_by_recipient_[i] = key.queue;
        if (message_frozen || context_.frozen_queues.contains(key)) continue;
        if (round == 0 && !forced && recipient.state() == envelope::RETRY && recipient.next_attempt_unix() > now)
          continue;
        log::debug(ctx_, "{}: next hop {}", recipient.address(), routing::describe(hop));
        if (const auto* unreachable = std::get_if<routing::Unreachable>(&hop)) {
          // Every connector is in retry: keep the failure that put the last one there.
          note_transient(recipient,
                         failed_before != reroute.end()
                             ? failed_before->second
                             : outcome_of(FailureKind::NoRouteAvailableNow, unreachable->destination),
                         scheduler, arrival_, context_.stats);
          continue;
        }
        const bool remote_trigger = held_for_remote_trigger(hop);
        if (remote_trigger && !forced) {
          recipient.set_next_attempt_unix(0);  // held until ETRN releases it
          continue;
        }
        if (!forced && !remote_trigger) {
          if (auto opens = settings_->held_by_schedule(hop, env_.body_size(), context_.clock.now())) {
            recipient.set_next_attempt_unix(*opens);
            continue;
          }
        }
        emit_routed(id_, env_, recipient, hop);
        auto& group = groups[routing::describe(hop)];
        if (group.recipients.empty()) {
          group.hop = hop;
          group.name = hop_name(hop);
        }
        group.recipients.push_back(i);
        group.addresses.push_back(delivery_address(*categorized));
      }

      std::map<int, Outcome> failed_connectors;
      for (auto& [description, group] : groups) co_await deliver_group(group, failed_connectors);
      candidates.clear();
      for (auto& [index, outcome] : failed_connectors) {
        candidates.push_back(index);
        reroute[index] = std::move(outcome);
      }
    }
    // Out of rounds: whatever still waits for another connector is retried later.
    for (int i : candidates) {
      queue::Scheduler scheduler(settings_->retry_schedule(vs_, false), context_.clock);
      note_transient(*env_.mutable_recipients(i), reroute[i], scheduler, arrival_, context_.stats);
    }
  }

  // Delivers one group; when the hop is a connector whose hosts would not take
  // a session, the connector goes into retry and the recipients are left in
  // `failed_connectors` (with the failure) for the caller to route again.
  asio::awaitable<void> deliver_group(HopGroup& group, std::map<int, Outcome>& failed_connectors) {
    const bool local = std::holds_alternative<routing::LocalDelivery>(group.hop);
    queue::Scheduler scheduler(settings_->retry_schedule(vs_, local), context_.clock);
    const std::string label = queue_key(group.hop).next_hop;
    HopAttempt attempt;
    attempt.id = id_;
    attempt.envelope = &env_;
    attempt.hop = group.hop;
    attempt.hop_name = group.name;
    attempt.vs = vs_;
    attempt.settings = settings_;
    attempt.message = outbound_message(env_, group.recipients, group.addresses);
    const auto started = std::chrono::steady_clock::now();
    const HopReport report = co_await context_.delivery.deliver(attempt);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    for (int index : group.recipients) latency_[index] = took;
    if (report.not_attempted) {
      for (int index : group.recipients) {
        auto& recipient = *env_.mutable_recipients(index);
        if (report.not_attempted->state == envelope::RETRY) {
          note_transient(recipient, *report.not_attempted, scheduler, arrival_, context_.stats);
        } else {
          record(recipient, *report.not_attempted, label);
          ++context_.stats.failed;
        }
      }
      co_return;
    }
    ++context_.stats.attempts;

    // A connector whose hosts would not even take a session is put in retry, so
    // the router tries the next best connector meanwhile.
    const std::string connector = connector_of(group.hop);
    const bool connector_failed =
        report.remote_mta.empty() && !connector.empty() && settings_->connector_named(connector) != nullptr;
    if (connector_failed) {
      const auto interval = scheduler.retry_interval(1);
      context_.connectors.put_in_retry(connector, interval);
      events::emit(events::ConnectorRetry{{}, connector, std::chrono::system_clock::now() + interval,
                                          report.result.recipients.empty() ? std::string()
                                                                           : report.result.recipients.front().text});
    }

    const std::vector<std::string> labels(group.recipients.size(), label);
    record_results(env_, group.recipients, labels, report.result, report.remote_mta, scheduler, arrival_,
                   context_.stats, connector_failed ? &failed_connectors : nullptr);
    for (const auto& line : report.attempts) log::debug(ctx_, "{}", line);
  }

  PassContext& context_;
  SettingsPtr settings_;
  QueueId id_;
  log::Context ctx_;
  std::map<int, std::chrono::milliseconds> latency_;  // recipient index -> its transaction's time
  envelope::Envelope env_;
  const metabase::VirtualServer* vs_ = nullptr;
  WallTime arrival_;
  std::map<int, envelope::QueueName> queue_by_recipient_;  // where each routed recipient waits
};

}  // namespace

asio::awaitable<void> run_pass(PassContext& context, SettingsPtr settings, QueueId id, bool forced) {
  Pass pass(context, std::move(settings), std::move(id));
  co_await pass.run(forced);
}

asio::awaitable<QueuedReports> queue_reports(PassContext& context, const Settings& settings, const log::Context& ctx,
                                    const QueueId& id, envelope::Envelope& env, const metabase::VirtualServer* vs,
                                    bool failures_only) {
  const auto schedule = settings.retry_schedule(vs, false);
  dsn::PlanOptions plan_options;
  plan_options.now_unix = context.clock.unix_now();
  if (!failures_only) plan_options.delay_notification_seconds = schedule.delay_notification.count();
  if (vs) plan_options.ndr_copy_to = vs->messages().send_ndr_copy_to();
  const auto plan = dsn::plan_reports(env, plan_options);
  for (const auto& planned : plan.reports) {
    if (failures_only && planned.type != dsn::ReportType::Failure) continue;
    if (auto queued = co_await context.reports.queue_report(ctx, id, env, planned, settings, vs, schedule); !queued) {
      log::error(ctx, "cannot queue the delivery status notification: {}", queued.error().message());
      co_return QueuedReports{false, plan.badmail, queued.error()};
    }
  }
  dsn::mark_reported(env, plan);
  co_return QueuedReports{true, plan.badmail, std::nullopt};
}

asio::awaitable<void> finish_pass(PassContext& context, const Settings& settings, const log::Context& ctx,
                                  const QueueId& id, envelope::Envelope& env, const metabase::VirtualServer* vs,
                                  const std::string& stored,
                                  const std::map<int, envelope::QueueName>& queue_by_recipient,
                                  LatencyOf latency_of) {
  {
    envelope::Envelope before;
    before.ParseFromString(stored);
    emit_outcomes(id, before, env, latency_of);
  }
  const std::int64_t now = context.clock.unix_now();
  const auto schedule = settings.retry_schedule(vs, false);
  const QueuedReports reports = co_await queue_reports(context, settings, ctx, id, env, vs, false);
  if (!reports.queued) {
    // The envelope keeps saying the report is owed; the next pass tries again.
    co_await store(context, ctx, id, env, next_wake(env, now + 60), stored, queue_by_recipient);
    co_return;
  }
  bool all_final = true;
  for (const auto& r : env.recipients()) all_final = all_final && is_final(r.state());
  if (all_final && reports.badmail) {
    env.set_queue(envelope::BADMAIL);
    if (auto written = co_await context.spool.update(id, env); !written)
      log::error(ctx, "cannot store the envelope: {}", written.error().message());
    context.index.upsert(queue::QueuedMessage::from_envelope(env));
    context.active.cancel_wake(id);
    events::emit(events::Badmail{{{}, id.str(), env.message_id(), env.sender(), ""},
                                 "null-sender message failed for every recipient"});
    co_return;
  }
  if (all_final) {
    if (auto removed = co_await context.spool.remove(id); !removed) {
      log::error(ctx, "cannot remove the delivered message: {}", removed.error().message());
      co_return;
    }
    context.index.erase(id);
    context.active.cancel_wake(id);
    ++context.stats.completed;
    events::emit(events::Completed{{{}, id.str(), env.message_id(), env.sender(), ""}});
    co_return;
  }
  co_await store(context, ctx, id, env, next_wake(env, held_wake(env, schedule, now)), stored, queue_by_recipient);
}

}  // namespace gw::qmgr
