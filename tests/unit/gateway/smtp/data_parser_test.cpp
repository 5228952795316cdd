// Specification of DataParser: DATA end detection (no SMTP smuggling), dot
// unstuffing, BDAT chunks, and what the summary records.
#include "gateway/smtp/data_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace gw::smtp {
namespace {

struct Fed {
  std::string output;
  std::size_t consumed = 0;
  bool done = false;
  BodySummary summary;
};

// DATA content fed in pieces cut at `cuts`.
Fed run_data(std::string_view input, const std::vector<std::size_t>& cuts, BodyLimits limits = {}) {
  DataParser parser(limits);
  parser.begin_data();
  Fed run;
  std::size_t begin = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    std::string_view piece = input.substr(begin, end - begin);
    begin = end;
    if (parser.done()) break;
    const std::size_t used = parser.put(piece, run.output);
    run.consumed += used;
    if (used < piece.size()) {
      EXPECT_TRUE(parser.done()) << "stopped early without end of data";
      break;
    }
  }
  run.done = parser.done();
  run.summary = parser.summary();
  return run;
}

Fed run_data(std::string_view input, BodyLimits limits = {}) { return run_data(input, {}, limits); }

// Asserts that every split of `input` (byte by byte, and at each single offset)
// gives exactly the result of feeding it whole.
void expect_split_invariant(std::string_view input, BodyLimits limits = {}) {
  const Fed whole = run_data(input, limits);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  const Fed bytewise = run_data(input, every, limits);
  EXPECT_EQ(bytewise.output, whole.output);
  EXPECT_EQ(bytewise.consumed, whole.consumed);
  EXPECT_EQ(bytewise.done, whole.done);
  EXPECT_EQ(bytewise.summary, whole.summary);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    const Fed split = run_data(input, {cut}, limits);
    EXPECT_EQ(split.output, whole.output) << "cut at " << cut;
    EXPECT_EQ(split.consumed, whole.consumed) << "cut at " << cut;
    EXPECT_EQ(split.summary, whole.summary) << "cut at " << cut;
  }
}

TEST(DataParser, EndsAtCrlfDotCrlfAndKeepsTheLastCrlf) {
  const Fed run = run_data("Subject: hi\r\n\r\nbody\r\n.\r\n");
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.output, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(run.summary.octets, run.output.size());
  EXPECT_FALSE(run.summary.bare_lf);
  EXPECT_FALSE(run.summary.bare_cr);
}

TEST(DataParser, DotLineRightAfterDataCommandIsAnEmptyMessage) {
  const Fed run = run_data(".\r\n");
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.output, "");
  EXPECT_EQ(run.summary.octets, 0u);
}

TEST(DataParser, LeavesBytesAfterTheEndForTheCommandParser) {
  const std::string input = "a\r\n.\r\nQUIT\r\n";
  const Fed run = run_data(input);
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.consumed, input.size() - 6);
}

TEST(DataParser, RemovesOneLeadingDot) {
  EXPECT_EQ(run_data("..hidden\r\n.\r\n").output, ".hidden\r\n");
  EXPECT_EQ(run_data("..\r\n.\r\n").output, ".\r\n");
  EXPECT_EQ(run_data("...\r\n.\r\n").output, "..\r\n");
  EXPECT_EQ(run_data(".x\r\n.\r\n").output, "x\r\n");
}

TEST(DataParser, DotInsideALineIsContent) {
  EXPECT_EQ(run_data("a.b\r\n.\r\n").output, "a.b\r\n");
}

TEST(DataParser, IncompleteContentIsNotDone) {
  const Fed run = run_data("no end yet\r\n.");
  EXPECT_FALSE(run.done);
  EXPECT_EQ(run.consumed, 13u);
}

// Every variant of a "smuggled" end of data (bare LF or bare CR around the dot)
// is content, never the end. The following "MAIL FROM" therefore stays inside the
// message and the real end comes later.
struct SmugglingCase {
  const char* name;
  const char* terminator;
};

class DataSmuggling : public ::testing::TestWithParam<SmugglingCase> {};

TEST_P(DataSmuggling, FakeTerminatorIsContentNotEnd) {
  const std::string input = std::string("Subject: x\r\n\r\nbody") + GetParam().terminator +
                            "MAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.com>\r\n" + ".\r\n";
  const Fed run = run_data(input);
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.consumed, input.size()) << "end of data found early";
  EXPECT_NE(run.output.find("MAIL FROM:<evil@example.net>"), std::string::npos);
  EXPECT_TRUE(run.summary.bare_lf || run.summary.bare_cr) << "smuggling attempt not flagged";
  expect_split_invariant(input);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, DataSmuggling,
    ::testing::Values(SmugglingCase{"LfDotLf", "\n.\n"}, SmugglingCase{"CrDotCr", "\r.\r"},
                      SmugglingCase{"CrDotLf", "\r.\n"}, SmugglingCase{"LfDotCrLf", "\n.\r\n"},
                      SmugglingCase{"CrLfDotLf", "\r\n.\n"}, SmugglingCase{"CrLfDotCr", "\r\n.\r"},
                      SmugglingCase{"CrDotCrLf", "\r.\r\n"}, SmugglingCase{"LfDotCr", "\n.\r"},
                      SmugglingCase{"CrLfDotCrCrLf", "\r\n.\r\r\n"}),
    [](const ::testing::TestParamInfo<SmugglingCase>& info) { return std::string(info.param.name); });

TEST(DataParser, BareLfIsRecorded) {
  const Fed run = run_data("line one\nline two\r\n.\r\n");
  EXPECT_TRUE(run.done);
  EXPECT_TRUE(run.summary.bare_lf);
  EXPECT_FALSE(run.summary.bare_cr);
  EXPECT_EQ(run.output, "line one\nline two\r\n");
}

TEST(DataParser, BareCrIsRecorded) {
  const Fed run = run_data("line one\rline two\r\n.\r\n");
  EXPECT_TRUE(run.summary.bare_cr);
  EXPECT_FALSE(run.summary.bare_lf);
}

TEST(DataParser, CrCrLfIsABareCr) {
  const Fed run = run_data("x\r\r\n.\r\n");
  EXPECT_TRUE(run.summary.bare_cr);
  EXPECT_EQ(run.output, "x\r\r\n");
}

TEST(DataParser, LineOf1000OctetsIncludingCrlfIsAccepted) {
  const Fed run = run_data(std::string(998, 'x') + "\r\n.\r\n");
  EXPECT_FALSE(run.summary.line_too_long);
}

TEST(DataParser, LineOf1001OctetsIsTooLong) {
  const Fed run = run_data(std::string(999, 'x') + "\r\n.\r\n");
  EXPECT_TRUE(run.done);
  EXPECT_TRUE(run.summary.line_too_long);
}

TEST(DataParser, LineLengthCountsTheUnstuffedLine) {
  // 999 octets on the wire, 998 after removing the transparency dot.
  const Fed run = run_data("." + std::string(998, 'x') + "\r\n.\r\n");
  EXPECT_FALSE(run.summary.line_too_long);
}

TEST(DataParser, SizeAtTheLimitIsAccepted) {
  BodyLimits limits;
  limits.max_message_size = 10;
  const Fed run = run_data("12345678\r\n.\r\n", limits);
  EXPECT_FALSE(run.summary.size_exceeded);
  EXPECT_EQ(run.output.size(), 10u);
}

TEST(DataParser, SizeOverTheLimitStopsOutputButConsumesToTheEnd) {
  BodyLimits limits;
  limits.max_message_size = 10;
  const std::string input = "123456789\r\nmore and more\r\n.\r\nQUIT\r\n";
  const Fed run = run_data(input, limits);
  EXPECT_TRUE(run.done);
  EXPECT_TRUE(run.summary.size_exceeded);
  EXPECT_EQ(run.output, "123456789\r");
  EXPECT_EQ(run.consumed, input.size() - 6);
  EXPECT_EQ(run.summary.octets, 26u);
}

TEST(DataParser, CountsReceivedHeadersCaseInsensitively) {
  const Fed run = run_data(
      "Received: from a\r\n\tby b\r\nRECEIVED: from c\r\nreceived:from d\r\nX-Received: no\r\nSubject: s\r\n\r\n"
      "Received: in the body does not count\r\n.\r\n");
  EXPECT_EQ(run.summary.received_headers, 3u);
}

TEST(DataParser, HeaderSectionEndsAtTheFirstEmptyLine) {
  const Fed run = run_data("\r\nReceived: x\r\n.\r\n");
  EXPECT_EQ(run.summary.received_headers, 0u);
}

TEST(DataParser, KeepsTheMessageIdFieldValue) {
  const Fed run = run_data("Subject: s\r\nmessage-ID:  <20261129.1@client.example> \r\nX: y\r\n\r\n.\r\n");
  EXPECT_EQ(run.summary.message_id, "<20261129.1@client.example>");
}

TEST(DataParser, UnfoldsAFoldedMessageIdAndIgnoresOneInTheBody) {
  EXPECT_EQ(run_data("Message-ID:\r\n <a@b.example>\r\n\r\n.\r\n").summary.message_id, "<a@b.example>");
  EXPECT_EQ(run_data("Subject: s\r\n\r\nMessage-ID: <body@x>\r\n.\r\n").summary.message_id, "");
  EXPECT_EQ(run_data("Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n.\r\n").summary.message_id,
            "<first@x>");
}

TEST(DataParser, SummaryIsTheSameHoweverTheInputIsSplit) {
  expect_split_invariant(
      "Message-ID: <split@x>\r\nReceived: from a\r\nReceived: from b\r\nSubject: x\r\n\r\n..stuffed\r\nbare\nlf\r\nbare\rcr\r\n" +
      std::string(1200, 'l') + "\r\n.\r\nQUIT\r\n");
}

TEST(DataParser, SizeLimitIsTheSameHoweverTheInputIsSplit) {
  BodyLimits limits;
  limits.max_message_size = 7;
  expect_split_invariant("Received: a\r\n..b\r\n.\r\n", limits);
}

// A deliberately naive model of RFC 5321 4.5.2: the content ends at the first
// "\r\n.\r\n" (or a leading ".\r\n"), and a dot is removed only where a line
// starts, i.e. at the beginning or right after CRLF.
struct Model {
  bool done = false;
  std::size_t consumed = 0;
  std::string output;
};

Model model_data(const std::string& input) {
  Model model;
  std::string raw;
  if (input.starts_with(".\r\n")) {
    model.done = true;
    model.consumed = 3;
  } else if (const std::size_t p = input.find("\r\n.\r\n"); p != std::string::npos) {
    model.done = true;
    model.consumed = p + 5;
    raw = input.substr(0, p + 2);
  } else {
    return model;
  }
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const bool line_start = i == 0 || (i >= 2 && raw[i - 2] == '\r' && raw[i - 1] == '\n');
    if (line_start && raw[i] == '.') continue;
    model.output += raw[i];
  }
  return model;
}

TEST(DataParser, AgreesWithTheReferenceModelOnRandomInput) {
  std::mt19937 random(20261129);
  const char alphabet[] = {'\r', '\n', '.', 'a'};
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    const int length = static_cast<int>(random() % 24);
    for (int i = 0; i < length; ++i) input += alphabet[random() % 4];
    input += "\r\n.\r\n";  // every input ends eventually
    const Model want = model_data(input);
    const Fed got = run_data(input);
    ASSERT_EQ(got.done, want.done) << testing::PrintToString(input);
    ASSERT_EQ(got.consumed, want.consumed) << testing::PrintToString(input);
    ASSERT_EQ(got.output, want.output) << testing::PrintToString(input);
  }
}

// BDAT ----------------------------------------------------------------------

TEST(BdatParser, ChunkIsCopiedVerbatimWithoutUnstuffing) {
  DataParser parser;
  std::string output;
  const std::string chunk = "..a\r\n.\r\n";
  parser.begin_chunk(chunk.size(), true);
  EXPECT_EQ(parser.put(chunk + "QUIT\r\n", output), chunk.size());
  EXPECT_TRUE(parser.done());
  EXPECT_EQ(output, chunk);
  EXPECT_EQ(parser.summary().octets, chunk.size());
}

TEST(BdatParser, ConsumesExactlyTheChunkAcrossPieces) {
  DataParser parser;
  std::string output;
  parser.begin_chunk(10);
  EXPECT_EQ(parser.put("12345", output), 5u);
  EXPECT_FALSE(parser.done());
  EXPECT_EQ(parser.put("67890BDAT", output), 5u);
  EXPECT_TRUE(parser.done());
  EXPECT_EQ(output, "1234567890");
}

TEST(BdatParser, ZeroLengthLastChunkIsDoneAtOnce) {
  DataParser parser;
  parser.begin_chunk(0, true);
  EXPECT_TRUE(parser.done());
  std::string output;
  EXPECT_EQ(parser.put("QUIT\r\n", output), 0u);
}

TEST(BdatParser, SummaryAccumulatesOverChunksAndHeadersSpanThem) {
  DataParser parser;
  std::string output;
  const std::string first = "Received: a\r\nRece";
  const std::string second = "ived: b\r\n\r\nbody\r\n";
  parser.begin_chunk(first.size());
  parser.put(first, output);
  parser.begin_chunk(second.size(), true);
  parser.put(second, output);
  EXPECT_EQ(parser.summary().received_headers, 2u);
  EXPECT_EQ(parser.summary().octets, first.size() + second.size());
  EXPECT_EQ(output, first + second);
}

TEST(BdatParser, CrlfSplitAcrossChunksIsNotBare) {
  DataParser parser;
  std::string output;
  parser.begin_chunk(2);
  parser.put("a\r", output);
  parser.begin_chunk(1, true);
  parser.put("\n", output);
  EXPECT_FALSE(parser.summary().bare_cr);
  EXPECT_FALSE(parser.summary().bare_lf);
}

TEST(BdatParser, BareLfInTextContentIsRecorded) {
  DataParser parser;
  std::string output;
  parser.begin_chunk(4, true);
  parser.put("a\nb\n", output);
  EXPECT_TRUE(parser.summary().bare_lf);
}

TEST(BdatParser, TrailingCrOfTheLastChunkIsBare) {
  DataParser parser;
  std::string output;
  parser.begin_chunk(2, true);
  parser.put("a\r", output);
  EXPECT_TRUE(parser.summary().bare_cr);
}

TEST(BdatParser, BinaryMimeContentHasNoLineChecks) {
  BodyLimits limits;
  limits.binary = true;
  DataParser parser(limits);
  std::string output;
  const std::string binary = std::string("\r\n\n\r\0\xff", 6) + std::string(5000, 'b');
  parser.begin_chunk(binary.size(), true);
  parser.put(binary, output);
  EXPECT_FALSE(parser.summary().bare_lf);
  EXPECT_FALSE(parser.summary().bare_cr);
  EXPECT_FALSE(parser.summary().line_too_long);
  EXPECT_EQ(output, binary);
}

TEST(BdatParser, SizeLimitCountsAllChunks) {
  BodyLimits limits;
  limits.max_message_size = 5;
  DataParser parser(limits);
  std::string output;
  parser.begin_chunk(3);
  parser.put("abc", output);
  EXPECT_FALSE(parser.summary().size_exceeded);
  parser.begin_chunk(3, true);
  parser.put("def", output);
  EXPECT_TRUE(parser.summary().size_exceeded);
  EXPECT_EQ(output, "abcde");
}

}  // namespace
}  // namespace gw::smtp
