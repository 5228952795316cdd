// NetworkDelivery: HopDelivery over the network -- the hop's hosts (mailbox
// server, smart hosts in the administrator's order, DNS MX through c-ares with
// the virtual server's DNS servers, the virtual server's own smart host instead
// of or after MX), one transaction per attempt through the process's
// ConnectionPool (SMTP or LMTP, STARTTLS, AUTH), the body read from the spool.
// TLS-required hops verify the certificate against the configured CA file (or
// the system store) and the host name.
// Executor: everything on the executor given at construction (the queue
// manager's loop). Not responsible for what the answers mean (DeliveryPass).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "gateway/delivery/connection_pool.h"
#include "gateway/delivery/mx_resolver.h"
#include "gateway/delivery/smtp_client.h"
#include "gateway/qmgr/hop_delivery.h"
#include "gateway/queue/spool.h"

namespace gw::qmgr {

struct NetworkDeliveryOptions {
  std::string tls_ca_file;                 // trust for TLS-required hops; empty = system store
  delivery::Timeouts timeouts;             // overridden by Outbound.connection_timeout where set
  std::chrono::milliseconds dns_timeout = std::chrono::seconds(5);
};

class NetworkDelivery final : public HopDelivery {
 public:
  // Throws when the CA file cannot be read (start-up).
  NetworkDelivery(asio::any_io_executor executor, queue::Spool& spool, NetworkDeliveryOptions options);
  ~NetworkDelivery() override;

  // On the executor: a new metabase (the connection limits are taken from the
  // first; DNS server lists may change with any).
  void configure(const Settings& settings);

  asio::awaitable<HopReport> deliver(const HopAttempt& attempt) override;

  // The client options for a hop (TLS policy, credentials, HELO name, timeouts).
  delivery::ClientOptions client_options(const routing::NextHop& hop, const metabase::VirtualServer* vs,
                                         const Settings& settings) const;

 private:
  std::shared_ptr<delivery::MxResolver> resolver_for(const metabase::VirtualServer* vs);
  asio::awaitable<Result<std::vector<delivery::Endpoint>>> endpoints_for(const routing::NextHop& hop,
                                                                         const metabase::VirtualServer* vs,
                                                                         bool& smart_host);

  asio::any_io_executor executor_;
  queue::Spool& spool_;
  NetworkDeliveryOptions options_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::unique_ptr<delivery::ConnectionPool> pool_;
  std::map<std::string, std::shared_ptr<delivery::MxResolver>> resolvers_;  // by DNS server list
};

}  // namespace gw::qmgr
