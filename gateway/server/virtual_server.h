// VirtualServer: one SMTP virtual server of the metabase as the running gateway
// keeps it: its current settings, its connection counters and its protocol log.
//
// Settings are an immutable snapshot (VirtualServerSettings) built from the
// metabase by build_settings(); a reload swaps the snapshot, and each session
// takes the snapshot current at accept time, so changed settings apply to new
// sessions while sessions in flight keep theirs. The object itself lives as
// long as the gateway knows the server id or a session still holds it, so a
// removed server's sessions complete normally. Thread-safe.
//
// Not responsible for sockets (Listener) or the SMTP dialogue (SmtpConnection).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"
#include "gateway/server/connection_gate.h"
#include "gateway/server/ip_network.h"
#include "gateway/server/protocol_log.h"
#include "gateway/smtp/policy.h"
#include "proto/metabase.pb.h"

#include <boost/asio/ssl/context.hpp>

namespace gw::server {

// Deadlines of a session (RFC 5321 4.5.3.2 values; gateway/smtp/README.md,
// "Limits"). They are totals, not idle timers re-armed by every octet, so a
// client that trickles one octet at a time cannot hold a session:
//  - a command line (and an AUTH response line, a TLS handshake) must be
//    complete within `command` of the moment the gateway starts waiting for it;
//  - a DATA content or BDAT chunk transfer must be complete by
//    start + data_block + octets received / min_data_rate (the minimum average
//    rate; 0 = no total, the idle limits below only), and no single wait may
//    last longer than data_init (for the first content octet after 354) or
//    data_block (any further one).
// The termination timeout (4.5.3.2.6, 10 min) is the client's wait for our
// reply after the final "."; the commit answers within it, so it has no timer
// here. Each default is here and only here; msExchIncomingConnectionTimeout
// replaces the three times, gwSmtpMinDataRate the rate.
struct Timeouts {
  std::chrono::seconds command{300};     // 4.5.3.2.1/2/3/7: greeting, MAIL, RCPT, next command
  std::chrono::seconds data_init{120};   // 4.5.3.2.4: first block after the 354
  std::chrono::seconds data_block{180};  // 4.5.3.2.5: each further block of DATA or BDAT
  std::uint32_t min_data_rate = 500;     // octets per second over a whole transfer (Postfix's smtpd_min_data_rate)
};

struct VirtualServerSettings {
  std::string id;
  std::string name;
  std::string fqdn;
  metabase::ServerState state = metabase::STARTED;
  smtp::ListenerPolicy policy;       // PeerInfo::relay_allowed is filled per connection
  IpNetworkList relay_networks;
  ConnectionRules connection_rules;
  Timeouts timeouts;
  bool protocol_logging = false;
  std::filesystem::path protocol_log_directory;
  // Loaded from gwTlsCertificateFile / gwTlsKeyFile; null = no STARTTLS.
  std::shared_ptr<asio::ssl::context> tls_context;
  // Why STARTTLS is not offered although a certificate is configured.
  std::string tls_error;
  // The metabase names directory endpoints to check AUTH passwords against.
  // Without them AUTH is still offered where configured, and every attempt is
  // answered 454 4.7.0 (a temporary failure: never 535 for a good password).
  bool auth_directory_configured = false;
  // gwSmtpEtrnHosts: clients that may ETRN; empty = any client.
  IpNetworkList etrn_hosts;
  // gwSmtpGreetingDelay: how long the greeting waits for a client that talks
  // first (an early talker, refused unless policy.allow_unsynchronized_clients);
  // 0 = greet at once, catching only octets that are already there.
  std::chrono::milliseconds greeting_delay{0};
};

using SettingsPtr = std::shared_ptr<const VirtualServerSettings>;

// Builds the snapshot for `server`. Organization-wide parts come from `metabase`:
// SMTP domains, relay connectors' address spaces, the sender filter. The
// connection timeout (msExchIncomingConnectionTimeout), when set, replaces the
// command, data-init and data-block timeouts. The TLS certificate and key are
// loaded here (reload path, blocking file reads): when they cannot be loaded the
// server runs without STARTTLS and tls_error says why; a server that requires
// TLS then refuses mail with 530 rather than accepting it in the clear. Fails
// on an unparsable IP network. ETRN/ATRN: the remote-triggered connectors of the
// organization (activation style "remote triggered" or queued for remote
// triggered delivery) with their SMTP address spaces and ETRN domains.

Result<SettingsPtr> build_settings(const metabase::Metabase& metabase, const metabase::VirtualServer& server);

class VirtualServer {
 public:
  explicit VirtualServer(SettingsPtr settings);

  const std::string& id() const noexcept { return id_; }
  SettingsPtr settings() const;
  void update(SettingsPtr settings);
  // nullptr when protocol logging is off.
  std::shared_ptr<ProtocolLog> protocol_log() const;
  const std::shared_ptr<ConnectionGate>& gate() const noexcept { return gate_; }

 private:
  std::string id_;
  std::shared_ptr<ConnectionGate> gate_ = ConnectionGate::create();
  mutable std::mutex mutex_;
  SettingsPtr settings_;
  std::shared_ptr<ProtocolLog> protocol_log_;
};

}  // namespace gw::server
