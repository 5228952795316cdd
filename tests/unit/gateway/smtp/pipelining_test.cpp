// PIPELINING (RFC 2920) and the parsers and session working together, driven by
// a synchronous stand-in for the connection driver: whole client scripts go in,
// the replies come out in order, and what would be spooled is checked.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/smtp/command.h"
#include "gateway/smtp/data_parser.h"
#include "gateway/smtp/session.h"
#include "tests/unit/gateway/smtp/session_test_support.h"

namespace gw::smtp {
namespace {

using test::es;

// Performs the actions the way gateway/server does, without sockets. Recipients
// called "nobody" are unknown (550 5.1.1).
class ScriptDriver {
 public:
  explicit ScriptDriver(ListenerPolicy policy = test::sample_policy(), PeerInfo peer = test::internet_peer())
      : session_(std::move(policy), std::move(peer)) {
    perform(session_.on_connect());
  }

  // Feeds client octets in pieces of at most `piece` octets.
  void feed(std::string_view input, std::size_t piece = std::string_view::npos) {
    while (!input.empty() && !closed_) {
      std::string_view chunk = input.substr(0, piece);
      const std::size_t used = consume(chunk);
      input.remove_prefix(used);
    }
  }

  const std::vector<Reply>& replies() const { return replies_; }
  const std::vector<std::string>& committed() const { return committed_; }
  bool closed() const { return closed_; }

  std::vector<int> codes() const {
    std::vector<int> out;
    for (const auto& r : replies_) out.push_back(r.code);
    return out;
  }

 private:
  std::size_t consume(std::string_view chunk) {
    if (discard_left_ > 0) {
      const std::size_t n = std::min<std::size_t>(discard_left_, chunk.size());
      discard_left_ -= n;
      if (discard_left_ == 0) flush_discard_reply();
      return n;
    }
    if (receiving_) {
      const std::size_t n = data_.put(chunk, spool_);
      if (data_.done()) {
        receiving_ = false;
        perform(session_.on_body_complete(data_.summary()));
      }
      return n;
    }
    const std::size_t n = parser_.put(chunk);
    if (parser_.ready()) perform(session_.on_command(parser_.take()));
    return n;
  }

  void flush_discard_reply() {
    replies_.push_back(discard_reply_);
    if (discard_close_) closed_ = true;
  }

  void perform(const Action& action) {
    if (const auto* send = std::get_if<SendReply>(&action)) {
      replies_.push_back(send->reply);
      if (send->discard_message) spool_.clear();
      if (send->close_after) closed_ = true;
    } else if (const auto* check = std::get_if<CheckRecipient>(&action)) {
      const RecipientVerdict verdict = check->recipient.local_part() == "nobody"
                                           ? RecipientVerdict::reject(550, es(5, 1, 1), "User unknown")
                                           : RecipientVerdict::accept();
      perform(session_.on_recipient_checked(verdict));
    } else if (const auto* body = std::get_if<ReceiveBody>(&action)) {
      if (body->reply) replies_.push_back(*body->reply);
      if (body->first_chunk) {
        data_ = DataParser(body->limits);
        spool_.clear();
      }
      receiving_ = true;
      if (body->mode == BodyMode::Data) {
        data_.begin_data();
      } else {
        data_.begin_chunk(body->chunk_size, body->last_chunk);
        if (data_.done()) {
          receiving_ = false;
          perform(session_.on_body_complete(data_.summary()));
        }
      }
    } else if (const auto* discard = std::get_if<DiscardBody>(&action)) {
      discard_left_ = discard->octets;
      discard_reply_ = discard->reply;
      discard_close_ = discard->close_after;
      if (discard_left_ == 0) flush_discard_reply();
    } else if (std::holds_alternative<CommitMessage>(action)) {
      committed_.push_back(spool_);
      spool_.clear();
      perform(session_.on_committed("Q" + std::to_string(committed_.size())));
    } else {
      ADD_FAILURE() << "unexpected action " << action.index();
    }
  }

  Session session_;
  CommandParser parser_;
  DataParser data_;
  bool receiving_ = false;
  std::string spool_;
  std::uint64_t discard_left_ = 0;
  Reply discard_reply_;
  bool discard_close_ = false;
  std::vector<Reply> replies_;
  std::vector<std::string> committed_;
  bool closed_ = false;
};

const std::string kPipelinedScript =
    "EHLO client.example\r\n"
    "MAIL FROM:<sender@sender.example>\r\n"
    "RCPT TO:<alice@example.com>\r\n"
    "RCPT TO:<nobody@example.com>\r\n"
    "RCPT TO:<victim@remote.example>\r\n"
    "RCPT TO:<bob@example.net>\r\n"
    "DATA\r\n"
    "Subject: pipelined\r\n"
    "\r\n"
    "..leading dot\r\n"
    ".\r\n"
    "QUIT\r\n";

TEST(Pipelining, BatchGetsEveryReplyInCommandOrder) {
  ScriptDriver driver;
  driver.feed(kPipelinedScript);
  EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 250, 550, 550, 250, 354, 250, 221}));
  EXPECT_EQ(driver.replies()[4].status, es(5, 1, 1));
  EXPECT_EQ(driver.replies()[5].status, es(5, 7, 1));
  EXPECT_EQ(driver.replies()[8].status, es(2, 6, 0));
  ASSERT_EQ(driver.committed().size(), 1u);
  EXPECT_EQ(driver.committed()[0], "Subject: pipelined\r\n\r\n.leading dot\r\n");
  EXPECT_TRUE(driver.closed());
}

TEST(Pipelining, SameOutcomeWhenTheClientSendsOneOctetAtATime) {
  ScriptDriver whole;
  whole.feed(kPipelinedScript);
  ScriptDriver bytewise;
  bytewise.feed(kPipelinedScript, 1);
  EXPECT_EQ(bytewise.replies(), whole.replies());
  EXPECT_EQ(bytewise.committed(), whole.committed());
}

TEST(Pipelining, SameOutcomeForEveryPieceSize) {
  ScriptDriver whole;
  whole.feed(kPipelinedScript);
  for (std::size_t piece = 2; piece < 64; ++piece) {
    ScriptDriver split;
    split.feed(kPipelinedScript, piece);
    EXPECT_EQ(split.replies(), whole.replies()) << "piece " << piece;
    EXPECT_EQ(split.committed(), whole.committed()) << "piece " << piece;
  }
}

TEST(Pipelining, SeveralMessagesInOneConnection) {
  ScriptDriver driver;
  driver.feed(
      "EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<x@example.com>\r\nDATA\r\none\r\n.\r\n"
      "MAIL FROM:<b@sender.example>\r\nRCPT TO:<y@example.com>\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 250, 354, 250, 250, 250, 354, 250, 221}));
  EXPECT_EQ(driver.committed(), (std::vector<std::string>{"one\r\n", "two\r\n"}));
}

// SMTP smuggling end to end: the "second message" hidden behind a bare-LF end of
// data is content, never commands; the whole message is refused afterwards.
TEST(Pipelining, SmuggledMessageIsNeitherExecutedNorAccepted) {
  for (const char* fake_end : {"\n.\n", "\r.\r", "\r.\n", "\n.\r\n", "\r\n.\n"}) {
    ScriptDriver driver;
    driver.feed(std::string("EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"
                            "Subject: first\r\n\r\nfirst") +
                fake_end +
                "MAIL FROM:<admin@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
                "Subject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n");
    EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 250, 354, 554, 221})) << "fake end " << fake_end;
    EXPECT_EQ(driver.replies()[5].status, es(5, 6, 0));
    EXPECT_TRUE(driver.committed().empty());
  }
}

TEST(Pipelining, BdatChunksPipelinedWithTheirData) {
  ScriptDriver driver;
  driver.feed(
      "EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<x@example.com>\r\n"
      "BDAT 5\r\nhelloBDAT 8 LAST\r\n world\r\nQUIT\r\n");
  EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 250, 250, 250, 221}));
  EXPECT_EQ(driver.replies()[4].lines.front(), "5 octets received");
  EXPECT_EQ(driver.replies()[5].status, es(2, 6, 0));
  EXPECT_EQ(driver.committed(), (std::vector<std::string>{"hello world\r\n"}));
}

TEST(Pipelining, BdatContentIsNotUnstuffedOrEndedByADotLine) {
  ScriptDriver driver;
  const std::string content = "..a\r\n.\r\n";
  driver.feed("EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<x@example.com>\r\nBDAT " +
              std::to_string(content.size()) + " LAST\r\n" + content + "QUIT\r\n");
  EXPECT_EQ(driver.committed(), (std::vector<std::string>{content}));
}

TEST(Pipelining, RefusedBdatChunkIsSkippedNotReadAsCommands) {
  ScriptDriver driver;
  const std::string chunk = "QUIT\r\n";
  driver.feed("EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<nobody@example.com>\r\nBDAT " +
              std::to_string(chunk.size()) + " LAST\r\n" + chunk + "NOOP\r\n");
  EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 550, 554, 250}));
  EXPECT_FALSE(driver.closed());
}

TEST(Pipelining, BdatZeroLastAfterChunks) {
  ScriptDriver driver;
  driver.feed("EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<x@example.com>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\n");
  EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 250, 250, 250}));
  EXPECT_EQ(driver.committed(), (std::vector<std::string>{"abc"}));
}

TEST(Pipelining, OversizedDataIsDrainedAndRefusedWith552_5_3_4) {
  ListenerPolicy policy = test::sample_policy();
  policy.max_message_size = 16;
  ScriptDriver driver(policy);
  driver.feed("EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n" +
              std::string(100, 'x') + "\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 250, 354, 552, 250}));
  EXPECT_EQ(driver.replies()[5].status, es(5, 3, 4));
  EXPECT_TRUE(driver.committed().empty());
}

TEST(Pipelining, TooManyHopsIsRefusedWith554_5_4_6) {
  ListenerPolicy policy = test::sample_policy();
  policy.max_hop_count = 3;
  ScriptDriver driver(policy);
  driver.feed(
      "EHLO c\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"
      "Received: a\r\nReceived: b\r\nReceived: c\r\n\r\nloop\r\n.\r\n");
  EXPECT_EQ(driver.codes(), (std::vector<int>{220, 250, 250, 250, 354, 554}));
  EXPECT_EQ(driver.replies()[5].status, es(5, 4, 6));
}

}  // namespace
}  // namespace gw::smtp
