#include "gateway/qmgr/outcome.h"

#include "gateway/dsn/status_table.h"

namespace gw::qmgr {

bool is_final(envelope::RecipientState state) noexcept {
  return state == envelope::DELIVERED || state == envelope::FAILED || state == envelope::EXPANDED ||
         state == envelope::RELAYED;
}

bool is_delivery_queue(envelope::QueueName queue) noexcept {
  return queue == envelope::WAITING_TO_BE_ROUTED || queue == envelope::LOCAL_DELIVERY ||
         queue == envelope::REMOTE_DELIVERY || queue == envelope::FINAL_DESTINATION_UNREACHABLE;
}

Outcome outcome_of(FailureKind kind, std::string_view detail) {
  const auto& row = dsn::status_of(kind);
  Outcome outcome;
  outcome.state = row.status.permanent() || kind == FailureKind::ExpiredInQueue ? envelope::FAILED : envelope::RETRY;
  outcome.reply_code = row.reply_code;
  outcome.status = row.status.str();
  outcome.diagnostic = dsn::reply_line(kind);
  if (!detail.empty()) outcome.diagnostic += " (" + std::string(detail) + ")";
  return outcome;
}

void record(envelope::Recipient& recipient, const Outcome& outcome, std::string_view next_hop) {
  recipient.set_state(outcome.state);
  recipient.set_reply_code(outcome.reply_code);
  recipient.set_status(outcome.status);
  recipient.set_diagnostic(outcome.diagnostic);
  if (!outcome.remote_mta.empty()) recipient.set_remote_mta(outcome.remote_mta);
  recipient.set_next_hop(std::string(next_hop));
}

void note_transient(envelope::Recipient& recipient, Outcome outcome, const queue::Scheduler& scheduler,
                    WallTime arrival, DeliveryStats& stats) {
  recipient.set_attempts(recipient.attempts() + 1);
  const auto decision = scheduler.after_transient_failure(arrival, recipient.attempts(), recipient.delay_notified());
  const std::string hop = recipient.next_hop();
  if (decision.expired) {
    Outcome expired = outcome_of(FailureKind::ExpiredInQueue, {});
    expired.diagnostic += "; last error: " + outcome.diagnostic;
    expired.remote_mta = outcome.remote_mta;
    record(recipient, expired, hop);
    ++stats.failed;
    return;
  }
  outcome.state = envelope::RETRY;
  record(recipient, outcome, hop);
  recipient.set_next_attempt_unix(to_unix(decision.next_attempt));
  ++stats.deferred;
}

void record_results(envelope::Envelope& env, const std::vector<int>& recipients, const std::vector<std::string>& hops,
                    const delivery::MessageResult& results, const std::string& remote_mta,
                    const queue::Scheduler& scheduler, WallTime arrival, DeliveryStats& stats,
                    std::map<int, Outcome>* reroute) {
  for (std::size_t k = 0; k < recipients.size() && k < results.recipients.size(); ++k) {
    const auto& result = results.recipients[k];
    const int index = recipients[k];
    auto& recipient = *env.mutable_recipients(index);
    Outcome outcome;
    outcome.reply_code = static_cast<unsigned>(result.code);
    outcome.status = result.status.str();
    outcome.diagnostic = std::to_string(result.code) + " " + result.text;
    outcome.remote_mta = remote_mta;
    if (reroute && result.outcome == delivery::Outcome::Transient) {
      outcome.state = envelope::RETRY;
      (*reroute)[index] = std::move(outcome);
      continue;
    }
    switch (result.outcome) {
      case delivery::Outcome::Delivered:
        outcome.state =
            (!results.peer_offers_dsn && recipient.notify().success()) ? envelope::RELAYED : envelope::DELIVERED;
        record(recipient, outcome, hops[k]);
        recipient.set_attempts(recipient.attempts() + 1);
        ++stats.delivered;
        break;
      case delivery::Outcome::Transient:
        note_transient(recipient, outcome, scheduler, arrival, stats);
        break;
      case delivery::Outcome::Permanent:
        outcome.state = envelope::FAILED;
        record(recipient, outcome, hops[k]);
        recipient.set_attempts(recipient.attempts() + 1);
        ++stats.failed;
        break;
    }
  }
}

}  // namespace gw::qmgr
