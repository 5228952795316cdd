#include "gateway/delivery/body_encoder.h"

#include <gtest/gtest.h>

namespace gw::delivery {
namespace {

std::string encode_split(std::string_view content, std::size_t split) {
  DotStuffer stuffer;
  std::string out;
  stuffer.put(content.substr(0, split), out);
  stuffer.put(content.substr(split), out);
  stuffer.finish(out);
  return out;
}

void expect_encoding(std::string_view content, std::string_view want) {
  for (std::size_t split = 0; split <= content.size(); ++split)
    EXPECT_EQ(encode_split(content, split), want) << "split at " << split;
}

TEST(DotStuffer, LeadingDotsAreDoubled) {
  expect_encoding("Subject: x\r\n\r\n.hidden\r\n..two\r\nmid.dle\r\n", "Subject: x\r\n\r\n..hidden\r\n...two\r\nmid.dle\r\n.\r\n");
}

TEST(DotStuffer, ALoneDotLineCannotEndTheMessageEarly) {
  expect_encoding("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
}

TEST(DotStuffer, BareLineFeedAndCarriageReturnBecomeCrlf) {
  // "\n.\n" and "\r.\r" are the SMTP smuggling vectors: they must not reach the peer.
  expect_encoding("a\n.\nb\r.\rc\r\n", "a\r\n..\r\nb\r\n..\r\nc\r\n.\r\n");
}

TEST(DotStuffer, MissingFinalLineBreakIsAdded) {
  expect_encoding("no newline", "no newline\r\n.\r\n");
}

TEST(DotStuffer, EmptyContentIsJustTheTerminator) {
  expect_encoding("", ".\r\n");
}

}  // namespace
}  // namespace gw::delivery
