#include "gateway/routing/smart_host.h"

#include <gtest/gtest.h>

namespace gw::routing {
namespace {

TEST(SmartHostList, SemicolonAndCommaBothSeparateEntries) {
  auto hosts = parse_smart_hosts("relay1.example.net; relay2.example.net,relay3.example.net");
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[0].host, "relay1.example.net");
  EXPECT_EQ((*hosts)[2].host, "relay3.example.net");
}

TEST(SmartHostList, BracketedIpv4IsALiteral) {
  auto hosts = parse_smart_hosts("[192.0.2.25]");
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_TRUE((*hosts)[0].ip_literal);
  EXPECT_EQ((*hosts)[0].host, "192.0.2.25");
  EXPECT_EQ((*hosts)[0].str(), "[192.0.2.25]");
}

TEST(SmartHostList, Ipv6LiteralWithAndWithoutTag) {
  auto hosts = parse_smart_hosts("[IPv6:2001:DB8::1];[2001:db8::2]:2525");
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].host, "2001:db8::1");
  EXPECT_EQ((*hosts)[0].str(), "[IPv6:2001:db8::1]");
  EXPECT_EQ((*hosts)[1].port, 2525);
}

TEST(SmartHostList, NameIsFoldedToLowerCaseAndKeepsItsPort) {
  auto hosts = parse_smart_hosts("Relay.Example.NET.:2525");
  ASSERT_TRUE(hosts);
  EXPECT_EQ((*hosts)[0].host, "relay.example.net");
  EXPECT_FALSE((*hosts)[0].ip_literal);
  EXPECT_EQ((*hosts)[0].port, 2525);
}

TEST(SmartHostList, BareIpWithoutBracketsIsAHostNameNotALiteral) {
  // RFC 5321 literals need brackets; "192.0.2.1" is accepted as a (numeric) name.
  auto hosts = parse_smart_hosts("192.0.2.1");
  ASSERT_TRUE(hosts);
  EXPECT_FALSE((*hosts)[0].ip_literal);
}

TEST(SmartHostList, EmptyAndBlankListsHaveNoHosts) {
  EXPECT_TRUE(parse_smart_hosts("")->empty());
  EXPECT_TRUE(parse_smart_hosts(" ; , ")->empty());
}

TEST(SmartHostList, MalformedEntriesFailTheWholeList) {
  for (const char* text : {"[192.0.2.300]", "[192.0.2.1", "relay..example", "-relay.example", "relay.example:0",
                           "relay.example:99999", "relay.example:x", "good.example; bad host"}) {
    auto hosts = parse_smart_hosts(text);
    ASSERT_FALSE(hosts) << text;
    EXPECT_EQ(hosts.error().code, RoutingErrc::BadSmartHost) << text;
    EXPECT_NE(hosts.error().detail.find('"'), std::string::npos) << "detail names the entry: " << text;
  }
}

}  // namespace
}  // namespace gw::routing
