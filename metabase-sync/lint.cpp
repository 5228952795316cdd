#include "metabase-sync/lint.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "metabase-sync/errors.h"
#include "metabase-sync/value_parsers.h"
#include "gateway/common/address.h"
#include "gateway/common/ascii.h"
#include "gateway/routing/router.h"

namespace msync {
namespace {

namespace mb = gw::metabase;

class Checker {
 public:
  explicit Checker(const mb::Metabase& metabase) : m_(metabase) {}

  std::vector<Finding> run() {
    domain_equals_server_fqdn();
    no_default_route();
    connector_covers_local_domain();
    smart_hosts();
    duplicate_bindings();
    open_relay();
    non_authoritative_without_connector();
    message_size_above_session_size();
    mailbox_servers_without_route();
    std::sort(findings_.begin(), findings_.end(), [](const Finding& a, const Finding& b) {
      return std::tie(a.severity, a.dn, a.message) < std::tie(b.severity, b.dn, b.message);
    });
    findings_.erase(std::unique(findings_.begin(), findings_.end()), findings_.end());
    return std::move(findings_);
  }

 private:
  void error(std::string dn, std::string message) {
    findings_.push_back({Severity::Error, std::move(dn), std::move(message)});
  }
  void warning(std::string dn, std::string message) {
    findings_.push_back({Severity::Warning, std::move(dn), std::move(message)});
  }

  // FQDNs by which this organization's servers are known.
  std::map<std::string, std::string> server_fqdns() const {
    std::map<std::string, std::string> out;  // fqdn -> server name
    out[gw::normalize_domain(m_.this_server().fqdn())] = m_.this_server().name();
    for (const auto& vs : m_.virtual_servers()) out[gw::normalize_domain(vs.fqdn())] = m_.this_server().name();
    for (const auto& server : m_.mailbox_servers()) out[gw::normalize_domain(server.fqdn())] = server.name();
    out.erase("");
    return out;
  }

  void domain_equals_server_fqdn() {
    const auto fqdns = server_fqdns();
    for (const auto& domain : m_.domains()) {
      auto it = fqdns.find(gw::normalize_domain(domain.name()));
      if (it != fqdns.end())
        error(domain.policy_dn(),
              fmt::format("SMTP domain {} equals the FQDN of server {}: mail to the server itself "
                          "is treated as a recipient domain (NDR 5.4.8)",
                          domain.name(), it->second));
    }
  }

  // Asks the router itself, so the rule cannot disagree with what mail gets.
  void mailbox_servers_without_route() {
    const auto snapshot = gw::routing::RoutingSnapshot::build(m_);
    for (const auto& server : m_.mailbox_servers()) {
      if (server.store_dns().empty()) continue;
      gw::routing::CategorizedRecipient mailbox;
      mailbox.kind = gw::routing::RecipientKind::Mailbox;
      mailbox.home_mdb_dn = server.store_dns(0);
      const auto hop = gw::routing::route(snapshot, mailbox, {});
      const auto* failed = std::get_if<gw::routing::Fail>(&hop);
      if (failed == nullptr || failed->kind != gw::FailureKind::NoRoute) continue;
      warning(server.dn(), fmt::format("mailbox server {} is in routing group {}, and no routing group connector "
                                       "leads there from this server's: its mailboxes get NDR 5.4.4",
                                       server.name(), server.routing_group_dn()));
    }
  }

  static bool is_smtp_star(const mb::AddressSpace& space) {
    return space.type() == mb::ADDRESS_SPACE_SMTP && space.pattern() == "*";
  }

  void no_default_route() {
    for (const auto& c : m_.connectors())
      for (const auto& space : c.address_spaces())
        if (is_smtp_star(space)) return;
    const auto& dn = m_.organization().routing_group_dn().empty() ? m_.organization().dn()
                                                                  : m_.organization().routing_group_dn();
    warning(dn, "no connector has the address space SMTP:*: mail to other domains has no route (NDR 5.4.4)");
  }

  void connector_covers_local_domain() {
    for (const auto& c : m_.connectors())
      for (const auto& space : c.address_spaces()) {
        if (space.type() != mb::ADDRESS_SPACE_SMTP || space.pattern() == "*") continue;
        for (const auto& domain : m_.domains())
          if (domain.authoritative() && address_space_matches(space.pattern(), domain.name()))
            error(c.dn(), fmt::format("address space SMTP:{} covers the authoritative local domain {}: "
                                      "mail for it loops back to this organization (NDR 5.3.5)",
                                      space.pattern(), domain.name()));
      }
  }

  void check_smart_host_list(const std::string& dn, const google::protobuf::RepeatedPtrField<std::string>& hosts,
                             const std::set<std::string>& own_names) {
    for (const auto& host : hosts) {
      const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
      const auto bare = bracketed ? host.substr(1, host.size() - 2) : host;
      if (!bracketed && is_ip_literal(host))
        error(dn, fmt::format("smart host {} is an IP address without brackets: it is looked up as a "
                              "host name and fails (write [{}])",
                              host, host));
      if (own_names.contains(gw::normalize_domain(bare)))
        error(dn, fmt::format("smart host {} is this server: mail would loop back to itself (NDR 5.3.5)", host));
    }
  }

  void smart_hosts() {
    std::set<std::string> own;
    for (const auto& [fqdn, name] : server_fqdns())
      if (gw::ascii_lower(name) == gw::ascii_lower(m_.this_server().name())) own.insert(fqdn);
    for (const auto& vs : m_.virtual_servers())
      for (const auto& binding : vs.bindings())
        if (!binding.ip().empty()) own.insert(gw::ascii_lower(binding.ip()));
    for (const auto& c : m_.connectors()) check_smart_host_list(c.dn(), c.smart_hosts(), own);
    for (const auto& vs : m_.virtual_servers()) check_smart_host_list(vs.dn(), vs.outbound().smart_hosts(), own);
  }

  void duplicate_bindings() {
    std::map<std::tuple<std::string, std::uint32_t>, std::vector<const mb::VirtualServer*>> users;
    for (const auto& vs : m_.virtual_servers()) {
      std::set<std::tuple<std::string, std::uint32_t>> own;
      for (const auto& binding : vs.bindings()) {
        auto key = std::make_tuple(gw::ascii_lower(binding.ip()), binding.port());
        if (!own.insert(key).second) {
          error(vs.dn(), fmt::format("binding {}:{} is listed twice", binding.ip().empty() ? "(all unassigned)" : binding.ip(),
                                     binding.port()));
          continue;
        }
        users[key].push_back(&vs);
      }
    }
    for (const auto& [key, servers] : users) {
      if (servers.size() < 2) continue;
      const auto& [ip, port] = key;
      std::string names;
      for (const auto* vs : servers) names += (names.empty() ? "" : ", ") + vs->name();
      for (const auto* vs : servers) {
        if (ip.empty())
          error(vs->dn(), fmt::format("several virtual servers ({}) use \"all unassigned\" on port {}: "
                                      "only one of them can start",
                                      names, port));
        else
          error(vs->dn(), fmt::format("several virtual servers ({}) bind {}:{}: only one of them can start",
                                      names, ip, port));
      }
    }
  }

  void open_relay() {
    for (const auto& vs : m_.virtual_servers())
      for (const auto& network : vs.relay().relay_ip_list())
        if (network.prefix_length() == 0)
          error(vs.dn(), fmt::format("relay list grants {}/0: anyone may relay through this virtual server "
                                     "(open relay)",
                                     network.address()));
    for (const auto& c : m_.connectors()) {
      if (!c.allow_relay()) continue;
      for (const auto& space : c.address_spaces())
        if (is_smtp_star(space))
          error(c.dn(), "connector with address space SMTP:* allows relaying: every domain becomes a relay "
                        "domain (open relay)");
    }
  }

  void non_authoritative_without_connector() {
    for (const auto& domain : m_.domains()) {
      if (domain.authoritative()) continue;
      bool routed = false;
      for (const auto& c : m_.connectors())
        for (const auto& space : c.address_spaces())
          if (space.type() == mb::ADDRESS_SPACE_SMTP && space.pattern() != "*" &&
              address_space_matches(space.pattern(), domain.name()))
            routed = true;
      if (!routed)
        error(domain.policy_dn(),
              fmt::format("non-authoritative domain {} has no connector: unresolved recipients would follow "
                          "SMTP:* (or have no route) and loop back here",
                          domain.name()));
    }
  }

  void message_size_above_session_size() {
    for (const auto& vs : m_.virtual_servers()) {
      const auto& limits = vs.limits();
      if (limits.max_message_size() != 0 && limits.max_session_size() != 0 &&
          limits.max_message_size() > limits.max_session_size())
        warning(vs.dn(), fmt::format("message size limit ({} KB) is larger than the session size limit ({} KB): "
                                     "the session limit wins",
                                     limits.max_message_size() / 1024, limits.max_session_size() / 1024));
    }
  }

  const mb::Metabase& m_;
  std::vector<Finding> findings_;
};

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative '*' backtracking match.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '%' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool address_space_matches(std::string_view pattern, std::string_view domain) {
  return glob_match(gw::normalize_domain(std::string(pattern)), gw::normalize_domain(std::string(domain)));
}

std::vector<Finding> lint(const gw::metabase::Metabase& metabase) { return Checker(metabase).run(); }

gw::Result<void> check_publishable(const gw::metabase::Metabase& metabase) {
  std::map<std::tuple<std::string, std::uint32_t>, const mb::VirtualServer*> owners;
  for (const auto& vs : metabase.virtual_servers()) {
    if (vs.state() != mb::STARTED && vs.state() != mb::SERVER_STATE_UNSPECIFIED) continue;
    for (const auto& binding : vs.bindings()) {
      const auto key = std::make_tuple(gw::ascii_lower(binding.ip()), binding.port());
      auto [it, inserted] = owners.emplace(key, &vs);
      if (inserted || it->second == &vs) continue;
      return fail(SyncErrc::InvalidConfiguration,
                  fmt::format("{}: msExchServerBindings: {}:{} is already bound by virtual server {} ({}); "
                              "the gateway cannot run both",
                              vs.dn(), binding.ip().empty() ? "(all unassigned)" : binding.ip(), binding.port(),
                              it->second->id(), it->second->name()));
    }
  }
  return {};
}

std::string format_finding(const Finding& finding) {
  return fmt::format("{}: {}: {}", finding.severity == Severity::Error ? "error" : "warning", finding.dn,
                     finding.message);
}

bool has_errors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Severity::Error; });
}

}  // namespace msync
