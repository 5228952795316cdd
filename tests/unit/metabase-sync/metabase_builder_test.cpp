#include "metabase-sync/metabase_builder.h"

#include <gtest/gtest.h>

#include "metabase-sync/errors.h"
#include "tests/unit/metabase-sync/sample_snapshot.h"

namespace msync {
namespace {

using namespace msync::test;
namespace mb = gw::metabase;

mb::Metabase built(const ConfigSnapshot& snapshot) {
  auto metabase = build_metabase(snapshot);
  EXPECT_TRUE(metabase) << (metabase ? "" : metabase.error().detail);
  return metabase ? *metabase : mb::Metabase{};
}

std::string error_of(const ConfigSnapshot& snapshot) {
  auto metabase = build_metabase(snapshot);
  EXPECT_FALSE(metabase);
  if (metabase) return {};
  EXPECT_EQ(metabase.error().code, make_error_code(SyncErrc::InvalidConfiguration));
  return metabase.error().detail;
}

TEST(BuildMetabase, DescribesThisServerFromItsServerObject) {
  const auto m = built(sample_snapshot());
  EXPECT_EQ(m.format_version(), 1u);
  EXPECT_EQ(m.this_server().name(), "BH1");
  EXPECT_EQ(m.this_server().fqdn(), "bh1.example.com");
  EXPECT_EQ(m.this_server().routing_group_dn(), kRg);
  EXPECT_EQ(m.organization().name(), "Example");
  EXPECT_EQ(m.organization().administrative_group_dn(), kAg);
}

TEST(BuildMetabase, OrdersVirtualServersByInstanceNumber) {
  auto s = sample_snapshot();
  std::swap(s.virtual_servers[0], s.virtual_servers[1]);
  const auto m = built(s);
  ASSERT_EQ(m.virtual_servers_size(), 2);
  EXPECT_EQ(m.virtual_servers(0).id(), "1");
  EXPECT_EQ(m.virtual_servers(0).name(), "Default SMTP Virtual Server");
  EXPECT_EQ(m.virtual_servers(1).name(), "Client Submission");
}

TEST(BuildMetabase, ConvertsKilobytesToBytes) {
  const auto metabase = built(sample_snapshot());
  const auto& limits = metabase.virtual_servers(0).limits();
  EXPECT_EQ(limits.max_message_size(), 10240u * 1024);
  EXPECT_EQ(limits.max_session_size(), 20480u * 1024);
}

TEST(BuildMetabase, AppliesExchangeDefaultsToAbsentAttributes) {
  const auto metabase = built(sample_snapshot());
  const auto& vs = metabase.virtual_servers(1);
  EXPECT_EQ(vs.limits().max_message_size(), 0u);
  EXPECT_EQ(vs.limits().max_recipients_per_message(), 64000u);
  EXPECT_EQ(vs.limits().max_hop_count(), 15u);
  EXPECT_EQ(vs.limits().max_connections(), 2000000000u);
  EXPECT_EQ(vs.outbound().port(), 25u);
  EXPECT_EQ(vs.outbound().retry().first_retry_seconds(), 600u);
  EXPECT_EQ(vs.outbound().retry().subsequent_retry_seconds(), 900u);
  EXPECT_EQ(vs.outbound().remote_delay_notification_seconds(), 12u * 3600);
  EXPECT_EQ(vs.outbound().remote_expiration_timeout_seconds(), 2u * 86400);
  EXPECT_TRUE(vs.relay().allow_authenticated_relay());
  EXPECT_EQ(vs.state(), mb::STARTED);
  EXPECT_EQ(vs.fqdn(), "bh1.example.com");
}

TEST(BuildMetabase, LeavesAbsentAbuseLimitsToTheGateway) {
  const auto metabase = built(sample_snapshot());
  const auto& limits = metabase.virtual_servers(1).limits();
  EXPECT_FALSE(limits.has_hard_error_limit());
  EXPECT_FALSE(limits.has_junk_command_limit());
  EXPECT_FALSE(limits.has_min_data_rate());
  EXPECT_EQ(limits.greeting_delay_ms(), 0u);
  EXPECT_FALSE(limits.allow_unsynchronized_clients());
}

TEST(BuildMetabase, ReadsAbuseLimitsZeroIncluded) {
  auto s = sample_snapshot();
  s.virtual_servers[0].add("gwSmtpHardErrorLimit", "0");
  s.virtual_servers[0].add("gwSmtpJunkCommandLimit", "30");
  s.virtual_servers[0].add("gwSmtpMinDataRate", "2000");
  s.virtual_servers[0].add("gwSmtpGreetingDelay", "3000");
  s.virtual_servers[0].add("gwSmtpAllowUnsynchronizedClients", "TRUE");
  const auto metabase = built(s);
  const auto& limits = metabase.virtual_servers(0).limits();
  ASSERT_TRUE(limits.has_hard_error_limit());
  EXPECT_EQ(limits.hard_error_limit(), 0u);
  EXPECT_EQ(limits.junk_command_limit(), 30u);
  EXPECT_EQ(limits.min_data_rate(), 2000u);
  EXPECT_EQ(limits.greeting_delay_ms(), 3000u);
  EXPECT_TRUE(limits.allow_unsynchronized_clients());
}

TEST(BuildMetabase, ConvertsQueueTimersFromMinutes) {
  auto s = sample_snapshot();
  s.virtual_servers[0].add("msExchSmtpLocalQueueExpirationTimeout", "60");
  EXPECT_EQ(built(s).virtual_servers(0).outbound().local_expiration_timeout_seconds(), 3600u);
}

TEST(BuildMetabase, ReadsAuthenticationBitsAndTlsRequirement) {
  const auto metabase = built(sample_snapshot());
  const auto& auth = metabase.virtual_servers(1).authentication();
  EXPECT_FALSE(auth.anonymous());
  EXPECT_TRUE(auth.basic());
  EXPECT_TRUE(auth.require_tls());
  EXPECT_TRUE(auth.require_sender_is_own_address());
}

TEST(BuildMetabase, DefaultBindingIsAllUnassignedPort25) {
  auto s = sample_snapshot();
  s.virtual_servers[0].attributes.erase("msExchServerBindings");
  const auto metabase = built(s);
  const auto& vs = metabase.virtual_servers(0);
  ASSERT_EQ(vs.bindings_size(), 1);
  EXPECT_EQ(vs.bindings(0).ip(), "");
  EXPECT_EQ(vs.bindings(0).port(), 25u);
}

TEST(BuildMetabase, RejectsAMalformedBindingNamingDnAndAttribute) {
  auto s = sample_snapshot();
  s.virtual_servers[0].attributes["msExchServerBindings"] = {"abc"};
  EXPECT_EQ(error_of(s), kVs1 + ": msExchServerBindings: \"abc\" is not IP:port:");
}

TEST(BuildMetabase, RejectsANonNumericLimit) {
  auto s = sample_snapshot();
  s.virtual_servers[1].add("msExchSmtpMaxRecipients", "many");
  EXPECT_EQ(error_of(s), kVs2 + ": msExchSmtpMaxRecipients: \"many\" is not a non-negative integer");
}

TEST(BuildMetabase, RejectsAServerWithoutVirtualServers) {
  auto s = sample_snapshot();
  s.virtual_servers.clear();
  EXPECT_EQ(error_of(s), kBh1 + ": protocolCfgSMTPServer: no SMTP virtual server below CN=SMTP,CN=Protocols");
}

TEST(BuildMetabase, RejectsAServerWithoutAnIpAddressFqdn) {
  auto s = sample_snapshot();
  s.this_server.attributes["networkAddress"] = {"netbios:BH1"};
  EXPECT_EQ(error_of(s), kBh1 + ": networkAddress: no ncacn_ip_tcp:<fqdn> value");
}

TEST(BuildMetabase, RejectsAMalformedAddressSpace) {
  auto s = sample_snapshot();
  s.connectors[1].attributes["routingList"] = {"SMTP:*.mil"};
  EXPECT_EQ(error_of(s), s.connectors[1].dn +
                             ": routingList: \"SMTP:*.mil\" is not TYPE:address-space;cost with cost 1..100");
}

TEST(BuildMetabase, MarksConnectorsThisServerBridgesAndNamesTheirServers) {
  auto s = sample_snapshot();
  s.connectors[2].attributes["msExchSourceBridgeheadServersDN"] = {"CN=1,CN=SMTP,CN=Protocols," + kMbx1};
  const auto m = built(s);
  ASSERT_EQ(m.connectors_size(), 3);
  EXPECT_EQ(m.connectors(0).name(), "Internet");
  EXPECT_TRUE(m.connectors(0).local_bridgehead());
  EXPECT_EQ(m.connectors(0).source_bridgehead_servers(0), "BH1");
  EXPECT_EQ(m.connectors(2).name(), "Shared Namespace");
  EXPECT_FALSE(m.connectors(2).local_bridgehead());
  EXPECT_EQ(m.connectors(2).source_bridgehead_servers(0), "MBX1");
  EXPECT_EQ(m.connectors(2).source_bridgehead_fqdns(0), "mbx1.example.com");
  EXPECT_EQ(m.connectors(0).source_bridgehead_fqdns(0), "bh1.example.com");
}

// A second routing group with BH2 (and its virtual server) and a connector to it from ours.
struct SecondGroup {
  std::string rg2 = "CN=Second Routing Group,CN=Routing Groups," + kAg;
  std::string bh2 = "CN=BH2,CN=Servers," + kAg;
  std::string vs = "CN=1,CN=SMTP,CN=Protocols," + bh2;
  std::string connector = "CN=RG1-RG2,CN=Connections," + kRg;
};

ConfigSnapshot with_second_group(const SecondGroup& g) {
  auto s = sample_snapshot();
  auto bh2 = entry(g.bh2, "msExchExchangeServer");
  bh2.add("cn", "BH2").add("networkAddress", "ncacn_ip_tcp:bh2.example.com").add("msExchHomeRoutingGroup", g.rg2);
  s.servers.push_back(bh2);
  auto rgc = entry(g.connector, "msExchRoutingGroupConnector");
  rgc.add("cn", "RG1-RG2")
      .add("msExchDestinationRGDN", g.rg2)
      .add("cost", "5")
      .add("msExchSourceBridgeheadServersDN", kVs1)
      .add("msExchTargetBridgeheadServersDN", g.vs);
  s.routing_group_connectors.push_back(rgc);
  return s;
}

TEST(BuildMetabase, ReadsRoutingGroupConnectorsWithTheirBridgeheads) {
  const SecondGroup g;
  const auto m = built(with_second_group(g));
  ASSERT_EQ(m.routing_group_connectors_size(), 1);
  const auto& c = m.routing_group_connectors(0);
  EXPECT_EQ(c.name(), "RG1-RG2");
  EXPECT_EQ(c.source_routing_group_dn(), kRg);
  EXPECT_EQ(c.target_routing_group_dn(), g.rg2);
  EXPECT_EQ(c.cost(), 5u);
  ASSERT_EQ(c.local_bridgeheads_size(), 1);
  EXPECT_EQ(c.local_bridgeheads(0).name(), "BH1");
  EXPECT_EQ(c.local_bridgeheads(0).fqdn(), "bh1.example.com");
  ASSERT_EQ(c.remote_bridgeheads_size(), 1);
  EXPECT_EQ(c.remote_bridgeheads(0).name(), "BH2");
  EXPECT_EQ(c.remote_bridgeheads(0).fqdn(), "bh2.example.com");
  EXPECT_EQ(c.remote_bridgeheads(0).virtual_server_dn(), g.vs);
}

TEST(BuildMetabase, RoutingGroupConnectorCostDefaultsToOne) {
  const SecondGroup g;
  auto s = with_second_group(g);
  s.routing_group_connectors[0].attributes.erase("cost");
  EXPECT_EQ(built(s).routing_group_connectors(0).cost(), 1u);
}

TEST(BuildMetabase, RejectsARoutingGroupConnectorWithoutDestination) {
  const SecondGroup g;
  auto s = with_second_group(g);
  s.routing_group_connectors[0].attributes.erase("msExchDestinationRGDN");
  EXPECT_EQ(error_of(s), g.connector + ": msExchDestinationRGDN: a routing group connector needs the routing group it leads to");
}

TEST(BuildMetabase, RejectsARoutingGroupConnectorWithoutRemoteBridgehead) {
  const SecondGroup g;
  auto s = with_second_group(g);
  s.routing_group_connectors[0].attributes.erase("msExchTargetBridgeheadServersDN");
  EXPECT_EQ(error_of(s), g.connector +
                             ": msExchTargetBridgeheadServersDN: a routing group connector needs at least one remote "
                             "bridgehead");
}

TEST(BuildMetabase, RejectsARoutingGroupConnectorToAnUnknownServer) {
  const SecondGroup g;
  auto s = with_second_group(g);
  s.routing_group_connectors[0].attributes["msExchTargetBridgeheadServersDN"] = {"CN=1,CN=SMTP,CN=Protocols,CN=BH9,CN=Servers," + kAg};
  EXPECT_EQ(error_of(s), g.connector + ": msExchTargetBridgeheadServersDN: \"CN=1,CN=SMTP,CN=Protocols,CN=BH9,CN=Servers," +
                             kAg + "\" is not a virtual server of a known server");
}

TEST(BuildMetabase, RejectsARoutingGroupConnectorCostOutOfRange) {
  const SecondGroup g;
  auto s = with_second_group(g);
  s.routing_group_connectors[0].attributes["cost"] = {"0"};
  EXPECT_EQ(error_of(s), g.connector + ": cost: 0 is not a cost from 1 to 100");
}

TEST(BuildMetabase, MailboxServerKnowsItsRoutingGroup) {
  auto s = sample_snapshot();
  const SecondGroup g;
  s.servers[1].add("msExchHomeRoutingGroup", g.rg2);
  EXPECT_EQ(built(s).mailbox_servers(0).routing_group_dn(), g.rg2);
}

TEST(BuildMetabase, ReadsConnectorSmartHostsAndRelay) {
  const auto m = built(sample_snapshot());
  const auto& military = m.connectors(1);
  EXPECT_EQ(military.address_spaces(0).pattern(), "*.mil");
  EXPECT_EQ(military.smart_hosts(0), "smarthost.example.net");
  EXPECT_TRUE(military.security().require_tls());
  EXPECT_TRUE(m.connectors(2).allow_relay());
  EXPECT_TRUE(m.connectors(0).smart_hosts().empty());
  EXPECT_TRUE(m.connectors(0).delivery_restrictions().default_accept());
}

TEST(BuildMetabase, ListsPolicyDomainsByPriorityWithAuthority) {
  const auto m = built(sample_snapshot());
  ASSERT_EQ(m.domains_size(), 4);
  EXPECT_EQ(m.domains(0).name(), "example.com");
  EXPECT_EQ(m.domains(0).policy_priority(), 1);
  EXPECT_FALSE(m.domains(0).primary());
  EXPECT_EQ(m.domains(1).name(), "example.net");
  EXPECT_TRUE(m.domains(1).primary());
  EXPECT_EQ(m.domains(1).policy_filter(), "(department=Sales)");
  EXPECT_EQ(m.domains(2).name(), "example.com");
  EXPECT_EQ(m.domains(2).policy_dn(), kDefaultPolicy);
  EXPECT_TRUE(m.domains(2).authoritative());
  EXPECT_EQ(m.domains(3).name(), "shared.example.org");
  EXPECT_FALSE(m.domains(3).authoritative());
}

TEST(BuildMetabase, RejectsANonAuthoritativeDomainThePolicyDoesNotGenerate) {
  auto s = sample_snapshot();
  s.recipient_policies[0].add("msExchNonAuthoritativeDomains", "SMTP:@elsewhere.example");
  EXPECT_EQ(error_of(s), kDefaultPolicy +
                             ": msExchNonAuthoritativeDomains: \"elsewhere.example\" is not one of the policy's "
                             "gatewayProxy SMTP domains");
}

TEST(BuildMetabase, MailboxServersAreServersOwningAStore) {
  const auto m = built(sample_snapshot());
  ASSERT_EQ(m.mailbox_servers_size(), 1);
  const auto& mbx = m.mailbox_servers(0);
  EXPECT_EQ(mbx.name(), "MBX1");
  EXPECT_EQ(mbx.fqdn(), "mbx1.example.com");
  EXPECT_EQ(mbx.delivery_protocol(), mb::DELIVERY_LMTP);
  EXPECT_EQ(mbx.delivery_host(), "127.0.0.1");
  EXPECT_EQ(mbx.delivery_port(), 2424u);
  EXPECT_FALSE(mbx.is_this_server());
  EXPECT_EQ(mbx.store_dns_size(), 1);
}

TEST(BuildMetabase, MailboxServerDefaultsToSmtpOnItsFqdn) {
  auto s = sample_snapshot();
  s.servers[1].attributes.erase("gwDeliveryProtocol");
  s.servers[1].attributes.erase("gwDeliveryEndpoint");
  const auto metabase = built(s);
  const auto& mbx = metabase.mailbox_servers(0);
  EXPECT_EQ(mbx.delivery_protocol(), mb::DELIVERY_SMTP);
  EXPECT_EQ(mbx.delivery_host(), "mbx1.example.com");
  EXPECT_EQ(mbx.delivery_port(), 25u);
}

TEST(BuildMetabase, StoreWithoutOwningServerBelongsToTheServerAboveIt) {
  auto s = sample_snapshot();
  s.mailbox_stores[0].attributes.erase("msExchOwningServer");
  EXPECT_EQ(built(s).mailbox_servers(0).name(), "MBX1");
}

TEST(BuildMetabase, DirectoryEndpointsDefaultToTheIdentityMetabaseSyncUsed) {
  const auto metabase = built(sample_snapshot());
  const auto& directory = metabase.directory();
  ASSERT_EQ(directory.uris_size(), 1);
  EXPECT_EQ(directory.uris(0), "ldap://127.0.0.1:3890");
  EXPECT_EQ(directory.bind_dn(), "CN=svc-gateway,CN=Users,DC=example,DC=com");
  EXPECT_EQ(directory.bind_password_file(), "/etc/gateway/ldap.secret");
  EXPECT_EQ(directory.recipient_base_dn(), "DC=example,DC=com");
  EXPECT_EQ(directory.config_base_dn(), "CN=Configuration,DC=example,DC=com");
  EXPECT_EQ(directory.search_timeout_ms(), 5000u);
}

TEST(BuildMetabase, DirectoryEndpointsSplitAUriListAndKeepStartTls) {
  auto s = sample_snapshot();
  s.source_uri = "ldap://dc1.example.com ldap://dc2.example.com";
  s.start_tls = true;
  const auto metabase = built(s);
  ASSERT_EQ(metabase.directory().uris_size(), 2);
  EXPECT_EQ(metabase.directory().uris(0), "ldap://dc1.example.com");
  EXPECT_EQ(metabase.directory().uris(1), "ldap://dc2.example.com");
  EXPECT_TRUE(metabase.directory().start_tls());
}

TEST(BuildMetabase, DirectoryEndpointsComeFromTheServerObjectWhenSet) {
  auto s = sample_snapshot();
  s.this_server.add("gwDirectoryUri", "ldaps://dc1.example.com")
      .add("gwDirectoryUri", "ldaps://dc2.example.com")
      .add("gwDirectoryBindDN", "CN=other,DC=example,DC=com")
      .add("gwDirectoryBindPasswordFile", "/etc/other.secret")
      .add("gwDirectoryStartTls", "TRUE");
  const auto metabase = built(s);
  const auto& directory = metabase.directory();
  ASSERT_EQ(directory.uris_size(), 2);
  EXPECT_EQ(directory.uris(1), "ldaps://dc2.example.com");
  EXPECT_EQ(directory.bind_dn(), "CN=other,DC=example,DC=com");
  EXPECT_EQ(directory.bind_password_file(), "/etc/other.secret");
  EXPECT_TRUE(directory.start_tls());
}

TEST(BuildMetabase, MessageDeliveryDefaultsAndConversions) {
  auto s = sample_snapshot();
  EXPECT_EQ(built(s).message_delivery().default_recipient_limit(), 1000u);
  EXPECT_EQ(built(s).message_delivery().default_send_size(), 10240u * 1024);
  s.message_delivery.reset();
  EXPECT_EQ(built(s).message_delivery().default_recipient_limit(), 5000u);
  EXPECT_EQ(built(s).message_delivery().default_send_size(), 0u);
}

TEST(BuildMetabase, GatewayStateOverridesAutoStart) {
  auto s = sample_snapshot();
  s.virtual_servers[0].add("msExchServerAutoStart", "FALSE");
  EXPECT_EQ(built(s).virtual_servers(0).state(), mb::STOPPED);
  s.virtual_servers[0].add("gwServerState", "Paused");
  EXPECT_EQ(built(s).virtual_servers(0).state(), mb::PAUSED);
}

TEST(BuildMetabase, RelayListComesFromTheReadableAttributeOnly) {
  auto s = sample_snapshot();
  s.virtual_servers[0].add("msExchSmtpRelayIpList", std::string(84, '\0'));
  const auto metabase = built(s);
  const auto& relay = metabase.virtual_servers(0).relay();
  ASSERT_EQ(relay.relay_ip_list_size(), 1);
  EXPECT_EQ(relay.relay_ip_list(0).address(), "127.0.0.1");
  EXPECT_EQ(relay.relay_ip_list(0).prefix_length(), 32u);
}

TEST(BuildMetabase, RejectsAMalformedRelayNetwork) {
  auto s = sample_snapshot();
  s.virtual_servers[0].attributes["gwSmtpRelayIpList"] = {"10.0.0.0/40"};
  EXPECT_EQ(error_of(s), kVs1 + ": gwSmtpRelayIpList: \"10.0.0.0/40\" is not an IP address or network (a.b.c.d/len)");
}

TEST(BuildMetabase, OversizeMailFollowsTheConnectorScheduleUnlessItHasItsOwn) {
  auto s = sample_snapshot();
  s.connectors[0].add("gwConnectorOversizeThreshold", "2097152");
  auto metabase = built(s);
  EXPECT_EQ(metabase.connectors(0).oversize_threshold(), 2097152u);
  EXPECT_EQ(metabase.connectors(0).oversize_schedule().style(), mb::Schedule::ALWAYS);
  s.connectors[0].add("gwConnectorOversizeSchedule", std::string(84, '\x01'));
  metabase = built(s);
  EXPECT_EQ(metabase.connectors(0).oversize_schedule().style(), mb::Schedule::SELECTED_TIMES);
  EXPECT_EQ(metabase.connectors(0).oversize_schedule().windows().size(), 84u);
}

TEST(BuildMetabase, RejectsAScheduleOfTheWrongSize) {
  auto s = sample_snapshot();
  s.connectors[0].add("activationStyle", "1").add("activationSchedule", std::string(10, '\x01'));
  EXPECT_EQ(error_of(s), s.connectors[0].dn + ": activationSchedule: 10-byte schedule is not 84 bytes (672 quarter hours)");
}

TEST(BuildMetabase, RejectsSeveralValuesInASingleValuedAttribute) {
  auto s = sample_snapshot();
  s.virtual_servers[0].add("msExchSmtpMaxHopCount", "10").add("msExchSmtpMaxHopCount", "20");
  EXPECT_EQ(error_of(s), kVs1 + ": msExchSmtpMaxHopCount: has several values but is single-valued");
}

TEST(BuildMetabase, SameSnapshotGivesIdenticalBytes) {
  std::string a, b;
  built(sample_snapshot()).SerializeToString(&a);
  built(sample_snapshot()).SerializeToString(&b);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace msync
