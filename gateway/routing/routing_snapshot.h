// RoutingSnapshot: the routing-relevant part of one metabase, pre-digested so
// that route() does no parsing and no allocation-heavy work per recipient.
//
// Built once per metabase load (the gateway swaps snapshots on reload; a
// snapshot is immutable and may be shared across threads). Building never
// fails: a connector whose smart host list does not parse is kept with its
// error, so that routing to it yields 5.4.0 instead of silently using another
// path. Not responsible for validating the metabase as a whole
// (metabase-sync --check does that).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/routing/smart_host.h"
#include "proto/metabase.pb.h"

namespace gw::routing {

// Case-folded DN with blanks around ',' and '=' removed, for comparisons.
std::string normalize_dn(std::string_view dn);

struct ConnectorRoute {
  struct Space {
    std::string pattern;
    std::uint32_t cost = 1;
  };
  struct Bridgehead {
    std::string name;   // server name (BH2)
    std::string fqdn;   // empty when the metabase does not say
  };

  std::string name;
  std::string dn;                       // as written
  std::string normalized_dn;
  std::vector<Space> smtp_spaces;       // SMTP address spaces only
  bool in_scope = true;                 // usable from this server's routing group
  bool schedule_never = false;
  bool remote_triggered = false;        // Schedule REMOTE_TRIGGERED or queue_for_remote_triggered_delivery
  std::vector<SmartHost> smart_hosts;   // empty = DNS
  std::string smart_host_error;         // non-empty: list did not parse
  bool local_bridgehead = true;         // this server may send over it itself
  std::vector<Bridgehead> remote_bridgeheads;
  bool tls_required = false;
  bool basic_auth = false;
  std::string auth_user;
  std::string auth_password;
  bool use_helo = false;
  // Normalized DNs; accept lists empty = everyone may send.
  std::vector<std::string> accept_from, reject_from, accept_from_groups, reject_from_groups;
  bool has_content_restrictions = false;
  gw::metabase::ContentRestrictions content;
};

// A routing group connector, one way from `source_group` to `target_group`.
struct GroupConnectorRoute {
  std::string name;
  std::string dn;                        // as written
  std::string normalized_dn;
  std::string source_group;              // normalized routing group DNs
  std::string target_group;
  std::uint32_t cost = 1;
  bool schedule_never = false;
  // Servers of the source group that send over it; empty = every server of the group.
  std::vector<ConnectorRoute::Bridgehead> local_bridgeheads;
  bool this_server_sends = false;        // this server is in local_bridgeheads, or the list is empty
  std::vector<ConnectorRoute::Bridgehead> remote_bridgeheads;  // servers of the target group that receive
};

struct Listener {
  std::string host;      // IP as written, lower case
  std::uint32_t port = 0;
};

struct RoutingSnapshot {
  std::string server_name;             // this server (BH1)
  std::string server_fqdn;
  std::string routing_group_dn;        // normalized
  std::vector<std::string> own_names;  // lower-case FQDNs and IPs that mean "this server"
  std::vector<std::uint32_t> own_ports;
  std::vector<std::string> server_fqdns;  // every known server FQDN of the organization (5.4.8)
  std::vector<gw::metabase::SmtpDomain> domains;
  std::vector<gw::metabase::MailboxServer> mailbox_servers;
  // Lookup keys of mailbox_servers[i], pre-normalized (DNs, legacyExchangeDN, FQDN).
  struct MailboxServerKeys {
    std::string dn, legacy_dn, fqdn;
    std::vector<std::string> store_dns;
    std::string routing_group;   // normalized; the server's own group when the metabase does not say
  };
  std::vector<MailboxServerKeys> mailbox_keys;
  std::vector<std::string> authoritative_domains;  // lower case
  std::vector<ConnectorRoute> connectors;
  std::vector<GroupConnectorRoute> group_connectors;
  struct VirtualServerRoute {
    std::string id;
    std::uint16_t outbound_port = 25;
    std::vector<SmartHost> forward_unresolved;   // gwSmtpForwardUnresolvedToHost
    std::string forward_unresolved_error;
  };
  std::vector<VirtualServerRoute> virtual_servers;

  static RoutingSnapshot build(const gw::metabase::Metabase& metabase);

  const VirtualServerRoute* virtual_server(std::string_view id) const;
  std::uint16_t outbound_port(std::string_view virtual_server_id) const;
};

}  // namespace gw::routing
