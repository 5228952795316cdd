// Specification of the ESMTP Session: every reply code and enhanced status code
// the gateway gives, phase by phase.
#include "gateway/smtp/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/gateway/smtp/session_test_support.h"

namespace gw::smtp {
namespace {

using test::cmd;
using test::es;
using test::IsReply;

class SessionTest : public ::testing::Test {
 protected:
  void start(ListenerPolicy policy = test::sample_policy(), PeerInfo peer = test::internet_peer()) {
    session_.emplace(std::move(policy), std::move(peer));
    greeting_ = session_->on_connect();
  }
  void SetUp() override { start(); }

  Session& s() { return *session_; }
  Action say(std::string_view line) { return s().on_command(cmd(line)); }
  std::vector<std::string> ehlo_lines() {
    const Action action = say("EHLO client.example");
    const SendReply* sent = test::as_reply(action);
    return sent ? sent->reply.lines : std::vector<std::string>{};
  }

  void ehlo() { ASSERT_TRUE(IsReply(say("EHLO client.example"), 250, std::nullopt)); }
  void mail(std::string_view from = "MAIL FROM:<sender@sender.example>") {
    ehlo();
    ASSERT_TRUE(IsReply(say(from), 250, es(2, 1, 0)));
  }
  void rcpt_accepted(std::string_view line = "RCPT TO:<user@example.com>") {
    const Action asked = say(line);
    ASSERT_TRUE(std::holds_alternative<CheckRecipient>(asked)) << "index " << asked.index();
    ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  }
  void transaction() {
    mail();
    rcpt_accepted();
  }
  // DATA, the content's summary, and the commit request.
  void data_to_commit(const BodySummary& body = clean_body()) {
    const Action data = say("DATA");
    ASSERT_TRUE(std::holds_alternative<ReceiveBody>(data));
    ASSERT_TRUE(std::holds_alternative<CommitMessage>(s().on_body_complete(body)));
  }
  static BodySummary clean_body() {
    BodySummary body;
    body.octets = 100;
    body.received_headers = 1;
    return body;
  }
  void one_message() {
    transaction();
    data_to_commit();
    ASSERT_TRUE(IsReply(s().on_committed("ABC123"), 250, es(2, 6, 0)));
  }

  std::optional<Session> session_;
  Action greeting_;
};

// Greeting, HELO, EHLO -------------------------------------------------------

TEST_F(SessionTest, GreetingIs220WithFqdnAndNoEnhancedCode) {
  ASSERT_TRUE(IsReply(greeting_, 220, std::nullopt));
  EXPECT_EQ(test::as_reply(greeting_)->reply.wire(), "220 bh1.example.com ESMTP\r\n");
  EXPECT_EQ(s().phase(), Phase::Greeting);
}

TEST_F(SessionTest, HeloIs250WithoutEnhancedCode) {
  const Action action = say("HELO client.example");
  ASSERT_TRUE(IsReply(action, 250, std::nullopt));
  EXPECT_EQ(s().phase(), Phase::Ready);
  EXPECT_FALSE(s().envelope().esmtp);
  EXPECT_EQ(s().envelope().helo, "client.example");
}

TEST_F(SessionTest, EhloAdvertisesTheExtensions) {
  const Action action = say("EHLO client.example");
  ASSERT_TRUE(IsReply(action, 250, std::nullopt));
  const auto& lines = test::as_reply(action)->reply.lines;
  for (const char* keyword : {"PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING",
                              "BINARYMIME", "SMTPUTF8"}) {
    EXPECT_NE(std::find(lines.begin(), lines.end(), keyword), lines.end()) << keyword;
  }
  EXPECT_EQ(lines.front(), "bh1.example.com Hello [198.51.100.7]");
  EXPECT_EQ(std::find(lines.begin(), lines.end(), "STARTTLS"), lines.end());
  EXPECT_TRUE(std::none_of(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("AUTH"); }));
}

TEST_F(SessionTest, EhloWithoutSizeLimitAdvertisesBareSize) {
  ListenerPolicy policy = test::sample_policy();
  policy.max_message_size = 0;
  start(policy);
  const auto lines = ehlo_lines();
  EXPECT_NE(std::find(lines.begin(), lines.end(), "SIZE"), lines.end());
}

TEST_F(SessionTest, EhloReplyIsMultiLineOnTheWire) {
  const Action action = say("EHLO client.example");
  const std::string wire = test::as_reply(action)->reply.wire();
  EXPECT_TRUE(wire.starts_with("250-bh1.example.com Hello [198.51.100.7]\r\n250-PIPELINING\r\n"));
  EXPECT_TRUE(wire.ends_with("\r\n250 HELP\r\n"));
}

TEST_F(SessionTest, EhloWithoutArgumentIs501_5_5_4) {
  EXPECT_TRUE(IsReply(say("EHLO"), 501, es(5, 5, 4)));
  EXPECT_EQ(s().phase(), Phase::Greeting);
}

TEST_F(SessionTest, EhloInTheMiddleOfATransactionResetsIt) {
  transaction();
  ehlo();
  EXPECT_EQ(s().phase(), Phase::Ready);
  EXPECT_TRUE(s().envelope().recipients.empty());
}

// Sequence and syntax ---------------------------------------------------------

TEST_F(SessionTest, MailBeforeEhloIs503_5_5_1) {
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, SequenceErrorWinsOverSyntaxError) {
  EXPECT_TRUE(IsReply(say("MAIL FROM:<bad address>"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, RcptBeforeMailIs503_5_5_1) {
  ehlo();
  EXPECT_TRUE(IsReply(say("RCPT TO:<user@example.com>"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, SecondMailIs503_5_5_1) {
  mail();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<other@sender.example>"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, DataBeforeMailIs503_5_5_1) {
  ehlo();
  EXPECT_TRUE(IsReply(say("DATA"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, DataWithoutRecipientsIs554_5_5_1) {
  mail();
  EXPECT_TRUE(IsReply(say("DATA"), 554, es(5, 5, 1)));
}

TEST_F(SessionTest, UnknownCommandIs500_5_5_1) {
  EXPECT_TRUE(IsReply(say("XYZZY"), 500, es(5, 5, 1)));
}

TEST_F(SessionTest, LineTooLongIs500_5_5_2InAnyPhase) {
  transaction();
  CommandParser parser;
  parser.put("RCPT TO:<" + std::string(600, 'a') + "@example.com>\r\n");
  EXPECT_TRUE(IsReply(s().on_command(parser.take()), 500, es(5, 5, 2)));
  EXPECT_EQ(s().phase(), Phase::Rcpt);
}

TEST_F(SessionTest, BareLfCommandIs500_5_5_2) {
  ehlo();
  CommandParser parser;
  parser.put("NOOP\n");
  EXPECT_TRUE(IsReply(s().on_command(parser.take()), 500, es(5, 5, 2)));
}

TEST_F(SessionTest, MailSyntaxErrorIs501_5_1_7) {
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a b@sender.example>"), 501, es(5, 1, 7)));
}

TEST_F(SessionTest, RcptSyntaxErrorIs501_5_1_3) {
  mail();
  EXPECT_TRUE(IsReply(say("RCPT TO:<user@@example.com>"), 501, es(5, 1, 3)));
}

TEST_F(SessionTest, ParametersAfterHeloAre555_5_5_4) {
  ASSERT_TRUE(IsReply(say("HELO client.example"), 250, std::nullopt));
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example> SIZE=100"), 555, es(5, 5, 4)));
}

TEST_F(SessionTest, UnknownMailParameterIs555_5_5_4) {
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example> XFOO=1"), 555, es(5, 5, 4)));
}

// Simple commands ---------------------------------------------------------------

TEST_F(SessionTest, NoopIs250_2_0_0) { EXPECT_TRUE(IsReply(say("NOOP"), 250, es(2, 0, 0))); }

TEST_F(SessionTest, RsetIs250_2_0_0AndEndsTheTransaction) {
  transaction();
  EXPECT_TRUE(IsReply(say("RSET"), 250, es(2, 0, 0)));
  EXPECT_EQ(s().phase(), Phase::Ready);
  EXPECT_TRUE(IsReply(say("RCPT TO:<user@example.com>"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, QuitIs221_2_0_0AndCloses) {
  const Action action = say("QUIT");
  ASSERT_TRUE(IsReply(action, 221, es(2, 0, 0)));
  EXPECT_TRUE(test::as_reply(action)->close_after);
  EXPECT_EQ(s().phase(), Phase::Closing);
}

TEST_F(SessionTest, HelpIs214) { EXPECT_TRUE(IsReply(say("HELP"), 214, es(2, 0, 0))); }

TEST_F(SessionTest, ExpnIs502_5_5_1) {
  ehlo();
  EXPECT_TRUE(IsReply(say("EXPN staff"), 502, es(5, 5, 1)));
}

TEST_F(SessionTest, TimeoutIs421_4_4_2AndCloses) {
  const Action action = s().on_timeout();
  ASSERT_TRUE(IsReply(action, 421, es(4, 4, 2)));
  EXPECT_TRUE(test::as_reply(action)->close_after);
}

TEST_F(SessionTest, TimeoutDuringContentDiscardsTheMessage) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  const Action action = s().on_timeout();
  ASSERT_TRUE(IsReply(action, 421, es(4, 4, 2)));
  EXPECT_TRUE(test::as_reply(action)->discard_message);
}

TEST_F(SessionTest, ShutdownIs421_4_3_2AndCloses) {
  ehlo();
  const Action action = s().on_shutdown();
  ASSERT_TRUE(IsReply(action, 421, es(4, 3, 2)));
  EXPECT_TRUE(test::as_reply(action)->close_after);
  EXPECT_TRUE(IsReply(say("NOOP"), 421, es(4, 3, 0)));
}

// VRFY ---------------------------------------------------------------------------

TEST_F(SessionTest, VrfyDisabledIs252_2_5_2) {
  ehlo();
  EXPECT_TRUE(IsReply(say("VRFY user@example.com"), 252, es(2, 5, 2)));
}

TEST_F(SessionTest, VrfyEnabledAsksForTheRecipientCheck) {
  ListenerPolicy policy = test::sample_policy();
  policy.enable_vrfy = true;
  start(policy);
  ehlo();
  const Action action = say("VRFY <User@Example.com>");
  const auto* check = std::get_if<CheckRecipient>(&action);
  ASSERT_NE(check, nullptr);
  EXPECT_TRUE(check->vrfy);
  EXPECT_EQ(check->recipient.str(), "User@example.com");
  EXPECT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
}

TEST_F(SessionTest, VrfyEnabledUnknownUserGetsTheVerdictReply) {
  ListenerPolicy policy = test::sample_policy();
  policy.enable_vrfy = true;
  start(policy);
  ehlo();
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("VRFY nobody@example.com")));
  EXPECT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::reject(550, es(5, 1, 1), "User unknown")), 550,
                      es(5, 1, 1)));
}

TEST_F(SessionTest, VrfyEnabledForARemoteDomainIs252_2_5_2) {
  ListenerPolicy policy = test::sample_policy();
  policy.enable_vrfy = true;
  start(policy);
  ehlo();
  EXPECT_TRUE(IsReply(say("VRFY someone@remote.example"), 252, es(2, 5, 2)));
}

// MAIL ---------------------------------------------------------------------------

TEST_F(SessionTest, MailIs250_2_1_0AndRecordsSenderAndParameters) {
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<Sender@Sender.Example> SIZE=500 BODY=8BITMIME RET=HDRS ENVID=abc"), 250,
                      es(2, 1, 0)));
  EXPECT_EQ(s().phase(), Phase::Mail);
  EXPECT_EQ(s().envelope().sender.mailbox.str(), "Sender@sender.example");
  EXPECT_EQ(s().envelope().mail.size, 500u);
  EXPECT_EQ(s().envelope().mail.body, BodyType::EightBitMime);
  EXPECT_EQ(s().envelope().mail.ret, Ret::Headers);
  EXPECT_EQ(s().envelope().mail.envid, "abc");
}

TEST_F(SessionTest, AuthParameterFromAnUnauthenticatedClientBecomesNull) {
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example> AUTH=boss@example.com"), 250, es(2, 1, 0)));
  EXPECT_EQ(s().envelope().mail.auth, "<>");
}

TEST_F(SessionTest, NullSenderIsAccepted) {
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<>"), 250, es(2, 1, 0)));
  EXPECT_TRUE(s().envelope().sender.null);
}

TEST_F(SessionTest, SourceRouteOfTheSenderIsDropped) {
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<@relay.example:a@sender.example>"), 250, es(2, 1, 0)));
  EXPECT_TRUE(s().envelope().sender.source_route.empty());
  EXPECT_EQ(s().envelope().sender.str(), "<a@sender.example>");
}

TEST_F(SessionTest, DeclaredSizeOverTheLimitIs552_5_3_4) {
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example> SIZE=10485761"), 552, es(5, 3, 4)));
  EXPECT_EQ(s().phase(), Phase::Ready);
}

TEST_F(SessionTest, DeclaredSizeAtTheLimitIsAccepted) {
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example> SIZE=10485760"), 250, es(2, 1, 0)));
}

TEST_F(SessionTest, DeclaredSizeOverTheSessionLimitIs552_5_3_4) {
  ListenerPolicy policy = test::sample_policy();
  policy.max_session_size = 1000;
  start(policy);
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example> SIZE=1001"), 552, es(5, 3, 4)));
}

TEST_F(SessionTest, NonAsciiSenderWithoutSmtpUtf8Is553_5_6_7) {
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<j\xC3\xB6rg@sender.example>"), 553, es(5, 6, 7)));
}

struct SenderFilterCase {
  const char* entry;
  const char* mail;
  bool refused;
};

class SenderFilter : public SessionTest, public ::testing::WithParamInterface<SenderFilterCase> {};

TEST_P(SenderFilter, MatchingSenderIs550_5_7_1) {
  ListenerPolicy policy = test::sample_policy();
  policy.sender_filter = {GetParam().entry};
  start(policy);
  ehlo();
  if (GetParam().refused) {
    EXPECT_TRUE(IsReply(say(GetParam().mail), 550, es(5, 7, 1))) << GetParam().entry << " / " << GetParam().mail;
  } else {
    EXPECT_TRUE(IsReply(say(GetParam().mail), 250, es(2, 1, 0))) << GetParam().entry << " / " << GetParam().mail;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Entries, SenderFilter,
    ::testing::Values(SenderFilterCase{"spam@bad.example", "MAIL FROM:<spam@bad.example>", true},
                      SenderFilterCase{"spam@bad.example", "MAIL FROM:<SPAM@BAD.example>", true},
                      SenderFilterCase{"spam@bad.example", "MAIL FROM:<other@bad.example>", false},
                      SenderFilterCase{"@bad.example", "MAIL FROM:<anyone@Bad.Example>", true},
                      SenderFilterCase{"*@bad.example", "MAIL FROM:<anyone@bad.example>", true},
                      SenderFilterCase{"*@bad.example", "MAIL FROM:<anyone@sub.bad.example>", false},
                      SenderFilterCase{"<>", "MAIL FROM:<>", true},
                      SenderFilterCase{"<>", "MAIL FROM:<a@bad.example>", false},
                      SenderFilterCase{"@bad.example", "MAIL FROM:<>", false}),
    [](const ::testing::TestParamInfo<SenderFilterCase>& info) { return "Case" + std::to_string(info.index); });

TEST_F(SessionTest, SpoofedLocalSenderFromAnonymousClientIs550_5_7_1) {
  ListenerPolicy policy = test::sample_policy();
  policy.reject_spoofed_local_senders = true;
  start(policy);
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<ceo@Example.com>"), 550, es(5, 7, 1)));
}

TEST_F(SessionTest, LocalSenderIsAcceptedWhenAntiSpoofingIsOff) {
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<ceo@example.com>"), 250, es(2, 1, 0)));
}

TEST_F(SessionTest, LocalSenderFromRelayListClientPassesAntiSpoofing) {
  ListenerPolicy policy = test::sample_policy();
  policy.reject_spoofed_local_senders = true;
  start(policy, test::relay_list_peer());
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<app@example.com>"), 250, es(2, 1, 0)));
}

TEST_F(SessionTest, NonAuthoritativeSenderDomainPassesAntiSpoofing) {
  ListenerPolicy policy = test::sample_policy();
  policy.reject_spoofed_local_senders = true;
  start(policy);
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@shared.example.org>"), 250, es(2, 1, 0)));
}

TEST_F(SessionTest, RequireTlsRefusesMailBeforeStartTlsWith530_5_7_0) {
  ListenerPolicy policy = test::sample_policy();
  policy.require_tls = true;
  policy.starttls_available = true;
  start(policy);
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 530, es(5, 7, 0)));
}

TEST_F(SessionTest, RequireTlsAcceptsMailAfterTls) {
  ListenerPolicy policy = test::sample_policy();
  policy.require_tls = true;
  policy.starttls_available = true;
  start(policy);
  ehlo();
  ASSERT_TRUE(std::holds_alternative<StartTls>(say("STARTTLS")));
  s().on_tls_established("TLSv1.3 TLS_AES_256_GCM_SHA384");
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
}

TEST_F(SessionTest, RequireAuthRefusesAnonymousMailWith530_5_7_0) {
  ListenerPolicy policy = test::sample_policy();
  policy.require_auth = true;
  start(policy);
  ehlo();
  const Action action = say("MAIL FROM:<a@sender.example>");
  ASSERT_TRUE(IsReply(action, 530, es(5, 7, 0)));
  EXPECT_EQ(test::as_reply(action)->reply.lines.front(), "Authentication required");
}

TEST_F(SessionTest, MessagesPerConnectionLimitCloses421_4_7_0) {
  ListenerPolicy policy = test::sample_policy();
  policy.max_messages_per_connection = 2;
  start(policy);
  one_message();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  rcpt_accepted();
  data_to_commit();
  ASSERT_TRUE(IsReply(s().on_committed("ID2"), 250, es(2, 6, 0)));
  const Action third = say("MAIL FROM:<a@sender.example>");
  ASSERT_TRUE(IsReply(third, 421, es(4, 7, 0)));
  EXPECT_TRUE(test::as_reply(third)->close_after);
  EXPECT_EQ(s().messages_accepted(), 2u);
}

// RCPT ---------------------------------------------------------------------------

TEST_F(SessionTest, RcptAsksTheDriverToCheckTheRecipient) {
  mail();
  const Action action = say("RCPT TO:<Jane.Doe@EXAMPLE.com>");
  const auto* check = std::get_if<CheckRecipient>(&action);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->recipient.str(), "Jane.Doe@example.com");
  EXPECT_EQ(check->domain_class, DomainClass::Authoritative);
  EXPECT_FALSE(check->vrfy);
}

TEST_F(SessionTest, AcceptedRecipientIs250_2_1_5) {
  mail();
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  EXPECT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  EXPECT_EQ(s().phase(), Phase::Rcpt);
  ASSERT_EQ(s().envelope().recipients.size(), 1u);
  EXPECT_EQ(s().envelope().recipients[0].address.str(), "user@example.com");
}

TEST_F(SessionTest, RejectedRecipientGetsTheVerdictReplyExactly) {
  mail();
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<nobody@example.com>")));
  const Action action = s().on_recipient_checked(RecipientVerdict::reject(550, es(5, 1, 1), "User unknown"));
  ASSERT_TRUE(IsReply(action, 550, es(5, 1, 1)));
  EXPECT_EQ(test::as_reply(action)->reply.lines.front(), "User unknown");
  EXPECT_EQ(s().phase(), Phase::Mail);
  EXPECT_TRUE(s().envelope().recipients.empty());
}

TEST_F(SessionTest, DirectoryOutageIs451_4_4_3) {
  mail();
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  EXPECT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::try_later()), 451, es(4, 4, 3)));
}

TEST_F(SessionTest, RejectVerdictWithoutAFailureCodeBecomes550_5_1_1) {
  mail();
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  RecipientVerdict verdict;
  verdict.kind = RecipientVerdict::Kind::Reject;
  EXPECT_TRUE(IsReply(s().on_recipient_checked(verdict), 550, es(5, 1, 1)));
}

TEST_F(SessionTest, CommandsWhileARecipientCheckIsPendingAre503) {
  mail();
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  EXPECT_TRUE(IsReply(say("NOOP"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, RecipientLimitIs452_4_5_3) {
  ListenerPolicy policy = test::sample_policy();
  policy.max_recipients = 2;
  start(policy);
  mail();
  rcpt_accepted("RCPT TO:<a@example.com>");
  rcpt_accepted("RCPT TO:<b@example.com>");
  EXPECT_TRUE(IsReply(say("RCPT TO:<c@example.com>"), 452, es(4, 5, 3)));
}

TEST_F(SessionTest, DuplicateRecipientIsKeptOnce) {
  mail();
  rcpt_accepted("RCPT TO:<a@example.com>");
  rcpt_accepted("RCPT TO:<a@EXAMPLE.com>");
  EXPECT_EQ(s().envelope().recipients.size(), 1u);
}

TEST_F(SessionTest, NonAsciiRecipientWithoutSmtpUtf8Is553_5_6_7) {
  mail();
  EXPECT_TRUE(IsReply(say("RCPT TO:<j\xC3\xB6rg@example.com>"), 553, es(5, 6, 7)));
}

TEST_F(SessionTest, NonAsciiRecipientWithSmtpUtf8IsChecked) {
  mail("MAIL FROM:<a@sender.example> SMTPUTF8");
  EXPECT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<j\xC3\xB6rg@example.com>")));
}

TEST_F(SessionTest, DsnParametersAreKeptWithTheRecipient) {
  mail();
  rcpt_accepted("RCPT TO:<a@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;A+2Bx@example.com");
  const AcceptedRecipient& recipient = s().envelope().recipients.at(0);
  EXPECT_TRUE(recipient.notify.given);
  EXPECT_TRUE(recipient.notify.failure);
  EXPECT_TRUE(recipient.notify.delay);
  EXPECT_FALSE(recipient.notify.success);
  EXPECT_EQ(recipient.orcpt_type, "rfc822");
  EXPECT_EQ(recipient.orcpt, "A+x@example.com");
}

TEST_F(SessionTest, PostmasterWithoutDomainIsThePostmasterOfTheFirstAuthoritativeDomain) {
  mail();
  const Action action = say("RCPT TO:<Postmaster>");
  const auto* check = std::get_if<CheckRecipient>(&action);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->recipient.str(), "postmaster@example.com");
  EXPECT_EQ(check->domain_class, DomainClass::Authoritative);
}

// DATA ---------------------------------------------------------------------------

TEST_F(SessionTest, DataIs354AndAsksForTheContent) {
  transaction();
  const Action action = say("DATA");
  const auto* body = std::get_if<ReceiveBody>(&action);
  ASSERT_NE(body, nullptr);
  ASSERT_TRUE(body->reply.has_value());
  EXPECT_EQ(body->reply->code, 354);
  EXPECT_EQ(body->mode, BodyMode::Data);
  EXPECT_TRUE(body->first_chunk);
  EXPECT_EQ(body->limits.max_message_size, 10u * 1024 * 1024);
  EXPECT_FALSE(body->limits.binary);
  EXPECT_EQ(s().phase(), Phase::Data);
}

TEST_F(SessionTest, EndOfDataAsksForTheCommitWithTheSummary) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  const Action action = s().on_body_complete(clean_body());
  const auto* commit = std::get_if<CommitMessage>(&action);
  ASSERT_NE(commit, nullptr);
  EXPECT_EQ(commit->body, clean_body());
}

TEST_F(SessionTest, CommittedMessageIs250_2_6_0WithTheQueueId) {
  transaction();
  data_to_commit();
  const Action action = s().on_committed("0001A2B3C4D5E6F700010203");
  ASSERT_TRUE(IsReply(action, 250, es(2, 6, 0)));
  EXPECT_EQ(test::as_reply(action)->reply.wire(), "250 2.6.0 <0001A2B3C4D5E6F700010203> queued\r\n");
  EXPECT_EQ(s().phase(), Phase::Ready);
  EXPECT_EQ(s().messages_accepted(), 1u);
}

TEST_F(SessionTest, NoReplyIsGivenBeforeTheCommit) {
  transaction();
  data_to_commit();
  EXPECT_TRUE(IsReply(say("NOOP"), 503, es(5, 5, 1))) << "commands must wait for the commit";
}

TEST_F(SessionTest, AnotherMessageFollowsACommittedOne) {
  one_message();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<b@sender.example>"), 250, es(2, 1, 0)));
}

TEST_F(SessionTest, DiskFullIs452_4_3_1) {
  transaction();
  data_to_commit();
  const Action action = s().on_commit_failed(CommitFailure::InsufficientStorage);
  ASSERT_TRUE(IsReply(action, 452, es(4, 3, 1)));
  EXPECT_TRUE(test::as_reply(action)->discard_message);
  EXPECT_EQ(s().phase(), Phase::Ready);
}

TEST_F(SessionTest, SpoolIoErrorIs451_4_3_0) {
  transaction();
  data_to_commit();
  EXPECT_TRUE(IsReply(s().on_commit_failed(CommitFailure::LocalError), 451, es(4, 3, 0)));
}

TEST_F(SessionTest, BareLfInContentIs554_5_6_0AndDiscarded) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  BodySummary body = clean_body();
  body.bare_lf = true;
  const Action action = s().on_body_complete(body);
  ASSERT_TRUE(IsReply(action, 554, es(5, 6, 0)));
  EXPECT_TRUE(test::as_reply(action)->discard_message);
  EXPECT_EQ(s().phase(), Phase::Ready);
}

TEST_F(SessionTest, BareCrInContentIs554_5_6_0) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  BodySummary body = clean_body();
  body.bare_cr = true;
  EXPECT_TRUE(IsReply(s().on_body_complete(body), 554, es(5, 6, 0)));
}

TEST_F(SessionTest, OverlongLineInContentIs554_5_6_0) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  BodySummary body = clean_body();
  body.line_too_long = true;
  EXPECT_TRUE(IsReply(s().on_body_complete(body), 554, es(5, 6, 0)));
}

TEST_F(SessionTest, ContentOverTheSizeLimitIs552_5_3_4) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  BodySummary body = clean_body();
  body.octets = 10 * 1024 * 1024 + 1;
  body.size_exceeded = true;
  const Action action = s().on_body_complete(body);
  ASSERT_TRUE(IsReply(action, 552, es(5, 3, 4)));
  EXPECT_TRUE(test::as_reply(action)->discard_message);
}

TEST_F(SessionTest, HopCountAtTheLimitIs554_5_4_6) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  BodySummary body = clean_body();
  body.received_headers = 15;
  EXPECT_TRUE(IsReply(s().on_body_complete(body), 554, es(5, 4, 6)));
}

TEST_F(SessionTest, HopCountBelowTheLimitIsCommitted) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
  BodySummary body = clean_body();
  body.received_headers = 14;
  EXPECT_TRUE(std::holds_alternative<CommitMessage>(s().on_body_complete(body)));
}

TEST_F(SessionTest, SessionSizeLimitCapsTheContentOfLaterMessages) {
  ListenerPolicy policy = test::sample_policy();
  policy.max_session_size = 150;
  start(policy);
  one_message();  // 100 octets
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  rcpt_accepted();
  const Action action = say("DATA");
  const auto* body = std::get_if<ReceiveBody>(&action);
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(body->limits.max_message_size, 50u);
  BodySummary summary = clean_body();
  summary.octets = 51;
  summary.size_exceeded = true;
  EXPECT_TRUE(IsReply(s().on_body_complete(summary), 552, es(5, 3, 4)));
}

TEST_F(SessionTest, DataWithBinaryMimeIs503_5_5_1) {
  mail("MAIL FROM:<a@sender.example> BODY=BINARYMIME");
  rcpt_accepted();
  EXPECT_TRUE(IsReply(say("DATA"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, RsetAfterCommitFailureLeavesNoTransaction) {
  transaction();
  data_to_commit();
  ASSERT_TRUE(IsReply(s().on_commit_failed(CommitFailure::LocalError), 451, es(4, 3, 0)));
  EXPECT_TRUE(IsReply(say("DATA"), 503, es(5, 5, 1)));
}

// BDAT (RFC 3030) ----------------------------------------------------------------

TEST_F(SessionTest, BdatChunksThenLastAreCommitted) {
  transaction();
  Action action = say("BDAT 10");
  auto* first = std::get_if<ReceiveBody>(&action);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->mode, BodyMode::Bdat);
  EXPECT_FALSE(first->reply.has_value());
  EXPECT_TRUE(first->first_chunk);
  EXPECT_FALSE(first->last_chunk);
  EXPECT_EQ(first->chunk_size, 10u);
  BodySummary body;
  body.octets = 10;
  const Action ack = s().on_body_complete(body);
  ASSERT_TRUE(IsReply(ack, 250, es(2, 0, 0)));
  EXPECT_EQ(test::as_reply(ack)->reply.lines.front(), "10 octets received");

  action = say("BDAT 5 LAST");
  auto* last = std::get_if<ReceiveBody>(&action);
  ASSERT_NE(last, nullptr);
  EXPECT_FALSE(last->first_chunk);
  EXPECT_TRUE(last->last_chunk);
  body.octets = 15;
  ASSERT_TRUE(std::holds_alternative<CommitMessage>(s().on_body_complete(body)));
  EXPECT_TRUE(s().envelope().chunking);
  EXPECT_TRUE(IsReply(s().on_committed("Q1"), 250, es(2, 6, 0)));
}

TEST_F(SessionTest, BdatZeroLastEndsTheContent) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 3")));
  ASSERT_TRUE(IsReply(s().on_body_complete(clean_body()), 250, es(2, 0, 0)));
  const Action action = say("BDAT 0 LAST");
  const auto* last = std::get_if<ReceiveBody>(&action);
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->chunk_size, 0u);
  EXPECT_TRUE(std::holds_alternative<CommitMessage>(s().on_body_complete(clean_body())));
}

TEST_F(SessionTest, BdatWithoutMailDiscardsTheChunkWith503_5_5_1) {
  ehlo();
  const Action action = say("BDAT 42 LAST");
  const auto* discard = std::get_if<DiscardBody>(&action);
  ASSERT_NE(discard, nullptr);
  EXPECT_EQ(discard->octets, 42u);
  EXPECT_EQ(discard->reply.code, 503);
  EXPECT_EQ(discard->reply.status, es(5, 5, 1));
}

TEST_F(SessionTest, BdatWithoutRecipientsDiscardsTheChunkWith554_5_5_1) {
  mail();
  const Action action = say("BDAT 42");
  const auto* discard = std::get_if<DiscardBody>(&action);
  ASSERT_NE(discard, nullptr);
  EXPECT_EQ(discard->reply.code, 554);
  EXPECT_EQ(discard->reply.status, es(5, 5, 1));
}

TEST_F(SessionTest, BdatSyntaxErrorIs421_4_5_4AndCloses) {
  // The octets that follow cannot be told from commands: RFC 5321 3.8 lets
  // the server close only after a 421.
  transaction();
  const Action action = say("BDAT ten");
  ASSERT_TRUE(IsReply(action, 421, es(4, 5, 4)));
  EXPECT_TRUE(test::as_reply(action)->close_after);
}

TEST_F(SessionTest, DataAfterBdatIs503_5_5_1) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 3")));
  ASSERT_TRUE(IsReply(s().on_body_complete(clean_body()), 250, es(2, 0, 0)));
  EXPECT_TRUE(IsReply(say("DATA"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, RcptAfterBdatIs503_5_5_1) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 3")));
  ASSERT_TRUE(IsReply(s().on_body_complete(clean_body()), 250, es(2, 0, 0)));
  EXPECT_TRUE(IsReply(say("RCPT TO:<b@example.com>"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, RsetAfterBdatChunkDiscardsTheMessage) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 3")));
  ASSERT_TRUE(IsReply(s().on_body_complete(clean_body()), 250, es(2, 0, 0)));
  const Action action = say("RSET");
  ASSERT_TRUE(IsReply(action, 250, es(2, 0, 0)));
  EXPECT_TRUE(test::as_reply(action)->discard_message);
  EXPECT_EQ(s().phase(), Phase::Ready);
}

TEST_F(SessionTest, OversizedBdatChunkIs552_5_3_4AndLaterChunksAreDiscarded) {
  transaction();
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 20000000")));
  BodySummary body;
  body.octets = 20000000;
  body.size_exceeded = true;
  const Action action = s().on_body_complete(body);
  ASSERT_TRUE(IsReply(action, 552, es(5, 3, 4)));
  EXPECT_TRUE(test::as_reply(action)->discard_message);
  const Action next = say("BDAT 10 LAST");
  const auto* discard = std::get_if<DiscardBody>(&next);
  ASSERT_NE(discard, nullptr);
  EXPECT_EQ(discard->reply.code, 503);
}

TEST_F(SessionTest, BdatWithBinaryMimeTurnsOffLineChecks) {
  mail("MAIL FROM:<a@sender.example> BODY=BINARYMIME");
  rcpt_accepted();
  const Action action = say("BDAT 100 LAST");
  const auto* body = std::get_if<ReceiveBody>(&action);
  ASSERT_NE(body, nullptr);
  EXPECT_TRUE(body->limits.binary);
}

// STARTTLS -----------------------------------------------------------------------

class TlsSessionTest : public SessionTest {
 protected:
  void SetUp() override {
    ListenerPolicy policy = test::sample_policy();
    policy.starttls_available = true;
    policy.auth_mechanisms = {"PLAIN", "LOGIN"};
    start(policy);
  }
};

TEST_F(TlsSessionTest, EhloAdvertisesStartTlsButNotAuthBeforeTls) {
  const auto lines = ehlo_lines();
  EXPECT_NE(std::find(lines.begin(), lines.end(), "STARTTLS"), lines.end());
  EXPECT_TRUE(std::none_of(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("AUTH"); }));
}

TEST_F(TlsSessionTest, StartTlsIs220_2_0_0AndTheHandshakePhase) {
  ehlo();
  const Action action = say("STARTTLS");
  const auto* tls = std::get_if<StartTls>(&action);
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->reply.code, 220);
  EXPECT_EQ(tls->reply.status, es(2, 0, 0));
  EXPECT_EQ(s().phase(), Phase::TlsHandshake);
}

TEST_F(TlsSessionTest, AfterTlsTheClientMustSayEhloAgain) {
  ehlo();
  ASSERT_TRUE(std::holds_alternative<StartTls>(say("STARTTLS")));
  s().on_tls_established("TLSv1.3");
  EXPECT_TRUE(s().tls_active());
  EXPECT_EQ(s().phase(), Phase::Greeting);
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 503, es(5, 5, 1)));
}

TEST_F(TlsSessionTest, AfterTlsEhloOffersAuthAndNoLongerStartTls) {
  ehlo();
  ASSERT_TRUE(std::holds_alternative<StartTls>(say("STARTTLS")));
  s().on_tls_established("TLSv1.3");
  const auto lines = ehlo_lines();
  EXPECT_EQ(std::find(lines.begin(), lines.end(), "STARTTLS"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "AUTH PLAIN LOGIN"), lines.end());
}

TEST_F(TlsSessionTest, StartTlsTwiceIs503_5_5_1) {
  ehlo();
  ASSERT_TRUE(std::holds_alternative<StartTls>(say("STARTTLS")));
  s().on_tls_established("TLSv1.3");
  ehlo();
  EXPECT_TRUE(IsReply(say("STARTTLS"), 503, es(5, 5, 1)));
}

TEST_F(TlsSessionTest, StartTlsDuringATransactionIs503_5_5_1) {
  mail();
  EXPECT_TRUE(IsReply(say("STARTTLS"), 503, es(5, 5, 1)));
}

TEST_F(SessionTest, StartTlsWithoutACertificateIs502_5_5_1) {
  ehlo();
  EXPECT_TRUE(IsReply(say("STARTTLS"), 502, es(5, 5, 1)));
}

TEST_F(TlsSessionTest, StartTlsWithAnArgumentIs501_5_5_4) {
  ehlo();
  EXPECT_TRUE(IsReply(say("STARTTLS now"), 501, es(5, 5, 4)));
}

// AUTH ---------------------------------------------------------------------------

TEST_F(TlsSessionTest, AuthBeforeTlsIs538_5_7_11) {
  ehlo();
  EXPECT_TRUE(IsReply(say("AUTH PLAIN"), 538, es(5, 7, 11)));
}

class AuthSessionTest : public SessionTest {
 protected:
  void SetUp() override {
    ListenerPolicy policy = test::sample_policy();
    policy.starttls_available = true;
    policy.auth_mechanisms = {"PLAIN", "LOGIN"};
    start(policy);
    ehlo();
    ASSERT_TRUE(std::holds_alternative<StartTls>(say("STARTTLS")));
    s().on_tls_established("TLSv1.3 TLS_AES_256_GCM_SHA384");
    ehlo();
  }
  void authenticate() {
    ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN AGpvZQBzZWNyZXQ=")));
    ASSERT_TRUE(IsReply(s().on_authenticated("joe@example.com"), 235, es(2, 7, 0)));
  }
};

TEST_F(AuthSessionTest, AuthAsksTheDriverToRunSasl) {
  const Action action = say("AUTH plain AGpvZQBzZWNyZXQ=");
  const auto* auth = std::get_if<Authenticate>(&action);
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->mechanism, "PLAIN");
  EXPECT_EQ(auth->initial_response, "AGpvZQBzZWNyZXQ=");
  EXPECT_EQ(s().phase(), Phase::Auth);
}

TEST_F(AuthSessionTest, AuthWithoutInitialResponse) {
  const Action action = say("AUTH LOGIN");
  const auto* auth = std::get_if<Authenticate>(&action);
  ASSERT_NE(auth, nullptr);
  EXPECT_FALSE(auth->initial_response.has_value());
}

TEST_F(AuthSessionTest, SuccessIs235_2_7_0AndRecordsTheIdentity) {
  authenticate();
  EXPECT_EQ(s().auth_identity(), "joe@example.com");
  EXPECT_EQ(s().envelope().auth_identity, "joe@example.com");
  EXPECT_EQ(s().phase(), Phase::Ready);
}

TEST_F(AuthSessionTest, BadCredentialsAre535_5_7_8) {
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN")));
  EXPECT_TRUE(IsReply(s().on_auth_failed(AuthFailure::InvalidCredentials), 535, es(5, 7, 8)));
  EXPECT_TRUE(s().auth_identity().empty());
}

TEST_F(AuthSessionTest, CancelledExchangeIs501_5_0_0) {
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH LOGIN")));
  EXPECT_TRUE(IsReply(s().on_auth_failed(AuthFailure::Cancelled), 501, es(5, 0, 0)));
}

TEST_F(AuthSessionTest, MalformedResponseIs501_5_5_2) {
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH LOGIN")));
  EXPECT_TRUE(IsReply(s().on_auth_failed(AuthFailure::Malformed), 501, es(5, 5, 2)));
}

TEST_F(AuthSessionTest, BackEndFailureIs454_4_7_0) {
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH LOGIN")));
  EXPECT_TRUE(IsReply(s().on_auth_failed(AuthFailure::Temporary), 454, es(4, 7, 0)));
}

TEST_F(AuthSessionTest, UnknownMechanismIs504_5_5_4) {
  EXPECT_TRUE(IsReply(say("AUTH CRAM-MD5"), 504, es(5, 5, 4)));
}

TEST_F(AuthSessionTest, SecondAuthIs503_5_5_1) {
  authenticate();
  EXPECT_TRUE(IsReply(say("AUTH PLAIN"), 503, es(5, 5, 1)));
}

TEST_F(AuthSessionTest, AuthDuringATransactionIs503_5_5_1) {
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  EXPECT_TRUE(IsReply(say("AUTH PLAIN"), 503, es(5, 5, 1)));
}

TEST_F(AuthSessionTest, AuthenticatedClientMayRelay) {
  authenticate();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<joe@example.com>"), 250, es(2, 1, 0)));
  const Action action = say("RCPT TO:<friend@remote.example>");
  const auto* check = std::get_if<CheckRecipient>(&action);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->domain_class, DomainClass::Remote);
}

TEST_F(AuthSessionTest, AuthParameterOfAnAuthenticatedClientIsKept) {
  authenticate();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<joe@example.com> AUTH=joe+40example.com"), 250, es(2, 1, 0)));
  EXPECT_EQ(s().envelope().mail.auth, "joe@example.com");
}

TEST_F(AuthSessionTest, AuthenticatedSenderPassesAntiSpoofing) {
  ListenerPolicy policy = test::sample_policy();
  policy.reject_spoofed_local_senders = true;
  policy.auth_mechanisms = {"PLAIN"};
  policy.auth_without_tls = true;
  start(policy);
  ehlo();
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN")));
  ASSERT_TRUE(IsReply(s().on_authenticated("joe@example.com"), 235, es(2, 7, 0)));
  EXPECT_TRUE(IsReply(say("MAIL FROM:<joe@example.com>"), 250, es(2, 1, 0)));
}

class SubmissionSessionTest : public AuthSessionTest {
 protected:
  void SetUp() override {
    ListenerPolicy policy = test::sample_policy();
    policy.starttls_available = true;
    policy.auth_mechanisms = {"PLAIN", "LOGIN"};
    policy.require_tls = true;
    policy.require_auth = true;
    policy.require_sender_is_own_address = true;
    start(policy);
    ehlo();
  }
  void secure_and_authenticate() {
    ASSERT_TRUE(std::holds_alternative<StartTls>(say("STARTTLS")));
    s().on_tls_established("TLSv1.3 TLS_AES_256_GCM_SHA384");
    ehlo();
    ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN AGpvZQBzZWNyZXQ=")));
    ASSERT_TRUE(IsReply(s().on_authenticated("joe@example.com", {"Joe@Example.com", "j.doe@example.net"}), 235,
                        es(2, 7, 0)));
  }
};

TEST_F(SubmissionSessionTest, AuthBeforeTlsIs530_5_7_0) {
  EXPECT_TRUE(IsReply(say("AUTH PLAIN"), 530, es(5, 7, 0)));
}

TEST_F(SubmissionSessionTest, MailBeforeTlsIs530_5_7_0) {
  EXPECT_TRUE(IsReply(say("MAIL FROM:<joe@example.com>"), 530, es(5, 7, 0)));
}

TEST_F(SubmissionSessionTest, MailAfterTlsButBeforeAuthIs530_5_7_0) {
  ASSERT_TRUE(std::holds_alternative<StartTls>(say("STARTTLS")));
  s().on_tls_established("TLSv1.3 TLS_AES_256_GCM_SHA384");
  ehlo();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<joe@example.com>"), 530, es(5, 7, 0)));
}

TEST_F(SubmissionSessionTest, OwnAddressIsAcceptedAsSenderInAnyCase) {
  secure_and_authenticate();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<JOE@example.COM>"), 250, es(2, 1, 0)));
}

TEST_F(SubmissionSessionTest, SecondaryOwnAddressIsAcceptedAsSender) {
  secure_and_authenticate();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<j.doe@example.net>"), 250, es(2, 1, 0)));
}

TEST_F(SubmissionSessionTest, SomeoneElsesAddressIs553_5_7_1) {
  secure_and_authenticate();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<ceo@example.com>"), 553, es(5, 7, 1)));
}

TEST_F(SubmissionSessionTest, NullSenderIsAccepted) {
  secure_and_authenticate();
  EXPECT_TRUE(IsReply(say("MAIL FROM:<>"), 250, es(2, 1, 0)));
}

TEST_F(AuthSessionTest, SenderIsNotCheckedWithoutTheSubmissionSetting) {
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN AGpvZQBzZWNyZXQ=")));
  ASSERT_TRUE(IsReply(s().on_authenticated("joe@example.com", {"joe@example.com"}), 235, es(2, 7, 0)));
  EXPECT_TRUE(IsReply(say("MAIL FROM:<ceo@example.com>"), 250, es(2, 1, 0)));
}

TEST_F(SessionTest, AuthenticatedRelayCanBeTurnedOff) {
  ListenerPolicy policy = test::sample_policy();
  policy.auth_mechanisms = {"PLAIN"};
  policy.auth_without_tls = true;
  policy.allow_authenticated_relay = false;
  start(policy);
  ehlo();
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN")));
  ASSERT_TRUE(IsReply(s().on_authenticated("joe@example.com"), 235, es(2, 7, 0)));
  ASSERT_TRUE(IsReply(say("MAIL FROM:<joe@example.com>"), 250, es(2, 1, 0)));
  EXPECT_TRUE(IsReply(say("RCPT TO:<friend@remote.example>"), 550, es(5, 7, 1)));
}

TEST_F(SessionTest, AuthWhenNotOfferedIs502_5_5_1) {
  ehlo();
  EXPECT_TRUE(IsReply(say("AUTH PLAIN"), 502, es(5, 5, 1)));
}

TEST_F(SessionTest, RequireAuthAcceptsMailAfterAuthentication) {
  ListenerPolicy policy = test::sample_policy();
  policy.require_auth = true;
  policy.auth_mechanisms = {"PLAIN"};
  policy.auth_without_tls = true;
  start(policy);
  ehlo();
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN")));
  ASSERT_TRUE(IsReply(s().on_authenticated("joe@example.com"), 235, es(2, 7, 0)));
  EXPECT_TRUE(IsReply(say("MAIL FROM:<joe@example.com>"), 250, es(2, 1, 0)));
}

// Received header ----------------------------------------------------------------

MessageEnvelope envelope_with(std::vector<std::string> recipients) {
  MessageEnvelope envelope;
  envelope.helo = "client.example";
  envelope.esmtp = true;
  for (const auto& r : recipients) {
    AcceptedRecipient accepted;
    accepted.address = *parse_mailbox(r);
    envelope.recipients.push_back(accepted);
  }
  return envelope;
}

const auto kWhen = std::chrono::system_clock::from_time_t(1795920307);  // 2026-11-29 02:45:07 UTC

TEST(ReceivedHeader, NamesPeerServerProtocolIdRecipientAndDate) {
  PeerInfo peer = test::internet_peer();
  peer.hostname = "mx.client.example";
  const std::string header =
      received_header(envelope_with({"user@example.com"}), peer, "bh1.example.com", "0001ABC", kWhen);
  EXPECT_EQ(header,
            "Received: from client.example (mx.client.example [198.51.100.7])\r\n"
            "\tby bh1.example.com with ESMTP id 0001ABC\r\n"
            "\tfor <user@example.com>; Sun, 29 Nov 2026 02:45:07 +0000\r\n");
}

TEST(ReceivedHeader, NoForClauseWithSeveralRecipients) {
  const std::string header = received_header(envelope_with({"a@example.com", "b@example.com"}),
                                             test::internet_peer(), "bh1.example.com", "X", kWhen);
  EXPECT_EQ(header.find("for <"), std::string::npos);
  EXPECT_NE(header.find("(unknown [198.51.100.7])"), std::string::npos);
}

TEST(ReceivedHeader, TlsAndAuthenticationShowInTheProtocol) {
  MessageEnvelope envelope = envelope_with({"a@example.com"});
  envelope.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
  envelope.auth_identity = "joe@example.com";
  const std::string header = received_header(envelope, test::internet_peer(), "bh1.example.com", "X", kWhen);
  EXPECT_NE(header.find("with ESMTPSA id X\r\n\t(using TLSv1.3 TLS_AES_256_GCM_SHA384)"), std::string::npos);
  EXPECT_EQ(header.find("joe"), std::string::npos) << "the identity is not disclosed";
}

TEST(ReceivedHeader, HeloProtocolIsSmtpAndIpv6PeerIsTagged) {
  MessageEnvelope envelope = envelope_with({"a@example.com"});
  envelope.esmtp = false;
  PeerInfo peer;
  peer.ip = "2001:db8::7";
  const std::string header = received_header(envelope, peer, "bh1.example.com", "X", kWhen);
  EXPECT_NE(header.find("(unknown [IPv6:2001:db8::7])"), std::string::npos);
  EXPECT_NE(header.find(" with SMTP id X"), std::string::npos);
}

TEST(ReceivedHeader, HeloTextIsMadePrintable) {
  MessageEnvelope envelope = envelope_with({"a@example.com"});
  envelope.helo = "evil)\x01(host";
  const std::string header = received_header(envelope, test::internet_peer(), "bh1.example.com", "X", kWhen);
  EXPECT_TRUE(header.starts_with("Received: from evil???host ("));
}

TEST(Rfc5322Date, FormatsUtc) {
  EXPECT_EQ(rfc5322_date(kWhen), "Sun, 29 Nov 2026 02:45:07 +0000");
  EXPECT_EQ(rfc5322_date(std::chrono::system_clock::from_time_t(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
}

}  // namespace
}  // namespace gw::smtp
