// Transport: the byte stream under one SMTP connection -- a TCP socket, and
// after STARTTLS (RFC 3207) a TLS stream over that same socket.
//
// The connection driver only calls read_some(), write(), start_tls(),
// cancel() and close(), so it does not care which one is active. start_tls()
// performs the server handshake; the caller must already have discarded every
// plaintext octet buffered before it (RFC 3207 4.2). Errors come back as error
// codes, never exceptions. Not thread-safe: used from the connection's own
// coroutine (and its deadline watchdog on the same executor) only. Implicit TLS
// (RFC 8314, a handshake before the greeting) is start_tls() before anything
// is read or written.
#pragma once

#include <memory>
#include <string>

#include "gateway/common/asio.h"

#include <boost/asio/ssl.hpp>

namespace gw::server {

class Transport {
 public:
  explicit Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, boost::system::error_code& ec) {
    if (tls_) co_return co_await tls_->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    co_return co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> write(asio::const_buffer buffer, boost::system::error_code& ec) {
    if (tls_)
      co_await asio::async_write(*tls_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    else
      co_await asio::async_write(socket_, buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  // Server-side TLS handshake on the socket. On error the transport is unusable.
  asio::awaitable<void> start_tls(asio::ssl::context& context, boost::system::error_code& ec) {
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, context);
    co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  }
  // Aborts pending reads and writes (deadline expiry); the socket stays usable.
  void cancel() noexcept {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  // Closes without a TLS close_notify: SMTP's QUIT/221 already ended the
  // dialogue, and waiting for the peer's alert could block.
  void close() noexcept {
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  bool is_open() const noexcept { return socket_.is_open(); }
  bool tls_active() const noexcept { return tls_ != nullptr; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once TLS is up, empty before.
  std::string tls_description() const;

  asio::ip::tcp::socket& socket() noexcept { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
};

}  // namespace gw::server
