#include "gateway/routing/routing_snapshot.h"
#include "gateway/common/address.h"
#include "gateway/common/ascii.h"

#include <algorithm>

namespace gw::routing {
namespace {

void add_unique(std::vector<std::string>& list, std::string value) {
  if (value.empty()) return;
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

// Connectors live in "CN=<name>,CN=Connections,<routing group DN>".
std::string routing_group_of_connector(const std::string& normalized_dn) {
  static constexpr std::string_view kMarker = ",cn=connections,";
  const auto at = normalized_dn.find(kMarker);
  if (at == std::string::npos) return {};
  return normalized_dn.substr(at + kMarker.size());
}

// "CN=1,CN=SMTP,CN=Protocols,CN=BH2,CN=Servers,..." -> "bh2".
std::string server_of_virtual_server_dn(const std::string& normalized_dn) {
  static constexpr std::string_view kMarker = ",cn=protocols,cn=";
  const auto at = normalized_dn.find(kMarker);
  if (at == std::string::npos) return {};
  const auto start = at + kMarker.size();
  return normalized_dn.substr(start, normalized_dn.find(',', start) - start);
}

std::vector<std::string> normalized_all(const google::protobuf::RepeatedPtrField<std::string>& dns) {
  std::vector<std::string> out;
  for (const auto& dn : dns) add_unique(out, normalize_dn(dn));
  return out;
}

}  // namespace

std::string normalize_dn(std::string_view dn) {
  auto fold = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  std::string out;
  out.reserve(dn.size());
  bool after_separator = true;   // blanks after an unescaped ',' or '=' (or at the start) are dropped
  std::size_t kept = 0;          // length of `out` up to the last escaped or non-blank character
  for (std::size_t i = 0; i < dn.size(); ++i) {
    const char c = dn[i];
    if (c == '\\' && i + 1 < dn.size()) {  // an escaped character is data, never a separator
      out += c;
      out += fold(dn[++i]);
      kept = out.size();
      after_separator = false;
      continue;
    }
    if (c == ' ') {
      if (!after_separator) out += c;
      continue;
    }
    if (c == ',' || c == '=') {
      out.resize(kept);             // blanks before a separator
      after_separator = true;
    } else {
      after_separator = false;
    }
    out += fold(c);
    kept = out.size();
  }
  out.resize(kept);
  return out;
}

RoutingSnapshot RoutingSnapshot::build(const gw::metabase::Metabase& metabase) {
  RoutingSnapshot snap;
  const auto& self = metabase.this_server();
  snap.server_name = self.name();
  snap.server_fqdn = normalize_domain(self.fqdn());
  snap.routing_group_dn = normalize_dn(self.routing_group_dn().empty() ? metabase.organization().routing_group_dn()
                                                                        : self.routing_group_dn());
  const std::string self_dn = normalize_dn(self.dn());

  add_unique(snap.own_names, snap.server_fqdn);
  add_unique(snap.server_fqdns, snap.server_fqdn);
  for (const auto& vs : metabase.virtual_servers()) {
    add_unique(snap.own_names, normalize_domain(vs.fqdn()));
    add_unique(snap.server_fqdns, normalize_domain(vs.fqdn()));
    for (const auto& binding : vs.bindings()) {
      const std::string ip = ascii_lower(binding.ip());
      if (ip.empty() || ip == "0.0.0.0" || ip == "::") {
        // "All unassigned" includes loopback.
        add_unique(snap.own_names, "127.0.0.1");
        add_unique(snap.own_names, "::1");
        add_unique(snap.own_names, "localhost");
      } else {
        add_unique(snap.own_names, ip);
        if (ip == "127.0.0.1" || ip == "::1") add_unique(snap.own_names, "localhost");
      }
      if (std::find(snap.own_ports.begin(), snap.own_ports.end(), binding.port()) == snap.own_ports.end())
        snap.own_ports.push_back(binding.port());
    }
    VirtualServerRoute route;
    route.id = vs.id();
    if (vs.outbound().port() != 0 && vs.outbound().port() <= 65535)
      route.outbound_port = static_cast<std::uint16_t>(vs.outbound().port());
    if (!vs.messages().forward_unresolved_to_host().empty()) {
      auto hosts = parse_smart_hosts(vs.messages().forward_unresolved_to_host());
      if (hosts)
        route.forward_unresolved = std::move(*hosts);
      else
        route.forward_unresolved_error = hosts.error().detail;
    }
    snap.virtual_servers.push_back(std::move(route));
  }

  snap.domains.assign(metabase.domains().begin(), metabase.domains().end());
  snap.mailbox_servers.assign(metabase.mailbox_servers().begin(), metabase.mailbox_servers().end());
  for (const auto& server : snap.mailbox_servers) {
    add_unique(snap.server_fqdns, normalize_domain(server.fqdn()));
    MailboxServerKeys keys{normalize_dn(server.dn()), ascii_lower(server.legacy_exchange_dn()),
                           normalize_domain(server.fqdn()), normalized_all(server.store_dns()),
                           server.routing_group_dn().empty() ? snap.routing_group_dn
                                                             : normalize_dn(server.routing_group_dn())};
    snap.mailbox_keys.push_back(std::move(keys));
  }
  for (const auto& domain : snap.domains)
    if (domain.authoritative()) add_unique(snap.authoritative_domains, normalize_domain(domain.name()));

  auto fqdn_of_server = [&](std::string_view name) -> std::string {
    for (const auto& server : snap.mailbox_servers)
      if (ascii_lower(server.name()) == ascii_lower(name)) return normalize_domain(server.fqdn());
    return {};
  };

  for (const auto& c : metabase.connectors()) {
    ConnectorRoute route;
    route.name = c.name();
    route.dn = c.dn();
    route.normalized_dn = normalize_dn(c.dn());
    for (const auto& space : c.address_spaces()) {
      if (space.type() != gw::metabase::ADDRESS_SPACE_SMTP || space.pattern().empty()) continue;
      // Exchange costs are 1..100; an unset (0) cost must not beat every real one.
      route.smtp_spaces.push_back({ascii_lower(space.pattern()), std::max<std::uint32_t>(space.cost(), 1)});
    }
    const std::string& dn = route.normalized_dn;
    route.in_scope = c.scope() == gw::metabase::ORGANIZATION ||
                     (!snap.routing_group_dn.empty() && routing_group_of_connector(dn) == snap.routing_group_dn);
    route.schedule_never = c.has_schedule() && c.schedule().style() == gw::metabase::Schedule::NEVER;
    route.remote_triggered = c.queue_for_remote_triggered_delivery() ||
                             (c.has_schedule() && c.schedule().style() == gw::metabase::Schedule::REMOTE_TRIGGERED);
    for (const auto& text : c.smart_hosts()) {
      auto hosts = parse_smart_hosts(text);
      if (!hosts) {
        route.smart_host_error = hosts.error().detail;
        route.smart_hosts.clear();
        break;
      }
      route.smart_hosts.insert(route.smart_hosts.end(), hosts->begin(), hosts->end());
    }

    // Bridgeheads by name, or derived from their virtual server DNs.
    std::vector<std::string> names(c.source_bridgehead_servers().begin(), c.source_bridgehead_servers().end());
    if (names.empty())
      for (const auto& vs_dn : c.source_bridgehead_dns())
        add_unique(names, server_of_virtual_server_dn(normalize_dn(vs_dn)));
    bool local = c.local_bridgehead() || names.empty();
    for (const auto& vs_dn : c.source_bridgehead_dns()) {
      const std::string n = normalize_dn(vs_dn);
      if (!self_dn.empty() && n.size() > self_dn.size() && n.ends_with("," + self_dn)) local = true;
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (ascii_lower(names[i]) == ascii_lower(snap.server_name)) {
        local = true;
        continue;
      }
      std::string fqdn = i < static_cast<std::size_t>(c.source_bridgehead_fqdns_size())
                             ? normalize_domain(c.source_bridgehead_fqdns(static_cast<int>(i)))
                             : fqdn_of_server(names[i]);
      if (fqdn.empty()) fqdn = fqdn_of_server(names[i]);
      add_unique(snap.server_fqdns, fqdn);
      route.remote_bridgeheads.push_back({names[i], std::move(fqdn)});
    }
    route.local_bridgehead = local;

    route.tls_required = c.security().require_tls();
    route.basic_auth = c.security().auth() == gw::metabase::OUTBOUND_BASIC;
    route.auth_user = c.security().user_name();
    route.auth_password = c.security().password();
    route.use_helo = c.use_helo();
    const auto& r = c.delivery_restrictions();
    route.accept_from = normalized_all(r.accept_from_dns());
    route.reject_from = normalized_all(r.reject_from_dns());
    route.accept_from_groups = normalized_all(r.accept_from_group_dns());
    route.reject_from_groups = normalized_all(r.reject_from_group_dns());
    route.has_content_restrictions = c.has_content_restrictions();
    route.content = c.content_restrictions();
    snap.connectors.push_back(std::move(route));
  }

  for (const auto& c : metabase.routing_group_connectors()) {
    GroupConnectorRoute route;
    route.name = c.name();
    route.dn = c.dn();
    route.normalized_dn = normalize_dn(c.dn());
    route.source_group = normalize_dn(c.source_routing_group_dn());
    route.target_group = normalize_dn(c.target_routing_group_dn());
    // Exchange costs are 1..100; an unset (0) cost must not beat every real one.
    route.cost = std::max<std::uint32_t>(c.cost(), 1);
    route.schedule_never = c.has_schedule() && c.schedule().style() == gw::metabase::Schedule::NEVER;
    route.this_server_sends = c.local_bridgeheads().empty();
    for (const auto& b : c.local_bridgeheads()) {
      if (ascii_lower(b.name()) == ascii_lower(snap.server_name)) route.this_server_sends = true;
      route.local_bridgeheads.push_back({b.name(), normalize_domain(b.fqdn())});
      add_unique(snap.server_fqdns, normalize_domain(b.fqdn()));
    }
    for (const auto& b : c.remote_bridgeheads()) {
      route.remote_bridgeheads.push_back({b.name(), normalize_domain(b.fqdn())});
      add_unique(snap.server_fqdns, normalize_domain(b.fqdn()));
    }
    snap.group_connectors.push_back(std::move(route));
  }
  return snap;
}

const RoutingSnapshot::VirtualServerRoute* RoutingSnapshot::virtual_server(std::string_view id) const {
  for (const auto& vs : virtual_servers)
    if (vs.id == id) return &vs;
  return nullptr;
}

std::uint16_t RoutingSnapshot::outbound_port(std::string_view virtual_server_id) const {
  if (const auto* vs = virtual_server(virtual_server_id)) return vs->outbound_port;
  return virtual_servers.empty() ? 25 : virtual_servers.front().outbound_port;
}

}  // namespace gw::routing
