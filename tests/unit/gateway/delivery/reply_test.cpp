#include "gateway/delivery/reply.h"

#include <gtest/gtest.h>

namespace gw::delivery {
namespace {

std::vector<Reply> parse_all(std::string_view bytes, bool one_octet_at_a_time) {
  ReplyParser parser;
  std::vector<Reply> replies;
  auto drain = [&] {
    while (auto next = parser.next()) {
      EXPECT_TRUE(next->has_value()) << next->error().message();
      if (!next->has_value()) return;
      replies.push_back(**next);
    }
  };
  if (one_octet_at_a_time) {
    for (char c : bytes) {
      parser.put(std::string_view(&c, 1));
      drain();
    }
  } else {
    parser.put(bytes);
    drain();
  }
  return replies;
}

TEST(ReplyParser, MultilineReplyIsOneReplyWithAllLines) {
  const std::string_view ehlo = "250-mx.example.com hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
  for (bool bytewise : {false, true}) {
    const auto replies = parse_all(ehlo, bytewise);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].code, 250);
    EXPECT_EQ(replies[0].lines, (std::vector<std::string>{"mx.example.com hello", "PIPELINING", "SIZE 1000"}));
  }
}

TEST(ReplyParser, EverySplitOffsetGivesTheSameReplies) {
  const std::string bytes = "220 ready\r\n250-a\r\n250 b\r\n550 5.1.1 no such user\r\n";
  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    ReplyParser parser;
    std::vector<int> codes;
    parser.put(std::string_view(bytes).substr(0, split));
    while (auto r = parser.next()) codes.push_back((*r)->code);
    parser.put(std::string_view(bytes).substr(split));
    while (auto r = parser.next()) codes.push_back((*r)->code);
    EXPECT_EQ(codes, (std::vector<int>{220, 250, 550})) << "split at " << split;
  }
}

TEST(ReplyParser, EnhancedStatusCodeIsExtractedFromTheFirstLine) {
  const auto replies = parse_all("550 5.1.1 <x@example.com>: Recipient address rejected\r\n", false);
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(replies[0].enhanced);
  EXPECT_EQ(replies[0].enhanced->str(), "5.1.1");
  EXPECT_EQ(replies[0].text(), "<x@example.com>: Recipient address rejected");
}

TEST(ReplyParser, EnhancedCodeOfAnotherClassIsNotTaken) {
  const auto replies = parse_all("451 5.1.1 odd\r\n", false);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].enhanced);
}

TEST(ReplyParser, BareCodeWithoutTextIsAReply) {
  const auto replies = parse_all("250\r\n", false);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].lines, std::vector<std::string>{""});
}

TEST(ReplyParser, BareLineFeedEndsALine) {
  const auto replies = parse_all("250-a\n250 b\n", false);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].lines.size(), 2u);
}

TEST(ReplyParser, DifferingCodesInOneReplyAreAnError) {
  ReplyParser parser;
  parser.put("250-a\r\n251 b\r\n");
  auto r = parser.next();
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().code, ReplyErrc::MixedCodes);
}

TEST(ReplyParser, TextThatIsNotAReplyIsMalformed) {
  for (std::string_view bad : {"hello\r\n", "25\r\n", "250x\r\n", "650 nope\r\n"}) {
    ReplyParser parser;
    parser.put(bad);
    auto r = parser.next();
    ASSERT_TRUE(r) << bad;
    ASSERT_FALSE(r->has_value()) << bad;
    EXPECT_EQ(r->error().code, ReplyErrc::Malformed) << bad;
  }
}

TEST(ReplyParser, EndlessLineIsTooLong) {
  ReplyParser parser;
  parser.put("250 " + std::string(ReplyParser::kMaxLineLength + 10, 'x'));
  auto r = parser.next();
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().code, ReplyErrc::LineTooLong);
}

}  // namespace
}  // namespace gw::delivery
