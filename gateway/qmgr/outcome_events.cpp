#include "gateway/qmgr/outcome_events.h"

#include "gateway/events/bus.h"

namespace gw::qmgr {

namespace {

events::Subject subject(const QueueId& id, const envelope::Envelope& env, const envelope::Recipient& r) {
  return {{}, id.str(), env.message_id(), env.sender(), r.address()};
}

}  // namespace

void emit_routed(const QueueId& id, const envelope::Envelope& env, const envelope::Recipient& recipient,
                 const routing::NextHop& hop) {
  events::Routed e;
  e.subject = subject(id, env, recipient);
  if (const auto* local = std::get_if<routing::LocalDelivery>(&hop)) {
    e.kind = "mailbox-server";
    e.next_hop = local->server_fqdn.empty() ? local->host : local->server_fqdn;
  } else if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) {
    e.kind = "smart-host";
    e.connector = smart->connector;
    for (const auto& host : smart->hosts) e.next_hop += (e.next_hop.empty() ? "" : ",") + host.host;
  } else if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) {
    e.kind = "dns";
    e.connector = dns->connector;
    e.next_hop = dns->domain;
  } else if (const auto* unreachable = std::get_if<routing::Unreachable>(&hop)) {
    e.kind = "unreachable";
    e.next_hop = unreachable->destination;
  } else {
    e.kind = "fail";
  }
  events::emit(std::move(e));
}

void emit_outcomes(const QueueId& id, const envelope::Envelope& before, const envelope::Envelope& after,
                   const LatencyOf& latency_of) {
  for (int i = 0; i < after.recipients_size(); ++i) {
    const auto& now = after.recipients(i);
    const envelope::Recipient* was = i < before.recipients_size() ? &before.recipients(i) : nullptr;
    const bool changed = !was || was->state() != now.state() || was->attempts() != now.attempts() ||
                         was->status() != now.status() || was->next_attempt_unix() != now.next_attempt_unix();
    if (!changed) continue;
    const auto state = now.state();
    if (state != envelope::DELIVERED && state != envelope::RELAYED && state != envelope::FAILED &&
        state != envelope::RETRY)
      continue;
    if (state == envelope::FAILED && now.status() == "4.4.7") {
      events::emit(events::Expired{subject(id, after, now), now.diagnostic()});
      continue;
    }
    if (state == envelope::RETRY && was && was->attempts() == now.attempts()) continue;  // rescheduled only
    events::DeliveryAttempt attempt;
    attempt.subject = subject(id, after, now);
    attempt.next_hop = now.next_hop();
    attempt.remote = now.remote_mta();
    attempt.outcome = state == envelope::DELIVERED ? "delivered"
                      : state == envelope::RELAYED ? "relayed"
                      : state == envelope::FAILED  ? "failed"
                                                   : "deferred";
    attempt.reply_code = now.reply_code();
    attempt.status = now.status();
    attempt.reply = now.diagnostic();
    attempt.attempt = now.attempts();
    if (latency_of) attempt.latency = latency_of(i);
    events::emit(std::move(attempt));
    if (state == envelope::RETRY) {
      events::Deferred deferred;
      deferred.subject = subject(id, after, now);
      deferred.next_hop = now.next_hop();
      deferred.status = now.status();
      deferred.reason = now.diagnostic();
      if (now.next_attempt_unix() != 0)
        deferred.next_attempt = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(now.next_attempt_unix()));
      events::emit(std::move(deferred));
    }
  }
}

}  // namespace gw::qmgr
