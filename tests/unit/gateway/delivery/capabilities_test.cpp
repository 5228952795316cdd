#include "gateway/delivery/capabilities.h"

#include <gtest/gtest.h>

namespace gw::delivery {
namespace {

Reply ehlo(std::vector<std::string> lines) {
  Reply reply;
  reply.code = 250;
  reply.lines = std::move(lines);
  return reply;
}

TEST(Capabilities, EveryUsedExtensionIsRecognized) {
  const auto caps = Capabilities::from_ehlo(ehlo({"mx.example.com", "PIPELINING", "SIZE 10240000", "8BITMIME",
                                                  "SMTPUTF8", "DSN", "CHUNKING", "BINARYMIME", "STARTTLS",
                                                  "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN"}));
  EXPECT_TRUE(caps.pipelining);
  ASSERT_TRUE(caps.size);
  EXPECT_EQ(*caps.size, 10240000u);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_TRUE(caps.dsn);
  EXPECT_TRUE(caps.chunking);
  EXPECT_TRUE(caps.binary_mime);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_EQ(caps.auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
}

TEST(Capabilities, KeywordsAreCaseInsensitive) {
  const auto caps = Capabilities::from_ehlo(ehlo({"mx", "pipelining", "starttls", "auth cram-md5 plain"}));
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.offers_auth("plain"));
}

TEST(Capabilities, SizeWithoutValueMeansNoFixedLimit) {
  const auto caps = Capabilities::from_ehlo(ehlo({"mx", "SIZE"}));
  ASSERT_TRUE(caps.size);
  EXPECT_EQ(*caps.size, 0u);
}

TEST(Capabilities, ObsoleteAuthEqualsFormIsUnderstood) {
  const auto caps = Capabilities::from_ehlo(ehlo({"mx", "AUTH=LOGIN PLAIN"}));
  EXPECT_EQ(caps.auth_mechanisms, (std::vector<std::string>{"LOGIN", "PLAIN"}));
}

TEST(Capabilities, GreetingLineIsNotAKeyword) {
  const auto caps = Capabilities::from_ehlo(ehlo({"STARTTLS is my host name"}));
  EXPECT_FALSE(caps.starttls);
  EXPECT_FALSE(caps.size);
}

}  // namespace
}  // namespace gw::delivery
