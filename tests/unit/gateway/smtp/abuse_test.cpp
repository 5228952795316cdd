// Specification of the Session against misbehaving clients: the limits on
// errors and junk, protocol synchronization (early talkers, pipelining where
// RFC 2920 forbids it), HTTP requests, and the rule that the server closes only
// after a 221 or a 421 (RFC 5321 3.8). Each default limit is ListenerPolicy's.
#include "gateway/smtp/session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/gateway/smtp/session_test_support.h"

namespace gw::smtp {
namespace {

using test::cmd;
using test::es;
using test::IsReply;

// A command as the driver hands it over when the client did not wait for the
// previous reply.
Command pipelined(std::string_view line) {
  Command command = cmd(line);
  command.pipelined = true;
  return command;
}

class AbuseTest : public ::testing::Test {
 protected:
  void start(ListenerPolicy policy = test::sample_policy(), bool spoke_first = false) {
    session_.emplace(std::move(policy), test::internet_peer());
    greeting_ = session_->on_connect(spoke_first);
  }
  void SetUp() override { start(); }
  Session& s() { return *session_; }
  Action say(std::string_view line) { return s().on_command(cmd(line)); }
  void ehlo() { ASSERT_TRUE(IsReply(say("EHLO client.example"), 250, std::nullopt)); }

  // The reply closes the session the way RFC 5321 3.8 allows.
  static ::testing::AssertionResult ClosesProperly(const Action& action) {
    const SendReply* sent = test::as_reply(action);
    if (sent == nullptr) return ::testing::AssertionFailure() << "not a reply";
    if (!sent->close_after) return ::testing::AssertionFailure() << "does not close";
    const int last = sent->farewell ? sent->farewell->code : sent->reply.code;
    if (last != 221 && last != 421) return ::testing::AssertionFailure() << "closes after " << last;
    return ::testing::AssertionSuccess();
  }

  std::optional<Session> session_;
  Action greeting_;
};

// Hard error limit ---------------------------------------------------------------

TEST_F(AbuseTest, ErrorThatReachesTheHardErrorLimitIsAnsweredThen421_4_7_0) {
  ListenerPolicy policy = test::sample_policy();
  policy.hard_error_limit = 3;
  start(policy);
  EXPECT_TRUE(IsReply(say("BOGUS"), 500, es(5, 5, 1)));
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 503, es(5, 5, 1)));
  const Action third = say("BOGUS");
  ASSERT_TRUE(IsReply(third, 500, es(5, 5, 1)));
  ASSERT_TRUE(test::as_reply(third)->farewell);
  EXPECT_EQ(test::as_reply(third)->farewell->code, 421);
  EXPECT_EQ(test::as_reply(third)->farewell->status, es(4, 7, 0));
  EXPECT_TRUE(ClosesProperly(third));
  EXPECT_EQ(s().phase(), Phase::Closing);
}

TEST_F(AbuseTest, DefaultHardErrorLimitIs20) {
  for (int i = 1; i < 20; ++i) {
    const Action action = say("BOGUS");
    ASSERT_TRUE(IsReply(action, 500, es(5, 5, 1)));
    ASSERT_FALSE(test::as_reply(action)->close_after) << i;
  }
  EXPECT_TRUE(ClosesProperly(say("BOGUS")));
}

TEST_F(AbuseTest, RefusedRecipientsCountTowardsTheHardErrorLimit) {
  ListenerPolicy policy = test::sample_policy();
  policy.hard_error_limit = 3;
  start(policy);
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  EXPECT_TRUE(IsReply(say("RCPT TO:<x@elsewhere.example>"), 550, es(5, 7, 1)));
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<nobody@example.com>")));
  EXPECT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::reject(550, es(5, 1, 1), "unknown")), 550,
                      es(5, 1, 1)));
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<ghost@example.com>")));
  const Action third = s().on_recipient_checked(RecipientVerdict::reject(550, es(5, 1, 1), "unknown"));
  ASSERT_TRUE(IsReply(third, 550, es(5, 1, 1)));
  EXPECT_TRUE(ClosesProperly(third));
}

TEST_F(AbuseTest, TemporaryRecipientFailuresDoNotCount) {
  ListenerPolicy policy = test::sample_policy();
  policy.hard_error_limit = 2;
  start(policy);
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
    const Action action = s().on_recipient_checked(RecipientVerdict::try_later());
    ASSERT_TRUE(IsReply(action, 451, es(4, 4, 3)));
    ASSERT_FALSE(test::as_reply(action)->close_after);
  }
}

TEST_F(AbuseTest, HardErrorLimitZeroMeansUnlimited) {
  ListenerPolicy policy = test::sample_policy();
  policy.hard_error_limit = 0;
  policy.junk_command_limit = 0;
  start(policy);
  for (int i = 0; i < 200; ++i) ASSERT_FALSE(test::as_reply(say("BOGUS"))->close_after);
}

// Junk commands ------------------------------------------------------------------

TEST_F(AbuseTest, JunkCommandThatReachesTheLimitIs421_4_7_0AndCloses) {
  ListenerPolicy policy = test::sample_policy();
  policy.junk_command_limit = 5;
  start(policy);
  ehlo();
  for (const char* line : {"NOOP", "RSET", "VRFY someone", "HELP"}) {
    const Action action = say(line);
    ASSERT_TRUE(test::as_reply(action));
    ASSERT_FALSE(test::as_reply(action)->close_after) << line;
  }
  const Action fifth = say("NOOP");
  ASSERT_TRUE(IsReply(fifth, 421, es(4, 7, 0)));
  EXPECT_TRUE(ClosesProperly(fifth));
}

TEST_F(AbuseTest, DefaultJunkCommandLimitIs100) {
  ehlo();
  for (int i = 1; i < 100; ++i) ASSERT_TRUE(IsReply(say("NOOP"), 250, es(2, 0, 0))) << i;
  EXPECT_TRUE(IsReply(say("NOOP"), 421, es(4, 7, 0)));
}

TEST_F(AbuseTest, UnknownCommandsAreJunkAsWellAsErrors) {
  ListenerPolicy policy = test::sample_policy();
  policy.junk_command_limit = 2;
  start(policy);
  EXPECT_TRUE(IsReply(say("XYZZY"), 500, es(5, 5, 1)));
  EXPECT_TRUE(IsReply(say("XYZZY"), 421, es(4, 7, 0)));
}

TEST_F(AbuseTest, EachAcceptedMessageStartsTheJunkCountAnew) {
  ListenerPolicy policy = test::sample_policy();
  policy.junk_command_limit = 3;
  start(policy);
  ehlo();
  for (int message = 0; message < 4; ++message) {
    ASSERT_TRUE(IsReply(say("NOOP"), 250, es(2, 0, 0)));
    ASSERT_TRUE(IsReply(say("RSET"), 250, es(2, 0, 0)));
    ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
    ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
    ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
    ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("DATA")));
    BodySummary body;
    body.octets = 10;
    ASSERT_TRUE(std::holds_alternative<CommitMessage>(s().on_body_complete(body)));
    ASSERT_TRUE(IsReply(s().on_committed("Q"), 250, es(2, 6, 0)));
  }
}

TEST_F(AbuseTest, RepeatedEmptyBdatChunksAreJunk) {
  ListenerPolicy policy = test::sample_policy();
  policy.junk_command_limit = 3;
  start(policy);
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 0")));
    ASSERT_TRUE(IsReply(s().on_body_complete(BodySummary{}), 250, es(2, 0, 0)));
  }
  const Action third = say("BDAT 0");
  ASSERT_TRUE(IsReply(third, 421, es(4, 7, 0)));
  EXPECT_TRUE(ClosesProperly(third));
  EXPECT_TRUE(test::as_reply(third)->discard_message);  // the spool file begun for the chunks
}

TEST_F(AbuseTest, BdatZeroLastIsNotJunk) {
  ListenerPolicy policy = test::sample_policy();
  policy.junk_command_limit = 1;
  start(policy);
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  ASSERT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 3")));
  ASSERT_TRUE(IsReply(s().on_body_complete(BodySummary{3}), 250, es(2, 0, 0)));
  EXPECT_TRUE(std::holds_alternative<ReceiveBody>(say("BDAT 0 LAST")));
}

// Protocol synchronization -------------------------------------------------------

TEST_F(AbuseTest, EarlyTalkerGets554_5_5_0Then421AndClose) {
  start(test::sample_policy(), /*spoke_first=*/true);
  ASSERT_TRUE(IsReply(greeting_, 554, es(5, 5, 0)));
  ASSERT_TRUE(test::as_reply(greeting_)->farewell);
  EXPECT_EQ(test::as_reply(greeting_)->farewell->status, es(4, 7, 0));
  EXPECT_TRUE(ClosesProperly(greeting_));
  EXPECT_EQ(s().phase(), Phase::Closing);
}

TEST_F(AbuseTest, EarlyTalkerIsGreetedWhereTheVirtualServerAllowsIt) {
  ListenerPolicy policy = test::sample_policy();
  policy.allow_unsynchronized_clients = true;
  start(policy, /*spoke_first=*/true);
  EXPECT_TRUE(IsReply(greeting_, 220, std::nullopt));
}

TEST_F(AbuseTest, CommandPipelinedBehindHeloIs503_5_5_0) {
  // HELO advertises no PIPELINING (RFC 2920 3.1).
  ASSERT_TRUE(IsReply(say("HELO client.example"), 250, std::nullopt));
  EXPECT_TRUE(IsReply(s().on_command(pipelined("MAIL FROM:<a@sender.example>")), 503, es(5, 5, 0)));
  EXPECT_EQ(s().phase(), Phase::Ready);
}

TEST_F(AbuseTest, CommandPipelinedBeforeAnyHeloIs503_5_5_0) {
  EXPECT_TRUE(IsReply(say("BOGUS"), 500, es(5, 5, 1)));
  EXPECT_TRUE(IsReply(s().on_command(pipelined("EHLO client.example")), 503, es(5, 5, 0)));
}

TEST_F(AbuseTest, WholeGroupPipelinedBehindEhloIs503_5_5_0) {
  ehlo();
  EXPECT_TRUE(IsReply(s().on_command(pipelined("MAIL FROM:<a@sender.example>")), 503, es(5, 5, 0)));
  EXPECT_TRUE(IsReply(s().on_command(pipelined("RCPT TO:<user@example.com>")), 503, es(5, 5, 0)));
  EXPECT_TRUE(IsReply(s().on_command(pipelined("DATA")), 503, es(5, 5, 0)));
  // The client waited this time.
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
}

TEST_F(AbuseTest, PipeliningAfterEhloWasAnsweredIsAccepted) {
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  EXPECT_TRUE(std::holds_alternative<CheckRecipient>(s().on_command(pipelined("RCPT TO:<user@example.com>"))));
  ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  EXPECT_TRUE(std::holds_alternative<ReceiveBody>(s().on_command(pipelined("DATA"))));
}

TEST_F(AbuseTest, CommandPipelinedBehindNoopIs503_5_5_0) {
  ehlo();
  ASSERT_TRUE(IsReply(say("NOOP"), 250, es(2, 0, 0)));
  EXPECT_TRUE(IsReply(s().on_command(pipelined("MAIL FROM:<a@sender.example>")), 503, es(5, 5, 0)));
}

TEST_F(AbuseTest, PipelinedQuitIsNeverRefused) {
  ASSERT_TRUE(IsReply(say("HELO client.example"), 250, std::nullopt));
  EXPECT_TRUE(IsReply(s().on_command(pipelined("QUIT")), 221, es(2, 0, 0)));
}

TEST_F(AbuseTest, ContentBeforeThe354Gets554_5_5_0Then421AndClose) {
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  Command data = cmd("DATA");
  data.input_follows = true;
  const Action action = s().on_command(data);
  ASSERT_TRUE(IsReply(action, 554, es(5, 5, 0)));
  EXPECT_TRUE(ClosesProperly(action));
}

TEST_F(AbuseTest, PipelinedClientsAreServedWhereTheVirtualServerAllowsIt) {
  ListenerPolicy policy = test::sample_policy();
  policy.allow_unsynchronized_clients = true;
  start(policy);
  ASSERT_TRUE(IsReply(say("HELO client.example"), 250, std::nullopt));
  EXPECT_TRUE(IsReply(s().on_command(pipelined("MAIL FROM:<a@sender.example>")), 250, es(2, 1, 0)));
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  Command data = cmd("DATA");
  data.input_follows = true;
  EXPECT_TRUE(std::holds_alternative<ReceiveBody>(s().on_command(data)));
}

// HTTP and proxy requests ------------------------------------------------------

TEST_F(AbuseTest, HttpAndProxyRequestsAre421_4_7_0AndClose) {
  for (const char* line : {"GET / HTTP/1.1", "POST /form HTTP/1.0", "CONNECT mail.example:25 HTTP/1.1",
                           "Host: bh1.example.com", "User-Agent: curl/7.88", "head / HTTP/1.1"}) {
    start();
    const Action action = say(line);
    ASSERT_TRUE(IsReply(action, 421, es(4, 7, 0))) << line;
    EXPECT_TRUE(ClosesProperly(action)) << line;
  }
}

TEST_F(AbuseTest, HttpRequestInsideATransactionEndsItToo) {
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
  EXPECT_TRUE(IsReply(say("GET / HTTP/1.1"), 421, es(4, 7, 0)));
  EXPECT_FALSE(s().in_transaction());
}

// Replies -------------------------------------------------------------------------

TEST_F(AbuseTest, NullSenderWithASecondRecipientIs550_5_5_3) {
  ehlo();
  ASSERT_TRUE(IsReply(say("MAIL FROM:<>"), 250, es(2, 1, 0)));
  ASSERT_TRUE(std::holds_alternative<CheckRecipient>(say("RCPT TO:<user@example.com>")));
  ASSERT_TRUE(IsReply(s().on_recipient_checked(RecipientVerdict::accept()), 250, es(2, 1, 5)));
  EXPECT_TRUE(IsReply(say("RCPT TO:<other@example.com>"), 550, es(5, 5, 3)));
  EXPECT_EQ(s().envelope().recipients.size(), 1u);
}

TEST_F(AbuseTest, AuthResponseLineTooLongIs500_5_5_6AndTheSessionContinues) {
  ListenerPolicy policy = test::sample_policy();
  policy.auth_mechanisms = {"PLAIN"};
  policy.auth_without_tls = true;
  start(policy);
  ehlo();
  ASSERT_TRUE(std::holds_alternative<Authenticate>(say("AUTH PLAIN")));
  const Action action = s().on_auth_failed(AuthFailure::LineTooLong);
  ASSERT_TRUE(IsReply(action, 500, es(5, 5, 6)));
  EXPECT_FALSE(test::as_reply(action)->close_after);
  EXPECT_TRUE(IsReply(say("MAIL FROM:<a@sender.example>"), 250, es(2, 1, 0)));
}

TEST_F(AbuseTest, TimeoutShutdownAndQuitCloseWith421Or221) {
  EXPECT_TRUE(ClosesProperly(s().on_timeout()));
  start();
  EXPECT_TRUE(ClosesProperly(s().on_shutdown()));
  start();
  EXPECT_TRUE(ClosesProperly(say("QUIT")));
}

}  // namespace
}  // namespace gw::smtp
