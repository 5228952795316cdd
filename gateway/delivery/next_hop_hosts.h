// Next-hop hosts: the ordered list of endpoints the outbound client tries for
// one routing decision (gateway/routing/router.h).
//
// DNS next hops (DnsMx) use the domain's MX hosts in preference order, every
// address of each; smart hosts are tried in the administrator's order, `[IP]`
// literals as they are (RFC 5321 5.1: never looked up) and names by A/AAAA
// only, never MX. A name that does not resolve is skipped; when nothing is left
// the error says why, and failure_kind_of() turns it into the status-table row:
// NoMailExchanger / BadSmartHost (5.4.0) or DnsTemporaryFailure (4.4.3).
// Not responsible for connecting (deliver_to_hosts) or for the route itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/failure_kind.h"
#include "gateway/common/result.h"
#include "gateway/delivery/mx_resolver.h"
#include "gateway/delivery/smtp_client.h"
#include "gateway/routing/smart_host.h"

namespace gw::delivery {

asio::awaitable<Result<std::vector<Endpoint>>> hosts_for_domain(MxResolver& resolver, std::string domain,
                                                                std::uint16_t port);

// `default_port` applies to entries without ":port".
asio::awaitable<Result<std::vector<Endpoint>>> hosts_for_smart_hosts(MxResolver& resolver,
                                                                     std::vector<routing::SmartHost> smart_hosts,
                                                                     std::uint16_t default_port);

FailureKind failure_kind_of(const Error& dns_error, bool smart_host);

}  // namespace gw::delivery
