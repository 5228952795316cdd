// MetabaseWatcher: tells the gateway when the metabase file may have changed.
//
// metabase-sync replaces the file atomically (write temp, fsync, rename), so
// the watcher uses inotify on the file's *directory* and reports IN_MOVED_TO
// and IN_CLOSE_WRITE events naming the file (a watch on the file itself would
// follow the replaced inode). Events are read through an Asio
// stream_descriptor on the caller's executor, so nothing blocks the loop. A
// burst of events is coalesced: the callback runs once after the directory has
// been quiet for `settle` (default 100 ms). The callback decides what to do
// (reload and validate); the watcher does not read the file.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"

namespace gw::server {

class MetabaseWatcher : public std::enable_shared_from_this<MetabaseWatcher> {
 public:
  using Callback = std::function<void()>;

  // Throws std::system_error when inotify cannot be set up (start-up only).
  static std::shared_ptr<MetabaseWatcher> start(asio::any_io_executor executor, std::filesystem::path file,
                                                Callback on_change,
                                                std::chrono::milliseconds settle = std::chrono::milliseconds(100));
  ~MetabaseWatcher();
  void stop();

 private:
  MetabaseWatcher(asio::any_io_executor executor, std::filesystem::path file, Callback on_change,
                  std::chrono::milliseconds settle);
  asio::awaitable<void> read_events();
  asio::awaitable<void> settle_then_notify();

  std::filesystem::path file_;
  Callback on_change_;
  std::chrono::milliseconds settle_;
  asio::posix::stream_descriptor inotify_;
  asio::steady_timer settle_timer_;
  bool settle_pending_ = false;
  bool stopped_ = false;
};

}  // namespace gw::server
