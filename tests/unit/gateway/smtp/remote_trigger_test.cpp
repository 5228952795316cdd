// Specifications of remote triggered delivery in the Session: ETRN (RFC 1985),
// TURN (RFC 821, refused) and ATRN (RFC 2645), and of a session that starts with
// TLS already active (implicit TLS, RFC 8314).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/gateway/smtp/session_test_support.h"

namespace gw::smtp::test {
namespace {

ListenerPolicy etrn_policy() {
  ListenerPolicy policy = sample_policy();
  policy.enable_etrn = true;
  TrnConnector partner;
  partner.name = "Partner Dial-up";
  partner.domains = {"partner.example", "*.partner.example"};
  partner.authorized_accounts = {"partner-trn@example.com"};
  policy.trn_connectors.push_back(partner);
  return policy;
}

PeerInfo etrn_peer() {
  PeerInfo peer = internet_peer();
  peer.etrn_allowed = true;
  return peer;
}

Session ready_session(ListenerPolicy policy = etrn_policy(), PeerInfo peer = etrn_peer()) {
  Session session(std::move(policy), std::move(peer));
  session.on_connect();
  session.on_command(cmd("EHLO client.partner.example"));
  return session;
}

const ReleaseQueue* as_release(const Action& action) { return std::get_if<ReleaseQueue>(&action); }
const CheckTrnQueue* as_trn_check(const Action& action) { return std::get_if<CheckTrnQueue>(&action); }

std::string reply_text(const Action& action) {
  const SendReply* sent = as_reply(action);
  if (sent == nullptr) return {};
  return (sent->reply.status ? sent->reply.status->str() + " " : std::string()) + sent->reply.lines.back();
}

// ---- ETRN and ATRN syntax (CommandParser) ----

TEST(EtrnSyntax, ADomainIsNormalized) {
  const Command command = cmd("etrn Mail.Partner.Example.");
  EXPECT_EQ(command.verb, Verb::Etrn);
  EXPECT_FALSE(command.error.has_value());
  EXPECT_EQ(command.etrn.kind, EtrnKind::Domain);
  EXPECT_EQ(command.etrn.node, "mail.partner.example");
}

TEST(EtrnSyntax, AtPrefixMeansTheDomainAndItsSubdomains) {
  const Command command = cmd("ETRN @partner.example");
  EXPECT_EQ(command.etrn.kind, EtrnKind::Subdomains);
  EXPECT_EQ(command.etrn.node, "partner.example");
}

TEST(EtrnSyntax, HashPrefixNamesAQueueKeptAsWritten) {
  const Command command = cmd("ETRN #Dial-Up");
  EXPECT_EQ(command.etrn.kind, EtrnKind::Queue);
  EXPECT_EQ(command.etrn.node, "Dial-Up");
}

TEST(EtrnSyntax, LabelsMustBeLetterDigitHyphenWithoutEdgeHyphens) {
  for (const char* line : {"ETRN -partner.example", "ETRN partner-.example", "ETRN part_ner.example", "ETRN @",
                           "ETRN #", "ETRN a..b"}) {
    const Command command = cmd(line);
    ASSERT_TRUE(command.error.has_value()) << line;
    EXPECT_EQ(command.error->code, 501) << line;
  }
}

TEST(AtrnSyntax, ACommaSeparatedListIsNormalized) {
  const Command command = cmd("ATRN Partner.Example,branch.example.");
  EXPECT_EQ(command.verb, Verb::Atrn);
  EXPECT_EQ(command.atrn_domains, (std::vector<std::string>{"partner.example", "branch.example"}));
}

TEST(TurnSyntax, TurnTakesNoArguments) {
  const Command command = cmd("TURN now");
  EXPECT_EQ(command.verb, Verb::Turn);
  ASSERT_TRUE(command.error.has_value());
  EXPECT_EQ(command.error->code, 501);
}

// ---- ETRN ----

TEST(Etrn, DisabledOnTheVirtualServerIs502_5_5_1) {
  ListenerPolicy policy = etrn_policy();
  policy.enable_etrn = false;
  Session session = ready_session(policy);
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN partner.example")), 502, es(5, 5, 1)));
}

TEST(Etrn, EhloAdvertisesEtrnOnlyWhenEnabled) {
  Session enabled(etrn_policy(), etrn_peer());
  enabled.on_connect();
  const auto on = enabled.on_command(cmd("EHLO c.example"));
  ListenerPolicy off_policy = etrn_policy();
  off_policy.enable_etrn = false;
  Session disabled(off_policy, etrn_peer());
  disabled.on_connect();
  const auto off = disabled.on_command(cmd("EHLO c.example"));
  const auto& on_lines = as_reply(on)->reply.lines;
  const auto& off_lines = as_reply(off)->reply.lines;
  EXPECT_NE(std::find(on_lines.begin(), on_lines.end(), "ETRN"), on_lines.end());
  EXPECT_EQ(std::find(off_lines.begin(), off_lines.end(), "ETRN"), off_lines.end());
}

TEST(Etrn, BeforeEhloIs503_5_5_1) {
  Session session(etrn_policy(), etrn_peer());
  session.on_connect();
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN partner.example")), 503, es(5, 5, 1)));
}

TEST(Etrn, InsideAMailTransactionIs503_5_5_1) {
  Session session = ready_session();
  session.on_command(cmd("MAIL FROM:<a@partner.example>"));
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN partner.example")), 503, es(5, 5, 1)));
}

TEST(Etrn, WithoutArgumentIs501_5_5_4) {
  Session session = ready_session();
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN")), 501, es(5, 5, 4)));
}

TEST(Etrn, MalformedDomainIs501_5_5_4) {
  Session session = ready_session();
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN bad_domain..example")), 501, es(5, 5, 4)));
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN [192.0.2.1]")), 501, es(5, 5, 4)));
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN one two")), 501, es(5, 5, 4)));
}

TEST(Etrn, ClientNotInTheEtrnHostsIs459_4_7_1) {
  PeerInfo peer = internet_peer();
  peer.etrn_allowed = false;
  Session session = ready_session(etrn_policy(), peer);
  const auto action = session.on_command(cmd("ETRN partner.example"));
  EXPECT_TRUE(IsReply(action, 459, es(4, 7, 1)));
  EXPECT_EQ(reply_text(action), "4.7.1 Node partner.example not allowed: client not authorized for ETRN");
}

TEST(Etrn, ADomainAsksTheDriverToReleaseExactlyThatDomain) {
  Session session = ready_session();
  const auto action = session.on_command(cmd("ETRN Partner.Example."));
  ASSERT_NE(as_release(action), nullptr);
  EXPECT_EQ(as_release(action)->domains, std::vector<std::string>{"partner.example"});
  EXPECT_EQ(as_release(action)->node, "partner.example");
}

TEST(Etrn, AtDomainReleasesTheDomainAndItsSubdomains) {
  Session session = ready_session();
  const auto action = session.on_command(cmd("ETRN @partner.example"));
  ASSERT_NE(as_release(action), nullptr);
  EXPECT_EQ(as_release(action)->domains, (std::vector<std::string>{"partner.example", "*.partner.example"}));
}

TEST(Etrn, HashQueueReleasesTheDomainsOfThatRemoteTriggeredConnector) {
  Session session = ready_session();
  const auto action = session.on_command(cmd("ETRN #partner"));
  // Connector names may contain blanks; "#name" matches case-insensitively.
  EXPECT_TRUE(IsReply(action, 459, es(4, 7, 1)));
  ListenerPolicy policy = etrn_policy();
  policy.trn_connectors.front().name = "Partner";
  Session named = ready_session(policy);
  const auto released = named.on_command(cmd("ETRN #PARTNER"));
  ASSERT_NE(as_release(released), nullptr);
  EXPECT_EQ(as_release(released)->domains, (std::vector<std::string>{"partner.example", "*.partner.example"}));
}

TEST(Etrn, UnknownQueueNameIs459_4_7_1) {
  Session session = ready_session();
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN #nosuchqueue")), 459, es(4, 7, 1)));
}

TEST(Etrn, PendingMessagesAre253WithTheirCount) {
  Session session = ready_session();
  session.on_command(cmd("ETRN partner.example"));
  const auto action = session.on_queue_released(ReleaseOutcome{true, true, 3});
  EXPECT_TRUE(IsReply(action, 253, es(2, 0, 0)));
  EXPECT_EQ(reply_text(action), "2.0.0 OK, 3 pending messages for node partner.example started");
}

TEST(Etrn, NothingQueuedForAKnownNodeIs251) {
  Session session = ready_session();
  session.on_command(cmd("ETRN @partner.example"));
  const auto action = session.on_queue_released(ReleaseOutcome{true, true, 0});
  EXPECT_TRUE(IsReply(action, 251, es(2, 0, 0)));
  EXPECT_EQ(reply_text(action), "2.0.0 OK, no messages waiting for node @partner.example");
}

TEST(Etrn, ANodeThisServerHoldsNoMailForIs459_4_7_1) {
  Session session = ready_session();
  session.on_command(cmd("ETRN elsewhere.example"));
  EXPECT_TRUE(IsReply(session.on_queue_released(ReleaseOutcome{true, false, 0}), 459, es(4, 7, 1)));
}

TEST(Etrn, NoQueueManagerIs458_4_3_0) {
  Session session = ready_session();
  session.on_command(cmd("ETRN partner.example"));
  const auto action = session.on_queue_released(ReleaseOutcome{false, false, 0});
  EXPECT_TRUE(IsReply(action, 458, es(4, 3, 0)));
  EXPECT_EQ(reply_text(action), "4.3.0 Unable to queue messages for node partner.example");
}

TEST(Etrn, CommandsWhileTheReleaseIsPendingAre503) {
  Session session = ready_session();
  session.on_command(cmd("ETRN partner.example"));
  EXPECT_TRUE(IsReply(session.on_command(cmd("NOOP")), 503, es(5, 5, 1)));
}

TEST(Etrn, AReleaseResultWithoutEtrnIs503) {
  Session session = ready_session();
  EXPECT_TRUE(IsReply(session.on_queue_released(ReleaseOutcome{true, true, 1}), 503, es(5, 5, 1)));
}

TEST(Etrn, TheSessionContinuesAfterEtrn) {
  Session session = ready_session();
  session.on_command(cmd("ETRN partner.example"));
  session.on_queue_released(ReleaseOutcome{true, true, 0});
  EXPECT_TRUE(IsReply(session.on_command(cmd("MAIL FROM:<a@partner.example>")), 250, es(2, 1, 0)));
}

TEST(Etrn, ServerRequiringTlsRefusesEtrnInTheClearWith530_5_7_0) {
  ListenerPolicy policy = etrn_policy();
  policy.require_tls = true;
  Session session = ready_session(policy);
  EXPECT_TRUE(IsReply(session.on_command(cmd("ETRN partner.example")), 530, es(5, 7, 0)));
}

// ---- TURN ----

TEST(Turn, IsAlwaysRefusedWith502_5_5_1) {
  Session session = ready_session();
  const auto action = session.on_command(cmd("TURN"));
  EXPECT_TRUE(IsReply(action, 502, es(5, 5, 1)));
  EXPECT_EQ(reply_text(action), "5.5.1 TURN is insecure; use ATRN");
}

// ---- ATRN ----

ListenerPolicy auth_policy() {
  ListenerPolicy policy = etrn_policy();
  policy.auth_mechanisms = {"PLAIN"};
  policy.auth_without_tls = true;
  return policy;
}

Session authenticated_session(std::string identity, std::vector<std::string> own = {}) {
  Session session = ready_session(auth_policy());
  session.on_command(cmd("AUTH PLAIN"));
  session.on_authenticated(std::move(identity), std::move(own));
  return session;
}

TEST(Turn, IsRefusedEvenForAnAccountAuthorizedForAtrn) {
  Session session = authenticated_session("partner-trn@example.com");
  EXPECT_TRUE(IsReply(session.on_command(cmd("TURN")), 502, es(5, 5, 1)));
}

TEST(Atrn, WithoutAuthenticationIs530_5_7_0) {
  Session session = ready_session(auth_policy());
  EXPECT_TRUE(IsReply(session.on_command(cmd("ATRN partner.example")), 530, es(5, 7, 0)));
}

TEST(Atrn, BeforeEhloIs503_5_5_1) {
  Session session(auth_policy(), etrn_peer());
  session.on_connect();
  EXPECT_TRUE(IsReply(session.on_command(cmd("ATRN")), 503, es(5, 5, 1)));
}

TEST(Atrn, AnAccountNotAuthorizedOnAnyConnectorIs450_4_7_0) {
  Session session = authenticated_session("alice@example.com", {"alice@example.com"});
  const auto action = session.on_command(cmd("ATRN partner.example"));
  EXPECT_TRUE(IsReply(action, 450, es(4, 7, 0)));
  EXPECT_EQ(reply_text(action), "4.7.0 ATRN request refused");
}

TEST(Atrn, ADomainOutsideTheAccountsConnectorsIs450_4_7_0) {
  Session session = authenticated_session("Partner-TRN@example.com");
  EXPECT_TRUE(IsReply(session.on_command(cmd("ATRN partner.example,other.example")), 450, es(4, 7, 0)));
}

TEST(Atrn, MalformedDomainListIs501_5_5_4) {
  Session session = authenticated_session("partner-trn@example.com");
  EXPECT_TRUE(IsReply(session.on_command(cmd("ATRN partner.example,,x")), 501, es(5, 5, 4)));
}

TEST(Atrn, AnAuthorizedAccountMatchesByOneOfItsOwnAddresses) {
  ListenerPolicy policy = auth_policy();
  policy.trn_connectors.front().authorized_accounts = {"TRN@Partner.Example"};
  Session session = ready_session(policy);
  session.on_command(cmd("AUTH PLAIN"));
  session.on_authenticated("cn=trn,cn=users,dc=example,dc=com", {"trn@partner.example"});
  EXPECT_NE(as_trn_check(session.on_command(cmd("ATRN"))), nullptr);
}

TEST(Atrn, WithoutDomainsChecksEveryDomainTheAccountMayTake) {
  Session session = authenticated_session("partner-trn@example.com");
  const auto action = session.on_command(cmd("ATRN"));
  ASSERT_NE(as_trn_check(action), nullptr);
  EXPECT_EQ(as_trn_check(action)->domains, (std::vector<std::string>{"partner.example", "*.partner.example"}));
}

TEST(Atrn, ASubdomainOfAWildcardAddressSpaceIsAllowed) {
  Session session = authenticated_session("partner-trn@example.com");
  const auto action = session.on_command(cmd("ATRN mail.partner.example"));
  ASSERT_NE(as_trn_check(action), nullptr);
  EXPECT_EQ(as_trn_check(action)->domains, std::vector<std::string>{"mail.partner.example"});
}

TEST(Atrn, NothingQueuedIs453_4_3_0) {
  Session session = authenticated_session("partner-trn@example.com");
  session.on_command(cmd("ATRN partner.example"));
  const auto action = session.on_trn_queue_checked(0);
  EXPECT_TRUE(IsReply(action, 453, es(4, 3, 0)));
  EXPECT_EQ(reply_text(action), "4.3.0 You have no mail");
}

TEST(Atrn, MailTakenIs250AndReversesTheConnection) {
  Session session = authenticated_session("partner-trn@example.com");
  session.on_command(cmd("ATRN partner.example"));
  const auto action = session.on_trn_queue_checked(2);
  const auto* reverse = std::get_if<ReverseConnection>(&action);
  ASSERT_NE(reverse, nullptr);
  EXPECT_EQ(reverse->reply.code, 250);
  EXPECT_EQ(reverse->reply.status, es(2, 0, 0));
  EXPECT_EQ(reverse->reply.lines.back(), "OK, now reversing the connection");
}

TEST(Atrn, AfterTheReversalTheServerSessionTakesNoCommand) {
  Session session = authenticated_session("partner-trn@example.com");
  session.on_command(cmd("ATRN partner.example"));
  session.on_trn_queue_checked(1);
  EXPECT_EQ(session.phase(), Phase::Closing);
  EXPECT_TRUE(IsReply(session.on_command(cmd("NOOP")), 421, es(4, 3, 0)));
}

TEST(Atrn, WithoutAQueueManagerIs451_4_3_0NeverYouHaveNoMail) {
  Session session = authenticated_session("partner-trn@example.com");
  session.on_command(cmd("ATRN partner.example"));
  const auto action = session.on_trn_queue_checked(std::nullopt);
  EXPECT_TRUE(IsReply(action, 451, es(4, 3, 0)));
  EXPECT_EQ(reply_text(action), "4.3.0 Unable to process ATRN request now");
}

TEST(Atrn, TheCheckNamesOnlyTheConnectorsTheAccountIsAuthorizedOn) {
  ListenerPolicy policy = auth_policy();
  TrnConnector other;
  other.name = "Other Dial-up";
  other.domains = {"other.example"};
  other.authorized_accounts = {"someone-else@example.com"};
  policy.trn_connectors.push_back(other);
  Session session = ready_session(policy);
  session.on_command(cmd("AUTH PLAIN"));
  session.on_authenticated("partner-trn@example.com");
  const auto action = session.on_command(cmd("ATRN"));
  ASSERT_NE(as_trn_check(action), nullptr);
  EXPECT_EQ(as_trn_check(action)->connectors, std::vector<std::string>{"Partner Dial-up"});
  EXPECT_EQ(as_trn_check(action)->domains, (std::vector<std::string>{"partner.example", "*.partner.example"}));
}

TEST(Atrn, EhloAdvertisesAtrnWhereAuthExistsAndAConnectorNamesTrnAccounts) {
  auto ehlo_has_atrn = [](ListenerPolicy policy) {
    Session session(std::move(policy), etrn_peer());
    session.on_connect();
    const auto action = session.on_command(cmd("EHLO c.example"));
    const auto& lines = as_reply(action)->reply.lines;
    return std::find(lines.begin(), lines.end(), "ATRN") != lines.end();
  };
  EXPECT_TRUE(ehlo_has_atrn(auth_policy()));
  ListenerPolicy no_auth = auth_policy();
  no_auth.auth_mechanisms.clear();
  EXPECT_FALSE(ehlo_has_atrn(no_auth));
  ListenerPolicy no_accounts = auth_policy();
  no_accounts.trn_connectors.front().authorized_accounts.clear();
  EXPECT_FALSE(ehlo_has_atrn(no_accounts));
}

// ---- Implicit TLS ----

Session implicit_tls_session(ListenerPolicy policy) {
  policy.starttls_available = true;
  Session session(std::move(policy), internet_peer());
  session.on_tls_established("TLSv1.3 TLS_AES_256_GCM_SHA384");
  session.on_connect();
  return session;
}

TEST(ImplicitTls, TheGreetingIs220AndTlsIsActive) {
  ListenerPolicy policy = sample_policy();
  Session session(policy, internet_peer());
  session.on_tls_established("TLSv1.3 TLS_AES_256_GCM_SHA384");
  EXPECT_TRUE(IsReply(session.on_connect(), 220, std::nullopt));
  EXPECT_TRUE(session.tls_active());
  EXPECT_EQ(session.envelope().tls, "TLSv1.3 TLS_AES_256_GCM_SHA384");
}

TEST(ImplicitTls, EhloOffersAuthButNotStartTls) {
  ListenerPolicy policy = sample_policy();
  policy.auth_mechanisms = {"PLAIN", "LOGIN"};
  Session session = implicit_tls_session(policy);
  const Action ehlo = session.on_command(cmd("EHLO c.example"));
  const auto& lines = as_reply(ehlo)->reply.lines;
  EXPECT_EQ(std::find(lines.begin(), lines.end(), "STARTTLS"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "AUTH PLAIN LOGIN"), lines.end());
}

TEST(ImplicitTls, StartTlsIs503_5_5_1) {
  Session session = implicit_tls_session(sample_policy());
  session.on_command(cmd("EHLO c.example"));
  EXPECT_TRUE(IsReply(session.on_command(cmd("STARTTLS")), 503, es(5, 5, 1)));
}

TEST(ImplicitTls, TheRequireTlsRuleIsSatisfied) {
  ListenerPolicy policy = sample_policy();
  policy.require_tls = true;
  Session session = implicit_tls_session(policy);
  session.on_command(cmd("EHLO c.example"));
  EXPECT_TRUE(IsReply(session.on_command(cmd("MAIL FROM:<a@example.org>")), 250, es(2, 1, 0)));
}

}  // namespace
}  // namespace gw::smtp::test
