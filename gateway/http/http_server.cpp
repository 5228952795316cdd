#include "gateway/http/http_server.h"

#include <sstream>
#include <stdexcept>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/common/log.h"

namespace gw::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t kMaxConnections = 16;
constexpr std::chrono::seconds kIdleTimeout{10};

}  // namespace

Result<asio::ip::tcp::endpoint> parse_listen_address(const std::string& text) {
  const auto invalid = [&](const std::string& why) {
    return make_error(std::make_error_code(std::errc::invalid_argument), "HTTP address \"" + text + "\": " + why);
  };
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return invalid("expected [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return invalid("expected ADDRESS:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned long number = 0;
  try {
    std::size_t used = 0;
    number = std::stoul(port, &used);
    if (used != port.size() || number > 65535) return invalid("bad port");
  } catch (const std::exception&) {
    return invalid("bad port");
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port, ec);
    if (ec || results.empty()) return invalid("cannot resolve " + host);
    return results.begin()->endpoint();
  }
  return asio::ip::tcp::endpoint(address, static_cast<unsigned short>(number));
}

HttpServer::HttpServer(asio::any_io_executor executor, Handler handler)
    : executor_(executor), acceptor_(executor), handler_(std::move(handler)) {}

HttpServer::~HttpServer() = default;

std::shared_ptr<HttpServer> HttpServer::start(asio::any_io_executor executor, const asio::ip::tcp::endpoint& endpoint,
                                              Handler handler) {
  auto server = std::make_shared<HttpServer>(executor, std::move(handler));
  boost::system::error_code ec;
  server->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) server->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) server->acceptor_.bind(endpoint, ec);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::ostringstream where;
    where << endpoint;
    throw std::runtime_error("HTTP: cannot listen on " + where.str() + ": " + ec.message());
  }
  asio::co_spawn(executor, [server]() { return server->accept_loop(); }, asio::detached);
  return server;
}

asio::ip::tcp::endpoint HttpServer::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void HttpServer::stop() {
  asio::post(executor_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

asio::awaitable<void> HttpServer::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    boost::system::error_code ec;
    asio::ip::tcp::socket socket(executor_);
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;
    if (connections_ >= kMaxConnections) {
      socket.close(ec);
      continue;
    }
    ++connections_;
    asio::co_spawn(
        executor_,
        [self, s = std::move(socket)]() mutable -> asio::awaitable<void> {
          co_await self->serve(std::move(s));
          --self->connections_;
        },
        asio::detached);
  }
}

asio::awaitable<void> HttpServer::serve(asio::ip::tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(8 * 1024);
    stream.expires_after(kIdleTimeout);
    boost::system::error_code ec;
    co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset) break;
    bhttp::response<bhttp::string_body> response;
    bool keep_alive = false;
    if (ec) {
      response.result(ec == bhttp::error::header_limit ? bhttp::status::request_header_fields_too_large
                      : ec == bhttp::error::body_limit ? bhttp::status::payload_too_large
                                                       : bhttp::status::bad_request);
      response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      response.body() = std::string(response.reason()) + "\n";
    } else {
      const auto& request = parser.get();
      keep_alive = request.keep_alive();
      response.version(request.version());
      if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
        response.result(bhttp::status::method_not_allowed);
        response.set(bhttp::field::allow, "GET, HEAD");
        response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
        response.body() = "Method Not Allowed\n";
      } else {
        Request in;
        in.method = std::string(request.method_string());
        in.target = std::string(request.target());
        in.path = in.target.substr(0, in.target.find('?'));
        Response out;
        try {
          out = handler_(in);
        } catch (const std::exception& failure) {
          log::error({"http"}, "{} {}: {}", in.method, log::printable(in.target), failure.what());
          out = Response{500, "text/plain; charset=utf-8", "Internal Server Error\n"};
        }
        response.result(out.status);
        response.set(bhttp::field::content_type, out.content_type);
        response.set(bhttp::field::cache_control, "no-store");
        response.body() = std::move(out.body);
      }
      if (request.method() == bhttp::verb::head) {
        response.content_length(response.body().size());
        response.body().clear();
        response.keep_alive(keep_alive);
        stream.expires_after(kIdleTimeout);
        bhttp::response_serializer<bhttp::string_body> serializer(response);
        co_await bhttp::async_write_header(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !keep_alive) break;
        continue;
      }
    }
    response.set(bhttp::field::server, "mailgw");
    response.keep_alive(keep_alive);
    response.prepare_payload();
    stream.expires_after(kIdleTimeout);
    co_await bhttp::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace gw::http
