// One routing rule per test, against the sample organization
// (tests/testdata/routing/org.textproto) with the change each test needs.
#include "gateway/routing/router.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "gateway/common/ascii.h"
#include "gateway/dsn/status_table.h"

namespace gw::routing {
namespace {

using gw::metabase::Metabase;

Metabase sample_org() {
  std::ifstream in(std::string(GW_ROUTING_TESTDATA) + "/org.textproto");
  std::stringstream text;
  text << in.rdbuf();
  Metabase mb;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &mb)) throw std::runtime_error("bad org.textproto");
  return mb;
}

gw::metabase::Connector& connector(Metabase& mb, std::string_view name) {
  for (auto& c : *mb.mutable_connectors())
    if (c.name() == name) return c;
  throw std::runtime_error("no connector " + std::string(name));
}

gw::metabase::Connector& add_connector(Metabase& mb, const std::string& name, const std::string& pattern,
                                       std::uint32_t cost, const std::string& routing_group = "First Routing Group") {
  auto* c = mb.add_connectors();
  c->set_name(name);
  c->set_dn("CN=" + name + ",CN=Connections,CN=" + routing_group +
            ",CN=Routing Groups,CN=First Administrative Group,CN=Administrative Groups,CN=Example,"
            "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com");
  auto* space = c->add_address_spaces();
  space->set_pattern(pattern);
  space->set_cost(cost);
  c->set_local_bridgehead(true);
  return *c;
}

CategorizedRecipient remote(std::string address, std::string sender = "alice@example.com") {
  CategorizedRecipient r;
  r.kind = RecipientKind::Remote;
  r.address = std::move(address);
  r.message.sender = std::move(sender);
  r.message.virtual_server_id = "1";
  return r;
}

CategorizedRecipient mailbox(std::string home_mdb_dn) {
  CategorizedRecipient r;
  r.kind = RecipientKind::Mailbox;
  r.address = "bob@example.com";
  r.home_mdb_dn = std::move(home_mdb_dn);
  return r;
}

const std::string kMbx1Store =
    "CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore,CN=MBX1,CN=Servers,CN=First Administrative "
    "Group,CN=Administrative Groups,CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com";

NextHop route_in(const Metabase& mb, const CategorizedRecipient& r, const RouteState& state = {}) {
  return route(RoutingSnapshot::build(mb), r, state);
}

// Asserts a Fail of `kind` and that the status table gives it `reply`/`status`.
void expect_fail(const NextHop& hop, FailureKind kind, int reply, std::string_view status) {
  ASSERT_TRUE(std::holds_alternative<Fail>(hop)) << describe(hop);
  EXPECT_EQ(std::get<Fail>(hop).kind, kind) << describe(hop);
  EXPECT_EQ(dsn::status_of(kind).reply_code, reply);
  EXPECT_EQ(dsn::status_of(kind).status.str(), status);
  EXPECT_EQ(queue_place(hop), QueuePlace{});
}

template <typename T>
const T& as(const NextHop& hop) {
  if (!std::holds_alternative<T>(hop)) throw std::runtime_error("unexpected next hop: " + describe(hop));
  return std::get<T>(hop);
}

// --- mailbox users -----------------------------------------------------------

TEST(Router, MailboxUserGoesToTheServerOwningTheHomeStore) {
  auto hop = as<LocalDelivery>(route_in(sample_org(), mailbox(kMbx1Store)));
  EXPECT_EQ(hop.server, "MBX1");
  EXPECT_EQ(hop.host, "mbx1.example.com");
  EXPECT_EQ(hop.port, 24);
  EXPECT_EQ(hop.protocol, Protocol::Lmtp);
  EXPECT_FALSE(hop.this_server);
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::LOCAL_DELIVERY, "mbx1.example.com"}));
}

TEST(Router, HomeStoreDnComparisonIgnoresCaseAndBlanksAfterCommas) {
  std::string dn = kMbx1Store;
  for (auto& c : dn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string spaced;
  for (char c : dn) spaced += c == ',' ? std::string(", ") : std::string(1, c);
  EXPECT_EQ(as<LocalDelivery>(route_in(sample_org(), mailbox(spaced))).server, "MBX1");
}

TEST(Router, MailboxUserMatchedByLegacyExchangeDnOfHomeServer) {
  auto r = mailbox("");
  r.home_server_dn = "/o=Example/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=MBX1";
  EXPECT_EQ(as<LocalDelivery>(route_in(sample_org(), r)).server, "MBX1");
}

TEST(Router, StoreOnThisServerIsLocalDelivery) {
  auto mb = sample_org();
  mb.mutable_mailbox_servers(0)->set_is_this_server(true);
  auto hop = route_in(mb, mailbox(kMbx1Store));
  EXPECT_TRUE(as<LocalDelivery>(hop).this_server);
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::LOCAL_DELIVERY, "mbx1.example.com"}));
}

TEST(Router, SmtpDeliveryDefaultsToPort25) {
  auto mb = sample_org();
  mb.mutable_mailbox_servers(0)->set_delivery_protocol(gw::metabase::DELIVERY_SMTP);
  mb.mutable_mailbox_servers(0)->clear_delivery_port();
  mb.mutable_mailbox_servers(0)->clear_delivery_host();
  auto hop = as<LocalDelivery>(route_in(mb, mailbox(kMbx1Store)));
  EXPECT_EQ(hop.protocol, Protocol::Smtp);
  EXPECT_EQ(hop.host, "mbx1.example.com");
  EXPECT_EQ(hop.port, 25);
}

TEST(Router, UnknownHomeStoreFails516) {
  expect_fail(route_in(sample_org(), mailbox("CN=Gone,CN=MBX9")), FailureKind::InvalidHomeServer, 550, "5.1.6");
}

TEST(Router, MailboxWithoutAnyHomeFails516) {
  expect_fail(route_in(sample_org(), mailbox("")), FailureKind::InvalidHomeServer, 550, "5.1.6");
}

TEST(Router, DeliveryEndpointThatIsOurOwnListenerFails535) {
  auto mb = sample_org();
  mb.mutable_mailbox_servers(0)->set_delivery_host("127.0.0.1");
  mb.mutable_mailbox_servers(0)->set_delivery_port(2525);
  expect_fail(route_in(mb, mailbox(kMbx1Store)), FailureKind::LoopBackToSelf, 554, "5.3.5");
}

// --- address spaces and costs ------------------------------------------------

TEST(Router, ExactDomainBeatsWildcardAndStar) {
  auto hop = as<SmartHosts>(route_in(sample_org(), remote("user@shared.example.org")));
  EXPECT_EQ(hop.connector, "Shared Namespace");
  ASSERT_EQ(hop.hosts.size(), 1u);
  EXPECT_EQ(hop.hosts[0].str(), "mail.shared.example.org:25");
}

TEST(Router, SubdomainWildcardBeatsStarAndKeepsTlsAndHostOrder) {
  auto hop = route_in(sample_org(), remote("general@army.mil"));
  const auto& sh = as<SmartHosts>(hop);
  EXPECT_EQ(sh.connector, "Military");
  EXPECT_TRUE(sh.tls_required);
  ASSERT_EQ(sh.hosts.size(), 2u);
  EXPECT_EQ(sh.hosts[0].str(), "[192.0.2.10]:25");
  EXPECT_EQ(sh.hosts[1].str(), "relay.mil.example:25");
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::REMOTE_DELIVERY, "Military"}));
}

TEST(Router, StarConnectorWithoutSmartHostUsesDns) {
  auto hop = route_in(sample_org(), remote("someone@Partner.Example"));
  const auto& dns = as<DnsMx>(hop);
  EXPECT_EQ(dns.connector, "Internet");
  EXPECT_EQ(dns.domain, "partner.example");
  EXPECT_EQ(dns.port, 25);
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::REMOTE_DELIVERY, "partner.example"}));
}

TEST(Router, MoreSpecificWildcardWinsEvenAtHigherCost) {
  auto mb = sample_org();
  add_connector(mb, "Army", "*.army.mil", 50).add_smart_hosts("army-relay.example");
  EXPECT_EQ(as<SmartHosts>(route_in(mb, remote("x@hq.army.mil"))).connector, "Army");
}

TEST(Router, LowestCostWinsAmongEquallySpecificConnectors) {
  auto mb = sample_org();
  add_connector(mb, "Cheap Internet", "*", 5).add_smart_hosts("outbound.example.net");
  EXPECT_EQ(as<SmartHosts>(route_in(mb, remote("x@partner.example"))).connector, "Cheap Internet");
}

TEST(Router, ConnectorsOfEqualCostShareLoadDeterministically) {
  auto mb = sample_org();
  add_connector(mb, "Internet 2", "*", 10).add_smart_hosts("outbound2.example.net");
  const auto snap = RoutingSnapshot::build(mb);
  std::set<std::string> used;
  for (std::uint64_t key = 0; key < 64; ++key) {
    RouteState state;
    state.spread_key = key;
    const auto hop = route(snap, remote("x@partner.example"), state);
    EXPECT_EQ(describe(hop), describe(route(snap, remote("x@partner.example"), state))) << "same key, same choice";
    used.insert(std::holds_alternative<DnsMx>(hop) ? std::get<DnsMx>(hop).connector : as<SmartHosts>(hop).connector);
  }
  EXPECT_EQ(used.size(), 2u);
}

TEST(Router, NoMatchingConnectorFails544) {
  auto mb = sample_org();
  mb.mutable_connectors()->erase(mb.mutable_connectors()->begin());  // "Internet" (*)
  expect_fail(route_in(mb, remote("x@partner.example")), FailureKind::NoRoute, 554, "5.4.4");
}

TEST(Router, NonSmtpAddressSpacesNeverMatchSmtpDomains) {
  auto mb = sample_org();
  mb.mutable_connectors()->erase(mb.mutable_connectors()->begin());
  auto& x400 = add_connector(mb, "X400", "*", 1);
  x400.mutable_address_spaces(0)->set_type(gw::metabase::ADDRESS_SPACE_X400);
  expect_fail(route_in(mb, remote("x@partner.example")), FailureKind::NoRoute, 554, "5.4.4");
}

// --- connector state and scope -----------------------------------------------

TEST(Router, ConnectorInRetryYieldsToTheNextBest) {
  RouteState state;
  state.connectors_down.insert("military");
  EXPECT_EQ(as<DnsMx>(route_in(sample_org(), remote("x@army.mil"), state)).connector, "Internet");
}

TEST(Router, ConnectorDownByDnIsAlsoSkipped) {
  auto mb = sample_org();
  RouteState state;
  state.connectors_down.insert(connector(mb, "Military").dn());
  EXPECT_EQ(as<DnsMx>(route_in(mb, remote("x@army.mil"), state)).connector, "Internet");
}

TEST(Router, EveryMatchingConnectorDownIsUnreachableNotAFailure) {
  RouteState state;
  state.connectors_down = {"Military", "Internet"};
  auto hop = route_in(sample_org(), remote("x@army.mil"), state);
  EXPECT_EQ(as<Unreachable>(hop).destination, "army.mil");
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::FINAL_DESTINATION_UNREACHABLE, "army.mil"}));
}

TEST(Router, ScheduleNeverCountsAsDown) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_schedule()->set_style(gw::metabase::Schedule::NEVER);
  EXPECT_EQ(as<DnsMx>(route_in(mb, remote("x@army.mil"))).connector, "Internet");
}

TEST(Router, RoutingGroupScopedConnectorOfAnotherGroupIsInvisible) {
  auto mb = sample_org();
  auto& c = add_connector(mb, "Branch Only", "*.mil", 1, "Branch Routing Group");
  c.set_scope(gw::metabase::ROUTING_GROUP);
  c.add_smart_hosts("branch.example");
  connector(mb, "Military").mutable_address_spaces(0)->set_cost(5);
  EXPECT_EQ(as<SmartHosts>(route_in(mb, remote("x@army.mil"))).connector, "Military");
}

TEST(Router, RoutingGroupScopedConnectorOfOurGroupIsUsed) {
  auto mb = sample_org();
  auto& c = add_connector(mb, "Local Only", "*.mil", 1);
  c.set_scope(gw::metabase::ROUTING_GROUP);
  c.add_smart_hosts("local-mil.example");
  connector(mb, "Military").mutable_address_spaces(0)->set_cost(5);
  EXPECT_EQ(as<SmartHosts>(route_in(mb, remote("x@army.mil"))).connector, "Local Only");
}

TEST(Router, NonBridgeheadForwardsToTheConnectorsBridgehead) {
  auto mb = sample_org();
  auto& c = add_connector(mb, "Partner", "partner.example", 1);
  c.set_local_bridgehead(false);
  c.add_source_bridgehead_servers("BH2");
  c.add_source_bridgehead_fqdns("bh2.example.com");
  c.add_smart_hosts("[198.51.100.7]");
  auto hop = route_in(mb, remote("x@partner.example"));
  const auto& sh = as<SmartHosts>(hop);
  EXPECT_EQ(sh.bridgehead, "bh2.example.com");
  ASSERT_EQ(sh.hosts.size(), 1u);
  EXPECT_EQ(sh.hosts[0].str(), "bh2.example.com:25");
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::REMOTE_DELIVERY, "bh2.example.com"}));
}

TEST(Router, BridgeheadInRetryYieldsToAnotherBridgehead) {
  auto mb = sample_org();
  auto& c = add_connector(mb, "Partner", "partner.example", 1);
  c.set_local_bridgehead(false);
  c.add_source_bridgehead_servers("BH2");
  c.add_source_bridgehead_fqdns("bh2.example.com");
  c.add_source_bridgehead_servers("BH3");
  c.add_source_bridgehead_fqdns("bh3.example.com");
  RouteState state;
  state.hosts_down.insert("BH2");
  for (std::uint64_t key = 0; key < 8; ++key) {
    state.spread_key = key;
    EXPECT_EQ(as<SmartHosts>(route_in(mb, remote("x@partner.example"), state)).bridgehead, "bh3.example.com");
  }
  state.hosts_down.insert("bh3.example.com");
  EXPECT_EQ(as<DnsMx>(route_in(mb, remote("x@partner.example"), state)).connector, "Internet");
}

// --- routing groups ----------------------------------------------------------

std::string group_dn(const std::string& group) {
  return "CN=" + group +
         ",CN=Routing Groups,CN=First Administrative Group,CN=Administrative Groups,CN=Example,"
         "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com";
}

const std::string kMbx2Store =
    "CN=Mailbox Store (MBX2),CN=First Storage Group,CN=InformationStore,CN=MBX2,CN=Servers,CN=First Administrative "
    "Group,CN=Administrative Groups,CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com";

// MBX2 is a mailbox server of `group`.
void add_mbx2(Metabase& mb, const std::string& group) {
  auto* server = mb.add_mailbox_servers();
  server->set_name("MBX2");
  server->set_dn("CN=MBX2,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,CN=Example,"
                 "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com");
  server->set_fqdn("mbx2.example.com");
  server->add_store_dns(kMbx2Store);
  server->set_delivery_protocol(gw::metabase::DELIVERY_LMTP);
  server->set_routing_group_dn(group_dn(group));
}

gw::metabase::Bridgehead bh(const std::string& name) {
  gw::metabase::Bridgehead b;
  b.set_name(name);
  b.set_fqdn(ascii_lower(name) + ".example.com");
  return b;
}

gw::metabase::RoutingGroupConnector& add_group_connector(Metabase& mb, const std::string& name, const std::string& from,
                                                         const std::string& to, std::uint32_t cost,
                                                         std::vector<std::string> remote) {
  auto* c = mb.add_routing_group_connectors();
  c->set_name(name);
  c->set_dn("CN=" + name + ",CN=Connections," + group_dn(from));
  c->set_source_routing_group_dn(group_dn(from));
  c->set_target_routing_group_dn(group_dn(to));
  c->set_cost(cost);
  for (const auto& r : remote) *c->add_remote_bridgeheads() = bh(r);
  return *c;
}

TEST(Router, MailboxOfAnotherRoutingGroupWithoutConnectorFails544) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  const auto hop = route_in(mb, mailbox(kMbx2Store));
  expect_fail(hop, FailureKind::NoRoute, 554, "5.4.4");
  EXPECT_NE(std::get<Fail>(hop).detail.find("MBX2"), std::string::npos);
}

TEST(Router, MailboxOfOurRoutingGroupIsDeliveredDirectly) {
  auto mb = sample_org();
  add_mbx2(mb, "First Routing Group");
  EXPECT_EQ(as<LocalDelivery>(route_in(mb, mailbox(kMbx2Store))).host, "mbx2.example.com");
}

TEST(Router, MailboxServerWithoutRoutingGroupIsInOurs) {
  auto mb = sample_org();
  add_mbx2(mb, "First Routing Group");
  mb.mutable_mailbox_servers(mb.mailbox_servers_size() - 1)->clear_routing_group_dn();
  add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2"});
  EXPECT_EQ(as<LocalDelivery>(route_in(mb, mailbox(kMbx2Store))).host, "mbx2.example.com");
}

TEST(Router, MailboxOfAnotherRoutingGroupGoesToTheConnectorsRemoteBridgehead) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2"});
  const auto hop = route_in(mb, mailbox(kMbx2Store));
  const auto& sh = as<SmartHosts>(hop);
  EXPECT_EQ(sh.connector, "RG1-RG2");
  EXPECT_EQ(sh.bridgehead, "bh2.example.com");
  ASSERT_EQ(sh.hosts.size(), 1u);
  EXPECT_EQ(sh.hosts[0].str(), "bh2.example.com:25");
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::REMOTE_DELIVERY, "bh2.example.com"}));
}

TEST(Router, ConnectorLeadingTheOtherWayIsNoRoute) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  add_group_connector(mb, "RG2-RG1", "Second Routing Group", "First Routing Group", 1, {"BH1"});
  expect_fail(route_in(mb, mailbox(kMbx2Store)), FailureKind::NoRoute, 554, "5.4.4");
}

TEST(Router, CheapestPathAcrossRoutingGroupsWins) {
  auto mb = sample_org();
  add_mbx2(mb, "Third Routing Group");
  add_group_connector(mb, "RG1-RG3", "First Routing Group", "Third Routing Group", 10, {"BH3"});
  add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 2, {"BH2"});
  add_group_connector(mb, "RG2-RG3", "Second Routing Group", "Third Routing Group", 3, {"BH3"});
  const auto& sh = as<SmartHosts>(route_in(mb, mailbox(kMbx2Store)));
  EXPECT_EQ(sh.connector, "RG1-RG2");
  EXPECT_EQ(sh.bridgehead, "bh2.example.com");
}

TEST(Router, GroupConnectorInRetryYieldsToTheNextCheapestPath) {
  auto mb = sample_org();
  add_mbx2(mb, "Third Routing Group");
  add_group_connector(mb, "RG1-RG3", "First Routing Group", "Third Routing Group", 10, {"BH3"});
  add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 2, {"BH2"});
  add_group_connector(mb, "RG2-RG3", "Second Routing Group", "Third Routing Group", 3, {"BH3"});
  RouteState state;
  state.connectors_down.insert("rg2-rg3");  // further along the path: the path is down all the same
  EXPECT_EQ(as<SmartHosts>(route_in(mb, mailbox(kMbx2Store), state)).connector, "RG1-RG3");
}

TEST(Router, RemoteBridgeheadInRetryYieldsToAnotherOfTheConnector) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2", "BH3"});
  RouteState state;
  state.hosts_down.insert("bh2.example.com");
  for (std::uint64_t key = 0; key < 4; ++key) {
    state.spread_key = key;
    EXPECT_EQ(as<SmartHosts>(route_in(mb, mailbox(kMbx2Store), state)).bridgehead, "bh3.example.com");
  }
}

TEST(Router, EveryPathToTheGroupDownIsUnreachableNotAFailure) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2"});
  RouteState state;
  state.hosts_down.insert("BH2");
  const auto hop = route_in(mb, mailbox(kMbx2Store), state);
  ASSERT_TRUE(std::holds_alternative<Unreachable>(hop)) << describe(hop);
  EXPECT_EQ(queue_place(hop), (QueuePlace{gw::envelope::FINAL_DESTINATION_UNREACHABLE, "mbx2.example.com"}));
}

TEST(Router, GroupConnectorScheduledNeverCountsAsDown) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2"})
      .mutable_schedule()
      ->set_style(gw::metabase::Schedule::NEVER);
  EXPECT_TRUE(std::holds_alternative<Unreachable>(route_in(mb, mailbox(kMbx2Store))));
}

TEST(Router, ServerThatIsNotTheConnectorsBridgeheadHandsMailToOneThatIs) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  auto& c = add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2"});
  *c.add_local_bridgeheads() = bh("BH4");
  const auto& sh = as<SmartHosts>(route_in(mb, mailbox(kMbx2Store)));
  EXPECT_EQ(sh.connector, "RG1-RG2");
  EXPECT_EQ(sh.bridgehead, "bh4.example.com");
}

TEST(Router, LocalBridgeheadOfTheConnectorSendsToTheRemoteOne) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  auto& c = add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2"});
  *c.add_local_bridgeheads() = bh("BH4");
  *c.add_local_bridgeheads() = bh("BH1");
  EXPECT_EQ(as<SmartHosts>(route_in(mb, mailbox(kMbx2Store))).bridgehead, "bh2.example.com");
}

TEST(Router, RemoteBridgeheadThatIsOurOwnListenerFails535) {
  auto mb = sample_org();
  add_mbx2(mb, "Second Routing Group");
  auto& c = add_group_connector(mb, "RG1-RG2", "First Routing Group", "Second Routing Group", 1, {"BH2"});
  c.mutable_remote_bridgeheads(0)->set_fqdn("bh1.example.com");
  mb.mutable_virtual_servers(0)->mutable_outbound()->set_port(2525);  // bridgeheads talk to each other's listener
  expect_fail(route_in(mb, mailbox(kMbx2Store)), FailureKind::LoopBackToSelf, 554, "5.3.5");
}

// --- loops, bad hosts, server names --------------------------------------------

TEST(Router, SmartHostThatIsOurOwnListenerFails535) {
  auto mb = sample_org();
  connector(mb, "Military").set_smart_hosts(0, "[127.0.0.1]:2525");
  expect_fail(route_in(mb, remote("x@army.mil")), FailureKind::LoopBackToSelf, 554, "5.3.5");
}

TEST(Router, SmartHostOnThisMachineAtAnotherPortIsNotALoop) {
  auto mb = sample_org();
  connector(mb, "Military").set_smart_hosts(0, "[127.0.0.1]:10025");
  EXPECT_EQ(as<SmartHosts>(route_in(mb, remote("x@army.mil"))).hosts[0].str(), "[127.0.0.1]:10025");
}

TEST(Router, UnparsableSmartHostFails540) {
  auto mb = sample_org();
  connector(mb, "Military").set_smart_hosts(0, "[192.0.2.999]");
  expect_fail(route_in(mb, remote("x@army.mil")), FailureKind::BadSmartHost, 554, "5.4.0");
}

TEST(Router, RecipientDomainThatIsAServerFqdnFails548) {
  expect_fail(route_in(sample_org(), remote("x@bh1.example.com")), FailureKind::DomainIsServerFqdn, 554, "5.4.8");
  expect_fail(route_in(sample_org(), remote("x@MBX1.example.com.")), FailureKind::DomainIsServerFqdn, 554, "5.4.8");
}

TEST(Router, AddressWithoutDomainFails513) {
  expect_fail(route_in(sample_org(), remote("no-at-sign")), FailureKind::BadAddressSyntax, 553, "5.1.3");
  expect_fail(route_in(sample_org(), remote("user@")), FailureKind::BadAddressSyntax, 553, "5.1.3");
}

// --- local domains and contacts -------------------------------------------------

TEST(Router, UnknownUserOfAuthoritativeDomainFails511) {
  expect_fail(route_in(sample_org(), remote("nobody@example.net")), FailureKind::UnknownRecipient, 550, "5.1.1");
}

TEST(Router, UnknownUserOfAuthoritativeDomainGoesToForwardUnresolvedHost) {
  auto mb = sample_org();
  mb.mutable_virtual_servers(0)->mutable_messages()->set_forward_unresolved_to_host("legacy-mail.example.com");
  auto hop = as<SmartHosts>(route_in(mb, remote("nobody@example.com")));
  EXPECT_EQ(hop.connector, "Forward unresolved");
  EXPECT_EQ(hop.hosts[0].str(), "legacy-mail.example.com:25");
}

TEST(Router, NonAuthoritativeLocalDomainIsRoutedOnward) {
  auto r = remote("someone@shared.example.org");
  r.kind = RecipientKind::NonAuthoritative;
  EXPECT_EQ(as<SmartHosts>(route_in(sample_org(), r)).connector, "Shared Namespace");
}

TEST(Router, ContactRoutesOnItsTargetAddress) {
  CategorizedRecipient r = remote("partner-contact@example.com");
  r.kind = RecipientKind::Contact;
  r.target_address = "SMTP:Jane@Army.Mil";
  EXPECT_EQ(as<SmartHosts>(route_in(sample_org(), r)).connector, "Military");
}

TEST(Router, ContactWithoutTargetAddressFails510) {
  CategorizedRecipient r = remote("partner-contact@example.com");
  r.kind = RecipientKind::Contact;
  expect_fail(route_in(sample_org(), r), FailureKind::CategorizerFailure, 550, "5.1.0");
}

TEST(Router, ContactWithNonSmtpTargetFails544) {
  CategorizedRecipient r = remote("partner-contact@example.com");
  r.kind = RecipientKind::Contact;
  r.target_address = "X400:c=US;a= ;p=Partner;o=HQ;s=Doe;";
  expect_fail(route_in(sample_org(), r), FailureKind::NoRoute, 554, "5.4.4");
}

TEST(Router, ContactPointingIntoAnAuthoritativeDomainFails546) {
  CategorizedRecipient r = remote("loop-contact@example.com");
  r.kind = RecipientKind::Contact;
  r.target_address = "smtp:someone@example.net";
  expect_fail(route_in(sample_org(), r), FailureKind::ForwardLoop, 554, "5.4.6");
}

// --- restrictions ------------------------------------------------------------------

const std::string kAlice = "CN=Alice,CN=Users,DC=example,DC=com";
const std::string kOps = "CN=Operations,CN=Users,DC=example,DC=com";

TEST(Router, SenderOnTheRejectListFails571) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_delivery_restrictions()->add_reject_from_dns(kAlice);
  auto r = remote("x@army.mil");
  r.message.sender_dn = "cn=alice, cn=users, dc=example, dc=com";
  expect_fail(route_in(mb, r), FailureKind::SenderRestricted, 550, "5.7.1");
}

TEST(Router, RestrictedSenderDoesNotFallThroughToTheStarConnector) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_delivery_restrictions()->add_accept_from_dns(kAlice);
  auto r = remote("x@army.mil", "mallory@example.com");
  r.message.sender_dn = "CN=Mallory,CN=Users,DC=example,DC=com";
  expect_fail(route_in(mb, r), FailureKind::SenderRestricted, 550, "5.7.1");
}

TEST(Router, ExternalSenderIsRefusedWhereAnAcceptListExists) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_delivery_restrictions()->add_accept_from_dns(kAlice);
  expect_fail(route_in(mb, remote("x@army.mil", "someone@elsewhere.example")), FailureKind::SenderRestricted, 550,
              "5.7.1");
}

TEST(Router, MemberOfAnAcceptedGroupMaySend) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_delivery_restrictions()->add_accept_from_group_dns(kOps);
  auto r = remote("x@army.mil");
  r.message.sender_dn = "CN=Carol,CN=Users,DC=example,DC=com";
  r.message.sender_group_dns = {kOps};
  EXPECT_EQ(as<SmartHosts>(route_in(mb, r)).connector, "Military");
}

TEST(Router, NullSenderIsNotSubjectToSenderRestrictions) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_delivery_restrictions()->add_accept_from_dns(kAlice);
  auto r = remote("x@army.mil", "");
  r.message.system_message = true;
  EXPECT_EQ(as<SmartHosts>(route_in(mb, r)).connector, "Military");
}

TEST(Router, RestrictedConnectorYieldsToAnUnrestrictedPeerOfTheSameTier) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_delivery_restrictions()->add_reject_from_dns(kAlice);
  add_connector(mb, "Military 2", "*.mil", 1).add_smart_hosts("relay2.mil.example");
  auto r = remote("x@army.mil");
  r.message.sender_dn = kAlice;
  for (std::uint64_t key = 0; key < 8; ++key) {
    RouteState state;
    state.spread_key = key;
    EXPECT_EQ(as<SmartHosts>(route_in(mb, r, state)).connector, "Military 2");
  }
}

TEST(Router, MessageOverTheConnectorSizeLimitFails523) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_content_restrictions()->set_max_message_size(1024);  // KB
  auto r = remote("x@army.mil");
  r.message.size = 1024 * 1024 + 1;
  expect_fail(route_in(mb, r), FailureKind::MessageTooLargeForConnector, 552, "5.2.3");
  r.message.size = 1024 * 1024;
  EXPECT_EQ(as<SmartHosts>(route_in(mb, r)).connector, "Military");
}

TEST(Router, DisallowedPriorityFails571) {
  auto mb = sample_org();
  auto* content = connector(mb, "Military").mutable_content_restrictions();
  content->set_allow_high_priority(true);
  content->set_allow_normal_priority(true);
  auto r = remote("x@army.mil");
  r.message.priority = Priority::Low;
  expect_fail(route_in(mb, r), FailureKind::ContentRestricted, 550, "5.7.1");
  r.message.priority = Priority::High;
  EXPECT_EQ(as<SmartHosts>(route_in(mb, r)).connector, "Military");
}

TEST(Router, SystemMessagesRefusedWhereOnlyNonSystemAreAllowed) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_content_restrictions()->set_allow_non_system_messages(true);
  auto r = remote("x@army.mil", "");
  r.message.system_message = true;
  expect_fail(route_in(mb, r), FailureKind::ContentRestricted, 550, "5.7.1");
}

TEST(Router, EmptyContentRestrictionsRestrictNothing) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_content_restrictions();
  auto r = remote("x@army.mil", "");
  r.message.system_message = true;
  r.message.priority = Priority::Low;
  EXPECT_EQ(as<SmartHosts>(route_in(mb, r)).connector, "Military");
}

TEST(Router, DomainLiteralGoesToThatAddressWithoutMxLookup) {
  auto hop = route_in(sample_org(), remote("postmaster@[198.51.100.9]"));
  const auto& sh = as<SmartHosts>(hop);
  EXPECT_EQ(sh.connector, "Internet");
  ASSERT_EQ(sh.hosts.size(), 1u);
  EXPECT_EQ(sh.hosts[0].str(), "[198.51.100.9]:25");
}

TEST(Router, MalformedDomainLiteralFails513) {
  expect_fail(route_in(sample_org(), remote("postmaster@[198.51.100.900]")), FailureKind::BadAddressSyntax, 553,
              "5.1.3");
}

// --- from the envelope ---------------------------------------------------------------

TEST(CategorizedRecipient, TakesKindHomeAndMessageFactsFromTheEnvelope) {
  gw::envelope::Envelope e;
  e.set_sender("");
  e.set_body_size(4096);
  e.set_virtual_server_id("1");
  auto* rcpt = e.add_recipients();
  rcpt->set_address("Bob@example.com");
  rcpt->mutable_resolution()->set_kind(gw::envelope::Resolution::MAILBOX);
  rcpt->mutable_resolution()->set_home_mdb_dn(kMbx1Store);
  rcpt->mutable_resolution()->set_primary_address("bob@example.com");
  const auto r = categorized_recipient(e, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RecipientKind::Mailbox);
  EXPECT_EQ(r->address, "bob@example.com");
  EXPECT_TRUE(r->message.system_message);
  EXPECT_EQ(r->message.size, 4096u);
  EXPECT_EQ(as<LocalDelivery>(route_in(sample_org(), *r)).server, "MBX1");
}

TEST(CategorizedRecipient, UnresolvedAndGroupRecipientsAreNotRoutable) {
  gw::envelope::Envelope e;
  e.add_recipients()->mutable_resolution()->set_kind(gw::envelope::Resolution::UNRESOLVED);
  e.add_recipients()->mutable_resolution()->set_kind(gw::envelope::Resolution::GROUP);
  EXPECT_FALSE(categorized_recipient(e, 0));
  EXPECT_FALSE(categorized_recipient(e, 1));
  EXPECT_FALSE(categorized_recipient(e, 2));
}

// --- misc ------------------------------------------------------------------------------

TEST(NormalizeDn, FoldsCaseAndBlanksAroundSeparatorsButKeepsEscapes) {
  EXPECT_EQ(normalize_dn("CN=Mailbox Store (MBX1) , CN = InformationStore,DC=Example"),
            "cn=mailbox store (mbx1),cn=informationstore,dc=example");
  EXPECT_EQ(normalize_dn("CN=Doe\\, John,CN=Users"), "cn=doe\\, john,cn=users");
}

TEST(Router, RemoteTriggeredConnectorHoldsMailForEtrn) {
  auto mb = sample_org();
  connector(mb, "Military").mutable_schedule()->set_style(gw::metabase::Schedule::REMOTE_TRIGGERED);
  auto hop = as<SmartHosts>(route_in(mb, remote("x@army.mil")));
  EXPECT_TRUE(hop.hold_for_remote_trigger);
  EXPECT_EQ(hop.connector_dn, connector(mb, "Military").dn());
}

TEST(Router, SpreadKeyIsTheSameFunctionOfTheMessageIdEverywhere) {
  // FNV-1a 64 of the id, then splitmix64's finalizer: golden values, not std::hash.
  EXPECT_EQ(spread_key_for("abc"), 0x0dd490490804b508ULL);
  EXPECT_EQ(spread_key_for(""), 0xf52a15e9a9b5e89bULL);
}

TEST(Router, RoundRobinCounterAlternatesEqualConnectors) {
  auto mb = sample_org();
  add_connector(mb, "Internet 2", "*", 10).add_smart_hosts("outbound2.example.net");
  const auto snap = RoutingSnapshot::build(mb);
  std::vector<std::string> order;
  for (std::uint64_t counter = 0; counter < 4; ++counter) {
    RouteState state;
    state.spread_key = counter;
    const auto hop = route(snap, remote("x@partner.example"), state);
    order.push_back(std::holds_alternative<DnsMx>(hop) ? std::get<DnsMx>(hop).connector
                                                       : as<SmartHosts>(hop).connector);
  }
  EXPECT_NE(order[0], order[1]);
  EXPECT_EQ(order[0], order[2]);
  EXPECT_EQ(order[1], order[3]);
}

TEST(Router, DescribeNeverShowsThePassword) {
  auto mb = sample_org();
  auto* security = connector(mb, "Military").mutable_security();
  security->set_auth(gw::metabase::OUTBOUND_BASIC);
  security->set_user_name("gateway");
  security->set_password("s3cret-pw");
  auto hop = route_in(mb, remote("x@army.mil"));
  EXPECT_EQ(as<SmartHosts>(hop).credentials.password, "s3cret-pw");
  EXPECT_NE(describe(hop).find("auth=basic(gateway)"), std::string::npos);
  EXPECT_EQ(describe(hop).find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace gw::routing
