#include "gateway/control/control_server.h"

#include <sys/stat.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>

#include "gateway/common/log.h"
#include "gateway/control/dispatcher.h"
#include "gateway/control/protocol.h"

namespace gw::control {

using stream_protocol = asio::local::stream_protocol;

namespace {

const log::Context kLog{.subsystem = "control"};

struct Connection {
  explicit Connection(const asio::any_io_executor& executor) : socket(executor), timer(executor) {}
  stream_protocol::socket socket;
  asio::steady_timer timer;

  void close() {
    boost::system::error_code ignored;
    socket.close(ignored);
    timer.cancel();
  }
};

// Whether a process still accepts connections on `path` (a live gateway).
bool socket_answers(const std::filesystem::path& path) {
  asio::io_context io;
  stream_protocol::socket probe(io);
  boost::system::error_code ec;
  probe.connect(stream_protocol::endpoint(path.string()), ec);
  return !ec;
}

}  // namespace

struct ControlServer::State {
  State(queue::QueueAdmin& admin_in, std::filesystem::path path_in)
      : admin(admin_in), executor(admin_in.executor()), path(std::move(path_in)), acceptor(executor) {}

  queue::QueueAdmin& admin;
  Explainer* explainer = nullptr;
  asio::any_io_executor executor;
  std::filesystem::path path;
  stream_protocol::acceptor acceptor;
  std::set<std::shared_ptr<Connection>> connections;  // touched on `executor` only
  std::atomic<bool> stopped{false};
};

namespace {

asio::awaitable<void> watchdog(std::shared_ptr<Connection> connection) {
  while (connection->socket.is_open()) {
    boost::system::error_code ec;
    co_await connection->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (connection->timer.expiry() <= asio::steady_timer::clock_type::now()) {
      connection->close();
      co_return;
    }
  }
}

asio::awaitable<void> write_response(Connection& connection, const Response& response) {
  const std::string text = format_response(response);
  boost::system::error_code ec;
  co_await asio::async_write(connection.socket, asio::buffer(text),
                             asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> serve(std::shared_ptr<ControlServer::State> state,
                            std::shared_ptr<Connection> connection) {
  std::string buffer;
  while (!state->stopped && connection->socket.is_open()) {
    connection->timer.expires_after(ControlServer::kIdleTimeout);
    boost::system::error_code ec;
    auto dynamic = asio::dynamic_buffer(buffer, kMaxRequestLine + 2);
    const std::size_t n = co_await asio::async_read_until(
        connection->socket, dynamic, '\n', asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::not_found) {
      const Response too_long = Response::failure("request line too long");
      co_await write_response(*connection, too_long);
      break;
    }
    if (ec) break;  // closed by the client, the watchdog or stop()
    connection->timer.expires_at(asio::steady_timer::time_point::max());

    const std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    auto request = parse_request(line);
    Response response;
    if (!request) {
      response = Response::failure(request.error().detail);
    } else {
      log::info(kLog, "{}", log::printable(format_request(*request)));
      Request parsed = std::move(*request);
      response = co_await execute(state->admin, std::move(parsed), state->explainer);
      if (!response.ok) log::warn(kLog, "{}: {}", log::printable(line), response.error);
    }
    co_await write_response(*connection, response);
  }
  connection->close();
  state->connections.erase(connection);
}

asio::awaitable<void> accept_loop(std::shared_ptr<ControlServer::State> state) {
  while (!state->stopped) {
    auto connection = std::make_shared<Connection>(state->executor);
    boost::system::error_code ec;
    co_await state->acceptor.async_accept(connection->socket,
                                          asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || state->stopped) co_return;
    if (ec) {
      log::warn(kLog, "accept on {}: {}", state->path.string(), ec.message());
      // EMFILE and friends: back off instead of spinning.
      asio::steady_timer pause(state->executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state->connections.size() >= ControlServer::kMaxConnections) {
      const Response busy = Response::failure("too many control connections");
      co_await write_response(*connection, busy);
      connection->close();
      continue;
    }
    state->connections.insert(connection);
    asio::co_spawn(state->executor, watchdog(connection), asio::detached);
    asio::co_spawn(state->executor, serve(state, connection), asio::detached);
  }
}

}  // namespace

void ControlServer::set_explainer(Explainer* explainer) { state_->explainer = explainer; }

ControlServer::ControlServer(queue::QueueAdmin& admin, std::filesystem::path socket)
    : state_(std::make_shared<State>(admin, std::move(socket))) {}

ControlServer::~ControlServer() { stop(); }

const std::filesystem::path& ControlServer::socket_path() const noexcept { return state_->path; }

void ControlServer::start() {
  const std::filesystem::path& path = state_->path;
  std::error_code fs_ec;
  const auto status = std::filesystem::symlink_status(path, fs_ec);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_socket(status))
      throw std::runtime_error("control socket " + path.string() + " exists and is not a socket");
    if (socket_answers(path))
      throw std::runtime_error("control socket " + path.string() + " is in use by a running gateway");
    std::filesystem::remove(path, fs_ec);
    if (fs_ec)
      throw std::runtime_error("control socket " + path.string() + ": cannot remove stale file: " +
                               fs_ec.message());
    log::info(kLog, "removed stale socket {}", path.string());
  }

  auto& acceptor = state_->acceptor;
  try {
    acceptor.open(stream_protocol());
    acceptor.bind(stream_protocol::endpoint(path.string()));
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("control socket " + path.string() + ": " + e.code().message());
  }
  // Owner only, and before listen(): until then every connect is refused.
  if (::chmod(path.c_str(), 0600) != 0) {
    const int err = errno;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    std::filesystem::remove(path, fs_ec);
    throw std::runtime_error("control socket " + path.string() + ": chmod: " +
                             std::generic_category().message(err));
  }
  acceptor.listen(static_cast<int>(kMaxConnections));
  asio::co_spawn(state_->executor, accept_loop(state_), asio::detached);
  log::info(kLog, "listening on {}", path.string());
}

void ControlServer::stop() {
  if (!state_ || state_->stopped.exchange(true)) return;
  std::error_code fs_ec;
  if (state_->acceptor.is_open()) std::filesystem::remove(state_->path, fs_ec);
  asio::dispatch(state_->executor, [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
    for (const auto& connection : state->connections) connection->close();
    state->connections.clear();
  });
}

}  // namespace gw::control
