// Recipient outcomes: how the queue manager writes what happened to a
// recipient into its envelope. Every per-recipient result of a delivery
// attempt, a routing failure, an expiry or an administrator's delete goes
// through record(), note_transient() or record_results() here, so these are
// the places that observe each outcome. Pure: no I/O; times come from the
// Scheduler's clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/clock.h"
#include "gateway/common/failure_kind.h"
#include "gateway/delivery/client_session.h"
#include "gateway/queue/scheduler.h"
#include "proto/envelope.pb.h"

namespace gw::qmgr {

// Counters of the queue manager (read on its executor).
struct DeliveryStats {
  std::uint64_t attempts = 0;        // transactions tried (one per next hop of a message pass)
  std::uint64_t delivered = 0;       // recipients delivered or relayed
  std::uint64_t deferred = 0;        // recipients left in retry
  std::uint64_t failed = 0;          // recipients failed
  std::uint64_t reports = 0;         // DSNs queued
  std::uint64_t completed = 0;       // messages removed after every recipient was final
  std::uint64_t skipped_hop_down = 0;  // group attempts not made because their hop was down
};

struct Outcome {
  envelope::RecipientState state = envelope::RETRY;
  unsigned reply_code = 0;
  std::string status;        // "4.4.1"
  std::string diagnostic;    // "451 4.4.1 ..."
  std::string remote_mta;
};

bool is_final(envelope::RecipientState state) noexcept;
// The queues a delivery pass works on.
bool is_delivery_queue(envelope::QueueName queue) noexcept;

// The status table's row for `kind`, with `detail` appended to the text.
// Expiry (4.4.7) is final although its class is transient (RFC 3463).
Outcome outcome_of(FailureKind kind, std::string_view detail);

// Stores `outcome` as the recipient's last result, waiting at `next_hop`.
void record(envelope::Recipient& recipient, const Outcome& outcome, std::string_view next_hop);

// A transient failure: RETRY with the next attempt from `scheduler` (never
// after expiry), or FAILED 4.4.7 with the failure as the last error once the
// message has waited too long. Counts an attempt.
void note_transient(envelope::Recipient& recipient, Outcome outcome, const queue::Scheduler& scheduler,
                    WallTime arrival, DeliveryStats& stats);

// Stores the peer's answer for each of `recipients` (envelope indices; `hops`
// are their next hops; `results` in the same order). With `reroute`, transient
// results are left there for the caller to route again instead of recorded.
void record_results(envelope::Envelope& env, const std::vector<int>& recipients, const std::vector<std::string>& hops,
                    const delivery::MessageResult& results, const std::string& remote_mta,
                    const queue::Scheduler& scheduler, WallTime arrival, DeliveryStats& stats,
                    std::map<int, Outcome>* reroute);

}  // namespace gw::qmgr
