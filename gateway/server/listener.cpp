#include "gateway/server/listener.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string_view>

#include "gateway/common/log.h"
#include "gateway/server/ip_network.h"

namespace gw::server {
namespace {

// One spare descriptor for the whole process (listeners live on the control
// loop only). When accept() fails for want of descriptors, it is given up for
// a moment to take the waiting connection, answer 421 and close it, so the
// client is told to come back instead of waiting for a greeting that never
// comes (the libev/nginx technique).
class SpareDescriptor {
 public:
  void acquire() noexcept {
    if (fd_ < 0) fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  bool release() noexcept {
    if (fd_ < 0) return false;
    ::close(fd_);
    fd_ = -1;
    return true;
  }

 private:
  int fd_ = -1;
};

SpareDescriptor& spare_descriptor() {
  static SpareDescriptor spare;
  return spare;
}

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE;
}

Result<void> bind_and_listen(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& endpoint,
                             bool dual_stack) {
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && dual_stack) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return make_error(std::error_code(ec.value(), std::system_category()),
                      "listen on " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()));
  }
  return {};
}

}  // namespace

Listener::Listener(asio::any_io_executor control, SocketPlan plan, WorkerPicker pick_worker, Dispatch dispatch)
    : acceptor_(control), plan_(std::move(plan)), pick_worker_(std::move(pick_worker)), dispatch_(std::move(dispatch)) {}

Result<std::shared_ptr<Listener>> Listener::open(asio::any_io_executor control, SocketPlan plan,
                                                 WorkerPicker pick_worker, Dispatch dispatch) {
  auto listener = std::shared_ptr<Listener>(
      new Listener(std::move(control), std::move(plan), std::move(pick_worker), std::move(dispatch)));
  const auto& p = listener->plan_;
  Result<void> bound;
  if (p.wildcard) {
    bound = bind_and_listen(listener->acceptor_, {asio::ip::address_v6::any(), p.port}, true);
    if (!bound) bound = bind_and_listen(listener->acceptor_, {asio::ip::address_v4::any(), p.port}, false);
  } else {
    bound = bind_and_listen(listener->acceptor_, {p.address, p.port}, false);
  }
  if (!bound) return std::unexpected(bound.error());
  spare_descriptor().acquire();
  asio::co_spawn(listener->acceptor_.get_executor(), [listener]() { return listener->accept_loop(); },
                 asio::detached);
  return listener;
}

void Listener::close() {
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::ip::tcp::endpoint Listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

bool Listener::refuse_for_want_of_descriptors() {
  if (!spare_descriptor().release()) return false;
  boost::system::error_code ec;
  asio::ip::tcp::socket socket(acceptor_.get_executor());
  acceptor_.non_blocking(true, ec);
  if (!ec) acceptor_.accept(socket, ec);
  const bool refused = !ec;
  if (refused) {
    // A new socket's send buffer takes one line at once; nothing waits on the peer.
    static constexpr std::string_view kReply = "421 4.3.2 Too many open files, try again later\r\n";
    boost::system::error_code send_ec;
    socket.non_blocking(true, send_ec);
    socket.send(asio::buffer(kReply.data(), kReply.size()), 0, send_ec);
    socket.close(send_ec);
    ++refused_for_descriptors_;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_descriptor_warning_ >= std::chrono::seconds(10)) {
      log::warn({"listener"}, "accept on {}: out of file descriptors; {} connection(s) refused with 421 4.3.2 so far",
                plan_.key(), refused_for_descriptors_);
      last_descriptor_warning_ = now;
    }
  }
  spare_descriptor().acquire();
  return refused;
}

asio::awaitable<void> Listener::accept_loop() {
  auto self = shared_from_this();
  asio::steady_timer backoff(acceptor_.get_executor());
  while (!closed_) {
    boost::system::error_code ec;
    auto socket = co_await acceptor_.async_accept(pick_worker_(), asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
      if (out_of_descriptors(ec) && refuse_for_want_of_descriptors()) continue;
      log::warn({"listener"}, "accept on {}: {}", plan_.key(), ec.message());
      // Out of descriptors or buffers: give sessions time to finish instead of spinning.
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    boost::system::error_code local_ec;
    const auto local = socket.local_endpoint(local_ec);
    if (local_ec) continue;  // the peer is already gone
    dispatch_(std::move(socket), plan_.server_for(local.address()), plan_.implicit_tls);
  }
}

}  // namespace gw::server
