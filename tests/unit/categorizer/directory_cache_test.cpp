#include "categorizer/directory_cache.h"

#include <gtest/gtest.h>

namespace gw::categorizer {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  DirectoryCache::Clock::time_point now{};
};

EntryPtr entry(std::string dn) {
  auto e = std::make_shared<Entry>();
  e->dn = std::move(dn);
  return e;
}

TEST(DirectoryCache, MissWhenAbsent) {
  FakeClock clock;
  DirectoryCache cache({10, 60s, 5s}, [&] { return clock.now; });
  EXPECT_FALSE(cache.get("a:x"));
}

TEST(DirectoryCache, PositiveEntryLivesForThePositiveTtl) {
  FakeClock clock;
  DirectoryCache cache({10, 60s, 5s}, [&] { return clock.now; });
  cache.put("a:x", {entry("cn=x")});
  clock.now += 59s;
  ASSERT_TRUE(cache.get("a:x"));
  clock.now += 2s;
  EXPECT_FALSE(cache.get("a:x"));
}

TEST(DirectoryCache, NegativeEntryUsesTheShorterTtl) {
  FakeClock clock;
  DirectoryCache cache({10, 60s, 5s}, [&] { return clock.now; });
  cache.put("a:nobody", {});
  auto hit = cache.get("a:nobody");
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->empty());
  clock.now += 6s;
  EXPECT_FALSE(cache.get("a:nobody"));
}

TEST(DirectoryCache, EvictsTheLeastRecentlyUsedEntryAtCapacity) {
  FakeClock clock;
  DirectoryCache cache({2, 60s, 5s}, [&] { return clock.now; });
  cache.put("k1", {entry("cn=1")});
  cache.put("k2", {entry("cn=2")});
  ASSERT_TRUE(cache.get("k1"));  // k2 is now the least recently used
  cache.put("k3", {entry("cn=3")});
  EXPECT_TRUE(cache.get("k1"));
  EXPECT_FALSE(cache.get("k2"));
  EXPECT_TRUE(cache.get("k3"));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(DirectoryCache, ZeroCapacityCachesNothing) {
  DirectoryCache cache({0, 60s, 5s});
  cache.put("k", {entry("cn=1")});
  EXPECT_FALSE(cache.get("k"));
}

}  // namespace
}  // namespace gw::categorizer
