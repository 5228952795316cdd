#include "gateway/delivery/client_session.h"

#include <deque>

#include <gtest/gtest.h>

namespace gw::delivery {
namespace {

// Plays a peer from a list of reply texts: every Write is recorded in the
// transcript and every reply is fed to the session one octet at a time through
// a ReplyParser, as the driver would.
class ScriptedPeer {
 public:
  explicit ScriptedPeer(std::vector<std::string> replies) : replies_(replies.begin(), replies.end()) {}

  // Runs until the session is idle (Ready) or closed.
  Action run(ClientSession& session, Action action) {
    for (;;) {
      if (std::holds_alternative<Ready>(action) || std::holds_alternative<Close>(action)) return action;
      if (auto* write = std::get_if<Write>(&action)) {
        transcript += write->sensitive ? "C: <sensitive>\r\n" : "C: " + write->bytes;
        writes.push_back(write->bytes);
        action = reply(session);
      } else if (std::holds_alternative<ReadReply>(action)) {
        action = reply(session);
      } else if (std::holds_alternative<StartTls>(action)) {
        transcript += "-- TLS --\r\n";
        action = session.on_tls_result(tls_succeeds);
      } else if (auto* body = std::get_if<SendBody>(&action)) {
        transcript += body->encoding == BodyEncoding::Data ? "C: <content>.\r\n" : "C: BDAT 10 LAST<content>\r\n";
        action = session.on_body_sent(body->encoding == BodyEncoding::Bdat ? 1 : 0);
      }
    }
  }

  std::string transcript;
  std::vector<std::string> writes;
  bool tls_succeeds = true;

 private:
  Action reply(ClientSession& session) {
    for (;;) {
      if (auto next = parser_.next()) return session.on_reply(next->value());
      if (replies_.empty()) return session.on_connection_lost("connection reset by peer");
      const std::string text = replies_.front();
      replies_.pop_front();
      for (char c : text) parser_.put(std::string_view(&c, 1));
    }
  }

  std::deque<std::string> replies_;
  ReplyParser parser_;
};

const std::string kGreeting = "220 mx.example.com ESMTP\r\n";
const std::string kEhloPipelining = "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 ENHANCEDSTATUSCODES\r\n";

OutboundMessage message_to(std::vector<std::string> recipients, std::uint64_t size = 100) {
  OutboundMessage message;
  message.sender = "alice@example.com";
  message.size = size;
  for (auto& address : recipients) message.recipients.push_back({address, "", ""});
  return message;
}

SessionOptions options(TlsPolicy tls = TlsPolicy::Never, Protocol protocol = Protocol::Smtp) {
  SessionOptions o;
  o.helo_name = "bh1.example.com";
  o.tls = tls;
  o.protocol = protocol;
  return o;
}

void expect_result(const RecipientResult& r, Outcome outcome, int code, std::string_view status) {
  EXPECT_EQ(r.outcome, outcome) << r.address << ": " << r.text;
  EXPECT_EQ(r.code, code) << r.address;
  EXPECT_EQ(r.status.str(), status) << r.address;
}

TEST(ClientSession, PipelinesMailRecipientsAndDataInOneWrite) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n",
                     "250 2.0.0 queued as 1234\r\n"});
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.start())));
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.send(message_to({"b@x.org", "c@x.org"})))));
  ASSERT_GE(peer.writes.size(), 2u);
  EXPECT_EQ(peer.writes[1],
            "MAIL FROM:<alice@example.com> SIZE=100\r\nRCPT TO:<b@x.org>\r\nRCPT TO:<c@x.org>\r\nDATA\r\n");
  auto result = session.take_result();
  ASSERT_TRUE(result);
  ASSERT_EQ(result->recipients.size(), 2u);
  expect_result(result->recipients[0], Outcome::Delivered, 250, "2.0.0");
  expect_result(result->recipients[1], Outcome::Delivered, 250, "2.0.0");
}

TEST(ClientSession, WithoutPipeliningEachCommandWaitsForItsReply) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, "250 mx.example.com\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n"});
  peer.run(session, session.start());
  peer.run(session, session.send(message_to({"b@x.org"})));
  EXPECT_EQ(peer.writes, (std::vector<std::string>{"EHLO bh1.example.com\r\n", "MAIL FROM:<alice@example.com>\r\n",
                                                    "RCPT TO:<b@x.org>\r\n", "DATA\r\n"}));
  auto result = session.take_result();
  ASSERT_TRUE(result);
  expect_result(result->recipients[0], Outcome::Delivered, 250, "2.0.0");
}

TEST(ClientSession, RefusedRecipientGetsItsOwnReplyAndTheOthersAreDelivered) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining,
                     "250 2.1.0 ok\r\n550 5.1.1 no such user\r\n451 4.2.0 greylisted\r\n250 2.1.5 ok\r\n354 go\r\n",
                     "250 2.0.0 queued\r\n"});
  peer.run(session, session.start());
  peer.run(session, session.send(message_to({"gone@x.org", "grey@x.org", "ok@x.org"})));
  auto result = session.take_result();
  ASSERT_TRUE(result);
  expect_result(result->recipients[0], Outcome::Permanent, 550, "5.1.1");
  expect_result(result->recipients[1], Outcome::Transient, 451, "4.2.0");
  expect_result(result->recipients[2], Outcome::Delivered, 250, "2.0.0");
}

TEST(ClientSession, RefusedSenderFailsEveryRecipientWithTheMailReply) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining,
                     "553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n554 5.5.1 no valid recipients\r\n"});
  peer.run(session, session.start());
  peer.run(session, session.send(message_to({"a@x.org", "b@x.org"})));
  auto result = session.take_result();
  ASSERT_TRUE(result);
  expect_result(result->recipients[0], Outcome::Permanent, 553, "5.7.1");
  expect_result(result->recipients[1], Outcome::Permanent, 553, "5.7.1");
}

TEST(ClientSession, ReusedConnectionResetsAFailedTransactionFirst) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining, "250 2.1.0 ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no recipients\r\n",
                     "250 2.0.0 reset\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n", "250 2.0.0 queued\r\n"});
  peer.run(session, session.start());
  peer.run(session, session.send(message_to({"gone@x.org"})));
  expect_result(session.take_result()->recipients[0], Outcome::Permanent, 550, "5.1.1");
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.send(message_to({"ok@x.org"})))));
  EXPECT_TRUE(peer.writes.back().starts_with("RSET\r\nMAIL FROM:<alice@example.com>"));
  expect_result(session.take_result()->recipients[0], Outcome::Delivered, 250, "2.0.0");
  EXPECT_EQ(session.messages_sent(), 2u);
}

TEST(ClientSession, LmtpGivesOneResultPerAcceptedRecipientAfterTheDot) {
  ClientSession session(options(TlsPolicy::Never, Protocol::Lmtp));
  ScriptedPeer peer({"220 mbx1 LMTP\r\n", "250-mbx1\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n",
                     "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 unknown\r\n250 2.1.5 ok\r\n354 go\r\n",
                     "250 2.0.0 <a> saved\r\n452 4.2.2 mailbox full\r\n"});
  peer.run(session, session.start());
  EXPECT_EQ(peer.writes[0], "LHLO bh1.example.com\r\n");
  peer.run(session, session.send(message_to({"a@x.org", "gone@x.org", "full@x.org"})));
  auto result = session.take_result();
  ASSERT_TRUE(result);
  expect_result(result->recipients[0], Outcome::Delivered, 250, "2.0.0");
  expect_result(result->recipients[1], Outcome::Permanent, 550, "5.1.1");
  expect_result(result->recipients[2], Outcome::Transient, 452, "4.2.2");
}

TEST(ClientSession, RequiredTlsWithoutStarttlsIsTransient474AndNothingIsSent) {
  ClientSession session(options(TlsPolicy::Required));
  ScriptedPeer peer({kGreeting, kEhloPipelining, "221 bye\r\n"});
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.start())));
  EXPECT_EQ(peer.writes, (std::vector<std::string>{"EHLO bh1.example.com\r\n", "QUIT\r\n"}));
  ASSERT_TRUE(session.failure());
  EXPECT_EQ(session.failure()->outcome, Outcome::Transient);
  EXPECT_EQ(session.failure()->status.str(), "4.7.4");
  // A message handed to the closed connection is not sent and waits.
  session.send(message_to({"b@x.mil"}));
  auto result = session.take_result();
  ASSERT_TRUE(result);
  expect_result(result->recipients[0], Outcome::Transient, session.failure()->code, "4.7.4");
  EXPECT_EQ(peer.writes.size(), 2u);
}

TEST(ClientSession, RequiredTlsRefusedByThePeerIsTransient474) {
  ClientSession session(options(TlsPolicy::Required));
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 TLS not available\r\n", "221 bye\r\n"});
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.start())));
  ASSERT_TRUE(session.failure());
  EXPECT_EQ(session.failure()->status.str(), "4.7.4");
  EXPECT_FALSE(session.tls_active());
}

TEST(ClientSession, StarttlsIsFollowedByASecondEhlo) {
  ClientSession session(options(TlsPolicy::Opportunistic));
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "220 2.0.0 go ahead\r\n", "250-mx\r\n250 PIPELINING\r\n"});
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.start())));
  EXPECT_EQ(peer.transcript,
            "C: EHLO bh1.example.com\r\nC: STARTTLS\r\n-- TLS --\r\nC: EHLO bh1.example.com\r\n");
  EXPECT_TRUE(session.tls_active());
  EXPECT_TRUE(session.capabilities().pipelining);
  EXPECT_FALSE(session.capabilities().starttls);
}

TEST(ClientSession, FailedOpportunisticHandshakeAsksForAPlaintextRetry) {
  ClientSession session(options(TlsPolicy::Opportunistic));
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "220 go ahead\r\n"});
  peer.tls_succeeds = false;
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.start())));
  ASSERT_TRUE(session.failure());
  EXPECT_TRUE(session.failure()->retry_without_tls);
  EXPECT_EQ(session.failure()->status.str(), "4.7.4");
}

TEST(ClientSession, MessageLargerThanPeerSizeIsPermanent534WithoutMail) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining});
  peer.run(session, session.start());
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.send(message_to({"b@x.org"}, 1001)))));
  EXPECT_EQ(peer.writes.size(), 1u);  // EHLO only
  auto result = session.take_result();
  ASSERT_TRUE(result);
  expect_result(result->recipients[0], Outcome::Permanent, 552, "5.3.4");
}

TEST(ClientSession, DsnParametersArePassedOnWhenOffered) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, "250-mx\r\n250-PIPELINING\r\n250-DSN\r\n250-8BITMIME\r\n250 SIZE\r\n",
                     "250 ok\r\n250 ok\r\n354 go\r\n", "250 ok\r\n"});
  peer.run(session, session.start());
  auto message = message_to({"b@x.org"});
  message.recipients[0].notify = "SUCCESS,FAILURE";
  message.recipients[0].orcpt = "B+1@x.org";
  message.ret = "HDRS";
  message.envid = "id=42";
  message.body = BodyType::EightBitMime;
  peer.run(session, session.send(message));
  EXPECT_EQ(peer.writes[1],
            "MAIL FROM:<alice@example.com> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=id+3D42\r\n"
            "RCPT TO:<b@x.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B+2B1@x.org\r\nDATA\r\n");
}

TEST(ClientSession, DsnParametersAreLeftOutWhenNotOffered) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining, "250 ok\r\n250 ok\r\n354 go\r\n", "250 ok\r\n"});
  peer.run(session, session.start());
  auto message = message_to({"b@x.org"});
  message.recipients[0].notify = "NEVER";
  message.ret = "FULL";
  peer.run(session, session.send(message));
  EXPECT_EQ(peer.writes[1], "MAIL FROM:<alice@example.com> SIZE=100\r\nRCPT TO:<b@x.org>\r\nDATA\r\n");
  auto result = session.take_result();
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->peer_offers_dsn);  // the queue owes NOTIFY=SUCCESS senders a "relayed" DSN
}

TEST(ClientSession, ChunkingSendsTheContentWithBdatInsteadOfData) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", "250 ok\r\n250 ok\r\n",
                     "250 2.0.0 queued\r\n"});
  peer.run(session, session.start());
  peer.run(session, session.send(message_to({"b@x.org"})));
  EXPECT_EQ(peer.writes[1], "MAIL FROM:<alice@example.com>\r\nRCPT TO:<b@x.org>\r\n");
  EXPECT_NE(peer.transcript.find("BDAT 10 LAST"), std::string::npos);
  EXPECT_EQ(peer.transcript.find("DATA"), std::string::npos);
  expect_result(session.take_result()->recipients[0], Outcome::Delivered, 250, "2.0.0");
}

TEST(ClientSession, EhloRefusedFallsBackToHelo) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, "502 5.5.2 command not recognized\r\n", "250 mx\r\n"});
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.start())));
  EXPECT_EQ(peer.writes, (std::vector<std::string>{"EHLO bh1.example.com\r\n", "HELO bh1.example.com\r\n"}));
  EXPECT_FALSE(session.capabilities().pipelining);
}

TEST(ClientSession, ConnectorSayingHeloSendsHeloFirst) {
  auto o = options();
  o.use_helo = true;
  ClientSession session(o);
  ScriptedPeer peer({kGreeting, "250 mx\r\n"});
  peer.run(session, session.start());
  EXPECT_EQ(peer.writes, std::vector<std::string>{"HELO bh1.example.com\r\n"});
}

TEST(ClientSession, AuthPlainSendsOneToken) {
  auto o = options();
  o.credentials = Credentials{"relay", "secret"};
  ClientSession session(o);
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n", "235 2.7.0 ok\r\n"});
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.start())));
  EXPECT_EQ(peer.writes[1], "AUTH PLAIN AHJlbGF5AHNlY3JldA==\r\n");  // "\0relay\0secret"
  EXPECT_TRUE(session.authenticated());
  EXPECT_EQ(peer.transcript.find("AHJlbGF5"), std::string::npos) << "payload must not reach the log";
}

TEST(ClientSession, AuthLoginAnswersBothChallenges) {
  auto o = options();
  o.credentials = Credentials{"relay", "secret"};
  ClientSession session(o);
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
                     "235 2.7.0 ok\r\n"});
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.start())));
  EXPECT_EQ(peer.writes, (std::vector<std::string>{"EHLO bh1.example.com\r\n", "AUTH LOGIN\r\n", "cmVsYXk=\r\n",
                                                    "c2VjcmV0\r\n"}));
}

TEST(ClientSession, APeerOfferingNoPasswordMechanismIs454_4_7_0AndGetsNoCredentials) {
  auto o = options();
  o.credentials = Credentials{"relay", "secret"};
  ClientSession session(o);
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 AUTH CRAM-MD5 GSSAPI\r\n", "221 bye\r\n"});
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.start())));
  ASSERT_TRUE(session.failure());
  EXPECT_EQ(session.failure()->code, 454);
  EXPECT_EQ(session.failure()->status.str(), "4.7.0");
  EXPECT_NE(session.failure()->text.find("no common AUTH mechanism"), std::string::npos) << session.failure()->text;
  EXPECT_EQ(peer.writes, (std::vector<std::string>{"EHLO bh1.example.com\r\n", "QUIT\r\n"}));
}

TEST(ClientSession, AChallengeThatIsNotBase64IsCancelledWithAStar) {
  auto o = options();
  o.credentials = Credentials{"relay", "secret"};
  ClientSession session(o);
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 AUTH LOGIN\r\n", "334 not*base64!\r\n",
                     "501 5.7.0 authentication cancelled\r\n", "221 bye\r\n"});
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.start())));
  EXPECT_EQ(peer.writes[2], "*\r\n");
  ASSERT_TRUE(session.failure());
  EXPECT_EQ(session.failure()->outcome, Outcome::Transient);
}

TEST(ClientSession, RefusedAuthenticationIsTransientForTheMessage) {
  auto o = options();
  o.credentials = Credentials{"relay", "wrong"};
  ClientSession session(o);
  ScriptedPeer peer({kGreeting, "250-mx\r\n250 AUTH PLAIN\r\n", "535 5.7.8 bad credentials\r\n", "221 bye\r\n"});
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.start())));
  ASSERT_TRUE(session.failure());
  EXPECT_EQ(session.failure()->outcome, Outcome::Transient);
  EXPECT_EQ(session.failure()->status.str(), "4.7.8");
}

TEST(ClientSession, NoGreetingIsHostNotResponding441) {
  ClientSession session(options());
  ScriptedPeer peer({});
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.start())));
  ASSERT_TRUE(session.failure());
  EXPECT_EQ(session.failure()->status.str(), "4.4.1");
}

TEST(ClientSession, DropAfterTheDotIsInsideTheAtLeastOnceWindowAndTransient442) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining, "250 ok\r\n250 ok\r\n354 go\r\n"});
  peer.run(session, session.start());
  // Stop right after the content went out, as the driver would before reading.
  Action action = session.send(message_to({"b@x.org"}));
  action = peer.run(session, action);
  auto result = session.take_result();
  ASSERT_TRUE(result);
  expect_result(result->recipients[0], Outcome::Transient, 451, "4.4.2");
  EXPECT_FALSE(session.in_at_least_once_window());
}

TEST(ClientSession, WindowIsOpenOnlyBetweenTheDotAndItsReply) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining});
  peer.run(session, session.start());
  Action action = session.send(message_to({"b@x.org"}));
  EXPECT_FALSE(session.in_at_least_once_window());
  for (const char* text : {"250 ok\r\n", "250 ok\r\n", "354 go\r\n"}) {
    ReplyParser parser;
    parser.put(text);
    action = session.on_reply(parser.next()->value());
  }
  ASSERT_TRUE(std::holds_alternative<SendBody>(action));
  action = session.on_body_sent(0);
  EXPECT_TRUE(session.in_at_least_once_window());
  ReplyParser parser;
  parser.put("250 2.0.0 queued\r\n");
  action = session.on_reply(parser.next()->value());
  EXPECT_FALSE(session.in_at_least_once_window());
  EXPECT_TRUE(std::holds_alternative<Ready>(action));
}

TEST(ClientSession, DataAcceptedAfterEveryRecipientWasRefusedSendsAnEmptyEnd) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining, "250 ok\r\n550 5.1.1 unknown\r\n354 go\r\n", "554 no valid recipients\r\n"});
  peer.run(session, session.start());
  ASSERT_TRUE(std::holds_alternative<Ready>(peer.run(session, session.send(message_to({"gone@x.org"})))));
  EXPECT_EQ(peer.writes.back(), ".\r\n");  // RFC 2920 3.1: no content goes out
  EXPECT_EQ(peer.transcript.find("<content>"), std::string::npos);
  expect_result(session.take_result()->recipients[0], Outcome::Permanent, 550, "5.1.1");
}

TEST(ClientSession, LmtpWithBdatChunksReadsOneReplyPerChunkThenOnePerRecipient) {
  ClientSession session(options(TlsPolicy::Never, Protocol::Lmtp));
  ReplyParser parser;
  auto reply = [&](const char* text) {
    parser.put(text);
    return parser.next()->value();
  };
  session.start();
  session.on_reply(reply("220 mbx1\r\n"));
  ASSERT_TRUE(std::holds_alternative<Ready>(session.on_reply(reply("250-mbx1\r\n250-PIPELINING\r\n250 CHUNKING\r\n"))));
  session.send(message_to({"a@x.org", "b@x.org"}));
  session.on_reply(reply("250 ok\r\n"));
  session.on_reply(reply("250 ok\r\n"));
  ASSERT_TRUE(std::holds_alternative<SendBody>(session.on_reply(reply("250 ok\r\n"))));
  auto action = session.on_body_sent(3);
  // Two intermediate chunks, then the LAST chunk's replies, one per recipient.
  for (const char* text : {"250 2.0.0 chunk\r\n", "250 2.0.0 chunk\r\n", "250 2.0.0 a saved\r\n"}) {
    ASSERT_TRUE(std::holds_alternative<ReadReply>(action));
    action = session.on_reply(reply(text));
  }
  ASSERT_TRUE(std::holds_alternative<ReadReply>(action));
  EXPECT_TRUE(session.in_at_least_once_window());
  action = session.on_reply(reply("452 4.2.2 b over quota\r\n"));
  ASSERT_TRUE(std::holds_alternative<Ready>(action));
  auto result = session.take_result();
  expect_result(result->recipients[0], Outcome::Delivered, 250, "2.0.0");
  expect_result(result->recipients[1], Outcome::Transient, 452, "4.2.2");
}

TEST(ClientSession, SmtputfMessageToAPeerWithoutSmtputf8IsPermanent567) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining});
  peer.run(session, session.start());
  auto message = message_to({"b@x.org"});
  message.smtputf8 = true;
  peer.run(session, session.send(message));
  EXPECT_EQ(peer.writes.size(), 1u);
  expect_result(session.take_result()->recipients[0], Outcome::Permanent, 553, "5.6.7");
}

TEST(ClientSession, QuitEndsTheConnectionAfterTheReply) {
  ClientSession session(options());
  ScriptedPeer peer({kGreeting, kEhloPipelining, "221 2.0.0 bye\r\n"});
  peer.run(session, session.start());
  ASSERT_TRUE(std::holds_alternative<Close>(peer.run(session, session.quit())));
  EXPECT_EQ(peer.writes.back(), "QUIT\r\n");
  EXPECT_TRUE(session.closed());
}

}  // namespace
}  // namespace gw::delivery
