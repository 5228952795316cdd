#include "gateway/server/ip_network.h"

#include <gtest/gtest.h>

namespace gw::server {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

IpNetwork network(const char* address, unsigned prefix) {
  auto parsed = IpNetwork::parse(address, prefix);
  EXPECT_TRUE(parsed.has_value()) << address << "/" << prefix;
  return *parsed;
}

TEST(IpNetwork, HostNetworkMatchesOnlyThatAddress) {
  const auto host = network("192.0.2.7", 32);
  EXPECT_TRUE(host.contains(ip("192.0.2.7")));
  EXPECT_FALSE(host.contains(ip("192.0.2.8")));
}

TEST(IpNetwork, PrefixMatchesWholeNetwork) {
  const auto net = network("10.1.0.0", 16);
  EXPECT_TRUE(net.contains(ip("10.1.255.3")));
  EXPECT_FALSE(net.contains(ip("10.2.0.1")));
}

TEST(IpNetwork, PrefixNotOnByteBoundary) {
  const auto net = network("192.0.2.64", 26);
  EXPECT_TRUE(net.contains(ip("192.0.2.127")));
  EXPECT_FALSE(net.contains(ip("192.0.2.128")));
  EXPECT_FALSE(net.contains(ip("192.0.2.63")));
}

TEST(IpNetwork, ZeroPrefixMatchesEveryAddressOfItsFamily) {
  EXPECT_TRUE(network("0.0.0.0", 0).contains(ip("203.0.113.9")));
  EXPECT_FALSE(network("0.0.0.0", 0).contains(ip("2001:db8::1")));
}

TEST(IpNetwork, Ipv4MappedPeerMatchesIpv4Network) {
  EXPECT_TRUE(network("127.0.0.0", 8).contains(ip("::ffff:127.0.0.3")));
}

TEST(IpNetwork, Ipv6Prefix) {
  const auto net = network("2001:db8::", 32);
  EXPECT_TRUE(net.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(net.contains(ip("2001:db9::1")));
}

TEST(IpNetwork, RejectsHostNames) { EXPECT_FALSE(IpNetwork::parse("mail.example.com", 32).has_value()); }

TEST(IpNetwork, RejectsPrefixLongerThanAddress) {
  EXPECT_FALSE(IpNetwork::parse("192.0.2.1", 33).has_value());
  EXPECT_TRUE(IpNetwork::parse("2001:db8::1", 128).has_value());
}

TEST(IpNetworkList, EmptyListContainsNothing) {
  google::protobuf::RepeatedPtrField<metabase::IpNetwork> none;
  auto list = IpNetworkList::parse(none);
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty());
  EXPECT_FALSE(list->contains(ip("127.0.0.1")));
}

TEST(IpNetworkList, AnyEntryMatches) {
  google::protobuf::RepeatedPtrField<metabase::IpNetwork> entries;
  auto* a = entries.Add();
  a->set_address("192.0.2.0");
  a->set_prefix_length(24);
  auto* b = entries.Add();
  b->set_address("198.51.100.7");
  b->set_prefix_length(32);
  auto list = IpNetworkList::parse(entries);
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->contains(ip("198.51.100.7")));
  EXPECT_TRUE(list->contains(ip("192.0.2.200")));
  EXPECT_FALSE(list->contains(ip("198.51.100.8")));
}

}  // namespace
}  // namespace gw::server
