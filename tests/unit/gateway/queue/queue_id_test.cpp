#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "gateway/common/queue_id.h"
#include "gateway/queue/queue_id_generator.h"

namespace gw::queue {
namespace {

TEST(QueueId, ParsesTwentyFourUpperCaseHexDigits) {
  auto id = QueueId::parse("0005F1A2B3C4D500000A1B2C");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->str(), "0005F1A2B3C4D500000A1B2C");
}

TEST(QueueId, RejectsWrongLengthLowerCaseAndPathCharacters) {
  EXPECT_FALSE(QueueId::parse(""));
  EXPECT_FALSE(QueueId::parse("0005F1A2B3C4D500000A1B2"));
  EXPECT_FALSE(QueueId::parse("0005F1A2B3C4D500000A1B2CD"));
  EXPECT_FALSE(QueueId::parse("0005f1a2b3c4d500000a1b2c"));
  EXPECT_FALSE(QueueId::parse("../../../../etc/passwd.xx"));
  EXPECT_FALSE(QueueId::parse("0005F1A2B3C4D500000A1B/C"));
}

TEST(QueueIdGenerator, EncodesTimeCounterAndRandomInThatOrder) {
  const QueueId id = QueueIdGenerator::make(0x5F1A2B3C4D5E6ull, 0xA, 0xABCDEF);
  EXPECT_EQ(id.str(), "05F1A2B3C4D5E6000AABCDEF");
}

TEST(QueueIdGenerator, TimeOfReturnsTheEncodedArrival) {
  const QueueId id = QueueIdGenerator::make(1'700'000'000'123'456ull, 0, 0);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(QueueIdGenerator::time_of(id).time_since_epoch())
                .count(),
            1'700'000'000'123'456);
}

TEST(QueueIdGenerator, IdsAreStrictlyIncreasingAndUnique) {
  QueueIdGenerator generator;
  QueueId previous = generator.next();
  for (int i = 0; i < 100'000; ++i) {
    const QueueId next = generator.next();
    ASSERT_LT(previous, next) << "at " << i;
    previous = next;
  }
}

TEST(QueueIdGenerator, IdsAreUniqueAcrossThreads) {
  QueueIdGenerator generator;
  std::vector<std::vector<QueueId>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&generator, &ids] {
      for (int i = 0; i < 20'000; ++i) ids.push_back(generator.next());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<QueueId> all;
  for (const auto& ids : per_thread) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 80'000u);
}

TEST(QueueIdGenerator, TwoGeneratorsInTheSameMicrosecondDifferInTheRandomPart) {
  QueueIdGenerator a;
  QueueIdGenerator b;
  std::set<QueueId> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.insert(a.next());
    ids.insert(b.next());
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(QueueIdGenerator, IdsStartWithTheCurrentTime) {
  QueueIdGenerator generator;
  const auto before = std::chrono::system_clock::now();
  const auto at = QueueIdGenerator::time_of(generator.next());
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(at + std::chrono::microseconds(1), before);
  EXPECT_LE(at, after + std::chrono::milliseconds(1));
}

}  // namespace
}  // namespace gw::queue
