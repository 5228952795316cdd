#include "gateway/queue/faulty_fs.h"

#include "gateway/queue/spool_error.h"

namespace gw::queue {
namespace {

std::string op_name(FsOp op) {
  switch (op) {
    case FsOp::Open: return "open";
    case FsOp::Write: return "write";
    case FsOp::Read: return "read";
    case FsOp::Fsync: return "fsync";
    case FsOp::Syncfs: return "syncfs";
    case FsOp::Close: return "close";
    case FsOp::Rename: return "rename";
    case FsOp::Unlink: return "unlink";
    case FsOp::Mkdir: return "mkdir";
    case FsOp::List: return "list";
  }
  return "?";
}

}  // namespace

FaultyFs::FaultyFs(std::shared_ptr<FileSystem> real) : real_(std::move(real)) {}

std::set<FsOp> FaultyFs::mutating_ops() {
  return {FsOp::Open, FsOp::Write, FsOp::Fsync, FsOp::Syncfs, FsOp::Rename, FsOp::Unlink, FsOp::Mkdir};
}

void FaultyFs::fail_nth(std::uint64_t n, int err, std::set<FsOp> ops) {
  std::lock_guard lock(mutex_);
  counted_ops_ = std::move(ops);
  fail_at_ = n;
  fail_errno_ = err;
  crash_ = false;
  crashed_ = false;
  fired_ = false;
  counted_ = 0;
}

void FaultyFs::crash_at(std::uint64_t n, std::set<FsOp> ops) {
  fail_nth(n, EIO, std::move(ops));
  std::lock_guard lock(mutex_);
  crash_ = true;
}

void FaultyFs::heal() {
  std::lock_guard lock(mutex_);
  fail_at_ = 0;
  crash_ = false;
  crashed_ = false;
}

std::uint64_t FaultyFs::counted_calls() const {
  std::lock_guard lock(mutex_);
  return counted_;
}

bool FaultyFs::fault_fired() const {
  std::lock_guard lock(mutex_);
  return fired_;
}

std::vector<FsEvent> FaultyFs::journal() const {
  std::lock_guard lock(mutex_);
  return journal_;
}

std::filesystem::path FaultyFs::locked_path_of(int fd) const {
  std::lock_guard lock(mutex_);
  return path_of(fd);
}

std::filesystem::path FaultyFs::path_of(int fd) const {
  const auto it = fd_paths_.find(fd);
  return it == fd_paths_.end() ? std::filesystem::path("fd:" + std::to_string(fd)) : it->second;
}

template <typename Call>
auto FaultyFs::guarded(FsOp op, const std::filesystem::path& path, const std::filesystem::path& target,
                       Call&& call) -> decltype(call()) {
  std::size_t index = 0;
  int err = 0;
  {
    std::lock_guard lock(mutex_);
    index = journal_.size();
    journal_.push_back(FsEvent{op, path, target, true});
    if (crashed_) {
      err = EIO;
    } else if (fail_at_ != 0 && counted_ops_.contains(op) && ++counted_ == fail_at_) {
      fired_ = true;
      crashed_ = crash_;
      err = fail_errno_;
    }
    if (err != 0) journal_[index].ok = false;
  }
  if (err != 0) {
    std::string what = op_name(op) + " " + path.string();
    if (!target.empty()) what += " " + target.string();
    return std::unexpected(errno_error(err, what));
  }
  // The real call runs unlocked so that concurrent commits still overlap.
  auto result = call();
  if (!result) {
    std::lock_guard lock(mutex_);
    journal_[index].ok = false;
  }
  return result;
}

Result<int> FaultyFs::open(const std::filesystem::path& path, int flags, mode_t mode) {
  auto fd = guarded(FsOp::Open, path, {}, [&] { return real_->open(path, flags, mode); });
  if (fd) {
    std::lock_guard lock(mutex_);
    fd_paths_[*fd] = path;
  }
  return fd;
}

Result<void> FaultyFs::write(int fd, std::span<const char> data) {
  return guarded(FsOp::Write, locked_path_of(fd), {}, [&] { return real_->write(fd, data); });
}

Result<std::size_t> FaultyFs::read(int fd, std::span<char> data) {
  return guarded(FsOp::Read, locked_path_of(fd), {}, [&] { return real_->read(fd, data); });
}

Result<void> FaultyFs::fsync(int fd) {
  return guarded(FsOp::Fsync, locked_path_of(fd), {}, [&] { return real_->fsync(fd); });
}

Result<void> FaultyFs::syncfs(int fd) {
  return guarded(FsOp::Syncfs, locked_path_of(fd), {}, [&] { return real_->syncfs(fd); });
}

Result<void> FaultyFs::close(int fd) {
  std::filesystem::path path;
  {
    std::lock_guard lock(mutex_);
    path = path_of(fd);
    fd_paths_.erase(fd);
  }
  bool closed = false;
  auto result = guarded(FsOp::Close, path, {}, [&] {
    closed = true;
    return real_->close(fd);
  });
  // An injected failure still releases the descriptor, as close(2) does on Linux.
  if (!closed) (void)real_->close(fd);
  return result;
}

Result<void> FaultyFs::rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  return guarded(FsOp::Rename, from, to, [&] { return real_->rename(from, to); });
}

Result<void> FaultyFs::unlink(const std::filesystem::path& path) {
  return guarded(FsOp::Unlink, path, {}, [&] { return real_->unlink(path); });
}

Result<void> FaultyFs::mkdir(const std::filesystem::path& path, mode_t mode) {
  return guarded(FsOp::Mkdir, path, {}, [&] { return real_->mkdir(path, mode); });
}

Result<std::vector<std::string>> FaultyFs::list(const std::filesystem::path& dir) {
  return guarded(FsOp::List, dir, {}, [&] { return real_->list(dir); });
}

}  // namespace gw::queue
