// metabase-sync --once / --check / --dump against the sample organization.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/fixtures/free_port.h"
#include "tests/integration/metabase_sync/harness.h"

namespace msync::test {
namespace {

using ::testing::HasSubstr;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::size_t line_count(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// The parts of a dump that differ from run to run, or between the two
// directories: time, address, contextCSN (OpenLDAP only), DN spelling.
std::string mask(std::string text, const Harness& h) {
  text = std::regex_replace(text, std::regex(R"(synced_at_unix: \d+)"), "synced_at_unix: <time>");
  text = std::regex_replace(text, std::regex(R"(  context_csn: "[^"]*"\n)"), "");
  text = std::regex_replace(text, std::regex(R"(ldap://127\.\d+\.\d+\.\d+:\d+)"), "ldap://<directory>");
  text = lower_dn_types(text);
  const auto secret = h.password_file().string();
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret))
    text.replace(pos, secret.size(), "<password-file>");
  return text;
}

TEST(MetabaseSyncOnce, SampleOrganizationMatchesTheGoldenDump) {
  Harness h;
  auto once = h.once();
  ASSERT_EQ(once.exit_code, 0) << once.err;
  EXPECT_EQ(once.err, "");
  auto dump = gw::test::run({METABASE_SYNC_BIN, "--dump", h.out().string()});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const auto got = mask(dump.out, h);
  const auto golden_path = gw::test::source_path("tests/testdata/metabase_sync/sample.golden");
  if (std::getenv("GW_UPDATE_GOLDEN")) std::ofstream(golden_path) << got;
  EXPECT_EQ(got, read_bytes(golden_path)) << "regenerate with GW_UPDATE_GOLDEN=1 after checking the diff";
}

// A second routing group with bridgehead BH2, MBX1 moved into it, and a routing
// group connector from the first group to the second.
TEST(MetabaseSyncOnce, RoutingGroupConnectorIsReadWithItsBridgeheadsAndMailboxServerGroup) {
  Harness h;
  const std::string rg2 = "CN=Second Routing Group,CN=Routing Groups," + kAg;
  const std::string bh2 = "CN=BH2,CN=Servers," + kAg;
  const std::string vs = "CN=1,CN=SMTP,CN=Protocols," + bh2;
  const std::string rgc = "CN=RG1-RG2," + kConnections;
  h.directory().add("dn: " + rg2 + "\nobjectClass: top\nobjectClass: container\nobjectClass: msExchRoutingGroup\n"
                    "cn: Second Routing Group\n\n"
                    "dn: " + bh2 + "\nobjectClass: top\nobjectClass: server\nobjectClass: msExchExchangeServer\n"
                    "cn: BH2\nnetworkAddress: ncacn_ip_tcp:bh2.example.com\nmsExchHomeRoutingGroup: " + rg2 + "\n\n"
                    "dn: CN=Protocols," + bh2 + "\nobjectClass: top\nobjectClass: protocolCfgSharedServer\ncn: Protocols\n\n"
                    "dn: CN=SMTP,CN=Protocols," + bh2 + "\nobjectClass: top\nobjectClass: container\n"
                    "objectClass: msExchProtocolCfgSharedContainer\nobjectClass: msExchProtocolCfgSMTPContainer\ncn: SMTP\n\n"
                    "dn: " + vs + "\nobjectClass: top\nobjectClass: protocolCfgSMTP\nobjectClass: protocolCfgSMTPServer\n"
                    "cn: 1\nmsExchServerBindings: 127.0.0.3:25:\n\n"
                    "dn: " + rgc + "\nobjectClass: top\nobjectClass: msExchConnector\nobjectClass: msExchRoutingGroupConnector\n"
                    "cn: RG1-RG2\nmsExchDestinationRGDN: " + rg2 + "\ncost: 7\nmsExchSourceBridgeheadServersDN: " + kVs1 +
                    "\nmsExchTargetBridgeheadServersDN: " + vs + "\n");
  const std::string mbx1 = "CN=MBX1,CN=Servers," + kAg;
  h.directory().modify("dn: " + mbx1 + "\nchangetype: modify\nreplace: msExchHomeRoutingGroup\nmsExchHomeRoutingGroup: " +
                       rg2 + "\n");
  auto once = h.once();
  ASSERT_EQ(once.exit_code, 0) << once.err;
  const auto m = h.metabase();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->routing_group_connectors_size(), 1);
  const auto& c = m->routing_group_connectors(0);
  EXPECT_EQ(c.name(), "RG1-RG2");
  EXPECT_EQ(lower_dn_types(c.source_routing_group_dn()), lower_dn_types(kRg));
  EXPECT_EQ(lower_dn_types(c.target_routing_group_dn()), lower_dn_types(rg2));
  EXPECT_EQ(c.cost(), 7u);
  ASSERT_EQ(c.local_bridgeheads_size(), 1);
  EXPECT_EQ(c.local_bridgeheads(0).name(), "BH1");
  ASSERT_EQ(c.remote_bridgeheads_size(), 1);
  EXPECT_EQ(c.remote_bridgeheads(0).name(), "BH2");
  EXPECT_EQ(c.remote_bridgeheads(0).fqdn(), "bh2.example.com");
  ASSERT_EQ(m->mailbox_servers_size(), 2);  // BH1 and MBX1 own stores
  for (const auto& server : m->mailbox_servers()) {
    if (server.name() == "MBX1") {
      EXPECT_EQ(lower_dn_types(server.routing_group_dn()), lower_dn_types(rg2));
    }
  }
}

TEST(MetabaseSyncOnce, UnchangedDirectoryDoesNotRewriteTheFile) {
  Harness h;
  ASSERT_EQ(h.once().exit_code, 0);
  const auto before = read_bytes(h.out());
  ASSERT_EQ(h.once().exit_code, 0);
  EXPECT_EQ(read_bytes(h.out()), before);
  EXPECT_EQ(h.metabase()->provenance().serial(), 1u);
}

TEST(MetabaseSyncOnce, ChangedDirectoryIncrementsTheSerial) {
  Harness h;
  ASSERT_EQ(h.once().exit_code, 0);
  h.directory().modify("dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchSmtpMaxHopCount\nmsExchSmtpMaxHopCount: 30\n");
  ASSERT_EQ(h.once().exit_code, 0);
  const auto m = h.metabase();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->provenance().serial(), 2u);
  EXPECT_EQ(m->virtual_servers(0).limits().max_hop_count(), 30u);
}

TEST(MetabaseSyncOnce, InvalidChangeIsNotWrittenAndNamesDnAndAttribute) {
  Harness h;
  ASSERT_EQ(h.once().exit_code, 0);
  const auto before = read_bytes(h.out());
  h.directory().modify("dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchServerBindings\nmsExchServerBindings: abc\n");
  auto result = h.once();
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_EQ(line_count(result.err), 1u);
  EXPECT_EQ(lower(result.err), lower("metabase-sync: " + kVs1 + ": msExchServerBindings: \"abc\" is not IP:port:\n"));
  EXPECT_EQ(read_bytes(h.out()), before);
}

TEST(MetabaseSyncOnce, BindingClaimedByTwoRunningVirtualServersIsNotWritten) {
  Harness h;
  ASSERT_EQ(h.once().exit_code, 0);
  const auto before = read_bytes(h.out());
  h.directory().modify("dn: " + kVs2 + "\nchangetype: modify\nreplace: msExchServerBindings\nmsExchServerBindings: 127.0.0.1:2525:\n");
  auto result = h.once();
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_EQ(lower(result.err), lower("metabase-sync: " + kVs2 +
                                     ": msExchServerBindings: 127.0.0.1:2525 is already bound by virtual server 1 "
                                     "(Default SMTP Virtual Server); the gateway cannot run both\n"));
  EXPECT_EQ(read_bytes(h.out()), before);
}

TEST(MetabaseSyncOnce, ServerWithoutVirtualServersIsInvalid) {
  Harness h;
  h.directory().modify("dn: " + kVs1 + "\nchangetype: delete\n\ndn: " + kVs2 + "\nchangetype: delete\n");
  auto result = h.once();
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_EQ(lower(result.err),
            lower("metabase-sync: " + kBh1 + ": protocolCfgSMTPServer: no SMTP virtual server below CN=SMTP,CN=Protocols\n"));
  EXPECT_FALSE(std::filesystem::exists(h.out()));
}

// AD ends an unpaged search at 1000 entries (MaxPageSize), slapd-up.sh's
// slapd at its soft size limit of 1000: every search is paged.
TEST(MetabaseSyncOnce, MoreObjectsThanTheServerSizeLimitAreAllRead) {
  Harness h;
  const std::string mbx1 = "CN=MBX1,CN=Servers," + kAg;
  std::string ldif;
  constexpr int kStores = 1050;
  for (int i = 0; i < kStores; ++i) {
    const std::string cn = "Store " + std::to_string(i);
    ldif += "dn: CN=" + cn + ",CN=First Storage Group,CN=InformationStore," + mbx1 +
            "\nobjectClass: top\nobjectClass: msExchMDB\nobjectClass: msExchPrivateMDB\ncn: " + cn +
            "\nmsExchOwningServer: " + mbx1 + "\ndeliveryMechanism: 0\n\n";
  }
  h.directory().add(ldif);
  auto once = h.once();
  ASSERT_EQ(once.exit_code, 0) << once.err;
  const auto m = h.metabase();
  ASSERT_TRUE(m);
  const auto server = std::find_if(m->mailbox_servers().begin(), m->mailbox_servers().end(),
                                   [](const gw::metabase::MailboxServer& s) { return s.name() == "MBX1"; });
  ASSERT_NE(server, m->mailbox_servers().end());
  EXPECT_EQ(server->store_dns_size(), kStores + 1);
}

TEST(MetabaseSyncCli, UnreachableDirectoryIsOneLineAndExitCode3) {
  Harness h;
  auto args = h.argv({"--once", "--network-timeout", "2"});
  args[2] = "ldap://127.0.0.1:" + std::to_string(gw::test::free_port());
  auto result = gw::test::run(args);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(line_count(result.err), 1u);
  EXPECT_THAT(result.err, HasSubstr("cannot reach the directory"));
  EXPECT_FALSE(std::filesystem::exists(h.out()));
}

TEST(MetabaseSyncCli, StartTlsRefusedByTheServerIsOneLineAndNoBind) {
  // The test slapd has no certificate; Samba's is self-signed, which the
  // client does not trust: either way StartTLS fails before any bind.
  Harness h;
  auto result = gw::test::run(h.argv({"--once", "--start-tls"}));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(line_count(result.err), 1u);
  EXPECT_THAT(result.err, HasSubstr(": StartTLS failed: "));
  EXPECT_FALSE(std::filesystem::exists(h.out()));
}

TEST(MetabaseSyncCli, SecondUriIsTriedWhenTheFirstIsDown) {
  Harness h;
  auto args = h.argv({"--once"});
  args[2] = "ldap://127.0.0.1:" + std::to_string(gw::test::free_port()) + " " + h.directory().uri();
  auto result = gw::test::run(args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  ASSERT_TRUE(h.metabase());
  EXPECT_EQ(h.metabase()->directory().uris_size(), 2);
}

TEST(MetabaseSyncCli, BindFailureIsOneLineAndExitCode4) {
  Harness h;
  std::ofstream(h.password_file()) << "not-the-password\n";
  auto result = h.once();
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(line_count(result.err), 1u);
  EXPECT_THAT(result.err, HasSubstr("bind as \"" + h.directory().service_dn() + "\" failed: Invalid credentials"));
  if (h.directory().is_ad()) {
    EXPECT_THAT(result.err, HasSubstr("Invalid credentials (wrong password)"));
  }
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("not-the-password")));
}

TEST(MetabaseSyncCli, UnknownServerIsOneLineAndExitCode6) {
  Harness h;
  auto result = gw::test::run(h.argv({"--once"}, "BH9"));
  EXPECT_EQ(result.exit_code, 6);
  EXPECT_EQ(line_count(result.err), 1u);
  EXPECT_THAT(result.err, HasSubstr("no Exchange server (msExchExchangeServer) named \"BH9\""));
}

TEST(MetabaseSyncCli, ServerNameIsEscapedInTheFilter) {
  Harness h;
  auto result = gw::test::run(h.argv({"--once"}, "BH*"));
  EXPECT_EQ(result.exit_code, 6) << "a wildcard must not match BH1";
}

TEST(MetabaseSyncCli, MissingConfigurationContainerIsExitCode5) {
  Harness h;
  auto result = gw::test::run(h.argv({"--once", "--config-nc", "CN=Elsewhere,DC=example,DC=com"}));
  EXPECT_EQ(result.exit_code, 5);
  EXPECT_EQ(result.err, "metabase-sync: CN=Elsewhere,DC=example,DC=com: configuration container not found\n");
}

TEST(MetabaseSyncCli, DumpOfAMissingFileIsExitCode8) {
  auto result = gw::test::run({METABASE_SYNC_BIN, "--dump", "/nonexistent/metabase.pb"});
  EXPECT_EQ(result.exit_code, 8);
  EXPECT_EQ(line_count(result.err), 1u);
}

TEST(MetabaseSyncCli, NoModeIsAUsageError) {
  auto result = gw::test::run({METABASE_SYNC_BIN, "--uri", "ldap://127.0.0.1:1", "--server", "BH1"});
  EXPECT_EQ(result.exit_code, 2);
}

// ---- --check ----

class MetabaseSyncCheck : public ::testing::Test {
 protected:
  // Runs --check; returns its stdout lines lower-cased (DNs come back in the
  // server's spelling).
  std::vector<std::string> check(int expected_exit) {
    auto result = h_.check();
    EXPECT_EQ(result.exit_code, expected_exit) << result.out << result.err;
    EXPECT_EQ(result.err, "");
    std::vector<std::string> lines;
    std::istringstream in(lower(result.out));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  void modify(const std::string& dn, const std::string& changes) {
    h_.directory().modify("dn: " + dn + "\nchangetype: modify\n" + changes);
  }
  static std::string finding(std::string_view severity, const std::string& dn, std::string_view message) {
    return lower(std::string(severity) + ": " + dn + ": " + std::string(message));
  }

  Harness h_;
};

TEST_F(MetabaseSyncCheck, IsQuietOnTheSampleOrganization) { EXPECT_THAT(check(0), ::testing::IsEmpty()); }

TEST_F(MetabaseSyncCheck, PolicyDomainEqualToAServerFqdn) {
  const auto policy = "CN=Example Net Policy," + kPolicies;
  modify(policy, "add: gatewayProxy\ngatewayProxy: smtp:@mbx1.example.com\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", policy,
                            "SMTP domain mbx1.example.com equals the FQDN of server MBX1: mail to the server itself "
                            "is treated as a recipient domain (NDR 5.4.8)")));
}

TEST_F(MetabaseSyncCheck, NoRouteForStar) {
  modify("CN=Internet," + kConnections, "replace: routingList\nroutingList: SMTP:*.example.org;10\n");
  EXPECT_THAT(check(0), ::testing::ElementsAre(finding(
                            "warning", kRg,
                            "no connector has the address space SMTP:*: mail to other domains has no route (NDR 5.4.4)")));
}

TEST_F(MetabaseSyncCheck, ConnectorAddressSpaceListingALocalDomain) {
  const auto military = "CN=Military," + kConnections;
  modify(military, "add: routingList\nroutingList: SMTP:example.net;1\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", military,
                            "address space SMTP:example.net covers the authoritative local domain example.net: mail "
                            "for it loops back to this organization (NDR 5.3.5)")));
}

TEST_F(MetabaseSyncCheck, SmartHostIpWithoutBrackets) {
  const auto military = "CN=Military," + kConnections;
  modify(military, "replace: msExchSmtpSmartHost\nmsExchSmtpSmartHost: 192.0.2.10\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", military,
                            "smart host 192.0.2.10 is an IP address without brackets: it is looked up as a host name "
                            "and fails (write [192.0.2.10])")));
}

TEST_F(MetabaseSyncCheck, SmartHostIsThisServer) {
  const auto shared = "CN=Shared Namespace," + kConnections;
  modify(shared, "replace: msExchSmtpSmartHost\nmsExchSmtpSmartHost: bh1.example.com\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", shared,
                            "smart host bh1.example.com is this server: mail would loop back to itself (NDR 5.3.5)")));
}

TEST_F(MetabaseSyncCheck, DuplicateIpPortBinding) {
  modify(kVs2, "replace: msExchServerBindings\nmsExchServerBindings: 127.0.0.1:2525:\n");
  const auto message =
      "several virtual servers (Default SMTP Virtual Server, Client Submission) bind 127.0.0.1:2525: only one of "
      "them can start";
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding("error", kVs1, message), finding("error", kVs2, message)));
}

TEST_F(MetabaseSyncCheck, SeveralVirtualServersOnAllUnassignedWithTheSamePort) {
  modify(kVs1, "replace: msExchServerBindings\nmsExchServerBindings: :25:\n");
  modify(kVs2, "replace: msExchServerBindings\nmsExchServerBindings: :25:\n");
  const auto message =
      "several virtual servers (Default SMTP Virtual Server, Client Submission) use \"all unassigned\" on port 25: "
      "only one of them can start";
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding("error", kVs1, message), finding("error", kVs2, message)));
}

TEST_F(MetabaseSyncCheck, VirtualServerRelayListOpenToEveryone) {
  modify(kVs1, "add: gwSmtpRelayIpList\ngwSmtpRelayIpList: 0.0.0.0/0\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", kVs1,
                            "relay list grants 0.0.0.0/0: anyone may relay through this virtual server (open relay)")));
}

TEST_F(MetabaseSyncCheck, StarConnectorThatAllowsRelay) {
  const auto internet = "CN=Internet," + kConnections;
  modify(internet, "replace: gwConnectorAllowRelay\ngwConnectorAllowRelay: TRUE\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", internet,
                            "connector with address space SMTP:* allows relaying: every domain becomes a relay "
                            "domain (open relay)")));
}

TEST_F(MetabaseSyncCheck, NonAuthoritativeDomainWithoutAConnector) {
  h_.directory().modify("dn: CN=Shared Namespace," + kConnections + "\nchangetype: delete\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", "CN=Shared Namespace Policy," + kPolicies,
                            "non-authoritative domain shared.example.org has no connector: unresolved recipients "
                            "would follow SMTP:* (or have no route) and loop back here")));
}

TEST_F(MetabaseSyncCheck, MessageSizeLimitAboveSessionSizeLimit) {
  modify(kVs1, "replace: msExchSmtpMaxSessionSize\nmsExchSmtpMaxSessionSize: 5000\n");
  EXPECT_THAT(check(0), ::testing::ElementsAre(finding(
                            "warning", kVs1,
                            "message size limit (10240 KB) is larger than the session size limit (5000 KB): the "
                            "session limit wins")));
}

TEST_F(MetabaseSyncCheck, MalformedValueIsReportedAsAnError) {
  modify(kVs2, "replace: msExchSmtpRemoteQueueRetries\nmsExchSmtpRemoteQueueRetries: soon\n");
  EXPECT_THAT(check(1), ::testing::ElementsAre(finding(
                            "error", kVs2,
                            "msExchSmtpRemoteQueueRetries: \"soon\" is not a list of 1 to 4 retry intervals in "
                            "minutes (\"10,10,10,15\")")));
}

TEST_F(MetabaseSyncCheck, BrokenOrganizationMatchesTheGoldenReport) {
  h_.directory().modify(read_bytes(gw::test::source_path("tests/testdata/metabase_sync/check_broken.ldif")));
  auto result = h_.check();
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.err, "");
  const auto golden_path = gw::test::source_path("tests/testdata/metabase_sync/check_broken.golden");
  const auto got = lower_dn_types(result.out);
  if (std::getenv("GW_UPDATE_GOLDEN")) std::ofstream(golden_path) << got;
  EXPECT_EQ(got, read_bytes(golden_path)) << "regenerate with GW_UPDATE_GOLDEN=1 after checking the diff";
}

}  // namespace
}  // namespace msync::test
