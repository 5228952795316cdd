#include "gateway/server/listener.h"

#include "gateway/common/log.h"
#include "gateway/server/ip_network.h"

namespace gw::server {
namespace {

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

asio::awaitable<void> Listener::accept_loop() {
  auto self = shared_from_this();
  asio::steady_timer backoff(acceptor_.get_executor());
  while (!closed_) {
    boost::system::error_code ec;
    auto socket = co_await acceptor_.async_accept(pick_worker_(), asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
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
