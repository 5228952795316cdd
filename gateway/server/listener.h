// Listener: one listening socket of the plan (listener_plan.h) and its accept
// loop.
//
// Contract: open() binds and listens (SO_REUSEADDR; a wildcard socket is
// dual-stack [::] when the host has IPv6, 0.0.0.0 otherwise) or returns the
// error. The accept loop runs on the control executor; each accepted socket is
// created on the executor the WorkerPicker returns (one io_context per core,
// round-robin), the owning virtual server is looked up from the socket's local
// address (SocketPlan::server_for) and the socket is handed to `dispatch`
// together with the plan's implicit_tls (RFC 8314: the connection handshakes
// before the greeting).
// update() swaps the dispatch table of a socket that stays open across a reload;
// close() stops accepting (sessions already handed on are not affected).
// Out of file descriptors (EMFILE, ENFILE): the process keeps one spare
// descriptor, frees it to accept the waiting connection, writes
// "421 4.3.2 Too many open files, try again later", closes it and takes the
// spare back, so no client waits without a greeting (a warning is logged at
// most every 10 s with the count). Other transient accept errors (ENOBUFS,
// or no spare) pause the loop briefly instead of spinning. Control executor
// only, not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"
#include "gateway/server/listener_plan.h"

namespace gw::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  using WorkerPicker = std::function<asio::any_io_executor()>;
  using Dispatch =
      std::function<void(asio::ip::tcp::socket socket, const std::string& server_id, bool implicit_tls)>;

  static Result<std::shared_ptr<Listener>> open(asio::any_io_executor control, SocketPlan plan,
                                                WorkerPicker pick_worker, Dispatch dispatch);
  void update(SocketPlan plan) { plan_ = std::move(plan); }
  void close();
  const SocketPlan& plan() const noexcept { return plan_; }
  asio::ip::tcp::endpoint local_endpoint() const;

 private:
  Listener(asio::any_io_executor control, SocketPlan plan, WorkerPicker pick_worker, Dispatch dispatch);
  asio::awaitable<void> accept_loop();
  // True when one waiting connection was accepted, told 421 4.3.2 and closed.
  bool refuse_for_want_of_descriptors();

  asio::ip::tcp::acceptor acceptor_;
  SocketPlan plan_;
  WorkerPicker pick_worker_;
  Dispatch dispatch_;
  bool closed_ = false;
  std::uint64_t refused_for_descriptors_ = 0;
  std::chrono::steady_clock::time_point last_descriptor_warning_{};
};

}  // namespace gw::server
