#include "metabase-sync/value_parsers.h"

#include <gtest/gtest.h>

namespace msync {
namespace {

TEST(ParseServerBinding, ReadsIpPortAndIgnoresHostName) {
  auto binding = parse_server_binding("127.0.0.1:2525:");
  ASSERT_TRUE(binding) << binding.error();
  EXPECT_EQ(binding->ip(), "127.0.0.1");
  EXPECT_EQ(binding->port(), 2525u);
  EXPECT_FALSE(binding->implicit_tls());
}

TEST(ParseServerBinding, EmptyIpMeansAllUnassigned) {
  auto binding = parse_server_binding(":25:");
  ASSERT_TRUE(binding);
  EXPECT_EQ(binding->ip(), "");
  EXPECT_EQ(binding->port(), 25u);
}

TEST(ParseServerBinding, AcceptsBracketedIpv6) {
  auto binding = parse_server_binding("[::1]:587:");
  ASSERT_TRUE(binding);
  EXPECT_EQ(binding->ip(), "::1");
  EXPECT_EQ(binding->port(), 587u);
}

TEST(ParseServerBinding, RejectsTextWithoutAPort) {
  auto binding = parse_server_binding("abc");
  ASSERT_FALSE(binding);
  EXPECT_EQ(binding.error(), "\"abc\" is not IP:port:");
}

TEST(ParseServerBinding, RejectsPortZeroAndOutOfRange) {
  EXPECT_FALSE(parse_server_binding("127.0.0.1:0:"));
  EXPECT_FALSE(parse_server_binding("127.0.0.1:65536:"));
  EXPECT_FALSE(parse_server_binding("300.0.0.1:25:"));
}

TEST(ParseSecureBinding, MarksImplicitTls) {
  auto binding = parse_secure_binding("127.0.0.1:465");
  ASSERT_TRUE(binding);
  EXPECT_TRUE(binding->implicit_tls());
  EXPECT_EQ(binding->port(), 465u);
}

TEST(ParseAddressSpace, ReadsTypePatternAndCost) {
  auto space = parse_address_space("SMTP:*.MIL;1");
  ASSERT_TRUE(space) << space.error();
  EXPECT_EQ(space->type(), gw::metabase::ADDRESS_SPACE_SMTP);
  EXPECT_EQ(space->pattern(), "*.mil");
  EXPECT_EQ(space->cost(), 1u);
}

TEST(ParseAddressSpace, RejectsCostOutsideOneToHundred) {
  EXPECT_FALSE(parse_address_space("SMTP:*;0"));
  EXPECT_FALSE(parse_address_space("SMTP:*;101"));
  EXPECT_FALSE(parse_address_space("SMTP:*"));
  EXPECT_FALSE(parse_address_space("*;10"));
}

TEST(ParseAddressSpace, KeepsX400PatternCase) {
  auto space = parse_address_space("X400:c=US;a= ;p=Org;5");
  ASSERT_TRUE(space);
  EXPECT_EQ(space->type(), gw::metabase::ADDRESS_SPACE_X400);
  EXPECT_EQ(space->pattern(), "c=US;a= ;p=Org");
  EXPECT_EQ(space->cost(), 5u);
}

TEST(ParseRetryMinutes, ConvertsMinutesToSeconds) {
  auto retry = parse_retry_minutes("10,10,10,15");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->first_retry_seconds(), 600u);
  EXPECT_EQ(retry->third_retry_seconds(), 600u);
  EXPECT_EQ(retry->subsequent_retry_seconds(), 900u);
}

TEST(ParseRetryMinutes, RepeatsTheLastIntervalWhenShorter) {
  auto retry = parse_retry_minutes("5, 30");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->first_retry_seconds(), 300u);
  EXPECT_EQ(retry->second_retry_seconds(), 1800u);
  EXPECT_EQ(retry->subsequent_retry_seconds(), 1800u);
}

TEST(ParseRetryMinutes, RejectsZeroAndGarbage) {
  EXPECT_FALSE(parse_retry_minutes("0,10"));
  EXPECT_FALSE(parse_retry_minutes("ten"));
  EXPECT_FALSE(parse_retry_minutes("1,2,3,4,5"));
}

TEST(ParseIpNetwork, ClearsHostBitsAndDefaultsToAHostPrefix) {
  auto network = parse_ip_network("10.1.2.3/8");
  ASSERT_TRUE(network);
  EXPECT_EQ(network->address(), "10.0.0.0");
  EXPECT_EQ(network->prefix_length(), 8u);
  auto host = parse_ip_network("192.0.2.7");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_length(), 32u);
  auto v6 = parse_ip_network("2001:db8::1/32");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->address(), "2001:db8::");
}

TEST(ParseIpNetwork, RejectsBadPrefixAndAddress) {
  EXPECT_FALSE(parse_ip_network("10.0.0.0/33"));
  EXPECT_FALSE(parse_ip_network("example.com"));
}

TEST(ParseHostPort, ReadsNameAndBracketedIpv6) {
  auto endpoint = parse_host_port("mbx1.example.com:24");
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->host, "mbx1.example.com");
  EXPECT_EQ(endpoint->port, 24u);
  auto v6 = parse_host_port("[::1]:2424");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(parse_host_port("mbx1.example.com"));
}

TEST(ParseSmartHosts, SplitsListsAndKeepsBrackets) {
  auto hosts = parse_smart_hosts("relay1.example.net; [192.0.2.1]");
  ASSERT_TRUE(hosts);
  EXPECT_EQ(*hosts, (std::vector<std::string>{"relay1.example.net", "[192.0.2.1]"}));
  EXPECT_FALSE(parse_smart_hosts("bad host!"));
  EXPECT_FALSE(parse_smart_hosts(" ; "));
}

TEST(ParseBool, AcceptsDirectorySpelling) {
  EXPECT_EQ(parse_bool("TRUE"), true);
  EXPECT_EQ(parse_bool("false"), false);
  EXPECT_FALSE(parse_bool("yes"));
}

}  // namespace
}  // namespace msync
