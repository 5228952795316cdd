#include "gateway/routing/router.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>

#include "gateway/routing/address_space.h"
#include "gateway/common/address.h"
#include "gateway/common/ascii.h"

namespace gw::routing {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool in_set_ci(const std::set<std::string>& set, std::string_view value) {
  if (value.empty()) return false;
  const std::string folded = ascii_lower(value);
  for (const auto& entry : set)
    if (ascii_lower(entry) == folded) return true;
  return false;
}

bool is_own_endpoint(const RoutingSnapshot& snap, std::string_view host, std::uint32_t port) {
  return contains(snap.own_names, ascii_lower(host)) &&
         std::find(snap.own_ports.begin(), snap.own_ports.end(), port) != snap.own_ports.end();
}

Fail fail(FailureKind kind, std::string detail) { return Fail{kind, std::move(detail)}; }

// --- mailbox users -------------------------------------------------------

const gw::metabase::MailboxServer* home_server(const RoutingSnapshot& snap, const CategorizedRecipient& rcpt) {
  const auto& keys = snap.mailbox_keys;
  auto find = [&](auto matches) -> const gw::metabase::MailboxServer* {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (matches(keys[i])) return &snap.mailbox_servers[i];
    return nullptr;
  };
  if (!rcpt.home_mdb_dn.empty()) {
    const std::string mdb = normalize_dn(rcpt.home_mdb_dn);
    if (auto* s = find([&](const auto& k) { return contains(k.store_dns, mdb); })) return s;
  }
  if (!rcpt.home_server_dn.empty()) {
    const std::string dn = normalize_dn(rcpt.home_server_dn), legacy = ascii_lower(rcpt.home_server_dn);
    if (auto* s = find([&](const auto& k) { return k.dn == dn || (!k.legacy_dn.empty() && k.legacy_dn == legacy); }))
      return s;
  }
  if (!rcpt.home_server_fqdn.empty()) {
    std::string fqdn = ascii_lower(rcpt.home_server_fqdn);
    if (fqdn.back() == '.') fqdn.pop_back();
    if (auto* s = find([&](const auto& k) { return k.fqdn == fqdn; })) return s;
  }
  return nullptr;
}

// --- routing groups ----------------------------------------------------------

bool bridgehead_up(const ConnectorRoute::Bridgehead& b, const RouteState& state) {
  return !b.fqdn.empty() && !in_set_ci(state.hosts_down, b.name) && !in_set_ci(state.hosts_down, b.fqdn);
}

// The servers a routing group connector's mail goes to from here: its remote
// bridgeheads when this server sends over it, else its local bridgeheads (the
// servers of our group that do).
std::vector<const ConnectorRoute::Bridgehead*> group_next_servers(const GroupConnectorRoute& c,
                                                                  const RouteState& state) {
  std::vector<const ConnectorRoute::Bridgehead*> out;
  for (const auto& b : c.this_server_sends ? c.remote_bridgeheads : c.local_bridgeheads)
    if (bridgehead_up(b, state)) out.push_back(&b);
  return out;
}

bool group_connector_up(const GroupConnectorRoute& c, const RouteState& state) {
  return !c.schedule_never && !in_set_ci(state.connectors_down, c.name) &&
         !in_set_ci(state.connectors_down, c.dn);
}

// Cost of the cheapest path from each routing group to `target` over the
// connectors `usable` admits (Bellman-Ford: organizations have a handful of
// groups). Groups without a path are absent.
template <typename Usable>
std::map<std::string, std::uint64_t> costs_to(const RoutingSnapshot& snap, const std::string& target, Usable usable) {
  std::map<std::string, std::uint64_t> cost{{target, 0}};
  for (std::size_t round = 0; round <= snap.group_connectors.size(); ++round) {
    bool changed = false;
    for (const auto& c : snap.group_connectors) {
      if (!usable(c)) continue;
      const auto to = cost.find(c.target_group);
      if (to == cost.end()) continue;
      const std::uint64_t via = to->second + c.cost;
      auto [from, inserted] = cost.try_emplace(c.source_group, via);
      if (!inserted && via >= from->second) continue;
      from->second = via;
      changed = true;
    }
    if (!changed) break;
  }
  return cost;
}

// A mailbox on a server of another routing group: the first connector of the
// cheapest path there, to one of its remote bridgeheads (or, when other servers
// of our group are the connector's bridgeheads, to one of those).
NextHop route_to_group(const RoutingSnapshot& snap, const gw::metabase::MailboxServer& server,
                       const std::string& target_group, const CategorizedRecipient& rcpt, const RouteState& state) {
  const auto any_path = costs_to(snap, target_group, [](const GroupConnectorRoute&) { return true; });
  if (!any_path.contains(snap.routing_group_dn))
    return fail(FailureKind::NoRoute, "no routing group connector leads to the routing group of mailbox server " +
                                          server.name());
  // Connectors in retry or scheduled never, and first hops whose servers are all
  // down, yield to the next cheapest path; when none is left the mail waits.
  const auto up = costs_to(snap, target_group, [&](const GroupConnectorRoute& c) { return group_connector_up(c, state); });
  std::vector<const GroupConnectorRoute*> best;
  std::uint64_t best_cost = UINT64_MAX;
  for (const auto& c : snap.group_connectors) {
    if (c.source_group != snap.routing_group_dn || !group_connector_up(c, state)) continue;
    const auto rest = up.find(c.target_group);
    if (rest == up.end() || group_next_servers(c, state).empty()) continue;
    const std::uint64_t total = c.cost + rest->second;
    if (total < best_cost) best.clear(), best_cost = total;
    if (total == best_cost) best.push_back(&c);
  }
  if (best.empty()) return Unreachable{ascii_lower(server.fqdn())};
  std::sort(best.begin(), best.end(), [](const auto* a, const auto* b) { return a->normalized_dn < b->normalized_dn; });
  const auto* chosen = best[state.spread_key % best.size()];
  const auto servers = group_next_servers(*chosen, state);
  const auto* next = servers[(state.spread_key / best.size()) % servers.size()];
  const std::uint16_t port = snap.outbound_port(rcpt.message.virtual_server_id);
  if (is_own_endpoint(snap, next->fqdn, port))
    return fail(FailureKind::LoopBackToSelf,
                "bridgehead " + next->fqdn + " of routing group connector " + chosen->name + " is this server");
  SmartHosts hop;
  hop.connector = chosen->name;
  hop.connector_dn = chosen->dn;
  hop.hosts.push_back(SmartHost{next->fqdn, false, port});
  hop.bridgehead = next->fqdn;
  return hop;
}

NextHop route_mailbox(const RoutingSnapshot& snap, const CategorizedRecipient& rcpt, const RouteState& state) {
  const auto* server = home_server(snap, rcpt);
  if (server == nullptr) {
    std::string which = !rcpt.home_mdb_dn.empty()      ? rcpt.home_mdb_dn
                        : !rcpt.home_server_dn.empty() ? rcpt.home_server_dn
                                                       : rcpt.home_server_fqdn;
    return fail(FailureKind::InvalidHomeServer,
                which.empty() ? "no home store" : "home store or server not in the metabase: " + which);
  }
  const auto& group = snap.mailbox_keys[static_cast<std::size_t>(server - snap.mailbox_servers.data())].routing_group;
  if (!group.empty() && !snap.routing_group_dn.empty() && group != snap.routing_group_dn)
    return route_to_group(snap, *server, group, rcpt, state);
  LocalDelivery hop;
  hop.server = server->name();
  hop.server_fqdn = ascii_lower(server->fqdn());
  hop.host = ascii_lower(server->delivery_host().empty() ? server->fqdn() : server->delivery_host());
  hop.protocol = server->delivery_protocol() == gw::metabase::DELIVERY_LMTP ? Protocol::Lmtp : Protocol::Smtp;
  const std::uint32_t port = server->delivery_port() != 0 ? server->delivery_port()
                             : hop.protocol == Protocol::Lmtp ? 24u
                                                              : 25u;
  hop.port = static_cast<std::uint16_t>(port);
  hop.this_server = server->is_this_server();
  if (hop.host.empty() || port > 65535)
    return fail(FailureKind::InvalidHomeServer, "mailbox server " + server->name() + " has no delivery endpoint");
  if (is_own_endpoint(snap, hop.host, hop.port))
    return fail(FailureKind::LoopBackToSelf,
                "delivery endpoint " + hop.host + ":" + std::to_string(hop.port) + " of " + server->name() +
                    " is a listener of this server");
  return hop;
}

// --- connectors ------------------------------------------------------------

struct Candidate {
  const ConnectorRoute* connector;
  Specificity specificity;
  std::uint32_t cost;
};

std::vector<Candidate> matching_connectors(const RoutingSnapshot& snap, std::string_view domain) {
  std::vector<Candidate> out;
  for (const auto& c : snap.connectors) {
    if (!c.in_scope) continue;
    std::optional<Candidate> best;
    for (const auto& space : c.smtp_spaces) {
      const auto s = match_address_space(space.pattern, domain);
      if (!s) continue;
      if (!best || *s > best->specificity || (*s == best->specificity && space.cost < best->cost))
        best = Candidate{&c, *s, space.cost};
    }
    if (best) out.push_back(*best);
  }
  // Most specific first, then cheapest; DN last so ties never depend on metabase order.
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    if (a.specificity != b.specificity) return a.specificity > b.specificity;
    if (a.cost != b.cost) return a.cost < b.cost;
    return a.connector->normalized_dn < b.connector->normalized_dn;
  });
  return out;
}

std::vector<const ConnectorRoute::Bridgehead*> available_bridgeheads(const ConnectorRoute& c,
                                                                     const RouteState& state) {
  std::vector<const ConnectorRoute::Bridgehead*> out;
  for (const auto& bh : c.remote_bridgeheads)
    if (!bh.fqdn.empty() && !in_set_ci(state.hosts_down, bh.name) && !in_set_ci(state.hosts_down, bh.fqdn))
      out.push_back(&bh);
  return out;
}

bool connector_available(const ConnectorRoute& c, const RouteState& state) {
  if (c.schedule_never || in_set_ci(state.connectors_down, c.name) || in_set_ci(state.connectors_down, c.dn))
    return false;
  return c.local_bridgehead || !available_bridgeheads(c, state).empty();
}

// The restriction the connector imposes on this message, if any.
std::optional<Fail> restriction(const ConnectorRoute& c, const MessageFacts& msg) {
  // Delivery restrictions name senders; reports (null sender) have none and are
  // governed by the content restriction on system messages instead.
  if (!msg.sender.empty()) {
    const std::string sender = normalize_dn(msg.sender_dn);
    std::vector<std::string> groups;
    for (const auto& g : msg.sender_group_dns) groups.push_back(normalize_dn(g));
    auto member_of = [&](const std::vector<std::string>& list) {
      return std::any_of(groups.begin(), groups.end(), [&](const std::string& g) { return contains(list, g); });
    };
    const bool rejected = (!sender.empty() && contains(c.reject_from, sender)) || member_of(c.reject_from_groups);
    const bool accept_list = !c.accept_from.empty() || !c.accept_from_groups.empty();
    const bool accepted = (!sender.empty() && contains(c.accept_from, sender)) || member_of(c.accept_from_groups);
    if (rejected || (accept_list && !accepted))
      return fail(FailureKind::SenderRestricted, "sender " + msg.sender + " is not permitted on connector " + c.name);
  }
  if (c.has_content_restrictions) {
    const auto& r = c.content;
    // The size limit is in KB, as delivContLength.
    if (r.max_message_size() != 0 && msg.size > r.max_message_size() * 1024)
      return fail(FailureKind::MessageTooLargeForConnector,
                  std::to_string(msg.size) + " octets exceed the " + std::to_string(r.max_message_size()) +
                      " KB limit of connector " + c.name);
    // A pair of flags that is all false means "not configured", never "nothing may pass".
    const bool priorities_set = r.allow_high_priority() || r.allow_normal_priority() || r.allow_low_priority();
    if (priorities_set) {
      const bool allowed = (msg.priority == Priority::High && r.allow_high_priority()) ||
                           (msg.priority == Priority::Normal && r.allow_normal_priority()) ||
                           (msg.priority == Priority::Low && r.allow_low_priority());
      if (!allowed)
        return fail(FailureKind::ContentRestricted, "priority not permitted on connector " + c.name);
    }
    const bool types_set = r.allow_system_messages() || r.allow_non_system_messages();
    if (types_set) {
      const bool allowed = msg.system_message ? r.allow_system_messages() : r.allow_non_system_messages();
      if (!allowed)
        return fail(FailureKind::ContentRestricted,
                    std::string(msg.system_message ? "system" : "non-system") +
                        " messages not permitted on connector " + c.name);
    }
  }
  return std::nullopt;
}

OutboundCredentials credentials_of(const ConnectorRoute& c) {
  return OutboundCredentials{c.basic_auth, c.basic_auth ? c.auth_user : std::string{},
                             c.basic_auth ? c.auth_password : std::string{}};
}

// `bridgehead_key` is the spread key with the connector choice divided out, so
// a round-robin counter walks every (connector, bridgehead) pair in turn.
NextHop hop_via_connector(const RoutingSnapshot& snap, const ConnectorRoute& c, const std::string& domain,
                          const CategorizedRecipient& rcpt, const RouteState& state, std::uint64_t bridgehead_key) {
  const std::uint16_t default_port = snap.outbound_port(rcpt.message.virtual_server_id);
  if (!c.local_bridgehead) {
    const auto bridgeheads = available_bridgeheads(c, state);
    const auto* bh = bridgeheads[bridgehead_key % bridgeheads.size()];
    SmartHosts hop;
    hop.connector = c.name;
    hop.connector_dn = c.dn;
    hop.hosts.push_back(SmartHost{bh->fqdn, false, default_port});
    hop.bridgehead = bh->fqdn;
    if (is_own_endpoint(snap, bh->fqdn, default_port))
      return fail(FailureKind::LoopBackToSelf, "bridgehead " + bh->fqdn + " of connector " + c.name + " is this server");
    return hop;
  }
  if (!c.smart_host_error.empty())
    return fail(FailureKind::BadSmartHost, "connector " + c.name + ": " + c.smart_host_error);
  if (c.smart_hosts.empty()) {
    // A domain literal (user@[192.0.2.1]) names its host: no MX lookup (RFC 5321 5.1).
    if (domain.starts_with('[')) {
      auto literal = parse_smart_hosts(domain);
      if (!literal || literal->size() != 1 || !literal->front().ip_literal || literal->front().port != 0)
        return fail(FailureKind::BadAddressSyntax, "domain literal " + domain);
      SmartHost host = literal->front();
      host.port = default_port;
      if (is_own_endpoint(snap, host.host, host.port))
        return fail(FailureKind::LoopBackToSelf, "domain literal " + domain + " is this server");
      SmartHosts hop;
      hop.connector = c.name;
      hop.connector_dn = c.dn;
      hop.hosts.push_back(std::move(host));
      hop.tls_required = c.tls_required;
      hop.credentials = credentials_of(c);
      hop.use_helo = c.use_helo;
      hop.hold_for_remote_trigger = c.remote_triggered;
      return hop;
    }
    return DnsMx{c.name, c.dn, domain, default_port, c.tls_required, credentials_of(c), c.use_helo,
                 c.remote_triggered};
  }
  SmartHosts hop;
  hop.connector = c.name;
  hop.connector_dn = c.dn;
  hop.tls_required = c.tls_required;
  hop.credentials = credentials_of(c);
  hop.use_helo = c.use_helo;
  hop.hold_for_remote_trigger = c.remote_triggered;
  for (SmartHost host : c.smart_hosts) {
    if (host.port == 0) host.port = default_port;
    if (is_own_endpoint(snap, host.host, host.port))
      return fail(FailureKind::LoopBackToSelf,
                  "smart host " + host.str() + " of connector " + c.name + " is this server");
    hop.hosts.push_back(std::move(host));
  }
  return hop;
}

NextHop route_domain(const RoutingSnapshot& snap, const std::string& domain, const CategorizedRecipient& rcpt,
                     const RouteState& state) {
  if (contains(snap.server_fqdns, domain))
    return fail(FailureKind::DomainIsServerFqdn, domain);

  const auto candidates = matching_connectors(snap, domain);
  if (candidates.empty()) return fail(FailureKind::NoRoute, "no connector for " + domain);

  // Walk the tiers of equal (specificity, cost): the first tier with a
  // connector that is up decides; its restrictions are final.
  for (std::size_t begin = 0; begin < candidates.size();) {
    std::size_t end = begin + 1;
    while (end < candidates.size() && candidates[end].specificity == candidates[begin].specificity &&
           candidates[end].cost == candidates[begin].cost)
      ++end;
    std::vector<const ConnectorRoute*> up;
    for (std::size_t i = begin; i < end; ++i)
      if (connector_available(*candidates[i].connector, state)) up.push_back(candidates[i].connector);
    if (!up.empty()) {
      std::vector<const ConnectorRoute*> permitted;
      std::optional<Fail> first_refusal;
      for (const auto* c : up) {
        if (auto refused = restriction(*c, rcpt.message)) {
          if (!first_refusal) first_refusal = std::move(refused);
        } else {
          permitted.push_back(c);
        }
      }
      if (permitted.empty()) return *first_refusal;
      const auto* chosen = permitted[state.spread_key % permitted.size()];
      return hop_via_connector(snap, *chosen, domain, rcpt, state, state.spread_key / permitted.size());
    }
    begin = end;
  }
  return Unreachable{domain};
}

bool is_authoritative(const RoutingSnapshot& snap, std::string_view domain) {
  return contains(snap.authoritative_domains, domain);
}

NextHop forward_unresolved(const RoutingSnapshot& snap, const CategorizedRecipient& rcpt) {
  const auto* vs = snap.virtual_server(rcpt.message.virtual_server_id);
  if (vs == nullptr || (vs->forward_unresolved.empty() && vs->forward_unresolved_error.empty()))
    return fail(FailureKind::UnknownRecipient, rcpt.address);
  if (!vs->forward_unresolved_error.empty())
    return fail(FailureKind::BadSmartHost, "forward unresolved host: " + vs->forward_unresolved_error);
  SmartHosts hop;
  hop.connector = "Forward unresolved";
  for (SmartHost host : vs->forward_unresolved) {
    if (host.port == 0) host.port = vs->outbound_port;
    if (is_own_endpoint(snap, host.host, host.port))
      return fail(FailureKind::LoopBackToSelf, "forward unresolved host " + host.str() + " is this server");
    hop.hosts.push_back(std::move(host));
  }
  return hop;
}

}  // namespace

std::uint64_t spread_key_for(std::string_view message_id) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : message_id) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  // splitmix64's finalizer: FNV's low bits alone spread poorly over small counts.
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ULL;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebULL;
  hash ^= hash >> 31;
  return hash;
}

NextHop route(const RoutingSnapshot& snapshot, const CategorizedRecipient& rcpt, const RouteState& state) {
  switch (rcpt.kind) {
    case RecipientKind::Mailbox:
      return route_mailbox(snapshot, rcpt, state);
    case RecipientKind::Contact: {
      std::string_view target = rcpt.target_address;
      if (target.empty()) return fail(FailureKind::CategorizerFailure, "contact without targetAddress");
      if (const auto colon = target.find(':'); colon != std::string_view::npos && target.find('@') > colon) {
        // Only SMTP targets are deliverable here; X400:, EX: ... have no transport.
        if (ascii_lower(target.substr(0, colon)) != "smtp")
          return fail(FailureKind::NoRoute, "no transport for target address " + std::string(target));
        target.remove_prefix(colon + 1);
      }
      const auto domain = domain_of(target);
      if (!domain) return fail(FailureKind::BadAddressSyntax, "target address " + std::string(target));
      // A contact pointing into our own authoritative namespace would come
      // straight back through the Internet connector.
      if (is_authoritative(snapshot, *domain))
        return fail(FailureKind::ForwardLoop, "contact target " + std::string(target) + " is in an authoritative domain");
      return route_domain(snapshot, *domain, rcpt, state);
    }
    case RecipientKind::Remote:
    case RecipientKind::NonAuthoritative: {
      const auto domain = domain_of(rcpt.address);
      if (!domain) return fail(FailureKind::BadAddressSyntax, rcpt.address);
      if (rcpt.kind == RecipientKind::Remote && is_authoritative(snapshot, *domain))
        return forward_unresolved(snapshot, rcpt);
      return route_domain(snapshot, *domain, rcpt, state);
    }
  }
  return fail(FailureKind::NoRoute, "unknown recipient kind");
}

std::optional<CategorizedRecipient> categorized_recipient(const gw::envelope::Envelope& envelope, int index) {
  if (index < 0 || index >= envelope.recipients_size()) return std::nullopt;
  const auto& src = envelope.recipients(index);
  const auto& res = src.resolution();
  CategorizedRecipient r;
  switch (res.kind()) {
    case gw::envelope::Resolution::MAILBOX: r.kind = RecipientKind::Mailbox; break;
    case gw::envelope::Resolution::CONTACT: r.kind = RecipientKind::Contact; break;
    case gw::envelope::Resolution::REMOTE: r.kind = RecipientKind::Remote; break;
    case gw::envelope::Resolution::NON_AUTHORITATIVE: r.kind = RecipientKind::NonAuthoritative; break;
    default: return std::nullopt;
  }
  r.address = res.primary_address().empty() ? src.address() : res.primary_address();
  r.home_mdb_dn = res.home_mdb_dn();
  r.home_server_dn = res.home_server_dn();
  r.home_server_fqdn = res.home_server_fqdn();
  r.target_address = res.target_address();
  r.message.sender = envelope.sender();
  r.message.size = envelope.body_size() != 0 ? envelope.body_size() : envelope.declared_size();
  r.message.system_message = envelope.sender().empty();
  r.message.virtual_server_id = envelope.virtual_server_id();
  return r;
}

QueuePlace queue_place(const NextHop& hop) {
  struct Visitor {
    QueuePlace operator()(const LocalDelivery& h) const { return {gw::envelope::LOCAL_DELIVERY, h.server_fqdn}; }
    QueuePlace operator()(const SmartHosts& h) const {
      return {gw::envelope::REMOTE_DELIVERY, h.bridgehead.empty() ? h.connector : h.bridgehead};
    }
    QueuePlace operator()(const DnsMx& h) const { return {gw::envelope::REMOTE_DELIVERY, h.domain}; }
    QueuePlace operator()(const Unreachable& h) const {
      return {gw::envelope::FINAL_DESTINATION_UNREACHABLE, h.destination};
    }
    QueuePlace operator()(const Fail&) const { return {}; }
  };
  return std::visit(Visitor{}, hop);
}

std::string describe(const NextHop& hop) {
  auto creds = [](const OutboundCredentials& c) { return c.basic ? "basic(" + c.user_name + ")" : std::string("none"); };
  struct Visitor {
    decltype(creds)& creds_of;
    std::string operator()(const LocalDelivery& h) const {
      return "local server=" + h.server + " endpoint=" + h.host + ":" + std::to_string(h.port) +
             " protocol=" + (h.protocol == Protocol::Lmtp ? "LMTP" : "SMTP") +
             " this_server=" + (h.this_server ? "yes" : "no");
    }
    std::string operator()(const SmartHosts& h) const {
      std::string hosts;
      for (const auto& host : h.hosts) hosts += (hosts.empty() ? "" : ",") + host.str();
      std::string out = "smarthosts connector=\"" + h.connector + "\" hosts=" + hosts +
                        " tls=" + (h.tls_required ? "required" : "optional") + " auth=" + creds_of(h.credentials);
      if (h.use_helo) out += " helo";
      if (h.hold_for_remote_trigger) out += " hold=remote-trigger";
      if (!h.bridgehead.empty()) out += " via_bridgehead=" + h.bridgehead;
      return out;
    }
    std::string operator()(const DnsMx& h) const {
      std::string out = "dns connector=\"" + h.connector + "\" domain=" + h.domain + " port=" + std::to_string(h.port) +
                        " tls=" + (h.tls_required ? "required" : "optional") + " auth=" + creds_of(h.credentials);
      if (h.use_helo) out += " helo";
      if (h.hold_for_remote_trigger) out += " hold=remote-trigger";
      return out;
    }
    std::string operator()(const Unreachable& h) const { return "unreachable destination=" + h.destination; }
    std::string operator()(const Fail& h) const {
      return "fail " + std::string(failure_kind_name(h.kind)) + " (" + h.detail + ")";
    }
  };
  return std::visit(Visitor{creds}, hop);
}

}  // namespace gw::routing
