#include "gateway/queue/named_queues.h"

#include <utility>

namespace gw::queue {
namespace {

bool is_delivery_queue(envelope::QueueName queue) {
  return queue == envelope::LOCAL_DELIVERY || queue == envelope::REMOTE_DELIVERY ||
         queue == envelope::FINAL_DESTINATION_UNREACHABLE;
}

}  // namespace

QueuedMessage QueuedMessage::from_envelope(const envelope::Envelope& envelope) {
  QueuedMessage message;
  if (auto id = QueueId::parse(envelope.queue_id())) message.id = *id;
  message.queue = envelope.queue() == envelope::QUEUE_UNSPECIFIED ? envelope::AWAITING_DIRECTORY_LOOKUP
                                                                  : envelope.queue();
  message.sender = envelope.sender();
  message.recipients = static_cast<std::size_t>(envelope.recipients_size());
  message.size = envelope.body_size();
  message.arrival_unix = envelope.arrival_unix();
  message.frozen = envelope.frozen();
  if (is_delivery_queue(message.queue)) {
    for (const auto& rcpt : envelope.recipients()) {
      if (!rcpt.next_hop().empty()) {
        message.next_hop = rcpt.next_hop();
        break;
      }
    }
  }
  return message;
}

std::string_view display_name(envelope::QueueName queue) {
  switch (queue) {
    case envelope::PRE_SUBMISSION: return "Pre-submission";
    case envelope::AWAITING_DIRECTORY_LOOKUP: return "Messages awaiting directory lookup";
    case envelope::WAITING_TO_BE_ROUTED: return "Messages waiting to be routed";
    case envelope::LOCAL_DELIVERY: return "Local delivery";
    case envelope::REMOTE_DELIVERY: return "Remote delivery";
    case envelope::FINAL_DESTINATION_UNREACHABLE: return "Final destination currently unreachable";
    case envelope::BADMAIL: return "Badmail";
    case envelope::DONE: return "Done";
    default: return "Unspecified";
  }
}

std::string display_name(const QueueKey& key) {
  std::string name(display_name(key.queue));
  if (!key.next_hop.empty()) name += " [" + key.next_hop + "]";
  return name;
}

void NamedQueues::upsert(QueuedMessage message) {
  std::lock_guard lock(mutex_);
  const QueueId id = message.id;
  messages_.insert_or_assign(id, std::move(message));
}

bool NamedQueues::move(const QueueId& id, envelope::QueueName queue, std::string next_hop) {
  std::lock_guard lock(mutex_);
  const auto it = messages_.find(id);
  if (it == messages_.end()) return false;
  it->second.queue = queue;
  it->second.next_hop = std::move(next_hop);
  return true;
}

bool NamedQueues::erase(const QueueId& id) {
  std::lock_guard lock(mutex_);
  return messages_.erase(id) > 0;
}

std::optional<QueuedMessage> NamedQueues::find(const QueueId& id) const {
  std::lock_guard lock(mutex_);
  const auto it = messages_.find(id);
  if (it == messages_.end()) return std::nullopt;
  return it->second;
}

std::size_t NamedQueues::size() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

std::size_t NamedQueues::count(envelope::QueueName queue) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, message] : messages_) n += message.queue == queue ? 1 : 0;
  return n;
}

std::map<QueueKey, std::size_t> NamedQueues::counts() const {
  std::lock_guard lock(mutex_);
  std::map<QueueKey, std::size_t> counts;
  for (const auto& [id, message] : messages_) ++counts[QueueKey{message.queue, message.next_hop}];
  return counts;
}

std::vector<QueuedMessage> NamedQueues::list(envelope::QueueName queue, std::size_t limit,
                                             std::optional<std::string_view> next_hop) const {
  std::lock_guard lock(mutex_);
  std::vector<QueuedMessage> out;
  // messages_ is ordered by QueueId, which orders by arrival: oldest first.
  for (const auto& [id, message] : messages_) {
    if (out.size() >= limit) break;
    if (message.queue != queue) continue;
    if (next_hop && message.next_hop != *next_hop) continue;
    out.push_back(message);
  }
  return out;
}

}  // namespace gw::queue
