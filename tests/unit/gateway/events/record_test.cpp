#include "gateway/events/record.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "gateway/events/log_sink.h"

namespace gw::events {
namespace {

// Every test here runs in a fixed zone with an offset, so the offset is seen.
class RecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "Europe/Berlin", 1);
    ::tzset();
  }
  void TearDown() override {
    ::unsetenv("TZ");
    ::tzset();
  }
};

Time at(std::time_t seconds, int millis = 0) {
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

TEST_F(RecordTest, LocalTimeCarriesTheOffset) {
  // 2026-11-29T05:30:00Z is 06:30 in Berlin (CET, +01:00).
  EXPECT_EQ(format_local_time(at(1795930200, 125)), "2026-11-29T06:30:00.125+01:00");
  // Summer time: 2026-07-01T12:00:00Z is 14:00 CEST.
  EXPECT_EQ(format_local_time(at(1782907200)), "2026-07-01T14:00:00.000+02:00");
}

TEST_F(RecordTest, ParseTimeReadsWhatFormatWritesAndOtherForms) {
  EXPECT_EQ(parse_time("2026-11-29T06:30:00.125+01:00"), at(1795930200, 125));
  EXPECT_EQ(parse_time("2026-11-29T05:30:00Z"), at(1795930200));
  EXPECT_EQ(parse_time("2026-11-29 06:30"), at(1795930200));
  EXPECT_EQ(parse_time("2026-11-29"), at(1795906800));  // local midnight
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_FALSE(parse_time("2026-13-01"));
  EXPECT_FALSE(parse_time("2999-01-01"));  // beyond the clock's range
}

TEST_F(RecordTest, ReceivedBecomesOneTrackingLineThatParsesBack) {
  Received e;
  e.subject = {at(1795930200), "019C2D4E8A1F3B0007A1C2E4", "<m1@client.example>", "alice@example.com", ""};
  e.recipients = {"bob@example.com", "carol@example.com"};
  e.size = 2048;
  e.peer = "192.0.2.10:40112";
  e.virtual_server = "1";
  e.helo = "client.example";
  const auto line = format_tracking_line(describe(e));
  EXPECT_EQ(line,
            "2026-11-29T06:30:00.000+01:00\treceived\t019C2D4E8A1F3B0007A1C2E4\t<m1@client.example>\t"
            "alice@example.com\t-\t250 2.6.0\t-\t"
            "recipients=bob@example.com,carol@example.com size=2048 origin=smtp peer=192.0.2.10:40112 "
            "virtual-server=1 helo=client.example");
  const auto back = parse_tracking_line(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time, e.subject.time);
  EXPECT_EQ(back->event, "received");
  EXPECT_EQ(back->queue_id, "019C2D4E8A1F3B0007A1C2E4");
  EXPECT_EQ(back->sender, "alice@example.com");
  EXPECT_EQ(back->get("size"), "2048");
  EXPECT_EQ(back->get("helo"), "client.example");
}

TEST_F(RecordTest, NullSenderIsAngleBracketsAndUnknownSenderIsDash) {
  Completed known{{.queue_id = "Q", .sender = std::string()}};
  Completed unknown{{.queue_id = "Q"}};
  EXPECT_EQ(parse_tracking_line(format_tracking_line(describe(known)))->sender, std::optional<std::string>(""));
  EXPECT_EQ(parse_tracking_line(format_tracking_line(describe(unknown)))->sender, std::nullopt);
}

TEST_F(RecordTest, PeerTextCannotForgeALineAndUtf8StaysUtf8) {
  RecipientRejected e;
  e.subject.recipient = "j\xc3\xb6rg@b\xc3\xbc" "cher.example";  // jörg@bücher.example
  e.reply_code = 550;
  e.status = "5.1.1";
  e.reason = "evil\tcolumn\r\nforged line \"quoted\" \xff";
  const auto line = format_tracking_line(describe(e));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("j\xc3\xb6rg@b\xc3\xbc" "cher.example"), std::string::npos);
  EXPECT_NE(line.find("\\xFF"), std::string::npos);
  const auto back = parse_tracking_line(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->recipient, e.subject.recipient);
  EXPECT_EQ(back->status, "550 5.1.1");
  EXPECT_EQ(back->get("reason"), "evil\tcolumn\r\nforged line \"quoted\" \xff");
}

TEST_F(RecordTest, DsnQueuedNamesTheReportAsRelated) {
  DsnQueued e{{.queue_id = "ORIG"}, "failure", "REPORT", {"bob@example.com"}};
  const auto r = describe(e);
  EXPECT_EQ(r.event, "dsn-queued");
  EXPECT_EQ(r.related_id, "REPORT");
  EXPECT_EQ(r.get("type"), "failure");
}

TEST_F(RecordTest, DirectivesAndJunkDoNotParse) {
  EXPECT_FALSE(parse_tracking_line("#Fields: date-time"));
  EXPECT_FALSE(parse_tracking_line(""));
  EXPECT_FALSE(parse_tracking_line("not\ta\ttracking line"));
}

TEST_F(RecordTest, TheApplicationLogLineNamesSubsystemQueueEventAndReason) {
  RecipientRejected e;
  e.subject.sender = "alice@example.com";
  e.subject.recipient = "nobody@example.com";
  e.session = 7;
  e.peer = "127.0.0.1:40112";
  e.virtual_server = "1";
  e.reply_code = 550;
  e.status = "5.1.1";
  e.reason = "recipient unknown";
  EXPECT_EQ(log_line(e),
            "smtp: rcpt-rejected from=<alice@example.com> to=<nobody@example.com> status=\"550 5.1.1\" session=7 "
            "peer=127.0.0.1:40112 virtual-server=1 reason=\"recipient unknown\"");
}

}  // namespace
}  // namespace gw::events
