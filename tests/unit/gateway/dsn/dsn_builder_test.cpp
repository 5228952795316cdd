// The DSN builder: golden reports (tests/testdata/dsn/<name>.in -> .golden),
// a parse of every report against RFC 3464/2046 rules, and streaming
// behaviour. Regenerate goldens after an intended change with GW_UPDATE_GOLDEN=1.
//
// .in format: "key: value" settings (report, now, delay_after, retry_until,
// max_full_return_size), then "envelope:" followed by a text-format Envelope,
// then "original:" followed by the original message (LF line ends are fine:
// the builder repairs them).
#include "gateway/dsn/dsn_builder.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "report_parser.h"

namespace gw::dsn {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Serves a string in chunks of at most `chunk` octets (or split once at `split_at`).
class StringSource : public BodySource {
 public:
  explicit StringSource(std::string text, std::size_t chunk = 4096, std::size_t split_at = 0)
      : text_(std::move(text)), chunk_(chunk), split_at_(split_at) {}
  Result<std::size_t> read(std::span<char> buffer) override {
    std::size_t limit = std::min({buffer.size(), chunk_, text_.size() - pos_});
    if (split_at_ > pos_) limit = std::min(limit, split_at_ - pos_);
    std::copy_n(text_.data() + pos_, limit, buffer.data());
    pos_ += limit;
    read_ += limit;
    return limit;
  }
  std::size_t octets_read() const { return read_; }

 private:
  std::string text_;
  std::size_t chunk_, split_at_, pos_ = 0, read_ = 0;
};

class StringSink : public ReportSink {
 public:
  Result<void> write(std::string_view octets) override {
    text += octets;
    max_write = std::max(max_write, octets.size());
    return {};
  }
  std::string text;
  std::size_t max_write = 0;
};

struct GoldenInput {
  ReportContent content;
  std::string original;
};

std::string lf_to_crlf_free(std::string text) {  // CRLF -> LF for readable goldens
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
  return out;
}

GoldenInput load(const fs::path& path) {
  const std::string text = read_file(path);
  const auto env_at = text.find("\nenvelope:\n");
  const auto orig_at = text.find("\noriginal:\n");
  if (env_at == std::string::npos || orig_at == std::string::npos) throw std::runtime_error("bad " + path.string());
  std::map<std::string, std::string> settings;
  std::istringstream head(text.substr(0, env_at));
  for (std::string line; std::getline(head, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    settings[line.substr(0, colon)] = line.substr(colon + 2);
  }
  gw::envelope::Envelope envelope;
  if (!google::protobuf::TextFormat::ParseFromString(text.substr(env_at + 11, orig_at - env_at - 11), &envelope))
    throw std::runtime_error("bad envelope in " + path.string());

  PlanOptions options;
  options.now_unix = std::stoll(settings.at("now"));
  options.delay_notification_seconds = settings.count("delay_after") ? std::stoll(settings["delay_after"]) : 0;
  options.hold_failures_until_final = false;
  const auto plan = plan_reports(envelope, options);
  const std::string& wanted = settings.at("report");
  const ReportType type = wanted == "failure" ? ReportType::Failure
                          : wanted == "delay" ? ReportType::Delay
                                              : ReportType::Success;
  auto it = std::find_if(plan.reports.begin(), plan.reports.end(), [&](const auto& r) { return r.type == type; });
  if (it == plan.reports.end()) throw std::runtime_error("plan has no " + wanted + " report");

  ReportSettings rs;
  rs.reporting_mta = "bh1.example.com";
  rs.now_unix = options.now_unix;
  rs.message_id = "<dsn." + envelope.queue_id() + "@bh1.example.com>";
  rs.boundary = make_boundary(envelope.queue_id(), options.now_unix);
  if (settings.count("retry_until")) rs.retry_until_unix = std::stoll(settings["retry_until"]);
  if (settings.count("max_full_return_size")) rs.max_full_return_size = std::stoull(settings["max_full_return_size"]);
  return {report_from_envelope(envelope, *it, rs), text.substr(orig_at + 11)};
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(GW_DSN_TESTDATA))
    if (entry.path().extension() == ".in") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

class DsnGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(DsnGolden, MatchesGoldenFile) {
  const fs::path dir(GW_DSN_TESTDATA);
  auto input = load(dir / (GetParam() + ".in"));
  StringSource source(input.original);
  StringSink sink;
  ASSERT_TRUE(write_report(input.content, source, sink));
  const std::string got = lf_to_crlf_free(sink.text);
  const fs::path golden = dir / (GetParam() + ".golden");
  if (const char* update = std::getenv("GW_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << got;
    GTEST_SKIP() << "rewrote " << golden;
  }
  EXPECT_EQ(got, read_file(golden));
}

TEST_P(DsnGolden, ReportParsesAsRfc3464) {
  auto input = load(fs::path(GW_DSN_TESTDATA) / (GetParam() + ".in"));
  StringSource source(input.original);
  StringSink sink;
  ASSERT_TRUE(write_report(input.content, source, sink));
  const auto parsed = test::parse_report(sink.text);
  for (const auto& error : parsed.errors) ADD_FAILURE() << error;
  EXPECT_EQ(parsed.per_recipient.size(), input.content.recipients.size());
}

TEST_P(DsnGolden, OriginalFedOneOctetAtATimeGivesTheSameReport) {
  auto input = load(fs::path(GW_DSN_TESTDATA) / (GetParam() + ".in"));
  StringSource whole(input.original);
  StringSink expected;
  ASSERT_TRUE(write_report(input.content, whole, expected));
  StringSource trickle(input.original, 1);
  StringSink got;
  ASSERT_TRUE(write_report(input.content, trickle, got));
  EXPECT_EQ(got.text, expected.text);
}

TEST_P(DsnGolden, OriginalSplitAtEveryOffsetGivesTheSameReport) {
  auto input = load(fs::path(GW_DSN_TESTDATA) / (GetParam() + ".in"));
  StringSource whole(input.original);
  StringSink expected;
  ASSERT_TRUE(write_report(input.content, whole, expected));
  for (std::size_t split = 1; split < input.original.size(); ++split) {
    StringSource source(input.original, 1 << 20, split);
    StringSink got;
    ASSERT_TRUE(write_report(input.content, source, got));
    ASSERT_EQ(got.text, expected.text) << "split at " << split;
  }
}

INSTANTIATE_TEST_SUITE_P(Dsn, DsnGolden, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) { return info.param; });

// --- focused behaviour -------------------------------------------------------------

ReportContent failure_report() {
  ReportContent r;
  r.type = ReportType::Failure;
  r.reporting_mta = "bh1.example.com";
  r.to = "alice@example.com";
  r.date_unix = 1'800'000'000;
  r.arrival_unix = 1'799'999'000;
  r.message_id = "<dsn.1@bh1.example.com>";
  r.boundary = make_boundary("Q1", r.date_unix);
  RecipientReport rcpt;
  rcpt.final_recipient = "bob@partner.example";
  rcpt.status = EnhancedStatus{5, 1, 1};
  rcpt.diagnostic = "550 5.1.1 user unknown";
  r.recipients.push_back(rcpt);
  return r;
}

// A body of `size` octets produced on demand, never held whole.
class GeneratedSource : public BodySource {
 public:
  explicit GeneratedSource(std::size_t size) : size_(size) {}
  Result<std::size_t> read(std::span<char> buffer) override {
    std::size_t n = std::min(buffer.size(), size_ - pos_);
    for (std::size_t i = 0; i < n; ++i, ++pos_) {
      static constexpr std::string_view kHeader = "Subject: big\r\nFrom: alice@example.com\r\n\r\n";
      if (pos_ < kHeader.size()) buffer[i] = kHeader[pos_];
      else buffer[i] = (pos_ % 78 == 76) ? '\r' : (pos_ % 78 == 77) ? '\n' : 'x';
    }
    read_ += n;
    return n;
  }
  std::size_t octets_read() const { return read_; }

 private:
  std::size_t size_, pos_ = 0, read_ = 0;
};

class CountingSink : public ReportSink {
 public:
  Result<void> write(std::string_view octets) override {
    total += octets.size();
    max_write = std::max(max_write, octets.size());
    return {};
  }
  std::size_t total = 0, max_write = 0;
};

TEST(DsnBuilder, LargeOriginalIsStreamedInBoundedWrites) {
  GeneratedSource source(8 << 20);
  CountingSink sink;
  ASSERT_TRUE(write_report(failure_report(), source, sink));
  EXPECT_EQ(source.octets_read(), std::size_t{8} << 20);
  EXPECT_GT(sink.total, std::size_t{8} << 20);
  EXPECT_LE(sink.max_write, std::size_t{64} << 10);
}

TEST(DsnBuilder, HeadersOnlyStopsReadingAtTheEndOfTheHeader) {
  auto report = failure_report();
  report.ret = ReturnContent::Headers;
  GeneratedSource source(8 << 20);
  StringSink sink;
  ASSERT_TRUE(write_report(report, source, sink));
  EXPECT_LE(source.octets_read(), std::size_t{64} << 10);
  EXPECT_NE(sink.text.find("Content-Type: text/rfc822-headers\r\n\r\nSubject: big\r\nFrom: alice@example.com\r\n\r\n--"),
            std::string::npos);
  EXPECT_EQ(sink.text.find("xxxx"), std::string::npos);
}

TEST(DsnBuilder, BareLineFeedsInTheOriginalBecomeCrlf) {
  StringSource source("Subject: lf\n\nline one\nline two");
  StringSink sink;
  ASSERT_TRUE(write_report(failure_report(), source, sink));
  EXPECT_NE(sink.text.find("Subject: lf\r\n\r\nline one\r\nline two\r\n"), std::string::npos);
  EXPECT_TRUE(test::parse_report(sink.text).errors.empty());
}

TEST(DsnBuilder, RemoteTextCannotInjectHeaderFields) {
  auto report = failure_report();
  report.recipients[0].diagnostic = "550 5.1.1 no\r\nBcc: victim@example.com\r\n";
  report.recipients[0].remote_mta = "mx.partner.example\r\nX-Injected: yes";
  report.to = "alice@example.com\r\nBcc: victim@example.com";
  StringSource source("Subject: x\r\n\r\nbody\r\n");
  StringSink sink;
  ASSERT_TRUE(write_report(report, source, sink));
  EXPECT_EQ(sink.text.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(sink.text.find("\r\nX-Injected:"), std::string::npos);
  const auto parsed = test::parse_report(sink.text);
  EXPECT_TRUE(parsed.errors.empty());
  EXPECT_EQ(parsed.per_recipient.at(0).find("diagnostic-code")->second,
            "smtp; 550 5.1.1 no Bcc: victim@example.com");
}

// The receive side refuses ENVID and ORCPT whose xtext decodes to a control
// character (501 5.5.4); an envelope spooled before that rule, or edited by
// hand, still cannot put a line of its own into the report.
TEST(DsnBuilder, EnvelopeIdAndOriginalRecipientCannotInjectFieldsOrNul) {
  auto report = failure_report();
  report.envid = std::string("id\r\nX-Injected: envid\0x", 23);
  report.recipients[0].original_recipient = std::string("rfc822;bob@partner.example\r\nX-Injected: orcpt\0", 46);
  StringSource source("Subject: x\r\n\r\nbody\r\n");
  StringSink sink;
  ASSERT_TRUE(write_report(report, source, sink));
  EXPECT_EQ(sink.text.find("\r\nX-Injected:"), std::string::npos);
  EXPECT_EQ(sink.text.find('\0'), std::string::npos);
  const auto parsed = test::parse_report(sink.text);
  EXPECT_TRUE(parsed.errors.empty());
  EXPECT_NE(sink.text.find("Original-Envelope-Id: id X-Injected: envid?x\r\n"), std::string::npos);
  EXPECT_NE(sink.text.find("Original-Recipient: rfc822; bob@partner.example X-Injected: orcpt?\r\n"),
            std::string::npos);
}

TEST(DsnBuilder, EightBitTextIsMaskedUnlessSmtputf8) {
  auto report = failure_report();
  report.recipients[0].diagnostic = "550 5.1.1 unbekannter Empf\xc3\xa4nger";
  StringSource source("Subject: x\r\n\r\nbody\r\n");
  StringSink sink;
  ASSERT_TRUE(write_report(report, source, sink));
  EXPECT_NE(sink.text.find("Empf??nger"), std::string::npos);
}

class FailingSource : public BodySource {
 public:
  Result<std::size_t> read(std::span<char>) override {
    return make_error(std::make_error_code(std::errc::io_error), "spool/ab/Q1.body");
  }
};

TEST(DsnBuilder, SourceErrorIsReturnedUnchanged) {
  FailingSource source;
  StringSink sink;
  auto result = write_report(failure_report(), source, sink);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, std::make_error_code(std::errc::io_error));
  EXPECT_EQ(result.error().detail, "spool/ab/Q1.body");
}

TEST(DsnBuilder, InvalidBoundaryIsRefusedBeforeAnythingIsWritten) {
  for (std::string boundary : {std::string(), std::string(71, 'a'), std::string("semi;colon"), std::string("a\r\nb")}) {
    auto report = failure_report();
    report.boundary = boundary;
    StringSource source("Subject: x\r\n\r\nbody\r\n");
    StringSink sink;
    auto result = write_report(report, source, sink);
    ASSERT_FALSE(result) << boundary;
    EXPECT_EQ(result.error().code, std::make_error_code(std::errc::invalid_argument));
    EXPECT_TRUE(sink.text.empty());
  }
}

TEST(DsnBuilder, DateIsRfc5322InUtc) {
  EXPECT_EQ(format_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(format_date(1'800'000'000), "Fri, 15 Jan 2027 08:00:00 +0000");
}

TEST(DsnBuilder, BoundaryIsQuotableAndUniquePerSequence) {
  const auto a = make_boundary("0001A2B3", 1'800'000'000, 0);
  const auto b = make_boundary("0001A2B3", 1'800'000'000, 1);
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 70u);
  EXPECT_EQ(a.rfind("=_", 0), 0u);
}

TEST(DsnBuilder, UnspecifiedRetReturnsFullMessageOnFailureAndHeadersOnDelay) {
  gw::envelope::Envelope e;
  e.set_sender("alice@example.com");
  auto* r = e.add_recipients();
  r->set_address("bob@partner.example");
  r->set_state(gw::envelope::FAILED);
  ReportSettings settings;
  EXPECT_EQ(report_from_envelope(e, {ReportType::Failure, {0}, {}}, settings).ret, ReturnContent::Full);
  r->set_state(gw::envelope::RETRY);
  EXPECT_EQ(report_from_envelope(e, {ReportType::Delay, {0}, {}}, settings).ret, ReturnContent::Headers);
}

TEST(DsnBuilder, SuccessAndDelayReportsCarryHeadersOnlyEvenWithRetFull) {
  gw::envelope::Envelope e;
  e.set_sender("alice@example.com");
  e.set_ret(gw::envelope::RET_FULL);
  auto* delivered = e.add_recipients();
  delivered->set_address("bob@example.com");
  delivered->set_state(gw::envelope::DELIVERED);
  auto* relayed = e.add_recipients();
  relayed->set_address("carol@partner.example");
  relayed->set_state(gw::envelope::RELAYED);
  auto* waiting = e.add_recipients();
  waiting->set_address("dave@partner.example");
  waiting->set_state(gw::envelope::RETRY);
  const ReportContent success = report_from_envelope(e, {ReportType::Success, {0, 1}, {}}, {});
  EXPECT_EQ(success.ret, ReturnContent::Headers);
  EXPECT_EQ(report_from_envelope(e, {ReportType::Delay, {2}, {}}, {}).ret, ReturnContent::Headers);

  ReportContent report = success;
  report.boundary = make_boundary("Q1", 1'800'000'000);
  StringSource source("Subject: big\r\n\r\n" + std::string(100000, 'x') + "\r\n");
  StringSink sink;
  ASSERT_TRUE(write_report(report, source, sink));
  EXPECT_NE(sink.text.find("text/rfc822-headers"), std::string::npos);
  EXPECT_NE(sink.text.find("Subject: big"), std::string::npos);
  EXPECT_EQ(sink.text.find("xxxxxxxxxx"), std::string::npos);
}

TEST(DsnBuilder, BinaryMimeOriginalIsReturnedAsHeadersOnly) {
  gw::envelope::Envelope e;
  e.set_sender("alice@example.com");
  e.set_ret(gw::envelope::RET_FULL);
  e.set_body_type(gw::envelope::BODY_BINARYMIME);
  e.add_recipients()->set_state(gw::envelope::FAILED);
  EXPECT_EQ(report_from_envelope(e, {ReportType::Failure, {0}, {}}, {}).ret, ReturnContent::Headers);
}

}  // namespace
}  // namespace gw::dsn
