#include "gateway/server/metabase_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <system_error>

#include "gateway/common/log.h"

namespace gw::server {
namespace {

// True when the buffer of inotify events names `file_name`. Kept out of the
// coroutine: inotify_event ends in a flexible array member, which cannot live
// in a coroutine frame.
bool names_file(const char* data, std::size_t size, const std::string& file_name) {
  bool relevant = false;
  for (std::size_t offset = 0; offset + sizeof(inotify_event) <= size;) {
    inotify_event event;
    std::memcpy(&event, data + offset, sizeof(event));
    if (event.len > 0 && file_name == data + offset + sizeof(inotify_event)) relevant = true;
    offset += sizeof(inotify_event) + event.len;
  }
  return relevant;
}

}  // namespace

std::shared_ptr<MetabaseWatcher> MetabaseWatcher::start(asio::any_io_executor executor, std::filesystem::path file,
                                                        Callback on_change, std::chrono::milliseconds settle) {
  auto watcher = std::shared_ptr<MetabaseWatcher>(
      new MetabaseWatcher(std::move(executor), std::move(file), std::move(on_change), settle));
  asio::co_spawn(watcher->inotify_.get_executor(),
                 [self = watcher]() { return self->read_events(); }, asio::detached);
  return watcher;
}

MetabaseWatcher::MetabaseWatcher(asio::any_io_executor executor, std::filesystem::path file, Callback on_change,
                                 std::chrono::milliseconds settle)
    : file_(std::move(file)),
      on_change_(std::move(on_change)),
      settle_(settle),
      inotify_(executor),
      settle_timer_(executor) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  inotify_.assign(fd);
  auto directory = file_.parent_path();
  if (directory.empty()) directory = ".";
  if (::inotify_add_watch(fd, directory.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    throw std::system_error(errno, std::generic_category(), "inotify_add_watch " + directory.string());
}

MetabaseWatcher::~MetabaseWatcher() = default;

void MetabaseWatcher::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  inotify_.close(ignored);
  settle_timer_.cancel();
}

asio::awaitable<void> MetabaseWatcher::read_events() {
  auto self = shared_from_this();
  std::array<char, 8192> buffer;
  const auto name = file_.filename().string();
  while (!stopped_) {
    boost::system::error_code ec;
    const std::size_t n = co_await inotify_.async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!stopped_) log::error({"reload"}, "inotify read: {}", ec.message());
      co_return;
    }
    const bool relevant = names_file(buffer.data(), n, name);
    if (relevant && !settle_pending_) {
      settle_pending_ = true;
      asio::co_spawn(settle_timer_.get_executor(), [self]() { return self->settle_then_notify(); },
                     asio::detached);
    } else if (relevant) {
      settle_timer_.expires_after(settle_);  // restart the quiet period
    }
  }
}

asio::awaitable<void> MetabaseWatcher::settle_then_notify() {
  auto self = shared_from_this();
  settle_timer_.expires_after(settle_);
  for (;;) {
    boost::system::error_code ec;
    co_await settle_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) co_return;
    // A restarted quiet period cancels the wait; wait out the new expiry.
    if (ec == asio::error::operation_aborted || settle_timer_.expiry() > asio::steady_timer::clock_type::now())
      continue;
    break;
  }
  settle_pending_ = false;
  on_change_();
}

}  // namespace gw::server
