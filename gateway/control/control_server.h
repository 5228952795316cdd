// ControlServer: the gateway's control socket, a Unix stream socket that
// gatewayctl talks to with the protocol of gateway/control/protocol.h.
//
// Contract: start() binds the socket file (mode 0600, set before listen(), so no
// one else can connect even for an instant; authorization is that file mode and
// the directory it is in), replacing a stale file left by a crashed gateway but
// refusing to take over one another process still answers on, and refusing to
// remove anything that is not a socket. It throws std::runtime_error on these
// start-up failures. Connections are served on QueueAdmin::executor(), one
// request at a time each, idle connections closed after kIdleTimeout. stop()
// (also run by the destructor) removes the socket file and closes the acceptor
// and every connection; it may be called from any thread, and the closing runs
// on the executor. The QueueAdmin must outlive the executor's run, and the
// ControlServer must be destroyed before the executor's io_context.
// Not responsible for what a request does (dispatcher.h, QueueAdmin).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "gateway/control/explainer.h"
#include "gateway/queue/queue_admin.h"

namespace gw::control {

class ControlServer {
 public:
  static constexpr std::chrono::seconds kIdleTimeout{60};
  static constexpr std::size_t kMaxConnections = 32;

  ControlServer(queue::QueueAdmin& admin, std::filesystem::path socket);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // The control loop's Explainer for `explain`; set before start(); may be null.
  void set_explainer(Explainer* explainer);
  void start();
  void stop();

  const std::filesystem::path& socket_path() const noexcept;

  struct State;  // shared with the connections' coroutines; defined in the .cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace gw::control
