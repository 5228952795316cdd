// DeliveryPass: one pass of the queue manager over one message.
//
// For each due recipient (RESOLVED, or RETRY whose next attempt has come, or
// any when the pass is forced) the router picks the next hop with the pass's
// settings; recipients are grouped by next hop and each group is one
// transaction through the HopDelivery. Each outcome is recorded in the
// envelope (outcome.h):
//   delivered  -> DELIVERED (RELAYED when NOTIFY=SUCCESS and the peer has no DSN)
//   5xx / route failure -> FAILED with the status table's (or peer's) codes
//   4xx, unreachable, DNS trouble -> RETRY, next attempt from the virtual
//     server's retry schedule; past the expiration timeout -> FAILED 4.4.7
// A connector whose hosts would not take a session goes into retry and its
// recipients are routed again at once, so they take the next best connector
// (or wait in "final destination currently unreachable"). A connector's closed
// schedule holds its recipients until the next window; a remote-triggered
// connector holds them until ETRN or ATRN; frozen messages and queues are not
// attempted (expiry still applies).
// finish_pass() then queues the reports owed (dsn::plan_reports: one failure
// report per message, delay and success reports), stores the envelope when it
// changed and indexes the message in the queue of its first pending recipient
// with a wake-up at its earliest next attempt, removes it once every recipient
// is final, or moves a failed null-sender message to Badmail.
// Executor: the queue manager's; the caller owns the message (ActiveQueue)
// for the whole pass. Errors of the spool are logged and leave the message to
// a later pass; nothing throws.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/clock.h"
#include "gateway/common/log.h"
#include "gateway/common/queue_id.h"
#include "gateway/qmgr/active_queue.h"
#include "gateway/qmgr/connector_retry.h"
#include "gateway/qmgr/hop_delivery.h"
#include "gateway/qmgr/outcome.h"
#include "gateway/qmgr/outcome_events.h"
#include "gateway/qmgr/reports.h"
#include "gateway/qmgr/settings.h"
#include "gateway/queue/named_queues.h"
#include "gateway/queue/spool.h"

namespace gw::qmgr {

// What every pass uses; owned by the queue manager, used on its executor.
struct PassContext {
  queue::Spool& spool;
  queue::NamedQueues& index;
  const Clock& clock;
  HopDelivery& delivery;
  ReportWriter& reports;
  ConnectorRetry& connectors;
  const std::set<queue::QueueKey>& frozen_queues;
  ActiveQueue& active;       // wake-ups
  DeliveryStats& stats;
};

// One pass over message `id` (see above). `forced`: retry times, schedules and
// remote-trigger holds are ignored this once.
asio::awaitable<void> run_pass(PassContext& context, SettingsPtr settings, QueueId id, bool forced);

// Reports, storage and the next wake-up after outcomes were recorded in `env`
// (by a pass, or from an ATRN connection's answers). `stored` is the envelope
// as loaded (serialized): an unchanged envelope is not written again.
// `queue_by_recipient`: the delivery queue each routed recipient waits in.
// Every outcome the pass recorded is reported to the event stream here
// (outcome_events.h), once, from `stored` and `env`; `latency_of` gives the
// transaction time of a recipient when known.
asio::awaitable<void> finish_pass(PassContext& context, const Settings& settings, const log::Context& ctx,
                                  const QueueId& id, envelope::Envelope& env, const metabase::VirtualServer* vs,
                                  const std::string& stored,
                                  const std::map<int, envelope::QueueName>& queue_by_recipient,
                                  LatencyOf latency_of = {});

// The reports owed by `env` now, queued and marked in `env`. `queued` is false
// when one could not be (the envelope keeps saying it is owed); `badmail` when
// the plan found failed recipients of a null-sender message (no report on a
// report: the message belongs in Badmail once every recipient is final).
struct QueuedReports {
  bool queued = true;
  bool badmail = false;
  std::optional<Error> error;   // why a report could not be queued
};
asio::awaitable<QueuedReports> queue_reports(PassContext& context, const Settings& settings, const log::Context& ctx,
                                    const QueueId& id, envelope::Envelope& env, const metabase::VirtualServer* vs,
                                    bool failures_only);

}  // namespace gw::qmgr
