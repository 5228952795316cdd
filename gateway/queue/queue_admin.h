// QueueAdmin: what an administrator (gatewayctl over the control socket) and a
// remote-trigger client (ETRN) may do to the queues of a running gateway.
//
// Contract: every operation runs on the executor returned by executor() (the
// queue manager's loop) and must be awaited there -- except deliver_turn(), which
// is awaited on the executor of the stream it is given; results are values, never
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
// take_for_turn(), deliver_turn() and return_turn() are ATRN (RFC 2645): the SMTP
// connection that reverses roles borrows the held messages, and the queue manager
// runs its outbound client session over that connection (a ByteStream) and
// records each message's per-recipient results exactly as a delivery attempt;
// while borrowed, no queue run or other ATRN touches the message, and every
// borrowed message goes back exactly once (deliver_turn, or return_turn when the
// connection could not be reversed).
// Not responsible for authorizing the caller (the control socket's file mode and
// the SMTP session's ETRN and ATRN rules do that) or for presentation. The
// interface lives in the queue library so that its callers (control socket, SMTP
// server) need no header of the queue manager or of the outbound client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/byte_stream.h"
#include "gateway/common/queue_id.h"
#include "gateway/common/result.h"
#include "gateway/queue/named_queues.h"
#include "proto/envelope.pb.h"

namespace gw::queue {

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

// The messages lent to one ATRN connection (only their recipients held for the
// ATRN client are sent).
struct Turn {
  std::vector<QueueId> messages;
};

// The ATRN client as the outbound session sees it.
struct TurnPeer {
  std::string name;                        // its EHLO name, else its address: the remote MTA in reports
  asio::ip::tcp::endpoint address;
  std::string helo_name;                   // what the gateway says in EHLO (the virtual server's FQDN)
  std::chrono::milliseconds reply_timeout{std::chrono::minutes(5)};  // greeting and each command reply
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

  // Borrows the messages held for remote-triggered delivery through one of
  // `connectors` (names, any case) with recipients in `domains` ("x" or
  // "*.x"), at most `limit` of them. Frozen messages and messages in a queue
  // run are left alone.
  virtual asio::awaitable<Turn> take_for_turn(std::vector<std::string> connectors, std::vector<std::string> domains,
                                              std::size_t limit) = 0;
  // Runs the outbound client session over `stream` -- the reversed connection,
  // whose next octets are the peer's greeting -- delivers the borrowed messages
  // one after the other while the session lasts, and gives every one back with
  // the client's per-recipient answers (recorded like any delivery attempt, with
  // `peer.name` as the remote MTA); messages not attempted go back unchanged.
  // Awaited on the stream's executor; `stream` must outlive the call. Returns
  // the number of messages attempted. The session ends with QUIT.
  virtual asio::awaitable<std::size_t> deliver_turn(Turn turn, ByteStream& stream, TurnPeer peer) = 0;
  // Gives borrowed messages back unattempted (the connection was not reversed).
  virtual asio::awaitable<void> return_turn(Turn turn) = 0;
};

}  // namespace gw::queue
