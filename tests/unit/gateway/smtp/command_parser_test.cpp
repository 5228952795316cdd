// Specification of CommandParser: line framing, limits and ESMTP parameters.
#include "gateway/smtp/command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gw::smtp {
namespace {

// Feeds `input` in pieces produced by `split` and returns every command.
std::vector<Command> feed(std::string_view input, const std::vector<std::size_t>& cuts) {
  CommandParser parser;
  std::vector<Command> commands;
  std::size_t begin = 0;
  std::vector<std::string_view> pieces;
  for (std::size_t cut : cuts) {
    pieces.push_back(input.substr(begin, cut - begin));
    begin = cut;
  }
  pieces.push_back(input.substr(begin));
  for (std::string_view piece : pieces) {
    while (!piece.empty()) {
      const std::size_t used = parser.put(piece);
      piece.remove_prefix(used);
      if (parser.ready()) commands.push_back(parser.take());
    }
  }
  return commands;
}

std::vector<Command> feed_whole(std::string_view input) { return feed(input, {}); }

std::vector<Command> feed_bytewise(std::string_view input) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return feed(input, cuts);
}

Command one(std::string_view line) {
  auto commands = feed_whole(line);
  EXPECT_EQ(commands.size(), 1u) << line;
  return commands.empty() ? Command{} : commands.front();
}

void expect_error(const Command& command, int code, EnhancedStatus status) {
  ASSERT_TRUE(command.error.has_value()) << command.line;
  EXPECT_EQ(command.error->code, code) << command.error->summary();
  EXPECT_EQ(command.error->status, status) << command.error->summary();
}

// The same command stream must give the same commands however it is cut.
void expect_split_invariant(std::string_view input) {
  const auto reference = feed_whole(input);
  const auto bytewise = feed_bytewise(input);
  ASSERT_EQ(bytewise.size(), reference.size());
  for (std::size_t i = 0; i < reference.size(); ++i) {
    EXPECT_EQ(bytewise[i].line, reference[i].line);
    EXPECT_EQ(bytewise[i].verb, reference[i].verb);
    EXPECT_EQ(bytewise[i].error, reference[i].error);
  }
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    const auto split = feed(input, {cut});
    ASSERT_EQ(split.size(), reference.size()) << "cut at " << cut;
    for (std::size_t i = 0; i < reference.size(); ++i) {
      EXPECT_EQ(split[i].line, reference[i].line) << "cut at " << cut;
      EXPECT_EQ(split[i].error, reference[i].error) << "cut at " << cut;
    }
  }
}

TEST(CommandParser, RecognizesVerbsCaseInsensitively) {
  EXPECT_EQ(one("ehlo client.example\r\n").verb, Verb::Ehlo);
  EXPECT_EQ(one("Mail From:<a@example.com>\r\n").verb, Verb::Mail);
  EXPECT_EQ(one("rCpT tO:<a@example.com>\r\n").verb, Verb::Rcpt);
  EXPECT_EQ(one("starttls\r\n").verb, Verb::StartTls);
  EXPECT_EQ(one("bdat 5 last\r\n").verb, Verb::Bdat);
}

TEST(CommandParser, UnknownVerbHasNoParseError) {
  const Command command = one("XYZZY plugh\r\n");
  EXPECT_EQ(command.verb, Verb::Unknown);
  EXPECT_FALSE(command.error.has_value());
}

TEST(CommandParser, ConsumesExactlyOneLineAndLeavesTheRest) {
  CommandParser parser;
  const std::string input = "NOOP\r\nDATA\r\nbody";
  EXPECT_EQ(parser.put(input), 6u);
  ASSERT_TRUE(parser.ready());
  EXPECT_EQ(parser.put(input.substr(6)), 0u) << "nothing consumed until take()";
  EXPECT_EQ(parser.take().verb, Verb::Noop);
  EXPECT_EQ(parser.put(std::string_view(input).substr(6)), 6u);
  EXPECT_EQ(parser.take().verb, Verb::Data);
}

TEST(CommandParser, PipelinedBatchGivesCommandsInOrder) {
  const auto commands = feed_whole(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
  ASSERT_EQ(commands.size(), 4u);
  EXPECT_EQ(commands[0].verb, Verb::Mail);
  EXPECT_EQ(commands[1].path.mailbox.str(), "b@example.com");
  EXPECT_EQ(commands[2].path.mailbox.str(), "c@example.com");
  EXPECT_EQ(commands[3].verb, Verb::Data);
}

TEST(CommandParser, SameResultFedByteByByteAndSplitAtEveryOffset) {
  expect_split_invariant(
      "EHLO client.example\r\nMAIL FROM:<\"q > x\"@example.com> SIZE=100 BODY=8BITMIME\r\n"
      "RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.com\r\n"
      "NOOP\nBDAT 10 LAST\r\nQUIT\r\n");
}

TEST(CommandParser, LineOf512OctetsIncludingCrlfIsAccepted) {
  const std::string line = "NOOP " + std::string(512 - 5 - 2, 'x') + "\r\n";
  ASSERT_EQ(line.size(), 512u);
  const Command command = one(line);
  EXPECT_EQ(command.verb, Verb::Noop);
  EXPECT_FALSE(command.error.has_value());
}

TEST(CommandParser, LineOf513OctetsIsTooLong) {
  const std::string line = "NOOP " + std::string(513 - 5 - 2, 'x') + "\r\n";
  const Command command = one(line);
  expect_error(command, 500, EnhancedStatus{5, 5, 2});
  EXPECT_TRUE(command.line_error);
  EXPECT_EQ(command.error->lines.front(), "Line too long");
}

TEST(CommandParser, VeryLongLineIsDiscardedUpToItsEndAndParsingResumes) {
  const std::string input = "NOOP " + std::string(100000, 'x') + "\r\nQUIT\r\n";
  for (const auto& commands : {feed_whole(input), feed_bytewise(input)}) {
    ASSERT_EQ(commands.size(), 2u);
    expect_error(commands[0], 500, EnhancedStatus{5, 5, 2});
    EXPECT_EQ(commands[1].verb, Verb::Quit);
    EXPECT_FALSE(commands[1].error.has_value());
  }
}

TEST(CommandParser, TooLongLineWithCrAtTheLimitIsStillTooLong) {
  const std::string line = std::string(511, 'x') + "\r\n";  // 513 octets
  expect_error(one(line), 500, EnhancedStatus{5, 5, 2});
}

TEST(CommandParser, BareLfLineIsRefused) {
  const Command command = one("NOOP\n");
  expect_error(command, 500, EnhancedStatus{5, 5, 2});
  EXPECT_TRUE(command.line_error);
}

TEST(CommandParser, BareCrInsideLineIsRefused) {
  const auto commands = feed_whole("MAIL FROM:<a@example.com>\rRCPT TO:<b@example.com>\r\n");
  ASSERT_EQ(commands.size(), 1u);
  expect_error(commands[0], 500, EnhancedStatus{5, 5, 2});
  EXPECT_TRUE(commands[0].line_error);
}

TEST(CommandParser, NulInsideLineIsRefused) {
  expect_error(one(std::string("NOOP a\0b\r\n", 10)), 500, EnhancedStatus{5, 5, 2});
}

TEST(CommandParser, ResetDropsAPartialLine) {
  CommandParser parser;
  parser.put("MAIL FROM:<evil@exa");
  EXPECT_GT(parser.buffered(), 0u);
  parser.reset();
  EXPECT_EQ(parser.buffered(), 0u);
  parser.put("NOOP\r\n");
  ASSERT_TRUE(parser.ready());
  EXPECT_EQ(parser.take().verb, Verb::Noop);
}

TEST(CommandParser, EhloWithoutHostnameIsASyntaxError) {
  expect_error(one("EHLO\r\n"), 501, EnhancedStatus{5, 5, 4});
  expect_error(one("HELO   \r\n"), 501, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, DataWithArgumentIsASyntaxError) {
  expect_error(one("DATA now\r\n"), 501, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, TrailingBlanksAreIgnored) {
  const Command command = one("DATA  \r\n");
  EXPECT_EQ(command.verb, Verb::Data);
  EXPECT_FALSE(command.error.has_value());
}

TEST(CommandParser, MailWithoutFromIsASyntaxError) {
  expect_error(one("MAIL <a@example.com>\r\n"), 501, EnhancedStatus{5, 5, 4});
  expect_error(one("MAIL FROM:\r\n"), 501, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, MailAllowsBlanksAfterTheColon) {
  const Command command = one("MAIL FROM: <a@Example.COM>\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_EQ(command.path.mailbox.str(), "a@example.com");
}

TEST(CommandParser, MailNullSender) {
  const Command command = one("MAIL FROM:<>\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_TRUE(command.path.null);
}

TEST(CommandParser, MailBadAddressIs501_5_1_7) {
  expect_error(one("MAIL FROM:<a@@example.com>\r\n"), 501, EnhancedStatus{5, 1, 7});
}

TEST(CommandParser, MailLocalPartTooLongIs501_5_1_7) {
  expect_error(one("MAIL FROM:<" + std::string(65, 'a') + "@example.com>\r\n"), 501, EnhancedStatus{5, 1, 7});
}

TEST(CommandParser, RcptBadAddressIs501_5_1_3) {
  expect_error(one("RCPT TO:<a b@example.com>\r\n"), 501, EnhancedStatus{5, 1, 3});
}

TEST(CommandParser, RcptNullPathIs501_5_1_3) {
  expect_error(one("RCPT TO:<>\r\n"), 501, EnhancedStatus{5, 1, 3});
}

TEST(CommandParser, RcptPathTooLongIs501_5_1_3) {
  const std::string domain = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(62, 'c');
  const Command command = one("RCPT TO:<" + std::string(64, 'x') + "@" + domain + ">\r\n");
  expect_error(command, 501, EnhancedStatus{5, 1, 3});
  EXPECT_EQ(command.error->lines.front(), "Path too long");
}

TEST(CommandParser, RcptPostmasterWithoutDomain) {
  const Command command = one("RCPT TO:<postmaster>\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_EQ(command.path.mailbox.local_part(), "postmaster");
  EXPECT_EQ(command.path.mailbox.domain(), "");
}

TEST(CommandParser, MailNonAsciiWithoutSmtpUtf8Is553_5_6_7) {
  expect_error(one("MAIL FROM:<j\xC3\xB6rg@example.com>\r\n"), 553, EnhancedStatus{5, 6, 7});
}

TEST(CommandParser, MailNonAsciiWithSmtpUtf8IsAccepted) {
  const Command command = one("MAIL FROM:<j\xC3\xB6rg@example.com> SMTPUTF8\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_TRUE(command.mail.smtputf8);
  EXPECT_FALSE(command.path.mailbox.is_ascii());
}

TEST(CommandParser, RcptNonAsciiIsParsedForTheSessionToJudge) {
  const Command command = one("RCPT TO:<j\xC3\xB6rg@example.com>\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_FALSE(command.path.mailbox.is_ascii());
}

TEST(CommandParser, MailParameters) {
  const Command command =
      one("MAIL FROM:<a@example.com> size=12345 BODY=8bitmime RET=HDRS ENVID=QQ+2B314 AUTH=<>\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_TRUE(command.has_parameters);
  EXPECT_EQ(command.mail.size, 12345u);
  EXPECT_EQ(command.mail.body, BodyType::EightBitMime);
  EXPECT_TRUE(command.mail.body_given);
  EXPECT_EQ(command.mail.ret, Ret::Headers);
  EXPECT_EQ(command.mail.envid, "QQ+314");
  EXPECT_EQ(command.mail.auth, "<>");
}

TEST(CommandParser, MailBodyBinaryMimeAndRetFull) {
  const Command command = one("MAIL FROM:<a@example.com> BODY=BINARYMIME RET=FULL\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_EQ(command.mail.body, BodyType::BinaryMime);
  EXPECT_EQ(command.mail.ret, Ret::Full);
}

TEST(CommandParser, MailWithoutParametersHasDefaults) {
  const Command command = one("MAIL FROM:<a@example.com>\r\n");
  EXPECT_FALSE(command.has_parameters);
  EXPECT_FALSE(command.mail.size.has_value());
  EXPECT_EQ(command.mail.body, BodyType::SevenBit);
  EXPECT_EQ(command.mail.ret, Ret::Unspecified);
}

TEST(CommandParser, BadParameterValuesAre501_5_5_4) {
  for (const char* parameter : {"SIZE=12a", "SIZE=", "SIZE", "BODY=9BIT", "RET=ALL", "SMTPUTF8=yes",
                                "ENVID=a+2", "ENVID=a+2b", "=x", "-X=1"}) {
    expect_error(one(std::string("MAIL FROM:<a@example.com> ") + parameter + "\r\n"), 501, EnhancedStatus{5, 5, 4});
  }
}

TEST(CommandParser, EnvidLongerThan100IsRefused) {
  expect_error(one("MAIL FROM:<a@example.com> ENVID=" + std::string(101, 'e') + "\r\n"), 501,
               EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, DuplicateParameterIs501_5_5_4) {
  expect_error(one("MAIL FROM:<a@example.com> SIZE=1 SIZE=2\r\n"), 501, EnhancedStatus{5, 5, 4});
  expect_error(one("RCPT TO:<a@example.com> NOTIFY=NEVER NOTIFY=NEVER\r\n"), 501, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, UnknownParameterIs555_5_5_4) {
  expect_error(one("MAIL FROM:<a@example.com> XFOO=1\r\n"), 555, EnhancedStatus{5, 5, 4});
  expect_error(one("RCPT TO:<a@example.com> SIZE=1\r\n"), 555, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, HugeSizeSaturatesInsteadOfWrapping) {
  const Command command = one("MAIL FROM:<a@example.com> SIZE=99999999999999999999\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_EQ(command.mail.size, std::numeric_limits<std::uint64_t>::max());
}

TEST(CommandParser, PathMustBeFollowedByBlankBeforeParameters) {
  expect_error(one("MAIL FROM:<a@example.com>SIZE=1\r\n"), 501, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, RcptNotifyList) {
  const Command command = one("RCPT TO:<a@example.com> NOTIFY=success,DELAY\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_TRUE(command.rcpt.notify.given);
  EXPECT_TRUE(command.rcpt.notify.success);
  EXPECT_TRUE(command.rcpt.notify.delay);
  EXPECT_FALSE(command.rcpt.notify.failure);
  EXPECT_FALSE(command.rcpt.notify.never);
}

TEST(CommandParser, RcptNotifyNeverMustBeAlone) {
  expect_error(one("RCPT TO:<a@example.com> NOTIFY=NEVER,SUCCESS\r\n"), 501, EnhancedStatus{5, 5, 4});
  expect_error(one("RCPT TO:<a@example.com> NOTIFY=SOMETIMES\r\n"), 501, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, RcptOrcptIsXtextDecoded) {
  const Command command = one("RCPT TO:<a@example.com> ORCPT=RFC822;first+2Blast@example.com\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_EQ(command.rcpt.orcpt_type, "rfc822");
  EXPECT_EQ(command.rcpt.orcpt, "first+last@example.com");
}

TEST(CommandParser, RcptOrcptWithoutTypeIsRefused) {
  expect_error(one("RCPT TO:<a@example.com> ORCPT=a@example.com\r\n"), 501, EnhancedStatus{5, 5, 4});
  expect_error(one("RCPT TO:<a@example.com> ORCPT=;a@example.com\r\n"), 501, EnhancedStatus{5, 5, 4});
}

TEST(CommandParser, BdatChunkSizeAndLast) {
  Command command = one("BDAT 1000\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_EQ(command.chunk_size, 1000u);
  EXPECT_FALSE(command.last_chunk);
  command = one("BDAT 0 LAST\r\n");
  ASSERT_FALSE(command.error.has_value());
  EXPECT_EQ(command.chunk_size, 0u);
  EXPECT_TRUE(command.last_chunk);
}

TEST(CommandParser, BdatSyntaxErrors) {
  for (const char* line : {"BDAT\r\n", "BDAT x\r\n", "BDAT 10 FIRST\r\n", "BDAT 10 LAST more\r\n", "BDAT -1\r\n",
                           "BDAT 99999999999999999999\r\n"}) {
    expect_error(one(line), 501, EnhancedStatus{5, 5, 4});
  }
}

TEST(CommandParser, LineKeepsTheRawTextForSaslResponses) {
  const Command command = one("dXNlcg==\r\n");
  EXPECT_EQ(command.verb, Verb::Unknown);
  EXPECT_EQ(command.line, "dXNlcg==");
}

TEST(Xtext, DecodesHexEscapes) {
  EXPECT_EQ(decode_xtext("a+2Bb+3Dc"), "a+b=c");
}

TEST(Xtext, RefusesLowerCaseHexAndTruncatedEscapes) {
  EXPECT_FALSE(decode_xtext("a+2b").has_value());
  EXPECT_FALSE(decode_xtext("a+2").has_value());
  EXPECT_FALSE(decode_xtext("a+").has_value());
  EXPECT_FALSE(decode_xtext("a=b").has_value());
}

TEST(Xtext, RefusesEscapesThatDecodeToControlCharacters) {
  for (const char* text : {"a+0Db", "a+0Ab", "a+00b", "a+09b", "a+1Fb", "a+7Fb"})
    EXPECT_FALSE(decode_xtext(text).has_value()) << text;
  EXPECT_EQ(decode_xtext("a+20b"), "a b");
}

TEST(CommandParser, EnvidOrOrcptThatDecodesToCrLfOrNulIs501_5_5_4) {
  for (const char* line : {"MAIL FROM:<a@example.com> ENVID=abc+0D+0AInjected:+20x\r\n",
                           "MAIL FROM:<a@example.com> ENVID=abc+00\r\n",
                           "RCPT TO:<b@example.com> ORCPT=rfc822;b+0A@example.com\r\n",
                           "RCPT TO:<b@example.com> ORCPT=rfc822;b+00@example.com\r\n",
                           "MAIL FROM:<a@example.com> AUTH=a+0D@example.com\r\n"}) {
    const Command command = one(line);
    ASSERT_TRUE(command.error) << line;
    EXPECT_EQ(command.error->code, 501) << line;
    EXPECT_EQ(command.error->status, status(5, 5, 4)) << line;
  }
}

TEST(Xtext, EncodeRoundTrips) {
  const std::string text = "user+tag=x y@example.com";
  EXPECT_EQ(encode_xtext(text), "user+2Btag+3Dx+20y@example.com");
  EXPECT_EQ(decode_xtext(encode_xtext(text)), text);
}

}  // namespace
}  // namespace gw::smtp
