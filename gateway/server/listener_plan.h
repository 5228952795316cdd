// ListenerPlan: which listening sockets the running virtual servers need, and
// which virtual server each accepted connection belongs to.
//
// A binding with an empty IP means "all unassigned": every local address not
// bound by another virtual server on that port (the IIS/Exchange meaning).
// Linux refuses to bind 127.0.0.2:25 while 0.0.0.0:25 listens, so a port that
// has an "all unassigned" binding gets one wildcard socket only, and each
// accepted connection is dispatched on its local address: to the virtual server
// bound to exactly that address when there is one, otherwise to the "all
// unassigned" server. Ports without one get a socket per specific address.
//
// Only virtual servers in state STARTED (or unspecified, which means started)
// take part; paused and stopped servers have no sockets and no dispatch
// entries. Pure: plan_listeners() does no I/O; the Listener opens the sockets.
// validate_bindings() reports conflicts (two servers on one address and port).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"
#include "proto/metabase.pb.h"

namespace gw::server {

struct SocketPlan {
  std::uint16_t port = 0;
  bool wildcard = false;                 // listens on every local address
  asio::ip::address address;             // the bound address when !wildcard
  bool implicit_tls = false;
  std::string default_server;            // virtual server id for unmatched local addresses
  std::map<asio::ip::address, std::string> by_local_address;  // wildcard sockets only

  // Identity of the socket across reloads: same key = keep the open socket.
  std::string key() const;
  // The virtual server that owns a connection whose local address is `local`.
  const std::string& server_for(const asio::ip::address& local) const;

  friend bool operator==(const SocketPlan&, const SocketPlan&) = default;
};

bool server_is_running(const metabase::VirtualServer& server);

// Fails when two running servers claim the same IP and port, a port is 0 or
// above 65535, an IP does not parse, or server ids repeat.
Result<void> validate_bindings(const metabase::Metabase& metabase);

// Sockets for every running virtual server; call after validate_bindings().
std::vector<SocketPlan> plan_listeners(const metabase::Metabase& metabase);

}  // namespace gw::server
