// ConnectionPool: outbound connection limits and reuse of idle connections.
//
// Every outbound connection, busy or idle, holds one slot. acquire(key) waits
// until a slot is free under both limits: the total (metabase
// Outbound.max_connections, msExchSmtpMaxOutgoingConnections) and the one per
// destination key (Outbound.max_connections_per_domain; the key is the next
// hop's queue name, so "Remote delivery [partner.example]" and a connector's
// smart hosts each count separately). When an idle connection to the same key
// is kept, acquire() hands it out instead, so consecutive messages to one next
// hop share a connection (RSET between them is the session's business). Idle
// connections are kept for `idle_time`, at most `max_messages_per_connection`
// messages each, and are closed early when another destination needs the slot.
// Executor: single-threaded use on one event loop. Waiters are served as slots
// free up, not strictly first come first served.
// Not responsible for choosing hosts or for delivering (deliver_with_pool).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/delivery/smtp_client.h"

namespace gw::metabase {
class Outbound;
}

namespace gw::delivery {

struct PoolLimits {
  std::uint32_t max_connections = 1000;               // 0 = unlimited
  std::uint32_t max_connections_per_key = 100;        // 0 = unlimited
  std::uint32_t max_messages_per_connection = 20;     // 0 = unlimited
  std::chrono::milliseconds idle_time = std::chrono::seconds(2);
};

// Limits from the virtual server's Outbound settings (0 in the metabase = the
// Exchange default, as the metabase comments give them).
PoolLimits pool_limits(const gw::metabase::Outbound& outbound);

class ConnectionPool;

// A slot in the pool, possibly with an idle connection to reuse. Destroying a
// lease without release() frees the slot.
class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();

  // An idle connection to the same key, ready for send; null = open a new one.
  std::unique_ptr<OutboundConnection> connection;
  const std::string& key() const noexcept { return key_; }

 private:
  friend class ConnectionPool;
  Lease(ConnectionPool* pool, std::string key, std::unique_ptr<OutboundConnection> reused);
  void reset() noexcept;
  ConnectionPool* pool_ = nullptr;
  std::string key_;
};

class ConnectionPool {
 public:
  ConnectionPool(asio::any_io_executor executor, PoolLimits limits);
  ~ConnectionPool();

  asio::awaitable<Lease> acquire(std::string key);
  // Gives the slot back; a usable connection is kept idle for the next message to the key.
  void release(Lease lease, std::unique_ptr<OutboundConnection> connection);

  std::size_t connections() const noexcept { return total_; }
  std::size_t connections(const std::string& key) const;
  std::size_t idle(const std::string& key) const;
  std::size_t reused() const noexcept { return reused_; }

 private:
  friend class Lease;
  struct Idle {
    std::unique_ptr<OutboundConnection> connection;
    std::chrono::steady_clock::time_point since;
  };
  void free_slot(const std::string& key);
  void close_idle(std::unique_ptr<OutboundConnection> connection);
  void drop_expired();
  bool close_one_idle_except(const std::string& key);
  void wake_waiters();

  asio::any_io_executor executor_;
  PoolLimits limits_;
  std::size_t total_ = 0;
  std::size_t reused_ = 0;
  std::map<std::string, std::size_t> per_key_;
  std::map<std::string, std::vector<Idle>> idle_;
  std::list<asio::steady_timer*> waiters_;
};

// Delivers one message to the next hop `key`: on an idle pooled connection
// when there is one, otherwise like deliver_to_hosts(); a connection that is
// still usable afterwards goes back to the pool.
asio::awaitable<DeliveryReport> deliver_with_pool(ConnectionPool& pool, std::string key,
                                                  const std::vector<Endpoint>& hosts, const ClientOptions& options,
                                                  const OutboundMessage& message, BodySource& body);

}  // namespace gw::delivery
