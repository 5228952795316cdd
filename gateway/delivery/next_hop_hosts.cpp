#include "gateway/delivery/next_hop_hosts.h"

#include <optional>

namespace gw::delivery {

asio::awaitable<Result<std::vector<Endpoint>>> hosts_for_domain(MxResolver& resolver, std::string domain,
                                                                std::uint16_t port) {
  auto hosts = co_await resolver.mail_hosts(domain);
  if (!hosts) co_return std::unexpected(hosts.error());
  std::vector<Endpoint> endpoints;
  for (const auto& host : *hosts)
    for (const auto& address : host.addresses) endpoints.push_back(Endpoint{host.name, {address, port}});
  co_return endpoints;
}

asio::awaitable<Result<std::vector<Endpoint>>> hosts_for_smart_hosts(MxResolver& resolver,
                                                                     std::vector<routing::SmartHost> smart_hosts,
                                                                     std::uint16_t default_port) {
  std::vector<Endpoint> endpoints;
  std::optional<Error> worst;
  for (const auto& smart_host : smart_hosts) {
    const std::uint16_t port = smart_host.port ? smart_host.port : default_port;
    if (smart_host.ip_literal) {
      boost::system::error_code ec;
      const auto address = asio::ip::make_address(smart_host.host, ec);
      if (ec) {
        worst = Error{make_error_code(DnsErrc::BadName), "smart host " + smart_host.str() + ": not an IP address"};
        continue;
      }
      endpoints.push_back(Endpoint{smart_host.host, {address, port}});
      continue;
    }
    auto addresses = co_await resolver.addresses(smart_host.host);
    if (!addresses) {
      if (!worst || addresses.error().code == DnsErrc::TemporaryFailure) worst = addresses.error();
      continue;
    }
    for (const auto& address : *addresses) endpoints.push_back(Endpoint{smart_host.host, {address, port}});
  }
  if (endpoints.empty()) {
    if (worst) co_return std::unexpected(*worst);
    co_return make_error(DnsErrc::BadName, "no smart host configured");
  }
  co_return endpoints;
}

FailureKind failure_kind_of(const Error& dns_error, bool smart_host) {
  if (dns_error.code == DnsErrc::TemporaryFailure) return FailureKind::DnsTemporaryFailure;
  return smart_host ? FailureKind::BadSmartHost : FailureKind::NoMailExchanger;
}

}  // namespace gw::delivery
