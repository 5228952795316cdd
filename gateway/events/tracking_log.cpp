#include "gateway/events/tracking_log.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/common/log.h"
#include "gateway/events/record.h"

namespace gw::events {

std::filesystem::path tracking_file(const std::filesystem::path& directory, Time when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  ::localtime_r(&t, &local);
  char name[40];
  std::strftime(name, sizeof name, "tracking-%Y%m%d.log", &local);
  return directory / name;
}

bool is_tracked(const Event& event) noexcept {
  return !(std::holds_alternative<SessionOpened>(event) || std::holds_alternative<SessionClosed>(event) ||
           std::holds_alternative<ConnectionRefused>(event) || std::holds_alternative<TlsEstablished>(event) ||
           std::holds_alternative<DirectorySearch>(event) || std::holds_alternative<DirectoryCacheLookup>(event) ||
           std::holds_alternative<ConnectorRetry>(event));
}

TrackingLog::TrackingLog(std::filesystem::path directory) : directory_(std::move(directory)) {
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec) throw std::runtime_error("tracking log: cannot create " + directory_.string() + ": " + ec.message());
  std::filesystem::permissions(directory_, std::filesystem::perms(0750), ec);
}

TrackingLog::~TrackingLog() {
  if (fd_ >= 0) ::close(fd_);
}

bool TrackingLog::reopen(std::string*) {
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  current_.clear();
  return true;
}

void TrackingLog::consume(const Event& event) {
  if (!is_tracked(event)) return;
  const Record record = describe(event);
  const std::string line = format_tracking_line(record) + "\n";
  const auto path = tracking_file(directory_, record.time);
  std::lock_guard lock(mutex_);
  if (fd_ < 0 || path != current_) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    current_ = path;
    if (fd_ >= 0) {
      struct stat st{};
      if (::fstat(fd_, &st) == 0 && st.st_size == 0) {
        const std::string header = tracking_header();
        [[maybe_unused]] auto n = ::write(fd_, header.data(), header.size());
      }
    }
  }
  if (fd_ < 0 || ::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    if (!failure_logged_) {
      failure_logged_ = true;
      log::error({"tracking"}, "cannot write {}: {}", path.string(), std::strerror(errno));
    }
  }
}

}  // namespace gw::events
