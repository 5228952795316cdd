#include "gateway/http/status_page.h"

#include <gtest/gtest.h>

namespace gw::http {
namespace {

StatusSnapshot sample() {
  StatusSnapshot s;
  s.server_name = "bh1.example.com";
  s.version = "gatewayd 0.1.0";
  s.now = std::chrono::system_clock::from_time_t(1795930200);
  s.started = s.now - std::chrono::minutes(90);
  s.virtual_servers.push_back({"1", "Default SMTP Virtual Server", "started", {"*:25", "127.0.0.1:465 (TLS)"}, "bh1.example.com"});
  s.queues.push_back({"Remote delivery [partner.example]", 12, 3725, false});
  s.connectors.push_back({"Partner", {"SMTP:partner.example;1"}, "smtp.partner.example", "retry until 2026-11-29T06:40:00+01:00"});
  s.directory_servers.push_back({"ldap://127.0.0.1:389", "down"});
  s.provenance = {"/var/lib/mailgw/metabase.pb", "ldap://dc1.example.com", 42, "2026-11-29T06:00:00+01:00", 1800, ""};
  s.activity = {{"Messages received", "7"}};
  return s;
}

TEST(StatusPage, ShowsEverySectionWithItsRows) {
  const auto html = render_status_page(sample());
  for (const char* text : {"<h2>Virtual servers</h2>", "Default SMTP Virtual Server", "127.0.0.1:465 (TLS)",
                           "<h2>Queues</h2>", "Remote delivery [partner.example]", "<td class=\"n\">12</td>",
                           "1 h 2 min", "<h2>Connectors</h2>", "SMTP:partner.example;1",
                           "class=\"bad\">retry until", "<h2>Directory servers</h2>", "class=\"bad\">down",
                           "<th>Serial</th><td>42</td>", "(30 min ago)", "Messages received", "up 1 h 30 min"})
    EXPECT_NE(html.find(text), std::string::npos) << text;
}

TEST(StatusPage, RefreshesItselfAndHasNothingThatActs) {
  const auto html = render_status_page(sample(), 15);
  EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"15\">"), std::string::npos);
  EXPECT_EQ(html.find("<form"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(StatusPage, EscapesEveryText) {
  auto s = sample();
  s.virtual_servers[0].name = "<script>alert('x')</script> & co";
  const auto html = render_status_page(s);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), std::string::npos);
}

TEST(StatusPage, EmptyTablesSaySo) {
  StatusSnapshot s;
  const auto html = render_status_page(s);
  EXPECT_NE(html.find("All queues are empty"), std::string::npos);
  EXPECT_NE(html.find("No connectors"), std::string::npos);
}

TEST(StatusPage, AgesReadAsAPersonWouldSayThem) {
  EXPECT_EQ(format_age(0), "0 s");
  EXPECT_EQ(format_age(59), "59 s");
  EXPECT_EQ(format_age(60), "1 min");
  EXPECT_EQ(format_age(3600), "1 h");
  EXPECT_EQ(format_age(3725), "1 h 2 min");
  EXPECT_EQ(format_age(90000), "1 d 1 h");
}

}  // namespace
}  // namespace gw::http
