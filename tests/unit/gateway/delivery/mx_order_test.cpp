#include <gtest/gtest.h>

#include <set>

#include "gateway/delivery/mx_resolver.h"

namespace gw::delivery {
namespace {

TEST(MxOrder, LowerPreferenceComesFirst) {
  std::mt19937_64 random(1);
  const auto ordered = order_mx_records({{"c", 30}, {"a", 10}, {"b", 20}}, random);
  ASSERT_EQ(ordered.size(), 3u);
  EXPECT_EQ(ordered[0].host, "a");
  EXPECT_EQ(ordered[1].host, "b");
  EXPECT_EQ(ordered[2].host, "c");
}

TEST(MxOrder, EqualPreferencesAreSpreadRandomlyButStayAheadOfWorseOnes) {
  std::set<std::string> seen_first;
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    std::mt19937_64 random(seed);
    const auto ordered = order_mx_records({{"x", 10}, {"y", 10}, {"backup", 50}}, random);
    seen_first.insert(ordered[0].host);
    EXPECT_EQ(ordered[2].host, "backup");
  }
  EXPECT_EQ(seen_first, (std::set<std::string>{"x", "y"}));
}

}  // namespace
}  // namespace gw::delivery
