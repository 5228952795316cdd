// The router: which next hop one categorized recipient takes.
//
// route() is a total, deterministic function of (routing snapshot, recipient,
// route state): no I/O, no clock, no randomness, and it always returns a
// NextHop, a failure included: no input makes it throw or give no answer.
// Rules, in order:
//   * mailbox users go to the mailbox server owning their home store
//     (LocalDelivery over SMTP or LMTP; "Local delivery" when that server is
//     this one), 5.1.6 when the store or server is unknown; a mailbox server
//     of another routing group is reached over the cheapest path of routing
//     group connectors, to the first connector's remote bridgehead (or to one
//     of its local bridgeheads when this server is not one), 5.4.4 without a
//     path, Unreachable when every path is down;
//   * contacts route on their targetAddress, everything else on the recipient's
//     domain; unknown users of an authoritative domain go to the virtual
//     server's "forward unresolved" host when set, otherwise fail 5.1.1;
//   * a domain that is the FQDN of a server of this organization fails 5.4.8;
//   * connectors compete by address space: exact domain over the most literal
//     wildcard ("*.sub.example" over "*.example" over "*"), then lowest cost;
//     ROUTING_GROUP-scoped connectors count only inside their routing group;
//     connectors that are down or scheduled NEVER (RouteState) yield to the
//     next best; equal candidates share load by RouteState::spread_key;
//   * the winning tier's delivery restrictions (5.7.1) and content
//     restrictions (5.2.3 size, 5.7.1 priority and system/non-system) are
//     applied; a restricted sender never falls through to a less specific
//     connector, so a restriction cannot be bypassed by "*";
//   * a DNS connector sends a domain literal (user@[192.0.2.1]) to that
//     address; a remote-triggered connector's hop is marked to be held for ETRN;
//   * no matching connector: Fail 5.4.4; all of them down: Unreachable (retry);
//     a next hop that is one of this server's own listeners: Fail 5.3.5.
// Not responsible for DNS (the delivery client resolves MX and smart host
// names), for schedules' time windows, for retries or for recipient-level
// limits (the categorizer applies those).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/common/failure_kind.h"
#include "gateway/routing/routing_snapshot.h"
#include "gateway/routing/smart_host.h"
#include "proto/envelope.pb.h"

namespace gw::routing {

enum class RecipientKind {
  Mailbox,           // directory user with a home store
  Contact,           // directory contact: route on target_address
  Remote,            // not in the directory, not a local domain, or an unknown user of an authoritative one
  NonAuthoritative,  // unknown in a non-authoritative local domain: route onward by domain
};

enum class Priority { Low, Normal, High };

// What the restrictions need to know about the message as a whole.
struct MessageFacts {
  std::string sender;                          // reverse-path; empty = null sender
  std::string sender_dn;                       // the sender's directory object, empty when external
  std::vector<std::string> sender_group_dns;   // groups the sender is a (transitive) member of
  std::uint64_t size = 0;                      // octets
  Priority priority = Priority::Normal;
  bool system_message = false;                 // DSN/NDR and other reports (null sender)
  std::string virtual_server_id;               // the virtual server that accepted it
};

struct CategorizedRecipient {
  RecipientKind kind = RecipientKind::Remote;
  std::string address;                 // the (categorized) recipient address
  std::string home_mdb_dn;             // mailbox users: homeMDB
  std::string home_server_dn;          // mailbox users: DN or legacyExchangeDN (msExchHomeServerName)
  std::string home_server_fqdn;
  std::string target_address;          // contacts: "SMTP:user@partner.example" or "user@partner.example"
  MessageFacts message;
};

struct RouteState {
  // Connectors in retry or stopped, by name or DN (case-insensitive).
  std::set<std::string> connectors_down;
  // Remote bridgehead servers in retry, by name or FQDN (case-insensitive).
  std::set<std::string> hosts_down;
  // Load spreading among equal choices: spread_key_for(message id) for
  // per-message stickiness, or a round-robin counter (consecutive values take
  // the equal connectors, then their bridgeheads, strictly in turn).
  std::uint64_t spread_key = 0;
};

// Stable across platforms and runs (FNV-1a 64 with a splitmix64 finalizer),
// unlike std::hash.
std::uint64_t spread_key_for(std::string_view message_id) noexcept;

enum class Protocol { Smtp, Lmtp };

struct LocalDelivery {
  std::string server;       // mailbox server name (MBX1)
  std::string server_fqdn;
  std::string host;         // delivery endpoint host
  std::uint16_t port = 25;
  Protocol protocol = Protocol::Smtp;
  bool this_server = false; // the home store is on this very server
};

struct OutboundCredentials {
  bool basic = false;       // AUTH with user_name/password; false = anonymous
  std::string user_name;
  std::string password;     // never printed by describe()
};

struct SmartHosts {
  std::string connector;             // connector name
  std::string connector_dn;          // for schedule and oversize settings of the connector
  std::vector<SmartHost> hosts;      // in the administrator's order, ports filled in
  bool tls_required = false;
  OutboundCredentials credentials;
  bool use_helo = false;
  std::string bridgehead;            // set when forwarding to another bridgehead server
  bool hold_for_remote_trigger = false;  // queue until the remote host sends ETRN/ATRN
};

struct DnsMx {
  std::string connector;
  std::string connector_dn;
  std::string domain;                // look up MX (then A/AAAA) for this domain
  std::uint16_t port = 25;
  bool tls_required = false;
  OutboundCredentials credentials;
  bool use_helo = false;
  bool hold_for_remote_trigger = false;
};

// Every connector for the destination is down: keep the message in
// "Final destination currently unreachable" and route again later.
struct Unreachable {
  std::string destination;
};

struct Fail {
  FailureKind kind = FailureKind::NoRoute;
  std::string detail;                // names the connector, server or host concerned
};

using NextHop = std::variant<LocalDelivery, SmartHosts, DnsMx, Unreachable, Fail>;

NextHop route(const RoutingSnapshot& snapshot, const CategorizedRecipient& recipient, const RouteState& state);

// The router's view of envelope recipient `index` as the categorizer left it.
// nullopt for recipients that are not routable (UNRESOLVED, or a GROUP that
// should have been expanded). Sender DN, groups and priority are not in the
// envelope; the caller adds them to `message` when restrictions need them.
std::optional<CategorizedRecipient> categorized_recipient(const gw::envelope::Envelope& envelope, int index);

// The named queue a hop's recipients wait in, and under which next hop: a
// mailbox server is (LOCAL_DELIVERY, its FQDN), smart hosts are
// (REMOTE_DELIVERY, the bridgehead or else the connector), DNS is
// (REMOTE_DELIVERY, the domain), every connector down is
// (FINAL_DESTINATION_UNREACHABLE, the destination); a failure waits nowhere
// (QUEUE_UNSPECIFIED: the recipient leaves the queues with an NDR). The queue
// library's display_name() makes "Local delivery [mbx1.example.com]" of it.
struct QueuePlace {
  gw::envelope::QueueName queue = gw::envelope::QUEUE_UNSPECIFIED;
  std::string next_hop;
  friend bool operator==(const QueuePlace&, const QueuePlace&) = default;
};
QueuePlace queue_place(const NextHop& hop);

// One line for logs and golden files; never contains a password.
std::string describe(const NextHop& hop);

}  // namespace gw::routing
