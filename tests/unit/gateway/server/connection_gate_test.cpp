#include "gateway/server/connection_gate.h"

#include <gtest/gtest.h>

namespace gw::server {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

IpNetworkList networks(std::initializer_list<std::pair<const char*, unsigned>> entries) {
  google::protobuf::RepeatedPtrField<metabase::IpNetwork> list;
  for (const auto& [address, prefix] : entries) {
    auto* network = list.Add();
    network->set_address(address);
    network->set_prefix_length(prefix);
  }
  return *IpNetworkList::parse(list);
}

void expect_refusal(const std::variant<ConnectionGate::Ticket, Refusal>& admission, int code,
                    EnhancedStatus status) {
  ASSERT_TRUE(std::holds_alternative<Refusal>(admission));
  EXPECT_EQ(std::get<Refusal>(admission).code, code);
  EXPECT_EQ(std::get<Refusal>(admission).status, status);
}

TEST(ConnectionGate, AdmitsWhenNoRulesApply) {
  auto gate = ConnectionGate::create();
  auto admission = gate->admit(ip("192.0.2.1"), {});
  EXPECT_TRUE(std::holds_alternative<ConnectionGate::Ticket>(admission));
  EXPECT_EQ(gate->open_connections(), 1u);
}

TEST(ConnectionGate, DeniedNetworkGets554_5_7_1) {
  ConnectionRules rules;
  rules.deny = networks({{"192.0.2.0", 24}});
  expect_refusal(ConnectionGate::create()->admit(ip("192.0.2.9"), rules), 554, EnhancedStatus{5, 7, 1});
}

TEST(ConnectionGate, PeerOutsideNonEmptyAllowListGets554_5_7_1) {
  ConnectionRules rules;
  rules.allow = networks({{"10.0.0.0", 8}});
  expect_refusal(ConnectionGate::create()->admit(ip("192.0.2.9"), rules), 554, EnhancedStatus{5, 7, 1});
}

TEST(ConnectionGate, DenyWinsOverAllow) {
  ConnectionRules rules;
  rules.allow = networks({{"10.0.0.0", 8}});
  rules.deny = networks({{"10.0.0.5", 32}});
  auto gate = ConnectionGate::create();
  expect_refusal(gate->admit(ip("10.0.0.5"), rules), 554, EnhancedStatus{5, 7, 1});
  EXPECT_TRUE(std::holds_alternative<ConnectionGate::Ticket>(gate->admit(ip("10.0.0.6"), rules)));
}

TEST(ConnectionGate, MaxConnectionsGets421_4_7_0) {
  ConnectionRules rules;
  rules.max_connections = 2;
  auto gate = ConnectionGate::create();
  auto first = gate->admit(ip("192.0.2.1"), rules);
  auto second = gate->admit(ip("192.0.2.2"), rules);
  expect_refusal(gate->admit(ip("192.0.2.3"), rules), 421, EnhancedStatus{4, 7, 0});
}

TEST(ConnectionGate, MaxConnectionsPerIpCountsOnlyThatPeer) {
  ConnectionRules rules;
  rules.max_connections_per_ip = 1;
  auto gate = ConnectionGate::create();
  auto first = gate->admit(ip("192.0.2.1"), rules);
  expect_refusal(gate->admit(ip("192.0.2.1"), rules), 421, EnhancedStatus{4, 7, 0});
  EXPECT_TRUE(std::holds_alternative<ConnectionGate::Ticket>(gate->admit(ip("192.0.2.2"), rules)));
}

TEST(ConnectionGate, DroppingTicketFreesTheSlot) {
  ConnectionRules rules;
  rules.max_connections_per_ip = 1;
  auto gate = ConnectionGate::create();
  {
    auto ticket = gate->admit(ip("192.0.2.1"), rules);
    EXPECT_EQ(gate->open_connections_from(ip("192.0.2.1")), 1u);
  }
  EXPECT_EQ(gate->open_connections(), 0u);
  EXPECT_TRUE(std::holds_alternative<ConnectionGate::Ticket>(gate->admit(ip("192.0.2.1"), rules)));
}

TEST(ConnectionGate, MovedTicketReleasesOnce) {
  auto gate = ConnectionGate::create();
  auto admission = gate->admit(ip("192.0.2.1"), {});
  {
    ConnectionGate::Ticket moved = std::get<ConnectionGate::Ticket>(std::move(admission));
    EXPECT_EQ(gate->open_connections(), 1u);
  }
  EXPECT_EQ(gate->open_connections(), 0u);
}

TEST(ConnectionGate, Ipv4MappedPeerCountsAsIpv4) {
  ConnectionRules rules;
  rules.max_connections_per_ip = 1;
  auto gate = ConnectionGate::create();
  auto first = gate->admit(ip("127.0.0.1"), rules);
  expect_refusal(gate->admit(ip("::ffff:127.0.0.1"), rules), 421, EnhancedStatus{4, 7, 0});
}

}  // namespace
}  // namespace gw::server
