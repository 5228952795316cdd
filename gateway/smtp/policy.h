// ListenerPolicy and PeerInfo: everything the Session needs to know about the
// virtual server it runs for and the client it talks to, as plain values.
//
// Contract: the driver (gateway/server) fills these from the metabase
// VirtualServer, the organization's SMTP domains and connectors, and the accepted
// socket; the Session only reads them. Sizes are in octets (the metabase keeps KB;
// converting is the driver's job). 0 means "no limit" for every limit except
// max_hop_count. Domains are compared after gw::normalize_domain().
//
// Not responsible for: matching IP networks (the driver computes
// PeerInfo::relay_allowed from msExchSmtpRelayIpList), connection allow/deny
// lists, TLS or SASL configuration files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gw::smtp {

// How this organization treats a recipient domain (contract 4, docs/architecture.md).
enum class DomainClass {
  Remote,            // none of the below: relaying, allowed only to relay clients
  Authoritative,     // recipient policy, authoritative: unknown users are refused
  NonAuthoritative,  // recipient policy, msExchNonAuthoritativeDomains: unknown users routed onward
  RelayConnector,    // address space of a connector with gwConnectorAllowRelay
};

struct DomainTable {
  std::vector<std::string> authoritative;      // "example.com"
  std::vector<std::string> non_authoritative;  // "shared.example.org"
  // Connector address spaces that allow relay: "example.org" (that domain), "*.mil"
  // (every subdomain of mil, not mil itself), "*" (everything).
  std::vector<std::string> relay_connector;

  // Local classes win over connector address spaces.
  DomainClass classify(std::string_view domain) const;
};

// A connector whose mail waits until the remote side asks for it (activation
// style "remote triggered"): the domains it holds mail for and the accounts
// that may take that mail with ATRN (RFC 2645).
struct TrnConnector {
  std::string name;                              // cn; also the ETRN "#queue" name
  std::vector<std::string> domains;              // normalized: "partner.example", "*.partner.example"
  std::vector<std::string> authorized_accounts;  // msExchSmtpAuthorizedTRNAccounts
};

struct ListenerPolicy {
  std::string fqdn = "localhost";         // msExchSmtpFullyQualifiedDomainName: greeting, Received "by"

  std::uint64_t max_message_size = 0;     // octets; SIZE advertised and enforced (552 5.3.4)
  std::uint64_t max_session_size = 0;     // octets of all messages in one connection
  std::uint32_t max_messages_per_connection = 0;  // then 421 4.7.0 and close
  std::uint32_t max_recipients = 0;       // per message; 452 4.5.3 beyond
  std::uint32_t max_hop_count = 15;       // Received headers; 554 5.4.6 when reached

  // Misbehaving clients (gateway/smtp/README.md, "Limits"). Each default is
  // here and only here; the metabase overrides it per virtual server.
  // gwSmtpHardErrorLimit: refused commands (syntax, sequence, unknown, improper
  // pipelining) and refused recipients; the one that reaches the limit is
  // answered, then 421 4.7.0 follows and the connection closes (0 = unlimited).
  std::uint32_t hard_error_limit = 20;
  // gwSmtpJunkCommandLimit: NOOP, RSET, VRFY, HELP, unknown commands and
  // BDAT 0 without LAST; the one that reaches the limit is answered 421 4.7.0
  // and the connection closes. Each accepted message starts the count anew
  // (0 = unlimited).
  std::uint32_t junk_command_limit = 100;
  // gwSmtpAllowUnsynchronizedClients: accept clients that talk before the
  // greeting or pipeline where RFC 2920 forbids it (default: refuse them).
  bool allow_unsynchronized_clients = false;

  bool enable_vrfy = false;               // false: 252 2.5.2
  bool require_tls = false;               // 530 5.7.0 for MAIL/RCPT/DATA/BDAT before STARTTLS
  bool require_auth = false;              // 530 5.7.0 "Authentication required" (no anonymous)
  bool allow_authenticated_relay = true;  // msExchSmtpRelayForAuth
  bool reject_spoofed_local_senders = false;  // unauthenticated MAIL FROM in an authoritative domain
  // gwSmtpSenderMustBeOwnAddress (submission servers): an authenticated client's
  // MAIL FROM must be one of its account's SMTP addresses, else 550 5.7.1.
  bool require_sender_is_own_address = false;

  // Sender filter (msExchTurfListNames, when the virtual server applies it):
  // "user@domain", "@domain" or "*@domain", "<>" for the null sender.
  std::vector<std::string> sender_filter;

  DomainTable domains;
  // Domain for RCPT TO:<Postmaster> without a domain; empty = first authoritative.
  std::string postmaster_domain;

  // Capabilities the driver can provide; advertised in EHLO.
  bool starttls_available = false;        // certificate and key loaded
  std::vector<std::string> auth_mechanisms;  // "PLAIN", "LOGIN"; empty = no AUTH
  bool auth_without_tls = false;          // gwSmtpAllowPlaintextAuth: offer AUTH before TLS
  // Remote triggered delivery.
  bool enable_etrn = false;               // gwSmtpEnableEtrn: ETRN advertised and accepted
  std::vector<TrnConnector> trn_connectors;
};

struct PeerInfo {
  std::string ip;          // "192.0.2.7" or "2001:db8::7"
  std::uint16_t port = 0;
  std::string hostname;    // verified reverse name, empty when unknown (Received header)
  bool relay_allowed = false;  // ip is in the relay IP list
  bool etrn_allowed = false;   // ip is in gwSmtpEtrnHosts, or that list is empty
};

}  // namespace gw::smtp
