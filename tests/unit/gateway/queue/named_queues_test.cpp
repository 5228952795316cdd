#include "gateway/queue/named_queues.h"

#include <gtest/gtest.h>

#include "gateway/queue/queue_id_generator.h"

namespace gw::queue {
namespace {

QueuedMessage message(std::uint64_t micros, envelope::QueueName queue, std::string next_hop = {}) {
  QueuedMessage m;
  m.id = QueueIdGenerator::make(micros, 0, 0);
  m.queue = queue;
  m.next_hop = std::move(next_hop);
  return m;
}

TEST(NamedQueues, NewlyAcceptedEnvelopeIsAwaitingDirectoryLookup) {
  envelope::Envelope envelope;
  envelope.set_queue_id(QueueIdGenerator::make(1, 0, 0).str());
  envelope.set_sender("alice@example.com");
  envelope.add_recipients()->set_address("bob@example.com");
  envelope.add_recipients()->set_address("carol@example.com");
  envelope.set_body_size(42);
  const QueuedMessage m = QueuedMessage::from_envelope(envelope);
  EXPECT_EQ(m.queue, envelope::AWAITING_DIRECTORY_LOOKUP);
  EXPECT_EQ(m.id.str(), envelope.queue_id());
  EXPECT_EQ(m.recipients, 2u);
  EXPECT_EQ(m.size, 42u);
  EXPECT_EQ(m.sender, "alice@example.com");
}

TEST(NamedQueues, DeliveryQueueEnvelopeTakesItsNextHop) {
  envelope::Envelope envelope;
  envelope.set_queue(envelope::REMOTE_DELIVERY);
  envelope.add_recipients();
  envelope.add_recipients()->set_next_hop("Internet");
  EXPECT_EQ(QueuedMessage::from_envelope(envelope).next_hop, "Internet");
}

TEST(NamedQueues, CountsMessagesPerQueue) {
  NamedQueues queues;
  queues.upsert(message(1, envelope::AWAITING_DIRECTORY_LOOKUP));
  queues.upsert(message(2, envelope::AWAITING_DIRECTORY_LOOKUP));
  queues.upsert(message(3, envelope::REMOTE_DELIVERY, "Internet"));
  EXPECT_EQ(queues.count(envelope::AWAITING_DIRECTORY_LOOKUP), 2u);
  EXPECT_EQ(queues.count(envelope::REMOTE_DELIVERY), 1u);
  EXPECT_EQ(queues.count(envelope::LOCAL_DELIVERY), 0u);
  EXPECT_EQ(queues.size(), 3u);
}

TEST(NamedQueues, CountsSplitDeliveryQueuesByNextHop) {
  NamedQueues queues;
  queues.upsert(message(1, envelope::REMOTE_DELIVERY, "Internet"));
  queues.upsert(message(2, envelope::REMOTE_DELIVERY, "Military"));
  queues.upsert(message(3, envelope::REMOTE_DELIVERY, "Internet"));
  const auto counts = queues.counts();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts.at(QueueKey{envelope::REMOTE_DELIVERY, "Internet"}), 2u);
  EXPECT_EQ(counts.at(QueueKey{envelope::REMOTE_DELIVERY, "Military"}), 1u);
}

TEST(NamedQueues, ListsTheOldestFirstUpToTheLimit) {
  NamedQueues queues;
  for (std::uint64_t micros : {50, 10, 40, 20, 30}) queues.upsert(message(micros, envelope::WAITING_TO_BE_ROUTED));
  queues.upsert(message(5, envelope::LOCAL_DELIVERY, "mbx1.example.com"));
  const auto first = queues.list(envelope::WAITING_TO_BE_ROUTED, 3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].id, QueueIdGenerator::make(10, 0, 0));
  EXPECT_EQ(first[1].id, QueueIdGenerator::make(20, 0, 0));
  EXPECT_EQ(first[2].id, QueueIdGenerator::make(30, 0, 0));
}

TEST(NamedQueues, ListsOneNextHopOfADeliveryQueue) {
  NamedQueues queues;
  queues.upsert(message(1, envelope::REMOTE_DELIVERY, "Internet"));
  queues.upsert(message(2, envelope::REMOTE_DELIVERY, "Military"));
  const auto military = queues.list(envelope::REMOTE_DELIVERY, 10, "Military");
  ASSERT_EQ(military.size(), 1u);
  EXPECT_EQ(military[0].id, QueueIdGenerator::make(2, 0, 0));
}

TEST(NamedQueues, MoveChangesTheQueueOfAMessage) {
  NamedQueues queues;
  const auto m = message(1, envelope::AWAITING_DIRECTORY_LOOKUP);
  queues.upsert(m);
  EXPECT_TRUE(queues.move(m.id, envelope::LOCAL_DELIVERY, "mbx1.example.com"));
  EXPECT_EQ(queues.count(envelope::AWAITING_DIRECTORY_LOOKUP), 0u);
  EXPECT_EQ(queues.find(m.id)->next_hop, "mbx1.example.com");
  EXPECT_FALSE(queues.move(QueueIdGenerator::make(99, 0, 0), envelope::LOCAL_DELIVERY));
}

TEST(NamedQueues, EraseRemovesAMessage) {
  NamedQueues queues;
  const auto m = message(1, envelope::AWAITING_DIRECTORY_LOOKUP);
  queues.upsert(m);
  EXPECT_TRUE(queues.erase(m.id));
  EXPECT_FALSE(queues.erase(m.id));
  EXPECT_FALSE(queues.find(m.id).has_value());
}

TEST(NamedQueues, DisplayNamesAreThoseOfTheQueueViewer) {
  EXPECT_EQ(display_name(envelope::AWAITING_DIRECTORY_LOOKUP), "Messages awaiting directory lookup");
  EXPECT_EQ(display_name(envelope::WAITING_TO_BE_ROUTED), "Messages waiting to be routed");
  EXPECT_EQ(display_name(envelope::FINAL_DESTINATION_UNREACHABLE), "Final destination currently unreachable");
  EXPECT_EQ(display_name(QueueKey{envelope::REMOTE_DELIVERY, "Internet"}), "Remote delivery [Internet]");
}

}  // namespace
}  // namespace gw::queue
