#include "gateway/events/metrics.h"

#include <gtest/gtest.h>

namespace gw::events {
namespace {

TEST(Metrics, EventsBecomeCountersWithTheirLabels) {
  MetricsRegistry registry;
  MetricsSink sink(registry);
  sink.consume(Received{{}, {"a@example.com"}, 100});
  sink.consume(Received{{}, {"a@example.com"}, 50});
  RecipientRejected rejected;
  rejected.reply_code = 550;
  rejected.status = "5.1.1";
  sink.consume(rejected);
  EXPECT_EQ(registry.value("mailgw_messages_received_total", {{"origin", "smtp"}}), 2);
  EXPECT_EQ(registry.value("mailgw_received_bytes_total"), 150);
  EXPECT_EQ(registry.value("mailgw_recipients_rejected_total", {{"code", "550"}, {"status", "5.1.1"}}), 1);
}

TEST(Metrics, OpenSessionsAreOpenedMinusClosed) {
  MetricsRegistry registry;
  MetricsSink sink(registry);
  sink.consume(SessionOpened{{}, 1, "p", "1", "l"});
  sink.consume(SessionOpened{{}, 2, "p", "1", "l"});
  sink.consume(SessionClosed{{}, 1, "p", "1", 0, "quit"});
  EXPECT_EQ(registry.value("mailgw_sessions_open"), 1);
  EXPECT_EQ(registry.value("mailgw_sessions_total", {{"virtual_server", "1"}}), 2);
}

TEST(Metrics, RendersThePrometheusTextFormat) {
  MetricsRegistry registry;
  MetricsSink sink(registry);
  DeliveryAttempt attempt;
  attempt.next_hop = "partner.example";
  attempt.outcome = "delivered";
  attempt.latency = std::chrono::milliseconds(20);
  sink.consume(attempt);
  sink.consume(DirectoryCacheLookup{{}, true});
  sink.consume(DirectoryCacheLookup{{}, false});
  sink.consume(DirectoryCacheLookup{{}, true});
  sink.consume(DirectoryCacheLookup{{}, true});
  registry.add_collector([](std::vector<Sample>& out) {
    out.push_back({"mailgw_queue_messages", "", {{"queue", "Remote delivery"}, {"next_hop", "a\"b"}}, 3});
  });
  const std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE mailgw_delivery_attempts_total counter\n"
                      "mailgw_delivery_attempts_total{next_hop=\"partner.example\",outcome=\"delivered\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE mailgw_delivery_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("mailgw_delivery_duration_seconds_bucket{next_hop=\"partner.example\",le=\"0.01\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("mailgw_delivery_duration_seconds_bucket{next_hop=\"partner.example\",le=\"0.05\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("mailgw_delivery_duration_seconds_bucket{next_hop=\"partner.example\",le=\"+Inf\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("mailgw_delivery_duration_seconds_count{next_hop=\"partner.example\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("mailgw_ldap_cache_hit_ratio 0.75\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE mailgw_queue_messages gauge\n"
                      "mailgw_queue_messages{queue=\"Remote delivery\",next_hop=\"a\\\"b\"} 3\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, DirectoryHealthFollowsTheLastSearch) {
  MetricsRegistry registry;
  MetricsSink sink(registry);
  DirectorySearch search;
  search.server = "ldap://127.0.0.1:389";
  search.result = "ok";
  sink.consume(search);
  EXPECT_EQ(registry.value("mailgw_directory_up", {{"server", "ldap://127.0.0.1:389"}}), 1);
  search.result = "unavailable";
  sink.consume(search);
  EXPECT_EQ(registry.value("mailgw_directory_up", {{"server", "ldap://127.0.0.1:389"}}), 0);
  EXPECT_EQ(registry.value("mailgw_ldap_searches_total", {{"result", "unavailable"}}), 1);
}

}  // namespace
}  // namespace gw::events
