#include "gateway/server/protocol_log.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>

namespace gw::server {
namespace {

using namespace std::chrono;

// 2026-11-29 02:45:07 UTC
const system_clock::time_point kWhen = system_clock::time_point(seconds(1795920307));

ProtocolLogRecord mail_from() {
  ProtocolLogRecord record;
  record.when = kWhen;
  record.client_ip = "192.0.2.7";
  record.username = "client.example.net";
  record.server_name = "bh1.example.com";
  record.server_ip = "127.0.0.1";
  record.server_port = 2525;
  record.method = "MAIL";
  record.query = "FROM:<a@example.net> SIZE=100";
  record.status = 250;
  record.time_taken_ms = 3;
  record.bytes_sent = 27;
  record.bytes_received = 38;
  return record;
}

TEST(ProtocolLog, LineHasTheW3cFieldsInOrder) {
  EXPECT_EQ(format_w3c_line(mail_from()),
            "2026-11-29 02:45:07 192.0.2.7 client.example.net bh1.example.com 127.0.0.1 2525 MAIL "
            "FROM:<a@example.net>+SIZE=100 250 3 27 38");
}

TEST(ProtocolLog, EmptyFieldsAreDashes) {
  auto record = mail_from();
  record.username.clear();
  record.query.clear();
  const auto line = format_w3c_line(record);
  EXPECT_NE(line.find(" 192.0.2.7 - bh1.example.com "), std::string::npos) << line;
  EXPECT_NE(line.find(" MAIL - 250 "), std::string::npos) << line;
}

TEST(ProtocolLog, PeerTextCannotForgeLines) {
  auto record = mail_from();
  record.username = "evil\r\n2026-01-01 fake";
  const auto line = format_w3c_line(record);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_NE(line.find("evil??2026-01-01+fake"), std::string::npos) << line;
}

TEST(ProtocolLog, HeaderDeclaresFields) {
  EXPECT_EQ(w3c_header(kWhen),
            "#Software: mailgw gatewayd\n#Version: 1.0\n#Date: 2026-11-29 02:45:07\n"
            "#Fields: date time c-ip cs-username s-computername s-ip s-port cs-method cs-uri-query sc-status "
            "time-taken sc-bytes cs-bytes\n");
}

TEST(ProtocolLog, OneFilePerServerPerUtcDay) {
  EXPECT_EQ(protocol_log_path("/var/log/gw", "1", kWhen), "/var/log/gw/SMTPSVC1/ex261129.log");
  EXPECT_EQ(protocol_log_path("/var/log/gw", "2", kWhen + hours(22)), "/var/log/gw/SMTPSVC2/ex261130.log");
}

TEST(ProtocolLog, WritesHeaderOnceThenLines) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("protocol-log-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    ProtocolLog log(dir, "7");
    log.write(mail_from());
    log.write(mail_from());
  }
  {
    ProtocolLog reopened(dir, "7");
    reopened.write(mail_from());
  }
  std::ifstream in(protocol_log_path(dir, "7", kWhen));
  std::stringstream content;
  content << in.rdbuf();
  const auto text = content.str();
  std::size_t headers = 0;
  for (std::size_t at = text.find("#Fields:"); at != std::string::npos; at = text.find("#Fields:", at + 1))
    ++headers;
  EXPECT_EQ(headers, 1u);
  std::size_t lines = 0;
  for (std::size_t at = text.find(" MAIL "); at != std::string::npos; at = text.find(" MAIL ", at + 1)) ++lines;
  EXPECT_EQ(lines, 3u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gw::server
