// ConnectionGate: the admission decision made when a virtual server accepts a
// TCP connection, before any SMTP byte is exchanged.
//
// Contract, in this order:
//   1. peer in the deny list                      -> 554 5.7.1 (close)
//   2. allow list non-empty and peer not in it    -> 554 5.7.1 (close)
//   3. open connections >= max_connections        -> 421 4.7.0 (close)
//   4. open from this peer >= max_connections_per_ip -> 421 4.7.0 (close)
// otherwise the connection is admitted and counted until its Ticket is dropped.
// The rules come from the configuration snapshot the caller passes in; the gate
// owns only the counters, so they survive a reload of the virtual server's
// settings. Thread-safe: tickets are released on whatever worker thread ends
// the session. It writes nothing to the socket (the caller sends the reply).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "gateway/common/asio.h"
#include "gateway/common/enhanced_status.h"
#include "gateway/server/ip_network.h"

namespace gw::server {

struct ConnectionRules {
  IpNetworkList allow;                  // empty = everyone may connect
  IpNetworkList deny;
  std::uint32_t max_connections = 0;    // 0 = unlimited
  std::uint32_t max_connections_per_ip = 0;  // 0 = unlimited
};

// Why a connection was refused: the reply to send before closing it.
struct Refusal {
  int code = 0;
  EnhancedStatus status;
  std::string text;
};

class ConnectionGate : public std::enable_shared_from_this<ConnectionGate> {
 public:
  // Keeps one connection counted while alive. Movable, not copyable.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

   private:
    friend class ConnectionGate;
    Ticket(std::shared_ptr<ConnectionGate> gate, asio::ip::address peer)
        : gate_(std::move(gate)), peer_(peer) {}
    void release() noexcept;
    std::shared_ptr<ConnectionGate> gate_;
    asio::ip::address peer_;
  };

  static std::shared_ptr<ConnectionGate> create() { return std::shared_ptr<ConnectionGate>(new ConnectionGate); }

  std::variant<Ticket, Refusal> admit(const asio::ip::address& peer, const ConnectionRules& rules);

  std::uint32_t open_connections() const;
  std::uint32_t open_connections_from(const asio::ip::address& peer) const;

 private:
  ConnectionGate() = default;
  void release(const asio::ip::address& peer) noexcept;

  mutable std::mutex mutex_;
  std::uint32_t total_ = 0;
  std::map<asio::ip::address, std::uint32_t> per_ip_;
};

}  // namespace gw::server
