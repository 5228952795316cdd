#include "gateway/control/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace gw::control {
namespace {

// Responses are bounded by the gateway's list limit; this only stops a runaway peer.
constexpr std::size_t kMaxResponse = 256 * 1024 * 1024;

std::string errno_text(int err) { return std::generic_category().message(err); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<Response> call(const std::filesystem::path& socket_path, const Request& request,
                      std::chrono::milliseconds timeout) {
  const std::string path = socket_path.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    return make_error(ControlErrc::CannotConnect, path + ": socket path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return make_error(ControlErrc::CannotConnect, "socket: " + errno_text(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return make_error(ControlErrc::CannotConnect, "connect " + path + ": " + errno_text(errno));

  const std::string line = format_request(request) + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ControlErrc::Io, "send to " + path + ": " + errno_text(errno));
    sent += static_cast<std::size_t>(n);
  }

  std::string text;
  char chunk[16384];
  while (!response_complete(text)) {
    const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      const bool timed_out = err == EAGAIN || err == EWOULDBLOCK;
      return make_error(ControlErrc::Io, "read from " + path + ": " +
                                             (timed_out ? std::string("timed out") : errno_text(err)));
    }
    if (n == 0) return make_error(ControlErrc::Io, "the gateway closed the connection mid-response");
    text.append(chunk, static_cast<std::size_t>(n));
    if (text.size() > kMaxResponse) return make_error(ControlErrc::BadResponse, "response too large");
  }
  return parse_response(text);
}

}  // namespace gw::control
