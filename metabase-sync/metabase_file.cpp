#include "metabase-sync/metabase_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include "metabase-sync/errors.h"

namespace msync {
namespace {

std::unexpected<gw::Error> io_error(std::string_view what, const std::filesystem::path& path, int err) {
  return fail(SyncErrc::LocalIo, std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string temp_prefix(const std::filesystem::path& path) {
  return "." + path.filename().string() + ".tmp.";
}

std::string content_bytes(const gw::metabase::Metabase& metabase) {
  gw::metabase::Metabase copy = metabase;
  copy.clear_provenance();
  std::string bytes;
  copy.SerializeToString(&bytes);
  return bytes;
}

}  // namespace

gw::Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const auto temp = directory / (temp_prefix(path) + std::to_string(::getpid()));
  ::unlink(temp.c_str());  // a leftover of an earlier process with our pid
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (fd.get() < 0) return io_error("create", temp, errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::unlink(temp.c_str());
      return io_error("write", temp, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return io_error("fsync", temp, err);
  }
  if (::close(fd.release()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return io_error("close", temp, err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return io_error("rename to", path, err);
  }
  // The rename is durable only once the directory entry is on disk.
  Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return io_error("open directory", directory, errno);
  if (::fsync(dir.get()) != 0) return io_error("fsync directory", directory, errno);
  return {};
}

gw::Result<std::optional<gw::metabase::Metabase>> read_metabase(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<gw::metabase::Metabase>();
    return io_error("open", path, errno);
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  gw::metabase::Metabase metabase;
  if (!metabase.ParseFromString(bytes.str()))
    return fail(SyncErrc::LocalIo, path.string() + ": not a metabase (protobuf gw.metabase.Metabase)");
  return std::optional<gw::metabase::Metabase>(std::move(metabase));
}

bool same_content(const gw::metabase::Metabase& a, const gw::metabase::Metabase& b) {
  return content_bytes(a) == content_bytes(b);
}

MetabaseWriter::MetabaseWriter(std::filesystem::path path) : path_(std::move(path)) {}

gw::Result<void> MetabaseWriter::open() {
  const auto directory = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  const auto prefix = temp_prefix(path_);
  for (const auto& item : std::filesystem::directory_iterator(directory, ec)) {
    if (item.path().filename().string().starts_with(prefix)) std::filesystem::remove(item.path(), ec);
  }
  if (ec) return fail(SyncErrc::LocalIo, "read directory " + directory.string() + ": " + ec.message());
  auto existing = read_metabase(path_);
  current_ = existing ? std::move(*existing) : std::nullopt;
  return {};
}

gw::Result<bool> MetabaseWriter::publish(gw::metabase::Metabase candidate) {
  if (current_ && same_content(*current_, candidate)) return false;
  auto* provenance = candidate.mutable_provenance();
  provenance->set_serial(current_ ? current_->provenance().serial() + 1 : 1);
  provenance->set_synced_at_unix(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::string bytes;
  if (!candidate.SerializeToString(&bytes)) return fail(SyncErrc::LocalIo, "cannot serialize the metabase");
  if (auto written = write_file_atomically(path_, bytes); !written) return std::unexpected(written.error());
  current_ = std::move(candidate);
  return true;
}

}  // namespace msync
