// TrackingLog: the message-tracking sink -- one line per message event
// (record.h fixes the format) in one file per local day,
// <directory>/tracking-YYYYMMDD.log, each file starting with its directives.
// Session, TLS and directory events are not message events and are left out
// (they are in the application log and the metrics).
//
// Thread-safe; each line is one append(2) write. A write that fails is
// reported once on the application log and then ignored: tracking never stops
// mail. reopen() closes the current file so the next line opens it again (after
// logrotate moved it away).
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "gateway/events/bus.h"

namespace gw::events {

// <directory>/tracking-YYYYMMDD.log for the local day of `when`.
std::filesystem::path tracking_file(const std::filesystem::path& directory, Time when);
// True for the events the tracking log records.
bool is_tracked(const Event& event) noexcept;

class TrackingLog final : public Sink {
 public:
  // Creates the directory when missing (mode 0750); throws std::runtime_error
  // when it cannot.
  explicit TrackingLog(std::filesystem::path directory);
  ~TrackingLog() override;
  TrackingLog(const TrackingLog&) = delete;
  TrackingLog& operator=(const TrackingLog&) = delete;

  void consume(const Event& event) override;
  bool reopen(std::string* error) override;
  const std::filesystem::path& directory() const noexcept { return directory_; }

 private:
  std::filesystem::path directory_;
  std::mutex mutex_;
  int fd_ = -1;
  std::filesystem::path current_;
  bool failure_logged_ = false;
};

}  // namespace gw::events
