#include "gateway/qmgr/network_delivery.h"

#include "gateway/common/ascii.h"
#include "gateway/common/log.h"
#include "gateway/delivery/next_hop_hosts.h"
#include "gateway/qmgr/spooled_body.h"

namespace gw::qmgr {

NetworkDelivery::NetworkDelivery(asio::any_io_executor executor, queue::Spool& spool, NetworkDeliveryOptions options)
    : executor_(std::move(executor)), spool_(spool), options_(std::move(options)) {
  delivery::TlsSettings settings;
  settings.ca_file = options_.tls_ca_file;
  tls_ = delivery::make_client_tls_context(settings);
}

NetworkDelivery::~NetworkDelivery() = default;

void NetworkDelivery::configure(const Settings& settings) {
  if (!pool_) {
    const auto& metabase = settings.metabase();
    const auto limits = metabase.virtual_servers().empty() ? delivery::PoolLimits{}
                                                           : delivery::pool_limits(metabase.virtual_servers(0).outbound());
    pool_ = std::make_unique<delivery::ConnectionPool>(executor_, limits);
  }
  // DNS server lists may have changed: resolvers are made again on demand
  // (a transaction in flight keeps the one it has).
  resolvers_.clear();
}

std::shared_ptr<delivery::MxResolver> NetworkDelivery::resolver_for(const metabase::VirtualServer* vs) {
  std::vector<std::string> servers;
  if (vs) servers.assign(vs->outbound().external_dns_servers().begin(), vs->outbound().external_dns_servers().end());
  std::string key;
  for (const auto& server : servers) key += server + ";";
  auto& slot = resolvers_[key];
  if (!slot) {
    delivery::DnsOptions dns;
    dns.servers = servers;
    dns.timeout = options_.dns_timeout;
    slot = std::make_shared<delivery::MxResolver>(executor_, dns);
  }
  return slot;
}

asio::awaitable<Result<std::vector<delivery::Endpoint>>> NetworkDelivery::endpoints_for(
    const routing::NextHop& hop, const metabase::VirtualServer* vs, bool& smart_host) {
  const auto resolver = resolver_for(vs);
  smart_host = false;
  if (const auto* local = std::get_if<routing::LocalDelivery>(&hop)) {
    boost::system::error_code not_ip;
    asio::ip::make_address(local->host, not_ip);
    std::vector<routing::SmartHost> hosts{routing::SmartHost{ascii_lower(local->host), !not_ip, local->port}};
    smart_host = true;
    co_return co_await delivery::hosts_for_smart_hosts(*resolver, std::move(hosts), local->port);
  }
  if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) {
    smart_host = true;
    auto hosts = smart->hosts;
    const std::uint16_t port = vs ? static_cast<std::uint16_t>(vs->outbound().port() ? vs->outbound().port() : 25) : 25;
    co_return co_await delivery::hosts_for_smart_hosts(*resolver, std::move(hosts), port);
  }
  // A DNS hop: the virtual server's smart host (msExchSmtpSmartHost) takes
  // its place, or -- "attempt direct delivery before sending to smart
  // host" -- follows the MX hosts as the last resort.
  const auto& dns = std::get<routing::DnsMx>(hop);
  const auto virtual_smart_hosts = Settings::smart_hosts_of(vs);
  const std::uint16_t port = dns.port;
  if (!virtual_smart_hosts.empty() && vs->outbound().smart_host_type() != metabase::DNS_FIRST) {
    smart_host = true;
    auto hosts = virtual_smart_hosts;
    co_return co_await delivery::hosts_for_smart_hosts(*resolver, std::move(hosts), port);
  }
  std::string domain = dns.domain;
  auto direct = co_await delivery::hosts_for_domain(*resolver, std::move(domain), port);
  if (virtual_smart_hosts.empty()) co_return direct;
  auto hosts = virtual_smart_hosts;
  auto fallback = co_await delivery::hosts_for_smart_hosts(*resolver, std::move(hosts), port);
  if (!fallback) co_return direct;
  std::vector<delivery::Endpoint> endpoints = direct ? std::move(*direct) : std::vector<delivery::Endpoint>{};
  endpoints.insert(endpoints.end(), fallback->begin(), fallback->end());
  co_return endpoints;
}

delivery::ClientOptions NetworkDelivery::client_options(const routing::NextHop& hop, const metabase::VirtualServer* vs,
                                                        const Settings& settings) const {
  delivery::ClientOptions client;
  client.timeouts = options_.timeouts;
  if (vs && vs->outbound().connection_timeout() != 0)
    client.timeouts.command = std::chrono::seconds(vs->outbound().connection_timeout());
  client.tls = tls_;
  client.session.helo_name = settings.fqdn(vs);
  auto apply = [&client](bool tls_required, const routing::OutboundCredentials& credentials, bool use_helo) {
    client.session.tls = tls_required ? delivery::TlsPolicy::Required : delivery::TlsPolicy::Opportunistic;
    if (credentials.basic) client.session.credentials = delivery::Credentials{credentials.user_name, credentials.password};
    client.session.use_helo = use_helo;
  };
  if (const auto* local = std::get_if<routing::LocalDelivery>(&hop)) {
    client.session.protocol =
        local->protocol == routing::Protocol::Lmtp ? delivery::Protocol::Lmtp : delivery::Protocol::Smtp;
  } else if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) {
    apply(smart->tls_required, smart->credentials, smart->use_helo);
  } else if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) {
    // Through the virtual server's smart host, its outbound security applies
    // where the connector sets none.
    const auto& security = vs ? vs->outbound().security() : metabase::OutboundSecurity::default_instance();
    const bool via_smart_host =
        vs && vs->outbound().smart_host_type() != metabase::DNS_FIRST && !Settings::smart_hosts_of(vs).empty();
    routing::OutboundCredentials credentials = dns->credentials;
    if (!credentials.basic && via_smart_host && security.auth() == metabase::OUTBOUND_BASIC)
      credentials = routing::OutboundCredentials{true, security.user_name(), security.password()};
    apply(dns->tls_required || (via_smart_host && security.require_tls()), credentials, dns->use_helo);
  }
  return client;
}

asio::awaitable<HopReport> NetworkDelivery::deliver(const HopAttempt& attempt) {
  HopReport report;
  const log::Context ctx{"delivery", 0, {}, attempt.id.str()};
  bool smart_host = false;
  auto endpoints = co_await endpoints_for(attempt.hop, attempt.vs, smart_host);
  if (!endpoints) {
    const FailureKind kind = delivery::failure_kind_of(endpoints.error(), smart_host);
    log::warn(ctx, "{}: {}", attempt.hop_name, endpoints.error().message());
    report.not_attempted = outcome_of(kind, endpoints.error().message());
    co_return report;
  }
  auto body = co_await SpooledBody::open(spool_, attempt.id);
  if (!body) {
    log::error(ctx, "cannot open the body: {}", body.error().message());
    Outcome outcome;
    outcome.state = envelope::RETRY;
    outcome.reply_code = 451;
    outcome.status = "4.3.0";
    outcome.diagnostic = "451 4.3.0 queued body unreadable";
    report.not_attempted = std::move(outcome);
    co_return report;
  }
  const auto client = client_options(attempt.hop, attempt.vs, *attempt.settings);
  std::string pool_key = attempt.hop_name;
  auto delivered =
      co_await delivery::deliver_with_pool(*pool_, std::move(pool_key), *endpoints, client, attempt.message, **body);
  report.result = std::move(delivered.result);
  if (delivered.delivered_via) report.remote_mta = delivered.delivered_via->host_name;
  report.attempts = std::move(delivered.attempts);
  co_return report;
}

}  // namespace gw::qmgr
