#include "gateway/events/tracking_query.h"

#include <gtest/gtest.h>

namespace gw::events {
namespace {

Time at(int second) { return std::chrono::system_clock::from_time_t(1795930200 + second); }

Record record(int second, std::string event, std::string queue_id, std::string recipient = {},
              std::string related = {}) {
  Record r;
  r.time = at(second);
  r.event = std::move(event);
  r.queue_id = std::move(queue_id);
  r.sender = "alice@example.com";
  r.recipient = std::move(recipient);
  r.related_id = std::move(related);
  return r;
}

std::vector<std::string> events_of(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.queue_id + ":" + r.event);
  return out;
}

// A message to bob (delivered) and nobody (failed, so a report goes back to
// alice), and an unrelated message from carol.
std::vector<Record> day() {
  auto received = record(0, "received", "Q1");
  received.message_id = "<m1@client.example>";
  received.detail = {{"recipients", "bob@example.com,nobody@example.com"}};
  auto other = record(1, "received", "Q9");
  other.sender = "carol@example.com";
  auto report = record(5, "received", "R1", {}, "Q1");
  report.sender = std::string();
  return {received,
          other,
          record(2, "categorized", "Q1", "bob@example.com"),
          record(2, "categorized", "Q1", "nobody@example.com"),
          record(3, "delivery", "Q1", "bob@example.com"),
          record(4, "dsn-queued", "Q1", {}, "R1"),
          report,
          record(6, "delivery", "R1", "alice@example.com"),
          record(7, "completed", "Q1")};
}

TEST(TrackingQuery, AMessageIdFindsTheWholeHistoryAndTheReportItCaused) {
  TrackingFilter filter;
  filter.message_id = "m1@client.example";
  EXPECT_EQ(events_of(select(day(), filter)),
            (std::vector<std::string>{"Q1:received", "Q1:categorized", "Q1:categorized", "Q1:delivery",
                                      "Q1:dsn-queued", "R1:received", "R1:delivery", "Q1:completed"}));
}

TEST(TrackingQuery, TheReportLeadsBackToTheOriginal) {
  TrackingFilter filter;
  filter.queue_id = "r1";
  const auto got = events_of(select(day(), filter));
  EXPECT_EQ(got.front(), "Q1:received");
  EXPECT_EQ(got.size(), 8u);
}

TEST(TrackingQuery, ARecipientMatchesTheReceivedListAndItsOwnEvents) {
  TrackingFilter filter;
  filter.recipient = "<NOBODY@example.com>";
  EXPECT_EQ(select(day(), filter).size(), 8u);
  filter.recipient = "stranger@example.com";
  EXPECT_TRUE(select(day(), filter).empty());
}

TEST(TrackingQuery, SenderFilterSeparatesMessagesAndNullSenderIsAngleBrackets) {
  TrackingFilter filter;
  filter.sender = "carol@example.com";
  EXPECT_EQ(events_of(select(day(), filter)), std::vector<std::string>{"Q9:received"});
  filter.sender = "<>";
  EXPECT_EQ(select(day(), filter).size(), 8u);  // the report, and with it its original
}

TEST(TrackingQuery, ARecipientRefusedAtRcptTimeMatchesWithoutAQueueId) {
  auto records = day();
  records.push_back(record(8, "rcpt-rejected", "", "nobody@elsewhere.example"));
  TrackingFilter filter;
  filter.recipient = "nobody@elsewhere.example";
  EXPECT_EQ(events_of(select(records, filter)), std::vector<std::string>{":rcpt-rejected"});
}

TEST(TrackingQuery, NoFilterListsTheTimeRange) {
  TrackingFilter filter;
  filter.since = at(5);
  EXPECT_EQ(events_of(select(day(), filter)),
            (std::vector<std::string>{"R1:received", "R1:delivery", "Q1:completed"}));
}

TEST(TrackingQuery, JsonCarriesEveryColumnAndTheDetail) {
  auto r = record(0, "rcpt-rejected", "", "x\"y@example.com");
  r.status = "550 5.1.1";
  r.detail = {{"reason", "unknown"}};
  const auto json = record_json(r);
  EXPECT_NE(json.find("\"event\":\"rcpt-rejected\""), std::string::npos);
  EXPECT_NE(json.find("\"recipient\":\"x\\\"y@example.com\""), std::string::npos);
  EXPECT_NE(json.find("\"status\":\"550 5.1.1\""), std::string::npos);
  EXPECT_NE(json.find("\"detail\":{\"reason\":\"unknown\"}"), std::string::npos);
}

}  // namespace
}  // namespace gw::events
