// FaultyFs: a FileSystem that forwards to another one and fails on request.
//
// For fault-injection tests of the spool: fail the
// N-th counted call with a chosen errno (EIO, ENOSPC ...), or "crash" at the N-th
// call -- that call and every later one fail, as if the process had died there, so
// nothing more reaches the disk. Which operations are counted is selectable (only
// fsyncs, only renames ...). Every call is recorded in a journal (operation, path,
// outcome) so a test can check the order in which the spool made things durable.
// Thread-safe. Test support only; the daemon always uses PosixFileSystem.
#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gateway/queue/file_system.h"

namespace gw::queue {

enum class FsOp { Open, Write, Read, Fsync, Syncfs, Close, Rename, Unlink, Mkdir, List };

struct FsEvent {
  FsOp op;
  std::filesystem::path path;     // for descriptor calls: the path it was opened with
  std::filesystem::path target;   // rename only
  bool ok = true;
};

class FaultyFs final : public FileSystem {
 public:
  explicit FaultyFs(std::shared_ptr<FileSystem> real = std::make_shared<PosixFileSystem>());

  // Operations that modify or persist state: the ones fault loops iterate over.
  static std::set<FsOp> mutating_ops();

  // Fails the n-th (1-based) call of one of `ops` with `err`; later calls succeed.
  void fail_nth(std::uint64_t n, int err = EIO, std::set<FsOp> ops = mutating_ops());
  // Fails the n-th call of one of `ops` and every call of any kind after it.
  void crash_at(std::uint64_t n, std::set<FsOp> ops = mutating_ops());
  // Stops injecting faults (the journal is kept).
  void heal();

  std::uint64_t counted_calls() const;
  bool fault_fired() const;
  std::vector<FsEvent> journal() const;

  Result<int> open(const std::filesystem::path& path, int flags, mode_t mode) override;
  Result<void> write(int fd, std::span<const char> data) override;
  Result<std::size_t> read(int fd, std::span<char> data) override;
  Result<void> fsync(int fd) override;
  Result<void> syncfs(int fd) override;
  Result<void> close(int fd) override;
  Result<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Result<void> unlink(const std::filesystem::path& path) override;
  Result<void> mkdir(const std::filesystem::path& path, mode_t mode) override;
  Result<std::vector<std::string>> list(const std::filesystem::path& dir) override;

 private:
  // Journals and counts the call, then either fails it (injected errno) or runs
  // `call` on the real file system and journals its outcome.
  template <typename Call>
  auto guarded(FsOp op, const std::filesystem::path& path, const std::filesystem::path& target,
               Call&& call) -> decltype(call());
  std::filesystem::path path_of(int fd) const;  // mutex_ held
  std::filesystem::path locked_path_of(int fd) const;

  std::shared_ptr<FileSystem> real_;
  mutable std::mutex mutex_;
  std::set<FsOp> counted_ops_;
  std::uint64_t fail_at_ = 0;
  int fail_errno_ = EIO;
  bool crash_ = false;
  bool crashed_ = false;
  bool fired_ = false;
  std::uint64_t counted_ = 0;
  std::map<int, std::filesystem::path> fd_paths_;
  std::vector<FsEvent> journal_;
};

}  // namespace gw::queue
