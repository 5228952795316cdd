// QueueAdmin: what an administrator (gatewayctl over the control socket) and a
// remote-trigger client (ETRN) may do to the queues of a running gateway.
//
// Contract: every operation runs on the executor returned by executor() (the
// gateway's control loop) and must be awaited there; results are values, never
// exceptions. Operations on one message act on its envelope on disk first
// (Spool::update), then on the in-memory index, so a crash right after a reply
// never loses an admin action that was acknowledged; an operation that changes
// a message's envelope waits while a delivery pass or an ATRN connection has the
// message, so neither overwrites the other. Freezing holds a message or
// a whole named queue: nothing in it is attempted (the queue viewer shows
// 4.3.2) until it is thawed; expiry still applies. retry_now() makes held
// retries due at once. delete_message() removes the message from the spool;
// with `send_ndr` every recipient not yet delivered gets a failure report first.
// release_domain() is ETRN (RFC 1985): messages held for remote-triggered
// delivery to that domain (or connector address space) are attempted now.
// take_for_turn() / return_from_turn() are ATRN (RFC 2645): the caller (the SMTP
// connection that reversed roles) borrows the held messages, delivers them over
// its own connection and gives each one back exactly once with the per-recipient
// results; while borrowed, no queue run or other ATRN touches the message.
// Not responsible for authorizing the caller (the control socket's file mode and
// the SMTP session's ETRN rules do that) or for presentation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/queue_id.h"
#include "gateway/common/result.h"
#include "gateway/delivery/client_session.h"
#include "gateway/queue/named_queues.h"
#include "proto/envelope.pb.h"

namespace gw::transport {

struct QueueSummary {
  queue::QueueKey key;
  std::string display_name;       // "Remote delivery [partner.example]"
  std::size_t messages = 0;
  bool frozen = false;            // the whole queue is frozen
};

// What an ETRN did: how many messages became due, and whether the domain is one
// this gateway holds mail for at all (RFC 1985 458 vs 459).
struct ReleaseResult {
  bool known_domain = false;
  std::size_t messages = 0;
};

// One message borrowed for delivery over an ATRN connection.
struct TurnMessage {
  QueueId id;
  delivery::OutboundMessage message;  // only the recipients held for the ATRN client
};

class QueueAdmin {
 public:
  virtual ~QueueAdmin() = default;

  virtual asio::any_io_executor executor() const = 0;

  // Every non-empty named queue and every frozen one, in QueueKey order.
  virtual asio::awaitable<std::vector<QueueSummary>> list_queues() = 0;
  // The first `limit` messages (oldest first) of one named queue.
  virtual asio::awaitable<std::vector<queue::QueuedMessage>> list_messages(queue::QueueKey key,
                                                                           std::size_t limit) = 0;
  // The stored envelope (message properties and per-recipient state). NotFound
  // (SpoolErrc) when the id is not queued.
  virtual asio::awaitable<Result<envelope::Envelope>> message(QueueId id) = 0;

  virtual asio::awaitable<Result<void>> freeze_message(QueueId id, bool frozen) = 0;
  virtual asio::awaitable<Result<void>> freeze_queue(queue::QueueKey key, bool frozen) = 0;
  virtual asio::awaitable<Result<void>> retry_message(QueueId id) = 0;
  // Returns the number of messages made due.
  virtual asio::awaitable<Result<std::size_t>> retry_queue(queue::QueueKey key) = 0;
  virtual asio::awaitable<Result<void>> delete_message(QueueId id, bool send_ndr) = 0;

  virtual asio::awaitable<ReleaseResult> release_domain(std::string domain) = 0;

  // The messages held for remote-triggered delivery through one of
  // `connectors` (names, any case) with recipients in `domains` ("x" or
  // "*.x"), at most `limit` of them. Frozen messages and messages in a queue
  // run are left alone.
  virtual asio::awaitable<std::vector<TurnMessage>> take_for_turn(std::vector<std::string> connectors,
                                                                  std::vector<std::string> domains,
                                                                  std::size_t limit) = 0;
  // Gives a borrowed message back: `result` holds the client's answer for each
  // recipient of TurnMessage::message (recorded like any delivery attempt, with
  // `remote_mta` as the remote MTA); nullopt = not attempted, nothing changes.
  virtual asio::awaitable<void> return_from_turn(QueueId id, std::optional<delivery::MessageResult> result,
                                                 std::string remote_mta) = 0;
};

}  // namespace gw::transport
