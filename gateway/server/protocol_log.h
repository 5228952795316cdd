// ProtocolLog: the per-virtual-server SMTP protocol log in the W3C extended log
// file format, the format IIS/Exchange SMTP virtual servers write, so existing
// log tooling reads it.
//
// One line per command and reply (and one for the connection's greeting), with
//   #Fields: date time c-ip cs-username s-computername s-ip s-port cs-method
//            cs-uri-query sc-status time-taken sc-bytes cs-bytes
// date/time in UTC, cs-username the client's HELO/EHLO name (as IIS does) or
// the authenticated identity once there is one, cs-uri-query the command
// arguments with spaces written as '+', time-taken in milliseconds. Fields are
// escaped (empty -> '-', space -> '+', control and non-ASCII bytes -> '?'), so
// peer text cannot forge lines. Files: <directory>/SMTPSVC<id>/exYYMMDD.log,
// one per virtual server per UTC day, each starting with the #Software,
// #Version, #Date and #Fields directives. Thread-safe; each line is one
// append(2) write. Write failures are logged once and then ignored: the
// protocol log never stops mail. It does not log message bodies or AUTH data.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

namespace gw::server {

struct ProtocolLogRecord {
  std::chrono::system_clock::time_point when;
  std::string client_ip;
  std::string username;        // HELO name or authenticated identity; empty = '-'
  std::string server_name;     // s-computername: the virtual server's FQDN
  std::string server_ip;
  std::uint16_t server_port = 0;
  std::string method;          // command verb, "+Connect" for the greeting
  std::string query;           // command arguments
  int status = 0;              // reply code
  std::uint64_t time_taken_ms = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

inline constexpr const char* kW3cFields =
    "date time c-ip cs-username s-computername s-ip s-port cs-method cs-uri-query sc-status "
    "time-taken sc-bytes cs-bytes";

// One log line without the newline.
std::string format_w3c_line(const ProtocolLogRecord& record);
// The directive lines that open each file.
std::string w3c_header(std::chrono::system_clock::time_point opened);
// <directory>/SMTPSVC<id>/exYYMMDD.log for the UTC day of `when`.
std::filesystem::path protocol_log_path(const std::filesystem::path& directory, const std::string& server_id,
                                        std::chrono::system_clock::time_point when);

class ProtocolLog {
 public:
  ProtocolLog(std::filesystem::path directory, std::string server_id);
  ~ProtocolLog();
  ProtocolLog(const ProtocolLog&) = delete;
  ProtocolLog& operator=(const ProtocolLog&) = delete;

  void write(const ProtocolLogRecord& record);
  const std::filesystem::path& directory() const noexcept { return directory_; }

 private:
  void open_for(std::chrono::system_clock::time_point when);

  std::filesystem::path directory_;
  std::string server_id_;
  std::mutex mutex_;
  int fd_ = -1;
  std::filesystem::path current_path_;
  bool failure_logged_ = false;
};

}  // namespace gw::server
