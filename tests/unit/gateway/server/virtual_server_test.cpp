#include "gateway/server/virtual_server.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

namespace gw::server {
namespace {

metabase::Metabase parse(const std::string& text) {
  metabase::Metabase out;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &out)) << text;
  return out;
}

const char* kOrganization = R"(
  this_server { fqdn: "bh1.example.com" }
  domains { name: "Example.COM." authoritative: true }
  domains { name: "shared.example.org" }
  connectors { name: "Internet" address_spaces { pattern: "*" cost: 10 } }
  connectors { name: "Military" allow_relay: true address_spaces { pattern: "*.mil" cost: 1 } }
  message_delivery { sender_filter: "spam@bad.example" sender_filter: "@worse.example" }
)";

SettingsPtr build(const std::string& server_text) {
  const auto metabase = parse(std::string(kOrganization) + "virtual_servers { " + server_text + " }");
  auto settings = build_settings(metabase, metabase.virtual_servers(0));
  EXPECT_TRUE(settings.has_value()) << (settings ? "" : settings.error().message());
  return settings ? *settings : nullptr;
}

SettingsPtr build_with_directory(const std::string& server_text) {
  const auto metabase = parse(std::string(kOrganization) +
                              R"(directory { uris: "ldap://127.0.0.1:389" recipient_base_dn: "DC=example,DC=com" })" +
                              "virtual_servers { " + server_text + " }");
  auto settings = build_settings(metabase, metabase.virtual_servers(0));
  EXPECT_TRUE(settings.has_value()) << (settings ? "" : settings.error().message());
  return settings ? *settings : nullptr;
}

TEST(BuildSettings, BasicAuthenticationWithADirectoryOffersPlainAndLogin) {
  const auto settings = build_with_directory(R"(id: "1" authentication { basic: true })");
  EXPECT_EQ(settings->policy.auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
}

TEST(BuildSettings, ConfiguredMechanismsKeepTheirOrderAndDropWhatCannotRun) {
  const auto settings =
      build_with_directory(R"(id: "1" authentication { basic: true mechanisms: "login" mechanisms: "CRAM-MD5" })");
  EXPECT_EQ(settings->policy.auth_mechanisms, (std::vector<std::string>{"LOGIN"}));
}

TEST(BuildSettings, AuthIsOfferedWithoutADirectoryAndMarkedAsHavingNoPasswordCheck) {
  // The connection answers every attempt 454 4.7.0 (smtp_connection.h).
  const auto settings = build(R"(id: "1" authentication { basic: true })");
  EXPECT_EQ(settings->policy.auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_FALSE(settings->auth_directory_configured);
  EXPECT_TRUE(build_with_directory(R"(id: "1" authentication { basic: true })")->auth_directory_configured);
}

TEST(BuildSettings, AuthIsNotOfferedWhenBasicAuthenticationIsOff) {
  EXPECT_TRUE(build_with_directory(R"(id: "1" authentication { anonymous: true })")->policy.auth_mechanisms.empty());
}

TEST(BuildSettings, LimitsArePassedToTheSessionPolicyInOctets) {
  const auto settings = build(R"(id: "1" limits { max_message_size: 10240 max_session_size: 40960
      max_messages_per_connection: 3 max_recipients_per_message: 5 max_hop_count: 20 })");
  EXPECT_EQ(settings->policy.max_message_size, 10240u);
  EXPECT_EQ(settings->policy.max_session_size, 40960u);
  EXPECT_EQ(settings->policy.max_messages_per_connection, 3u);
  EXPECT_EQ(settings->policy.max_recipients, 5u);
  EXPECT_EQ(settings->policy.max_hop_count, 20u);
}

TEST(BuildSettings, HopCountDefaultsTo15) { EXPECT_EQ(build(R"(id: "1")")->policy.max_hop_count, 15u); }

TEST(BuildSettings, FqdnFallsBackToThisServer) {
  EXPECT_EQ(build(R"(id: "1")")->fqdn, "bh1.example.com");
  EXPECT_EQ(build(R"(id: "1" fqdn: "mx.example.com")")->policy.fqdn, "mx.example.com");
}

TEST(BuildSettings, DomainsAreClassifiedAndNormalized) {
  const auto settings = build(R"(id: "1")");
  EXPECT_EQ(settings->policy.domains.authoritative, std::vector<std::string>{"example.com"});
  EXPECT_EQ(settings->policy.domains.non_authoritative, std::vector<std::string>{"shared.example.org"});
  // Only connectors that allow relay contribute relay domains; "*" of Internet does not.
  EXPECT_EQ(settings->policy.domains.relay_connector, std::vector<std::string>{"*.mil"});
}

TEST(BuildSettings, SenderFilterOnlyWhenTheServerAppliesIt) {
  EXPECT_TRUE(build(R"(id: "1")")->policy.sender_filter.empty());
  EXPECT_EQ(build(R"(id: "1" apply_sender_filter: true)")->policy.sender_filter.size(), 2u);
}

TEST(BuildSettings, AnonymousAccessOffRequiresAuthentication) {
  EXPECT_TRUE(build(R"(id: "2")")->policy.require_auth);
  EXPECT_FALSE(build(R"(id: "1" authentication { anonymous: true })")->policy.require_auth);
}

TEST(BuildSettings, ConnectionTimeoutReplacesTheRfcDefaults) {
  const auto defaults = build(R"(id: "1")");
  EXPECT_EQ(defaults->timeouts.command, std::chrono::seconds(300));
  EXPECT_EQ(defaults->timeouts.data_init, std::chrono::seconds(120));
  EXPECT_EQ(defaults->timeouts.data_block, std::chrono::seconds(180));
  const auto configured = build(R"(id: "1" limits { connection_timeout: 45 })");
  EXPECT_EQ(configured->timeouts.command, std::chrono::seconds(45));
  EXPECT_EQ(configured->timeouts.data_block, std::chrono::seconds(45));
}

TEST(BuildSettings, AbuseLimitsKeepTheGatewayDefaultsWhenAbsent) {
  const auto defaults = build(R"(id: "1")");
  const smtp::ListenerPolicy policy;
  EXPECT_EQ(defaults->policy.hard_error_limit, policy.hard_error_limit);
  EXPECT_EQ(defaults->policy.junk_command_limit, policy.junk_command_limit);
  EXPECT_FALSE(defaults->policy.allow_unsynchronized_clients);
  EXPECT_EQ(defaults->timeouts.min_data_rate, Timeouts{}.min_data_rate);
  EXPECT_EQ(defaults->greeting_delay, std::chrono::milliseconds(0));
}

TEST(BuildSettings, AbuseLimitsComeFromTheMetabaseZeroIncluded) {
  const auto configured = build(
      R"(id: "1" limits { hard_error_limit: 0 junk_command_limit: 7 min_data_rate: 0 greeting_delay_ms: 1500
                          allow_unsynchronized_clients: true })");
  EXPECT_EQ(configured->policy.hard_error_limit, 0u);
  EXPECT_EQ(configured->policy.junk_command_limit, 7u);
  EXPECT_TRUE(configured->policy.allow_unsynchronized_clients);
  EXPECT_EQ(configured->timeouts.min_data_rate, 0u);
  EXPECT_EQ(configured->greeting_delay, std::chrono::milliseconds(1500));
}

TEST(BuildSettings, UnlimitedIncomingConnectionsMeansNoLimit) {
  EXPECT_EQ(build(R"(id: "1" limits { max_connections: 2000000000 })")->connection_rules.max_connections, 0u);
  EXPECT_EQ(build(R"(id: "1" limits { max_connections: 50 max_connections_per_ip: 4 })")
                ->connection_rules.max_connections_per_ip,
            4u);
}

TEST(BuildSettings, BadRelayNetworkFails) {
  const auto metabase = parse(R"(virtual_servers { id: "1" relay { relay_ip_list { address: "x" } } })");
  EXPECT_FALSE(build_settings(metabase, metabase.virtual_servers(0)).has_value());
}

TEST(BuildSettings, ProtocolLoggingNeedsADirectory) {
  EXPECT_FALSE(build(R"(id: "1" protocol_logging: true)")->protocol_logging);
  EXPECT_TRUE(build(R"(id: "1" protocol_logging: true protocol_log_directory: "/tmp/x")")->protocol_logging);
}

}  // namespace
}  // namespace gw::server

namespace gw::server {
namespace {

TEST(BuildSettings, StartTlsIsNotOfferedWithoutACertificate) {
  const auto settings = build(R"(id: "1")");
  EXPECT_FALSE(settings->policy.starttls_available);
  EXPECT_EQ(settings->tls_context, nullptr);
  EXPECT_TRUE(settings->tls_error.empty());
}

TEST(BuildSettings, UnreadableCertificateDisablesStartTlsAndSaysWhy) {
  const auto settings =
      build(R"(id: "1" tls { certificate_file: "/nonexistent/cert.pem" key_file: "/nonexistent/key.pem" })");
  EXPECT_FALSE(settings->policy.starttls_available);
  EXPECT_NE(settings->tls_error.find("/nonexistent/cert.pem"), std::string::npos) << settings->tls_error;
}

TEST(BuildSettings, EtrnIsOffWhenTheServerDoesNotEnableIt) {
  EXPECT_FALSE(build(R"(id: "1")")->policy.enable_etrn);
  EXPECT_TRUE(build(R"(id: "1" enable_etrn: true)")->policy.enable_etrn);
}

TEST(BuildSettings, EtrnHostsAreParsed) {
  const auto settings =
      build(R"(id: "1" enable_etrn: true etrn_hosts { address: "192.0.2.0" prefix_length: 24 })");
  EXPECT_TRUE(settings->etrn_hosts.contains(asio::ip::make_address("192.0.2.9")));
  EXPECT_FALSE(settings->etrn_hosts.contains(asio::ip::make_address("198.51.100.1")));
}

TEST(BuildSettings, BadEtrnHostFails) {
  const auto metabase = parse(R"(virtual_servers { id: "1" etrn_hosts { address: "not-an-ip" prefix_length: 8 } })");
  EXPECT_FALSE(build_settings(metabase, metabase.virtual_servers(0)).has_value());
}

TEST(BuildSettings, RemoteTriggeredConnectorsBecomeTrnConnectorsWithTheirDomainsAndAccounts) {
  const auto metabase = parse(std::string(kOrganization) + R"(
    connectors { name: "Dial-up" schedule { style: REMOTE_TRIGGERED }
                 address_spaces { pattern: "Partner.Example" cost: 1 }
                 address_spaces { pattern: "*.partner.example" cost: 1 }
                 etrn_domains: "partner.example" etrn_domains: "branch.example"
                 authorized_trn_accounts: "trn@example.com" }
    connectors { name: "Held" queue_for_remote_triggered_delivery: true
                 address_spaces { pattern: "held.example" cost: 1 } }
    virtual_servers { id: "1" })");
  const auto settings = *build_settings(metabase, metabase.virtual_servers(0));
  const auto& connectors = settings->policy.trn_connectors;
  ASSERT_EQ(connectors.size(), 2u);
  EXPECT_EQ(connectors[0].name, "Dial-up");
  EXPECT_EQ(connectors[0].domains,
            (std::vector<std::string>{"partner.example", "*.partner.example", "branch.example"}));
  EXPECT_EQ(connectors[0].authorized_accounts, std::vector<std::string>{"trn@example.com"});
  EXPECT_EQ(connectors[1].domains, std::vector<std::string>{"held.example"});
}

}  // namespace
}  // namespace gw::server
