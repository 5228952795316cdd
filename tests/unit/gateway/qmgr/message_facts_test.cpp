// A message's priority from its header section, as connectors restricting by
// priority see it.
#include "gateway/qmgr/message_facts.h"

#include <gtest/gtest.h>

namespace gw::qmgr {
namespace {

using routing::Priority;

TEST(PriorityTest, ImportanceDecidesFirst) {
  EXPECT_EQ(priority_of("Priority: non-urgent\r\nImportance: High\r\n\r\n"), Priority::High);
}

TEST(PriorityTest, PriorityComesBeforeXPriority) {
  EXPECT_EQ(priority_of("X-Priority: 1\r\nPriority: non-urgent\r\n\r\n"), Priority::Low);
}

TEST(PriorityTest, XPriorityOneAndTwoAreHighFourAndFiveLow) {
  EXPECT_EQ(priority_of("X-Priority: 2 (High)\r\n\r\n"), Priority::High);
  EXPECT_EQ(priority_of("X-Priority: 5\r\n\r\n"), Priority::Low);
  EXPECT_EQ(priority_of("X-Priority: 3\r\n\r\n"), Priority::Normal);
}

TEST(PriorityTest, HeadersAfterTheBlankLineAreBody) {
  EXPECT_EQ(priority_of("Subject: x\r\n\r\nImportance: high\r\n"), Priority::Normal);
}

TEST(PriorityTest, NoPriorityHeaderIsNormal) { EXPECT_EQ(priority_of("Subject: x\r\n\r\n"), Priority::Normal); }

}  // namespace
}  // namespace gw::qmgr
