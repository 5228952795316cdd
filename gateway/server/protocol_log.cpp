#include "gateway/server/protocol_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

#include "gateway/common/log.h"

namespace gw::server {
namespace {

std::tm utc(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm out{};
  gmtime_r(&seconds, &out);
  return out;
}

std::string field(std::string_view text) {
  if (text.empty()) return "-";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ')
      out.push_back('+');
    else if (u < 0x21 || u > 0x7e)
      out.push_back('?');
    else
      out.push_back(c);
  }
  return out;
}

}  // namespace

std::string format_w3c_line(const ProtocolLogRecord& r) {
  const std::tm t = utc(r.when);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} {} {} {} {} {} {} {} {} {} {} {}", t.tm_year + 1900,
                     t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, field(r.client_ip),
                     field(r.username), field(r.server_name), field(r.server_ip), r.server_port, field(r.method),
                     field(r.query), r.status, r.time_taken_ms, r.bytes_sent, r.bytes_received);
}

std::string w3c_header(std::chrono::system_clock::time_point opened) {
  const std::tm t = utc(opened);
  return fmt::format(
      "#Software: mailgw gatewayd\n#Version: 1.0\n#Date: {:04}-{:02}-{:02} {:02}:{:02}:{:02}\n#Fields: {}\n",
      t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, kW3cFields);
}

std::filesystem::path protocol_log_path(const std::filesystem::path& directory, const std::string& server_id,
                                        std::chrono::system_clock::time_point when) {
  const std::tm t = utc(when);
  return directory / ("SMTPSVC" + server_id) /
         fmt::format("ex{:02}{:02}{:02}.log", t.tm_year % 100, t.tm_mon + 1, t.tm_mday);
}

ProtocolLog::ProtocolLog(std::filesystem::path directory, std::string server_id)
    : directory_(std::move(directory)), server_id_(std::move(server_id)) {}

ProtocolLog::~ProtocolLog() {
  if (fd_ >= 0) ::close(fd_);
}

void ProtocolLog::open_for(std::chrono::system_clock::time_point when) {
  auto path = protocol_log_path(directory_, server_id_, when);
  if (fd_ >= 0 && path == current_path_) return;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    if (!failure_logged_)
      log::error({"protocol-log"}, "open {}: {}", path.string(), std::strerror(errno));
    failure_logged_ = true;
    return;
  }
  current_path_ = std::move(path);
  if (::lseek(fd_, 0, SEEK_END) == 0) {
    const auto header = w3c_header(when);
    if (::write(fd_, header.data(), header.size()) < 0 && !failure_logged_) {
      log::error({"protocol-log"}, "write {}: {}", current_path_.string(), std::strerror(errno));
      failure_logged_ = true;
    }
  }
}

void ProtocolLog::write(const ProtocolLogRecord& record) {
  std::string line = format_w3c_line(record);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  open_for(record.when);
  if (fd_ < 0) return;
  if (::write(fd_, line.data(), line.size()) < 0 && !failure_logged_) {
    log::error({"protocol-log"}, "write {}: {}", current_path_.string(), std::strerror(errno));
    failure_logged_ = true;
  }
}

}  // namespace gw::server
