// The queue manager's events (gateway/events): what a delivery pass did to
// each recipient, derived in one place from the envelope as the pass loaded it
// and as it is about to be stored -- so every outcome that becomes durable is
// reported exactly once, whichever code path recorded it (a transaction's
// reply, a routing failure, expiry, a connector in retry). Pure apart from
// emitting; the caller stamps nothing.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "gateway/common/queue_id.h"
#include "gateway/routing/router.h"
#include "proto/envelope.pb.h"

namespace gw::qmgr {

// A recipient routed to `hop` (debug-level detail of a pass; also counted).
void emit_routed(const QueueId& id, const envelope::Envelope& env, const envelope::Recipient& recipient,
                 const routing::NextHop& hop);

// Time of the transaction that carried recipient `index`; zero when unknown.
using LatencyOf = std::function<std::chrono::milliseconds(int index)>;

// For each recipient whose state changed between `before` and `after`:
// DeliveryAttempt (delivered, relayed, failed, deferred), Deferred with the
// next attempt, Expired (4.4.7).
void emit_outcomes(const QueueId& id, const envelope::Envelope& before, const envelope::Envelope& after,
                   const LatencyOf& latency_of = {});

}  // namespace gw::qmgr
