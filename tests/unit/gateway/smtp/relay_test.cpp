// Specification of the relay decision at RCPT time (contract 4 in docs/architecture.md: no open
// relay, ever by accident). Each row is one address form and the exact verdict
// for an anonymous Internet client, a client on the relay IP list and an
// authenticated client.
#include <gtest/gtest.h>

#include <string>

#include "gateway/smtp/session.h"
#include "tests/unit/gateway/smtp/session_test_support.h"

namespace gw::smtp {
namespace {

using test::cmd;

// What the session does with the RCPT: ask for the recipient check (naming the
// address it will check and its domain class) or refuse with a reply.
struct Verdict {
  bool checked = false;
  std::string address;  // the address handed to the recipient check
  DomainClass domain_class = DomainClass::Remote;
  int code = 0;  // when refused
  EnhancedStatus status;

  static Verdict check(std::string address, DomainClass domain_class) {
    return Verdict{true, std::move(address), domain_class, 0, {}};
  }
  static Verdict refuse(int code, EnhancedStatus status) { return Verdict{false, {}, DomainClass::Remote, code, status}; }
};

std::string describe(const Verdict& v) {
  if (v.checked) return "check " + v.address + " class " + std::to_string(static_cast<int>(v.domain_class));
  return "refuse " + std::to_string(v.code) + " " + v.status.str();
}

struct RelayCase {
  const char* name;
  const char* rcpt;  // the RCPT TO argument
  Verdict anonymous;
  Verdict relay_client;  // relay IP list or authenticated
};

enum class Client { Anonymous, RelayList, Authenticated };

Verdict run(const RelayCase& c, Client client) {
  ListenerPolicy policy = test::sample_policy();
  policy.auth_mechanisms = {"PLAIN"};
  policy.auth_without_tls = true;
  Session session(policy, client == Client::RelayList ? test::relay_list_peer() : test::internet_peer());
  session.on_connect();
  session.on_command(cmd("EHLO client.example"));
  if (client == Client::Authenticated) {
    session.on_command(cmd("AUTH PLAIN"));
    session.on_authenticated("joe@example.com");
  }
  session.on_command(cmd("MAIL FROM:<sender@sender.example>"));
  const Action action = session.on_command(cmd(std::string("RCPT TO:") + c.rcpt));
  if (const auto* check = std::get_if<CheckRecipient>(&action))
    return Verdict::check(check->recipient.str(), check->domain_class);
  if (const auto* sent = std::get_if<SendReply>(&action))
    return Verdict::refuse(sent->reply.code, sent->reply.status.value_or(EnhancedStatus{}));
  return Verdict::refuse(-1, {});
}

void expect_verdict(const Verdict& got, const Verdict& want, const char* rcpt, const char* who) {
  EXPECT_EQ(got.checked, want.checked) << rcpt << " (" << who << "): got " << describe(got) << ", want "
                                       << describe(want);
  if (got.checked != want.checked) return;
  if (want.checked) {
    EXPECT_EQ(got.address, want.address) << rcpt << " (" << who << ")";
    EXPECT_EQ(got.domain_class, want.domain_class) << rcpt << " (" << who << ")";
  } else {
    EXPECT_EQ(got.code, want.code) << rcpt << " (" << who << ")";
    EXPECT_EQ(got.status, want.status) << rcpt << " (" << who << ")";
  }
}

class RelayTable : public ::testing::TestWithParam<RelayCase> {};

TEST_P(RelayTable, AnonymousInternetClient) {
  expect_verdict(run(GetParam(), Client::Anonymous), GetParam().anonymous, GetParam().rcpt, "anonymous");
}

TEST_P(RelayTable, RelayListClient) {
  expect_verdict(run(GetParam(), Client::RelayList), GetParam().relay_client, GetParam().rcpt, "relay list");
}

TEST_P(RelayTable, AuthenticatedClient) {
  expect_verdict(run(GetParam(), Client::Authenticated), GetParam().relay_client, GetParam().rcpt, "authenticated");
}

const EnhancedStatus k571{5, 7, 1};
const EnhancedStatus k513{5, 1, 3};
constexpr auto kAuth = DomainClass::Authoritative;
constexpr auto kNonAuth = DomainClass::NonAuthoritative;
constexpr auto kConnector = DomainClass::RelayConnector;
constexpr auto kRemote = DomainClass::Remote;

INSTANTIATE_TEST_SUITE_P(
    AddressForms, RelayTable,
    ::testing::Values(
        RelayCase{"AuthoritativeDomain", "<user@example.com>", Verdict::check("user@example.com", kAuth),
                  Verdict::check("user@example.com", kAuth)},
        RelayCase{"SecondAuthoritativeDomain", "<user@example.net>", Verdict::check("user@example.net", kAuth),
                  Verdict::check("user@example.net", kAuth)},
        RelayCase{"UpperCaseDomain", "<User@EXAMPLE.COM>", Verdict::check("User@example.com", kAuth),
                  Verdict::check("User@example.com", kAuth)},
        RelayCase{"TrailingDot", "<user@example.com.>", Verdict::check("user@example.com", kAuth),
                  Verdict::check("user@example.com", kAuth)},
        RelayCase{"TwoTrailingDots", "<user@example.com..>", Verdict::refuse(501, k513), Verdict::refuse(501, k513)},
        RelayCase{"NonAuthoritativeDomain", "<user@shared.example.org>",
                  Verdict::check("user@shared.example.org", kNonAuth),
                  Verdict::check("user@shared.example.org", kNonAuth)},
        RelayCase{"RelayConnectorDomain", "<user@partner.example>", Verdict::check("user@partner.example", kConnector),
                  Verdict::check("user@partner.example", kConnector)},
        RelayCase{"RelayConnectorWildcardSubdomain", "<user@host.relay.example>",
                  Verdict::check("user@host.relay.example", kConnector),
                  Verdict::check("user@host.relay.example", kConnector)},
        RelayCase{"WildcardDoesNotMatchItsParent", "<user@relay.example>", Verdict::refuse(550, k571),
                  Verdict::check("user@relay.example", kRemote)},
        RelayCase{"RemoteDomain", "<user@remote.example>", Verdict::refuse(550, k571),
                  Verdict::check("user@remote.example", kRemote)},
        RelayCase{"SubdomainOfLocalDomainIsRemote", "<user@sub.example.com>", Verdict::refuse(550, k571),
                  Verdict::check("user@sub.example.com", kRemote)},
        RelayCase{"LocalDomainAsPrefixIsRemote", "<user@example.com.remote.example>", Verdict::refuse(550, k571),
                  Verdict::check("user@example.com.remote.example", kRemote)},
        RelayCase{"PercentHack", "<user%remote.example@example.com>", Verdict::refuse(550, k571),
                  Verdict::check("user%remote.example@example.com", kAuth)},
        RelayCase{"BangPath", "<remote.example!user@example.com>", Verdict::refuse(550, k571),
                  Verdict::check("remote.example!user@example.com", kAuth)},
        RelayCase{"QuotedAt", "<\"user@remote.example\"@example.com>", Verdict::refuse(550, k571),
                  Verdict::check("\"user@remote.example\"@example.com", kAuth)},
        RelayCase{"PercentHackInNonAuthoritativeDomain", "<user%remote.example@shared.example.org>",
                  Verdict::refuse(550, k571), Verdict::check("user%remote.example@shared.example.org", kNonAuth)},
        RelayCase{"SourceRouteThroughLocalToRemote", "<@example.com:user@remote.example>", Verdict::refuse(550, k571),
                  Verdict::check("user@remote.example", kRemote)},
        RelayCase{"SourceRouteThroughRemoteToLocal", "<@remote.example,@other.example:user@example.com>",
                  Verdict::check("user@example.com", kAuth), Verdict::check("user@example.com", kAuth)},
        RelayCase{"Ipv4Literal", "<user@[127.0.0.1]>", Verdict::refuse(550, k571),
                  Verdict::check("user@[127.0.0.1]", kRemote)},
        RelayCase{"Ipv6Literal", "<user@[IPv6:::1]>", Verdict::refuse(550, k571),
                  Verdict::check("user@[ipv6:::1]", kRemote)},
        RelayCase{"QuotedPlainLocalPart", "<\"user\"@example.com>", Verdict::check("user@example.com", kAuth),
                  Verdict::check("user@example.com", kAuth)},
        RelayCase{"QuotedLocalPartWithBlank", "<\"first last\"@example.com>",
                  Verdict::check("\"first last\"@example.com", kAuth),
                  Verdict::check("\"first last\"@example.com", kAuth)},
        RelayCase{"PostmasterWithoutDomain", "<Postmaster>", Verdict::check("postmaster@example.com", kAuth),
                  Verdict::check("postmaster@example.com", kAuth)},
        RelayCase{"PlusAddressing", "<user+tag@example.com>", Verdict::check("user+tag@example.com", kAuth),
                  Verdict::check("user+tag@example.com", kAuth)}),
    [](const ::testing::TestParamInfo<RelayCase>& info) { return std::string(info.param.name); });

TEST(DomainTable, LocalClassesWinOverConnectorAddressSpaces) {
  DomainTable table;
  table.authoritative = {"example.com"};
  table.relay_connector = {"*"};
  EXPECT_EQ(table.classify("example.com"), DomainClass::Authoritative);
  EXPECT_EQ(table.classify("anything.example"), DomainClass::RelayConnector);
  EXPECT_EQ(table.classify("[192.0.2.1]"), DomainClass::Remote);
}

TEST(DomainTable, ConfiguredDomainsAreNormalized) {
  DomainTable table;
  table.authoritative = {"Example.COM."};
  EXPECT_EQ(table.classify("example.com"), DomainClass::Authoritative);
  EXPECT_EQ(table.classify("EXAMPLE.com."), DomainClass::Authoritative);
}

}  // namespace
}  // namespace gw::smtp
