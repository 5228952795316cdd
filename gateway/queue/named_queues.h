// NamedQueues: the in-memory index of queued messages by named queue, the view
// the admin CLI shows ("Messages awaiting directory lookup", "Remote delivery
// [next hop]", ...).
//
// Contract: every queued message is in exactly one named queue; a delivery queue
// is further split by next hop (connector, smart host or domain). Enumeration is
// in QueueId order, i.e. oldest first. Newly accepted messages are indexed in
// AWAITING_DIRECTORY_LOOKUP (the queue commit() stamps). Thread-safe (one mutex),
// so the admin socket may read while the queue stages write. Not responsible for
// persistence: the envelope on disk (Spool::update) is the truth, and this index
// is rebuilt from Spool::recover() at start-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/queue_id.h"
#include "proto/envelope.pb.h"

namespace gw::queue {

struct QueuedMessage {
  QueueId id;
  envelope::QueueName queue = envelope::AWAITING_DIRECTORY_LOOKUP;
  std::string next_hop;              // delivery queues only; "" elsewhere
  std::string sender;
  std::size_t recipients = 0;
  std::uint64_t size = 0;            // body octets
  std::int64_t arrival_unix = 0;
  bool frozen = false;

  // The summary of an envelope; next_hop is taken from the first recipient that
  // has one when the message is in a delivery queue.
  static QueuedMessage from_envelope(const envelope::Envelope& envelope);
};

// One named queue as the admin CLI lists it.
struct QueueKey {
  envelope::QueueName queue = envelope::QUEUE_UNSPECIFIED;
  std::string next_hop;
  friend auto operator<=>(const QueueKey&, const QueueKey&) = default;
};

// "Messages awaiting directory lookup", "Remote delivery" ... (the display names
// of the Exchange queue viewer).
std::string_view display_name(envelope::QueueName queue);
// display_name() plus " [next hop]" when there is one.
std::string display_name(const QueueKey& key);

class NamedQueues {
 public:
  // Adds or replaces the entry for message.id.
  void upsert(QueuedMessage message);
  // Moves a message to another queue; false when it is not indexed.
  bool move(const QueueId& id, envelope::QueueName queue, std::string next_hop = {});
  bool erase(const QueueId& id);
  std::optional<QueuedMessage> find(const QueueId& id) const;

  std::size_t size() const;
  // Messages in `queue`, all next hops together.
  std::size_t count(envelope::QueueName queue) const;
  // Every non-empty named queue with its message count.
  std::map<QueueKey, std::size_t> counts() const;
  // The first `limit` messages (oldest first) of `queue`, optionally of one next hop.
  std::vector<QueuedMessage> list(envelope::QueueName queue, std::size_t limit,
                                  std::optional<std::string_view> next_hop = std::nullopt) const;

 private:
  mutable std::mutex mutex_;
  std::map<QueueId, QueuedMessage> messages_;
};

}  // namespace gw::queue
