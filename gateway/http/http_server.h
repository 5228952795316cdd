// HttpServer: a small read-only HTTP/1.1 server (Boost.Beast) on one of the
// gateway's Asio loops, for /metrics, /healthz and the status page. Every
// request is answered by one handler that runs on that loop, so it may read
// state owned by the loop without locks.
//
// Only GET and HEAD are served (others: 405); a header or a body over 8 KiB is
// refused (431/413); a connection idle for 10 s, or slower
// than that for one request, is closed; at most 16 connections at once (more
// are closed at accept). Keep-alive is honoured. Not an admin interface:
// nothing it serves changes the gateway.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"

namespace gw::http {

struct Request {
  std::string method;   // "GET", "HEAD"
  std::string target;   // "/metrics?x=y"
  std::string path;     // "/metrics"
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (a name is resolved once,
// its first address). Errors name the bad part.
Result<asio::ip::tcp::endpoint> parse_listen_address(const std::string& text);

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // Binds and listens; throws std::runtime_error naming the address on failure.
  static std::shared_ptr<HttpServer> start(asio::any_io_executor executor, const asio::ip::tcp::endpoint& endpoint,
                                           Handler handler);
  ~HttpServer();
  // The bound endpoint (port 0 resolved).
  asio::ip::tcp::endpoint local_endpoint() const;
  // Thread-safe: closes the acceptor; connections finish their current request.
  void stop();

  HttpServer(asio::any_io_executor executor, Handler handler);

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);

  asio::any_io_executor executor_;
  asio::ip::tcp::acceptor acceptor_;
  Handler handler_;
  std::size_t connections_ = 0;
};

}  // namespace gw::http
