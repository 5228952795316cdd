// FileSystem: the seam between the spool and the operating system.
//
// The spool performs every file operation through this interface so that tests can
// make the N-th open, write, fsync, rename, unlink or mkdir fail (FaultyFs, in
// gateway/queue/faulty_fs.h) and prove that no message is acknowledged before it is
// durable. PosixFileSystem is the real implementation: plain POSIX calls, O_CLOEXEC
// on every descriptor, EINTR retried, short writes completed. Errors come back as
// gw::Error built by errno_error() (SpoolErrc NoSpace / NotFound / Io). Calls block:
// the spool runs them on its own thread pool, never on an event loop. Not
// responsible for ordering or durability decisions; that is Spool's job.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "gateway/common/result.h"

namespace gw::queue {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Flags as for open(2); O_CLOEXEC is always added. Returns the descriptor.
  virtual Result<int> open(const std::filesystem::path& path, int flags, mode_t mode) = 0;
  // Writes all of `data` (retrying short writes) or fails.
  virtual Result<void> write(int fd, std::span<const char> data) = 0;
  // Reads up to data.size() octets; 0 means end of file.
  virtual Result<std::size_t> read(int fd, std::span<char> data) = 0;
  virtual Result<void> fsync(int fd) = 0;
  // syncfs(2): makes everything written to the file system that holds `fd`
  // durable, and reports any write-back error since the descriptor was opened
  // (Linux 5.8 and later).
  virtual Result<void> syncfs(int fd) = 0;
  virtual Result<void> close(int fd) = 0;
  virtual Result<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  virtual Result<void> unlink(const std::filesystem::path& path) = 0;
  // Succeeds when the directory already exists.
  virtual Result<void> mkdir(const std::filesystem::path& path, mode_t mode) = 0;
  // Names of the entries of a directory other than "." and "..", unsorted.
  virtual Result<std::vector<std::string>> list(const std::filesystem::path& dir) = 0;
};

class PosixFileSystem final : public FileSystem {
 public:
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
};

}  // namespace gw::queue
