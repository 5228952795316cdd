// Transport: the byte stream under one SMTP connection.
//
// Today it is a plain TCP socket. It is the seam for STARTTLS and implicit TLS:
// the connection driver only calls read_some(), write(), cancel() and close(),
// so switching the stream to an asio::ssl::stream over the same socket after
// the "220 Ready to start TLS" (RFC 3207) changes this class, not the driver.
// Errors come back as error codes, never exceptions. Not thread-safe: used from
// the connection's own coroutine (and its deadline watchdog on the same
// executor) only.
#pragma once

#include <string>

#include "gateway/common/asio.h"

namespace gw::server {

class Transport {
 public:
  explicit Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, boost::system::error_code& ec) {
    co_return co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> write(asio::const_buffer buffer, boost::system::error_code& ec) {
    co_await asio::async_write(socket_, buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  // Aborts pending reads and writes (deadline expiry); the socket stays usable.
  void cancel() noexcept {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  void close() noexcept {
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  bool is_open() const noexcept { return socket_.is_open(); }
  // Empty when TLS is not active; "TLSv1.3 TLS_AES_256_GCM_SHA384" once it is.
  std::string tls_description() const { return {}; }

  asio::ip::tcp::socket& socket() noexcept { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace gw::server
