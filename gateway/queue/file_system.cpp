#include "gateway/queue/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "gateway/queue/spool_error.h"

namespace gw::queue {

Result<int> PosixFileSystem::open(const std::filesystem::path& path, int flags, mode_t mode) {
  for (;;) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0) return fd;
    if (errno != EINTR) return std::unexpected(errno_error(errno, "open " + path.string()));
  }
}

Result<void> PosixFileSystem::write(int fd, std::span<const char> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(errno_error(errno, "write fd " + std::to_string(fd)));
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::size_t> PosixFileSystem::read(int fd, std::span<char> data) {
  for (;;) {
    const ssize_t n = ::read(fd, data.data(), data.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return std::unexpected(errno_error(errno, "read fd " + std::to_string(fd)));
  }
}

Result<void> PosixFileSystem::fsync(int fd) {
  // fsync is not restartable in a useful sense: a failed fsync may already have
  // dropped the dirty pages, so only EINTR (nothing happened) is retried.
  for (;;) {
    if (::fsync(fd) == 0) return {};
    if (errno != EINTR) return std::unexpected(errno_error(errno, "fsync fd " + std::to_string(fd)));
  }
}

Result<void> PosixFileSystem::syncfs(int fd) {
  if (::syncfs(fd) == 0) return {};
  return std::unexpected(errno_error(errno, "syncfs fd " + std::to_string(fd)));
}

Result<void> PosixFileSystem::close(int fd) {
  // Linux releases the descriptor even when close() reports EINTR; retrying
  // could close a descriptor another thread has just been given.
  if (::close(fd) == 0 || errno == EINTR) return {};
  return std::unexpected(errno_error(errno, "close fd " + std::to_string(fd)));
}

Result<void> PosixFileSystem::rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return {};
  return std::unexpected(errno_error(errno, "rename " + from.string() + " " + to.string()));
}

Result<void> PosixFileSystem::unlink(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) == 0) return {};
  return std::unexpected(errno_error(errno, "unlink " + path.string()));
}

Result<void> PosixFileSystem::mkdir(const std::filesystem::path& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    errno = EEXIST;
  }
  return std::unexpected(errno_error(errno, "mkdir " + path.string()));
}

Result<std::vector<std::string>> PosixFileSystem::list(const std::filesystem::path& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return std::unexpected(errno_error(errno, "opendir " + dir.string()));
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(handle);
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  const int read_errno = errno;
  ::closedir(handle);
  if (read_errno != 0) return std::unexpected(errno_error(read_errno, "readdir " + dir.string()));
  return names;
}

}  // namespace gw::queue
