#include "gateway/http/http_server.h"

#include <gtest/gtest.h>

#include <thread>

namespace gw::http {
namespace {

TEST(ListenAddress, ParsesIpv4Ipv6AndRefusesNonsense) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:8025")->port(), 8025);
  EXPECT_EQ(parse_listen_address("[::1]:8025")->address().to_string(), "::1");
  EXPECT_FALSE(parse_listen_address("nonsense"));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:70000"));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:"));
  EXPECT_EQ(parse_listen_address("nonsense").error().detail, "HTTP address \"nonsense\": expected ADDRESS:PORT");
}

// One raw HTTP exchange on a real loopback socket.
std::string exchange(const asio::ip::tcp::endpoint& endpoint, const std::string& request) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(endpoint);
  asio::write(socket, asio::buffer(request));
  std::string reply;
  boost::system::error_code ec;
  char buffer[4096];
  for (;;) {
    const auto n = socket.read_some(asio::buffer(buffer), ec);
    if (ec) break;
    reply.append(buffer, n);
  }
  return reply;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = HttpServer::start(io_.get_executor(), {asio::ip::make_address("127.0.0.1"), 0}, [](const Request& r) {
      if (r.path == "/hello") return Response{200, "text/plain", "hello " + r.target + "\n"};
      return Response{404, "text/plain", "Not Found\n"};
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  asio::io_context io_;
  std::shared_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, AnswersGetWithTheHandlersResponse) {
  const auto reply = exchange(server_->local_endpoint(), "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Type: text/plain\r\n"), std::string::npos);
  EXPECT_NE(reply.find("Cache-Control: no-store\r\n"), std::string::npos);
  EXPECT_NE(reply.find("\r\n\r\nhello /hello?x=1\n"), std::string::npos);
}

TEST_F(HttpServerTest, HeadHasTheLengthButNoBody) {
  const auto reply = exchange(server_->local_endpoint(), "HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: 13\r\n"), std::string::npos) << reply;
  EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), "");
}

TEST_F(HttpServerTest, OtherMethodsGet405) {
  const auto reply =
      exchange(server_->local_endpoint(), "DELETE /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Allow: GET, HEAD\r\n"), std::string::npos);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const auto reply = exchange(server_->local_endpoint(),
                              "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nothing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(reply.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(reply.find("HTTP/1.1 404 Not Found"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, AnOversizedHeaderIsRefused) {
  const auto reply = exchange(server_->local_endpoint(),
                              "GET /hello HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'x') + "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 80);
}

}  // namespace
}  // namespace gw::http
