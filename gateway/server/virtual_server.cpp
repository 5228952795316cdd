#include "gateway/server/virtual_server.h"

#include <algorithm>

#include "gateway/common/address.h"
#include "gateway/server/sasl_server.h"
#include "gateway/server/tls_context.h"

namespace gw::server {
namespace {

// msExchMaxIncomingConnections uses 2000000000 for "unlimited".
constexpr std::uint32_t kUnlimitedConnections = 2000000000u;

// The TLS context as the Transport takes it; the aliasing pointer keeps the
// whole TlsServerContext alive as long as a session uses it.
std::shared_ptr<asio::ssl::context> load_tls_context(const metabase::Tls& tls, std::string& error) {
  auto loaded = TlsServerContext::load(tls);
  if (!loaded) {
    error = loaded.error().message();
    return nullptr;
  }
  std::shared_ptr<const TlsServerContext> context = std::move(*loaded);
  return std::shared_ptr<asio::ssl::context>(context, &context->native());
}

}  // namespace

Result<SettingsPtr> build_settings(const metabase::Metabase& metabase, const metabase::VirtualServer& server) {
  auto settings = std::make_shared<VirtualServerSettings>();
  settings->id = server.id();
  settings->name = server.name().empty() ? server.id() : server.name();
  settings->fqdn = !server.fqdn().empty()                 ? server.fqdn()
                   : !metabase.this_server().fqdn().empty() ? metabase.this_server().fqdn()
                                                            : "localhost";
  settings->state = server.state();

  auto& policy = settings->policy;
  const auto& limits = server.limits();
  policy.fqdn = settings->fqdn;
  policy.max_message_size = limits.max_message_size();
  policy.max_session_size = limits.max_session_size();
  policy.max_messages_per_connection = limits.max_messages_per_connection();
  policy.max_recipients = limits.max_recipients_per_message();
  if (limits.max_hop_count() != 0) policy.max_hop_count = limits.max_hop_count();
  // Absent fields keep the defaults of ListenerPolicy and Timeouts.
  if (limits.has_hard_error_limit()) policy.hard_error_limit = limits.hard_error_limit();
  if (limits.has_junk_command_limit()) policy.junk_command_limit = limits.junk_command_limit();
  policy.allow_unsynchronized_clients = limits.allow_unsynchronized_clients();
  policy.enable_vrfy = server.enable_vrfy();
  policy.require_tls = server.authentication().require_tls();
  policy.require_auth = !server.authentication().anonymous();
  policy.allow_authenticated_relay = server.relay().allow_authenticated_relay();
  policy.reject_spoofed_local_senders = server.reject_spoofed_local_senders();
  if (server.apply_sender_filter())
    policy.sender_filter.assign(metabase.message_delivery().sender_filter().begin(),
                                metabase.message_delivery().sender_filter().end());
  for (const auto& domain : metabase.domains()) {
    auto name = normalize_domain(domain.name());
    (domain.authoritative() ? policy.domains.authoritative : policy.domains.non_authoritative)
        .push_back(std::move(name));
  }
  for (const auto& connector : metabase.connectors()) {
    if (!connector.allow_relay()) continue;
    for (const auto& space : connector.address_spaces())
      if (space.type() == metabase::ADDRESS_SPACE_SMTP)
        policy.domains.relay_connector.push_back(normalize_domain(space.pattern()));
  }
  if (!server.tls().certificate_file().empty() && !server.tls().key_file().empty())
    settings->tls_context = load_tls_context(server.tls(), settings->tls_error);
  policy.starttls_available = settings->tls_context != nullptr;
  // AUTH (basic: PLAIN/LOGIN) is advertised as configured. Passwords are checked
  // against the directory; without directory endpoints every attempt is a
  // temporary failure (454 4.7.0), so clients retry instead of giving up on a
  // good password. The list is what libsasl2 can run of the configured
  // mechanisms; the TLS condition is the Session's (auth_without_tls).
  const auto& authentication = server.authentication();
  policy.auth_mechanisms.clear();
  settings->auth_directory_configured = !metabase.directory().uris().empty();
  if (authentication.basic()) {
    SaslSettings sasl;
    sasl.mechanisms.assign(authentication.mechanisms().begin(), authentication.mechanisms().end());
    sasl.tls_active = true;
    policy.auth_mechanisms = offered_mechanisms(sasl);
  }
  policy.auth_without_tls = authentication.allow_basic_without_tls();
  policy.require_sender_is_own_address = authentication.require_sender_is_own_address();

  policy.enable_etrn = server.enable_etrn();
  for (const auto& connector : metabase.connectors()) {
    const bool remote_triggered = connector.queue_for_remote_triggered_delivery() ||
                                  (connector.has_schedule() &&
                                   connector.schedule().style() == metabase::Schedule::REMOTE_TRIGGERED);
    if (!remote_triggered) continue;
    smtp::TrnConnector trn;
    trn.name = connector.name();
    auto add_domain = [&trn](const std::string& domain) {
      std::string normalized = normalize_domain(domain);
      if (!normalized.empty() && std::find(trn.domains.begin(), trn.domains.end(), normalized) == trn.domains.end())
        trn.domains.push_back(std::move(normalized));
    };
    for (const auto& space : connector.address_spaces())
      if (space.type() == metabase::ADDRESS_SPACE_SMTP && space.pattern() != "*") add_domain(space.pattern());
    for (const auto& domain : connector.etrn_domains()) add_domain(domain);
    trn.authorized_accounts.assign(connector.authorized_trn_accounts().begin(),
                                   connector.authorized_trn_accounts().end());
    policy.trn_connectors.push_back(std::move(trn));
  }
  auto etrn_hosts = IpNetworkList::parse(server.etrn_hosts());
  if (!etrn_hosts) return std::unexpected(etrn_hosts.error());
  settings->etrn_hosts = std::move(*etrn_hosts);

  auto relay = IpNetworkList::parse(server.relay().relay_ip_list());
  if (!relay) return std::unexpected(relay.error());
  settings->relay_networks = std::move(*relay);
  auto allow = IpNetworkList::parse(server.connection_control().allow());
  if (!allow) return std::unexpected(allow.error());
  auto deny = IpNetworkList::parse(server.connection_control().deny());
  if (!deny) return std::unexpected(deny.error());
  settings->connection_rules.allow = std::move(*allow);
  settings->connection_rules.deny = std::move(*deny);
  settings->connection_rules.max_connections =
      limits.max_connections() >= kUnlimitedConnections ? 0 : limits.max_connections();
  settings->connection_rules.max_connections_per_ip = limits.max_connections_per_ip();

  if (limits.connection_timeout() != 0) {
    settings->timeouts.command = std::chrono::seconds(limits.connection_timeout());
    settings->timeouts.data_init = std::chrono::seconds(limits.connection_timeout());
    settings->timeouts.data_block = std::chrono::seconds(limits.connection_timeout());
  }
  if (limits.has_min_data_rate()) settings->timeouts.min_data_rate = limits.min_data_rate();
  settings->greeting_delay = std::chrono::milliseconds(limits.greeting_delay_ms());
  settings->protocol_logging = server.protocol_logging() && !server.protocol_log_directory().empty();
  settings->protocol_log_directory = server.protocol_log_directory();
  return SettingsPtr(std::move(settings));
}

VirtualServer::VirtualServer(SettingsPtr settings) : id_(settings->id) { update(std::move(settings)); }

SettingsPtr VirtualServer::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

void VirtualServer::update(SettingsPtr settings) {
  std::lock_guard lock(mutex_);
  if (!settings->protocol_logging)
    protocol_log_.reset();
  else if (!protocol_log_ || protocol_log_->directory() != settings->protocol_log_directory)
    protocol_log_ = std::make_shared<ProtocolLog>(settings->protocol_log_directory, settings->id);
  settings_ = std::move(settings);
}

std::shared_ptr<ProtocolLog> VirtualServer::protocol_log() const {
  std::lock_guard lock(mutex_);
  return protocol_log_;
}

}  // namespace gw::server
