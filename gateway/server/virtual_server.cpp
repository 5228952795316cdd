#include "gateway/server/virtual_server.h"

#include "gateway/common/address.h"

namespace gw::server {
namespace {

// msExchMaxIncomingConnections uses 2000000000 for "unlimited".
constexpr std::uint32_t kUnlimitedConnections = 2000000000u;

// TLS 1.2 and later only; the certificate file holds the chain (PEM).
std::shared_ptr<asio::ssl::context> load_tls_context(const metabase::Tls& tls, std::string& error) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
  if (!ec) context->use_certificate_chain_file(tls.certificate_file(), ec);
  if (ec) {
    error = "certificate " + tls.certificate_file() + ": " + ec.message();
    return nullptr;
  }
  context->use_private_key_file(tls.key_file(), asio::ssl::context::pem, ec);
  if (ec) {
    error = "key " + tls.key_file() + ": " + ec.message();
    return nullptr;
  }
  return context;
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
  policy.max_hop_count = limits.max_hop_count() != 0 ? limits.max_hop_count() : 15;
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
  // AUTH is not offered until the SASL layer is wired in.
  policy.auth_mechanisms.clear();
  policy.auth_without_tls = server.authentication().allow_basic_without_tls();

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
