#include "metabase-sync/lint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metabase-sync/metabase_builder.h"
#include "tests/unit/metabase-sync/sample_snapshot.h"

namespace msync {
namespace {

using namespace msync::test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace mb = gw::metabase;

mb::Metabase sample() {
  auto m = build_metabase(sample_snapshot());
  EXPECT_TRUE(m) << (m ? "" : m.error().detail);
  return *m;
}

std::vector<std::string> lines(const mb::Metabase& m) {
  std::vector<std::string> out;
  for (const auto& finding : lint(m)) out.push_back(format_finding(finding));
  return out;
}

TEST(Lint, IsQuietOnTheSampleOrganization) { EXPECT_TRUE(lint(sample()).empty()); }

TEST(Lint, PolicyDomainEqualToAServerFqdnIsAnError) {
  auto m = sample();
  m.mutable_domains(1)->set_name("mbx1.example.com");
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::Error);
  EXPECT_EQ(findings[0].dn, kNetPolicy);
  EXPECT_THAT(findings[0].message, HasSubstr("equals the FQDN of server MBX1"));
  EXPECT_THAT(findings[0].message, HasSubstr("5.4.8"));
}

TEST(Lint, MissingStarRouteIsAWarning) {
  auto m = sample();
  m.mutable_connectors(0)->mutable_address_spaces(0)->set_pattern("example.org");
  EXPECT_THAT(lines(m), ElementsAre("warning: " + kRg +
                                    ": no connector has the address space SMTP:*: mail to other domains has no "
                                    "route (NDR 5.4.4)"));
}

TEST(Lint, MailboxServerInAGroupNoConnectorLeadsToIsAWarning) {
  auto m = sample();
  const std::string rg2 = "CN=Second Routing Group,CN=Routing Groups," + kAg;
  for (auto& server : *m.mutable_mailbox_servers())
    if (server.name() == "MBX1") server.set_routing_group_dn(rg2);
  EXPECT_THAT(lines(m), ElementsAre("warning: " + kMbx1 + ": mailbox server MBX1 is in routing group " + rg2 +
                                    ", and no routing group connector leads there from this server's: its mailboxes "
                                    "get NDR 5.4.4"));
}

TEST(Lint, MailboxServerInAGroupAConnectorLeadsToIsFine) {
  auto m = sample();
  const std::string rg2 = "CN=Second Routing Group,CN=Routing Groups," + kAg;
  for (auto& server : *m.mutable_mailbox_servers())
    if (server.name() == "MBX1") server.set_routing_group_dn(rg2);
  auto* c = m.add_routing_group_connectors();
  c->set_name("RG1-RG2");
  c->set_dn("CN=RG1-RG2,CN=Connections," + kRg);
  c->set_source_routing_group_dn(kRg);
  c->set_target_routing_group_dn(rg2);
  c->set_cost(1);
  auto* remote = c->add_remote_bridgeheads();
  remote->set_name("BH2");
  remote->set_fqdn("bh2.example.com");
  EXPECT_TRUE(lint(m).empty());
}

TEST(Lint, ConnectorCoveringAnAuthoritativeDomainIsALoop) {
  auto m = sample();
  m.mutable_connectors(1)->mutable_address_spaces(0)->set_pattern("*.com");
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].dn, m.connectors(1).dn());
  EXPECT_THAT(findings[0].message, HasSubstr("authoritative local domain example.com"));
  EXPECT_THAT(findings[0].message, HasSubstr("5.3.5"));
}

TEST(Lint, UnbracketedSmartHostIpIsAnError) {
  auto m = sample();
  m.mutable_connectors(1)->set_smart_hosts(0, "192.0.2.1");
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_THAT(findings[0].message, HasSubstr("smart host 192.0.2.1 is an IP address without brackets"));
}

TEST(Lint, SmartHostThatIsThisServerIsALoop) {
  auto m = sample();
  m.mutable_connectors(1)->set_smart_hosts(0, "BH1.example.com");
  ASSERT_EQ(lint(m).size(), 1u);
  EXPECT_THAT(lint(m)[0].message, HasSubstr("is this server"));
  m.mutable_connectors(1)->set_smart_hosts(0, "[127.0.0.1]");
  ASSERT_EQ(lint(m).size(), 1u);
  EXPECT_THAT(lint(m)[0].message, HasSubstr("is this server"));
}

TEST(Lint, TwoVirtualServersOnTheSameIpAndPortAreAnError) {
  auto m = sample();
  m.mutable_virtual_servers(1)->mutable_bindings(0)->set_port(2525);
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 2u);  // one per virtual server involved
  EXPECT_EQ(findings[0].dn, kVs1);
  EXPECT_EQ(findings[1].dn, kVs2);
  EXPECT_THAT(findings[0].message, HasSubstr("bind 127.0.0.1:2525"));
}

TEST(Lint, TwoVirtualServersOnAllUnassignedWithTheSamePortAreAnError) {
  auto m = sample();
  for (int i = 0; i < 2; ++i) {
    m.mutable_virtual_servers(i)->mutable_bindings(0)->set_ip("");
    m.mutable_virtual_servers(i)->mutable_bindings(0)->set_port(25);
  }
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_THAT(findings[0].message, HasSubstr("\"all unassigned\" on port 25"));
}

TEST(Lint, RelayListGrantingEveryoneIsAnOpenRelay) {
  auto m = sample();
  auto* network = m.mutable_virtual_servers(0)->mutable_relay()->add_relay_ip_list();
  network->set_address("0.0.0.0");
  network->set_prefix_length(0);
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].dn, kVs1);
  EXPECT_THAT(findings[0].message, HasSubstr("open relay"));
}

TEST(Lint, StarConnectorAllowingRelayIsAnOpenRelay) {
  auto m = sample();
  m.mutable_connectors(0)->set_allow_relay(true);
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].dn, m.connectors(0).dn());
  EXPECT_THAT(findings[0].message, HasSubstr("open relay"));
}

TEST(Lint, NonAuthoritativeDomainWithoutAConnectorIsAnError) {
  auto m = sample();
  m.mutable_connectors()->RemoveLast();  // Shared Namespace
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].dn, kDefaultPolicy);
  EXPECT_THAT(findings[0].message, HasSubstr("non-authoritative domain shared.example.org has no connector"));
}

TEST(Lint, MessageLimitAboveSessionLimitIsAWarning) {
  auto m = sample();
  m.mutable_virtual_servers(0)->mutable_limits()->set_max_message_size(40960u * 1024);
  const auto findings = lint(m);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::Warning);
  EXPECT_FALSE(has_errors(findings));
  EXPECT_THAT(findings[0].message, HasSubstr("(40960 KB) is larger than the session size limit (20480 KB)"));
}

TEST(CheckPublishable, AcceptsTheSampleOrganization) { EXPECT_TRUE(check_publishable(sample())); }

TEST(CheckPublishable, RefusesTwoRunningVirtualServersOnOneBinding) {
  auto m = sample();
  m.mutable_virtual_servers(1)->mutable_bindings(0)->set_port(2525);
  auto publishable = check_publishable(m);
  ASSERT_FALSE(publishable);
  EXPECT_EQ(publishable.error().detail,
            kVs2 + ": msExchServerBindings: 127.0.0.1:2525 is already bound by virtual server 1 "
                   "(Default SMTP Virtual Server); the gateway cannot run both");
}

TEST(CheckPublishable, AllowsAConflictWithAStoppedVirtualServerThatLintStillReports) {
  auto m = sample();
  m.mutable_virtual_servers(1)->mutable_bindings(0)->set_port(2525);
  m.mutable_virtual_servers(1)->set_state(mb::STOPPED);
  EXPECT_TRUE(check_publishable(m));
  EXPECT_TRUE(has_errors(lint(m)));
}

TEST(AddressSpaceMatches, HandlesWildcards) {
  EXPECT_TRUE(address_space_matches("*", "example.com"));
  EXPECT_TRUE(address_space_matches("*.mil", "army.mil"));
  EXPECT_FALSE(address_space_matches("*.mil", "army.mil.example.com"));
  EXPECT_TRUE(address_space_matches("ex%mple.com", "EXAMPLE.com"));
  EXPECT_FALSE(address_space_matches("example.com", "example.co"));
}

}  // namespace
}  // namespace msync
