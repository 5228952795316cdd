#include "metabase-sync/metabase_builder.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "metabase-sync/defaults.h"
#include "metabase-sync/errors.h"
#include "metabase-sync/ldap_text.h"
#include "metabase-sync/value_parsers.h"
#include "gateway/common/ascii.h"

namespace msync {
namespace {

namespace mb = gw::metabase;

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && gw::ascii_lower(text.substr(0, prefix.size())) == gw::ascii_lower(prefix);
}

// Thrown inside the builder only, caught in build_metabase() and turned into a
// Result: it keeps every field mapping a single readable line.
struct InvalidValue {
  std::string line;
};

[[noreturn]] void invalid(const DirectoryEntry& entry, std::string_view attribute, std::string_view problem) {
  std::string line = entry.dn;
  line.append(": ");
  line.append(attribute);
  line.append(": ");
  line.append(problem);
  throw InvalidValue{std::move(line)};
}

template <typename T>
T take(const DirectoryEntry& entry, std::string_view attribute, Parsed<T> parsed) {
  if (!parsed) invalid(entry, attribute, parsed.error());
  return std::move(*parsed);
}

// Typed, defaulted access to one entry's attributes. Single-valued attributes
// with several values are a directory inconsistency and rejected.
class Fields {
 public:
  explicit Fields(const DirectoryEntry& entry) : entry_(entry) {}

  const DirectoryEntry& entry() const { return entry_; }

  std::optional<std::string> single(std::string_view attribute) const {
    const auto& values = entry_.values(attribute);
    if (values.empty()) return std::nullopt;
    if (values.size() > 1) invalid(entry_, attribute, "has several values but is single-valued");
    return values.front();
  }

  std::string text(std::string_view attribute, std::string fallback = {}) const {
    auto value = single(attribute);
    return value ? trim(*value) : fallback;
  }

  std::uint64_t uint(std::string_view attribute, std::uint64_t fallback,
                     std::uint64_t max = UINT32_MAX) const {
    auto value = single(attribute);
    return value ? take(entry_, attribute, parse_uint(trim(*value), max)) : fallback;
  }

  std::uint32_t uint32(std::string_view attribute, std::uint32_t fallback) const {
    return static_cast<std::uint32_t>(uint(attribute, fallback, UINT32_MAX));
  }

  // For settings whose default is the gateway's: nullopt when absent.
  std::optional<std::uint32_t> optional_uint32(std::string_view attribute) const {
    if (!single(attribute)) return std::nullopt;
    return uint32(attribute, 0);
  }

  std::int32_t int32(std::string_view attribute, std::int32_t fallback) const {
    auto value = single(attribute);
    return value ? take(entry_, attribute, parse_int32(trim(*value))) : fallback;
  }

  bool boolean(std::string_view attribute, bool fallback) const {
    auto value = single(attribute);
    return value ? take(entry_, attribute, parse_bool(trim(*value))) : fallback;
  }

  std::vector<std::string> list(std::string_view attribute) const {
    std::vector<std::string> out;
    for (const auto& value : entry_.values(attribute)) {
      auto item = trim(value);
      if (!item.empty()) out.push_back(std::move(item));
    }
    return out;
  }

  std::vector<mb::IpNetwork> networks(std::string_view attribute) const {
    std::vector<mb::IpNetwork> out;
    for (const auto& value : list(attribute)) out.push_back(take(entry_, attribute, parse_ip_network(value)));
    return out;
  }

 private:
  const DirectoryEntry& entry_;
};

std::string cn_of(const DirectoryEntry& entry) {
  if (auto cn = entry.first("cn")) return *cn;
  auto rdns = rdn_values(entry.dn);
  return rdns.empty() ? std::string() : rdns.front();
}

// networkAddress "ncacn_ip_tcp:<fqdn>" on the server object.
std::optional<std::string> fqdn_of(const DirectoryEntry& server) {
  static constexpr std::string_view kPrefix = "ncacn_ip_tcp:";
  for (const auto& value : server.values("networkAddress")) {
    if (starts_with_icase(value, kPrefix)) {
      auto fqdn = gw::ascii_lower(trim(std::string_view(value).substr(kPrefix.size())));
      if (!is_host_name(fqdn)) invalid(server, "networkAddress", "\"" + value + "\" does not carry a DNS name");
      return fqdn;
    }
  }
  return std::nullopt;
}

std::string required_fqdn(const DirectoryEntry& server) {
  auto fqdn = fqdn_of(server);
  if (!fqdn) invalid(server, "networkAddress", "no ncacn_ip_tcp:<fqdn> value");
  return *fqdn;
}

template <typename Message>
void add_all(google::protobuf::RepeatedPtrField<Message>* field, const std::vector<Message>& items) {
  for (const auto& item : items) *field->Add() = item;
}

void add_all(google::protobuf::RepeatedPtrField<std::string>* field, const std::vector<std::string>& items) {
  for (const auto& item : items) field->Add(std::string(item));
}

mb::ServerState server_state(const Fields& f) {
  if (auto state = f.single("gwServerState")) {
    const auto value = gw::ascii_lower(trim(*state));
    if (value == "started" || value == "2") return mb::STARTED;
    if (value == "stopped" || value == "4") return mb::STOPPED;
    if (value == "paused" || value == "6") return mb::PAUSED;
    invalid(f.entry(), "gwServerState", "\"" + *state + "\" is not started, stopped or paused");
  }
  return f.boolean("msExchServerAutoStart", defaults::kServerAutoStart) ? mb::STARTED : mb::STOPPED;
}

mb::OutboundSecurity outbound_security(const Fields& f) {
  mb::OutboundSecurity security;
  const auto flag = f.uint32("msExchSmtpOutboundSecurityFlag", 0);
  if (flag == 0)
    security.set_auth(mb::OUTBOUND_ANONYMOUS);
  else if (flag == 1)
    security.set_auth(mb::OUTBOUND_BASIC);
  else
    invalid(f.entry(), "msExchSmtpOutboundSecurityFlag",
            "\"" + std::to_string(flag) + "\" is not 0 (anonymous) or 1 (basic)");
  security.set_user_name(f.text("msExchSmtpOutboundSecurityUserName"));
  security.set_password(f.text("msExchSmtpOutboundSecurityPassword"));
  if (security.auth() == mb::OUTBOUND_BASIC && security.user_name().empty())
    invalid(f.entry(), "msExchSmtpOutboundSecurityUserName", "basic authentication needs a user name");
  security.set_require_tls(f.boolean("gwSmtpOutboundRequireTls", false));
  return security;
}

mb::Outbound outbound(const Fields& f) {
  mb::Outbound out;
  out.set_port(static_cast<std::uint32_t>(f.uint("msExchSmtpOutgoingPort", defaults::kOutgoingPort, 65535)));
  if (out.port() == 0) invalid(f.entry(), "msExchSmtpOutgoingPort", "\"0\" is not a TCP port");
  if (auto retries = f.single("msExchSmtpRemoteQueueRetries")) {
    *out.mutable_retry() = take(f.entry(), "msExchSmtpRemoteQueueRetries", parse_retry_minutes(*retries));
  } else {
    auto* retry = out.mutable_retry();
    retry->set_first_retry_seconds(defaults::minutes_to_seconds(defaults::kRetryMinutes[0]));
    retry->set_second_retry_seconds(defaults::minutes_to_seconds(defaults::kRetryMinutes[1]));
    retry->set_third_retry_seconds(defaults::minutes_to_seconds(defaults::kRetryMinutes[2]));
    retry->set_subsequent_retry_seconds(defaults::minutes_to_seconds(defaults::kRetryMinutes[3]));
  }
  const auto minutes = [&](std::string_view attribute, std::uint32_t fallback) {
    // Bounded so that the conversion to seconds cannot overflow 32 bits.
    const auto value = f.uint(attribute, fallback, 365u * 24 * 60);
    if (value == 0) invalid(f.entry(), attribute, "\"0\" minutes is not a usable timer");
    return defaults::minutes_to_seconds(static_cast<std::uint32_t>(value));
  };
  out.set_remote_delay_notification_seconds(
      minutes("msExchSmtpRemoteQueueDelayNotification", defaults::kDelayNotificationMinutes));
  out.set_remote_expiration_timeout_seconds(
      minutes("msExchSmtpRemoteQueueExpirationTimeout", defaults::kExpirationTimeoutMinutes));
  out.set_local_delay_notification_seconds(
      minutes("msExchSmtpLocalQueueDelayNotification", defaults::kDelayNotificationMinutes));
  out.set_local_expiration_timeout_seconds(
      minutes("msExchSmtpLocalQueueExpirationTimeout", defaults::kExpirationTimeoutMinutes));
  if (auto servers = f.single("msExchSmtpExternalDNSServers")) {
    std::string list = *servers;
    std::replace(list.begin(), list.end(), ';', ',');
    std::replace(list.begin(), list.end(), ' ', ',');
    std::size_t start = 0;
    while (start <= list.size()) {
      auto end = list.find(',', start);
      auto item = trim(std::string_view(list).substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (!item.empty()) {
        const bool ok = is_ip_literal(item) || parse_host_port(item).has_value();
        if (!ok) invalid(f.entry(), "msExchSmtpExternalDNSServers", "\"" + item + "\" is not an IP address");
        out.add_external_dns_servers(item);
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  if (auto hosts = f.single("msExchSmtpSmartHost"))
    add_all(out.mutable_smart_hosts(), take(f.entry(), "msExchSmtpSmartHost", parse_smart_hosts(*hosts)));
  const auto type = f.uint32("msExchSmtpSmartHostType", out.smart_hosts_size() > 0 ? 2 : 0);
  if (type > 2)
    invalid(f.entry(), "msExchSmtpSmartHostType", "\"" + std::to_string(type) + "\" is not 0, 1 or 2");
  out.set_smart_host_type(static_cast<mb::SmartHostType>(type));
  if (type != 0 && out.smart_hosts_size() == 0)
    invalid(f.entry(), "msExchSmtpSmartHost", "msExchSmtpSmartHostType asks for a smart host but none is set");
  out.set_max_connections(f.uint32("msExchSmtpMaxOutgoingConnections", defaults::kMaxOutgoingConnections));
  out.set_max_connections_per_domain(
      f.uint32("msExchSmtpMaxOutgoingConnectionsPerDomain", defaults::kMaxOutgoingConnectionsPerDomain));
  out.set_connection_timeout(
      f.uint32("msExchSmtpOutgoingConnectionTimeout", defaults::kOutgoingConnectionTimeoutSeconds));
  if (f.boolean("msExchSmtpMaxOutboundMsgPerDomainFlag", false))
    out.set_max_messages_per_connection(
        f.uint32("msExchSmtpMaxOutboundMsgPerDomain", defaults::kMaxOutboundMessagesPerConnection));
  *out.mutable_security() = outbound_security(f);
  return out;
}

mb::VirtualServer virtual_server(const DirectoryEntry& entry, const std::string& server_fqdn) {
  const Fields f(entry);
  mb::VirtualServer vs;
  vs.set_id(cn_of(entry));
  vs.set_dn(entry.dn);
  std::string name = f.text("displayName");
  if (name.empty()) name = f.text("adminDisplayName");
  if (name.empty()) name = vs.id();
  vs.set_name(name);

  for (const auto& value : entry.values("msExchServerBindings"))
    *vs.add_bindings() = take(entry, "msExchServerBindings", parse_server_binding(trim(value)));
  for (const auto& value : entry.values("msExchSecureBindings"))
    *vs.add_bindings() = take(entry, "msExchSecureBindings", parse_secure_binding(trim(value)));
  if (vs.bindings_size() == 0) {
    // KB 321757: a virtual server without bindings listens on ":25:".
    auto* binding = vs.add_bindings();
    binding->set_port(25);
  }
  vs.set_fqdn(gw::ascii_lower(f.text("msExchSmtpFullyQualifiedDomainName", server_fqdn)));
  if (!is_host_name(vs.fqdn()))
    invalid(entry, "msExchSmtpFullyQualifiedDomainName", "\"" + vs.fqdn() + "\" is not a DNS name");
  vs.set_state(server_state(f));

  auto* limits = vs.mutable_limits();
  limits->set_max_message_size(defaults::kb_to_bytes(
      f.uint("msExchSmtpMaxMessageSize", defaults::kMaxMessageSizeKb, UINT32_MAX)));
  limits->set_max_session_size(defaults::kb_to_bytes(
      f.uint("msExchSmtpMaxSessionSize", defaults::kMaxSessionSizeKb, UINT32_MAX)));
  limits->set_max_messages_per_connection(f.uint32("gwSmtpMaxMessagesPerConnection", 0));
  limits->set_max_recipients_per_message(
      f.uint32("msExchSmtpMaxRecipients", defaults::kMaxRecipientsPerMessage));
  limits->set_max_connections(f.uint32("msExchMaxIncomingConnections", defaults::kMaxIncomingConnections));
  limits->set_max_connections_per_ip(f.uint32("gwSmtpMaxConnectionsPerIp", 0));
  limits->set_connection_timeout(
      f.uint32("msExchIncomingConnectionTimeout", defaults::kIncomingConnectionTimeoutSeconds));
  limits->set_max_hop_count(f.uint32("msExchSmtpMaxHopCount", defaults::kMaxHopCount));
  // Misbehaving clients: written only when the directory sets them, so the
  // gateway's defaults (gateway/smtp/README.md, "Limits") apply otherwise.
  if (const auto v = f.optional_uint32("gwSmtpHardErrorLimit")) limits->set_hard_error_limit(*v);
  if (const auto v = f.optional_uint32("gwSmtpJunkCommandLimit")) limits->set_junk_command_limit(*v);
  if (const auto v = f.optional_uint32("gwSmtpMinDataRate")) limits->set_min_data_rate(*v);
  limits->set_greeting_delay_ms(f.uint32("gwSmtpGreetingDelay", 0));
  limits->set_allow_unsynchronized_clients(f.boolean("gwSmtpAllowUnsynchronizedClients", false));
  if (limits->max_recipients_per_message() == 0)
    invalid(entry, "msExchSmtpMaxRecipients", "\"0\" would refuse every message");
  if (limits->max_hop_count() == 0) invalid(entry, "msExchSmtpMaxHopCount", "\"0\" would refuse every message");

  auto* relay = vs.mutable_relay();
  // msExchSmtpRelayIpList is IIS's undocumented binary IPSECLIST; it is kept
  // opaque in the directory and the readable gwSmtpRelayIpList is authoritative
  // (directory-schema/README.md), so a misread blob can never grant relay.
  add_all(relay->mutable_relay_ip_list(), f.networks("gwSmtpRelayIpList"));
  relay->set_allow_authenticated_relay(f.boolean("msExchSmtpRelayForAuth", defaults::kRelayForAuthenticated));

  add_all(vs.mutable_connection_control()->mutable_allow(), f.networks("gwSmtpConnectionAllowList"));
  add_all(vs.mutable_connection_control()->mutable_deny(), f.networks("gwSmtpConnectionDenyList"));

  auto* auth = vs.mutable_authentication();
  const auto flags = f.uint32("msExchAuthenticationFlags", defaults::kAuthenticationFlags);
  auth->set_anonymous(flags & 0x1);
  auth->set_basic(flags & 0x2);
  auth->set_integrated(flags & 0x4);
  auth->set_require_tls(f.uint32("msExchAccessSSLFlags", 0) != 0);
  auth->set_allow_basic_without_tls(f.boolean("gwSmtpAllowPlaintextAuth", false));
  for (const auto& value : f.list("gwSaslMechanisms")) {
    // One mechanism per value, or a blank-separated list in one value.
    std::size_t start = 0;
    while (start < value.size()) {
      auto end = value.find_first_of(" ,", start);
      auto mechanism = value.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!mechanism.empty()) {
        std::transform(mechanism.begin(), mechanism.end(), mechanism.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        const bool valid = std::all_of(mechanism.begin(), mechanism.end(), [](unsigned char c) {
          return std::isupper(c) || std::isdigit(c) || c == '-' || c == '_';
        });
        if (!valid) invalid(entry, "gwSaslMechanisms", "\"" + mechanism + "\" is not a SASL mechanism name");
        auth->add_mechanisms(mechanism);
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  auth->set_require_sender_is_own_address(f.boolean("gwSmtpSenderMustBeOwnAddress", false));

  vs.mutable_tls()->set_certificate_file(f.text("gwTlsCertificateFile"));
  vs.mutable_tls()->set_key_file(f.text("gwTlsKeyFile"));
  if (vs.tls().certificate_file().empty() != vs.tls().key_file().empty())
    invalid(entry, vs.tls().key_file().empty() ? "gwTlsKeyFile" : "gwTlsCertificateFile",
            "a TLS certificate needs both gwTlsCertificateFile and gwTlsKeyFile");

  *vs.mutable_outbound() = outbound(f);

  auto* messages = vs.mutable_messages();
  messages->set_send_ndr_copy_to(f.text("msExchSmtpSendNDRTo"));
  messages->set_badmail_directory(f.text("msExchSmtpBadMailDirectory"));
  messages->set_forward_unresolved_to_host(f.text("gwSmtpForwardUnresolvedToHost"));
  messages->set_queue_directory(f.text("msExchSmtpQueueDirectory"));

  vs.set_apply_sender_filter(!entry.values("msExchServerBindingsTurflist").empty());
  vs.set_reject_spoofed_local_senders(f.boolean("gwSmtpRejectSpoofedLocalSenders", false));
  vs.set_enable_vrfy(f.boolean("msExchSmtpEnableVRFY", false));
  vs.set_enable_etrn(f.boolean("gwSmtpEnableEtrn", false));
  add_all(vs.mutable_etrn_hosts(), f.networks("gwSmtpEtrnHosts"));
  vs.set_protocol_logging(f.uint32("msExchLogType", 0) != 0);
  vs.set_protocol_log_directory(f.text("gwSmtpProtocolLogDirectory"));
  return vs;
}

mb::Schedule schedule(const Fields& f, std::string_view style_attribute, std::string_view windows_attribute) {
  mb::Schedule out;
  // activationStyle: 0 never, 1 selected times, 2 always;
  // 3 = remote triggered (queue for ETRN/TURN), the project's reading.
  const auto style = f.uint32(style_attribute, 2);
  switch (style) {
    case 0: out.set_style(mb::Schedule::NEVER); break;
    case 1: out.set_style(mb::Schedule::SELECTED_TIMES); break;
    case 2: out.set_style(mb::Schedule::ALWAYS); break;
    case 3: out.set_style(mb::Schedule::REMOTE_TRIGGERED); break;
    default:
      invalid(f.entry(), style_attribute,
              "\"" + std::to_string(style) + "\" is not 0 (never), 1 (selected times), 2 (always) or 3 (remote triggered)");
  }
  if (auto windows = f.single(windows_attribute)) {
    if (windows->size() != 84)
      invalid(f.entry(), windows_attribute,
              std::to_string(windows->size()) + "-byte schedule is not 84 bytes (672 quarter hours)");
    out.set_windows(*windows);
  }
  if (out.style() == mb::Schedule::SELECTED_TIMES && out.windows().empty())
    invalid(f.entry(), windows_attribute, "a schedule of selected times needs activationSchedule");
  return out;
}

struct ServerIndex {
  std::vector<const DirectoryEntry*> servers;

  const DirectoryEntry* server_for(std::string_view dn) const {
    // A bridgehead is a virtual server (CN=1,CN=SMTP,CN=Protocols,<server>) or the
    // server itself.
    for (std::size_t levels : {std::size_t{0}, std::size_t{3}}) {
      const auto candidate = levels == 0 ? std::string(dn) : ancestor_dn(dn, levels);
      if (candidate.empty()) continue;
      for (const auto* server : servers)
        if (same_dn(server->dn, candidate)) return server;
    }
    return nullptr;
  }
};

mb::Connector connector(const DirectoryEntry& entry, const DirectoryEntry& this_server,
                        const ServerIndex& index) {
  const Fields f(entry);
  mb::Connector c;
  c.set_name(cn_of(entry));
  c.set_dn(entry.dn);
  for (const auto& value : entry.values("routingList"))
    *c.add_address_spaces() = take(entry, "routingList", parse_address_space(trim(value)));
  if (c.address_spaces_size() == 0) invalid(entry, "routingList", "a connector needs at least one address space");

  if (auto scope = f.single("gwConnectorScope")) {
    const auto value = gw::ascii_lower(trim(*scope));
    if (value == "organization" || value == "0")
      c.set_scope(mb::ORGANIZATION);
    else if (value == "routing group" || value == "routinggroup" || value == "routing_group" || value == "1")
      c.set_scope(mb::ROUTING_GROUP);
    else
      invalid(entry, "gwConnectorScope", "\"" + *scope + "\" is not organization or routing group");
  }
  c.set_allow_relay(f.boolean("gwConnectorAllowRelay", false));
  if (auto hosts = f.single("msExchSmtpSmartHost"))
    add_all(c.mutable_smart_hosts(), take(entry, "msExchSmtpSmartHost", parse_smart_hosts(*hosts)));

  for (const auto& dn : f.list("msExchSourceBridgeheadServersDN")) {
    c.add_source_bridgehead_dns(dn);
    const auto* server = index.server_for(dn);
    if (!server)
      invalid(entry, "msExchSourceBridgeheadServersDN", "\"" + dn + "\" is not a virtual server of a known server");
    const auto name = cn_of(*server);
    if (std::find(c.source_bridgehead_servers().begin(), c.source_bridgehead_servers().end(), name) ==
        c.source_bridgehead_servers().end()) {
      c.add_source_bridgehead_servers(name);
      // The router forwards to a remote bridgehead by this name.
      c.add_source_bridgehead_fqdns(required_fqdn(*server));
    }
    if (same_dn(server->dn, this_server.dn)) c.set_local_bridgehead(true);
  }
  *c.mutable_security() = outbound_security(f);
  c.set_use_helo(f.boolean("gwConnectorUseHelo", false));
  add_all(c.mutable_etrn_domains(), f.list("msExchRoutingETRNDomains"));
  c.set_etrn_enabled(c.etrn_domains_size() > 0);
  add_all(c.mutable_authorized_trn_accounts(), f.list("msExchSmtpAuthorizedTRNAccounts"));
  c.set_trn_smart_host(f.text("msExchSmtpTRNSmartHost"));
  *c.mutable_schedule() = schedule(f, "activationStyle", "activationSchedule");
  c.set_queue_for_remote_triggered_delivery(c.schedule().style() == mb::Schedule::REMOTE_TRIGGERED);
  c.set_oversize_threshold(f.uint("gwConnectorOversizeThreshold", 0, UINT64_MAX / 2));  // bytes already
  if (c.oversize_threshold() > 0) {
    // Without its own schedule, oversize mail follows the connector's schedule.
    mb::Schedule oversize = c.schedule();
    if (auto windows = f.single("gwConnectorOversizeSchedule")) {
      if (windows->size() != 84)
        invalid(entry, "gwConnectorOversizeSchedule",
                std::to_string(windows->size()) + "-byte schedule is not 84 bytes (672 quarter hours)");
      oversize.set_style(mb::Schedule::SELECTED_TIMES);
      oversize.set_windows(*windows);
    }
    *c.mutable_oversize_schedule() = oversize;
  }

  auto* delivery = c.mutable_delivery_restrictions();
  add_all(delivery->mutable_accept_from_dns(), f.list("authOrig"));
  add_all(delivery->mutable_reject_from_dns(), f.list("unauthOrig"));
  add_all(delivery->mutable_accept_from_group_dns(), f.list("dLMemSubmitPerms"));
  add_all(delivery->mutable_reject_from_group_dns(), f.list("dLMemRejectPerms"));
  delivery->set_default_accept(delivery->accept_from_dns_size() == 0 &&
                               delivery->accept_from_group_dns_size() == 0);

  auto* content = c.mutable_content_restrictions();
  const auto priorities = f.list("gwConnectorAllowedPriorities");
  if (priorities.empty()) {
    content->set_allow_high_priority(true);
    content->set_allow_normal_priority(true);
    content->set_allow_low_priority(true);
  }
  for (const auto& value : priorities) {
    std::size_t start = 0;
    while (start < value.size()) {
      auto end = value.find_first_of(" ,;", start);
      const auto item = gw::ascii_lower(value.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (item == "high")
        content->set_allow_high_priority(true);
      else if (item == "normal")
        content->set_allow_normal_priority(true);
      else if (item == "low")
        content->set_allow_low_priority(true);
      else if (!item.empty())
        invalid(entry, "gwConnectorAllowedPriorities", "\"" + item + "\" is not high, normal or low");
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  content->set_allow_system_messages(f.boolean("gwConnectorAllowSystemMessages", true));
  content->set_allow_non_system_messages(true);
  content->set_max_message_size(defaults::kb_to_bytes(f.uint("delivContLength", 0, UINT32_MAX)));
  return c;
}

mb::Bridgehead bridgehead(const DirectoryEntry& connector_entry, std::string_view attribute,
                          const std::string& virtual_server_dn, const ServerIndex& index) {
  const auto* server = index.server_for(virtual_server_dn);
  if (!server)
    invalid(connector_entry, attribute, "\"" + virtual_server_dn + "\" is not a virtual server of a known server");
  mb::Bridgehead b;
  b.set_name(cn_of(*server));
  b.set_fqdn(required_fqdn(*server));
  b.set_virtual_server_dn(virtual_server_dn);
  return b;
}

// msExchRoutingGroupConnector in "CN=<name>,CN=Connections,<routing group>".
mb::RoutingGroupConnector routing_group_connector(const DirectoryEntry& entry, const ServerIndex& index) {
  const Fields f(entry);
  mb::RoutingGroupConnector c;
  c.set_name(cn_of(entry));
  c.set_dn(entry.dn);
  const auto connections = ancestor_dn(entry.dn, 1);
  if (rdn_values(connections).empty() || gw::ascii_lower(rdn_values(connections).front()) != "connections")
    invalid(entry, "distinguishedName", "a routing group connector lives in CN=Connections below its routing group");
  c.set_source_routing_group_dn(ancestor_dn(entry.dn, 2));
  c.set_target_routing_group_dn(f.text("msExchDestinationRGDN"));
  if (c.target_routing_group_dn().empty())
    invalid(entry, "msExchDestinationRGDN", "a routing group connector needs the routing group it leads to");
  if (same_dn(c.target_routing_group_dn(), c.source_routing_group_dn()))
    invalid(entry, "msExchDestinationRGDN", "leads back to the routing group that holds the connector");
  const auto cost = f.uint32("cost", 1);
  if (cost < 1 || cost > 100) invalid(entry, "cost", std::to_string(cost) + " is not a cost from 1 to 100");
  c.set_cost(cost);
  for (const auto& dn : f.list("msExchSourceBridgeheadServersDN"))
    *c.add_local_bridgeheads() = bridgehead(entry, "msExchSourceBridgeheadServersDN", dn, index);
  for (const auto& dn : f.list("msExchTargetBridgeheadServersDN"))
    *c.add_remote_bridgeheads() = bridgehead(entry, "msExchTargetBridgeheadServersDN", dn, index);
  if (c.remote_bridgeheads_size() == 0)
    invalid(entry, "msExchTargetBridgeheadServersDN", "a routing group connector needs at least one remote bridgehead");
  *c.mutable_schedule() = schedule(f, "activationStyle", "activationSchedule");
  return c;
}

// "SMTP:@example.com" / "smtp:@example.com" / "@example.com" / "example.com".
std::optional<std::string> smtp_domain(std::string_view value, bool* primary) {
  auto text = trim(value);
  const auto colon = text.find(':');
  if (colon != std::string::npos) {
    const auto type = text.substr(0, colon);
    if (gw::ascii_lower(type) != "smtp") return std::nullopt;
    if (primary) *primary = type == "SMTP";
    text = text.substr(colon + 1);
  } else if (primary) {
    *primary = false;
  }
  const auto at = text.rfind('@');
  if (at != std::string::npos) text = text.substr(at + 1);
  return gw::ascii_lower(trim(text));
}

void add_policy_domains(const DirectoryEntry& policy, std::vector<mb::SmtpDomain>& domains) {
  const Fields f(policy);
  const auto priority = f.int32("msExchPolicyOrder", INT32_MAX);
  std::set<std::string> non_authoritative;
  for (const auto& value : policy.values("msExchNonAuthoritativeDomains")) {
    auto domain = smtp_domain(value, nullptr);
    if (!domain || !is_host_name(*domain))
      invalid(policy, "msExchNonAuthoritativeDomains", "\"" + value + "\" is not SMTP:@domain");
    non_authoritative.insert(*domain);
  }
  std::set<std::string> seen;
  for (const auto& value : policy.values("gatewayProxy")) {
    bool primary = false;
    auto domain = smtp_domain(value, &primary);
    if (!domain) continue;  // X400:, X500: ... rules are not SMTP domains.
    if (domain->find('%') != std::string::npos) continue;  // address templates such as %g.%s@..
    if (!is_host_name(*domain)) invalid(policy, "gatewayProxy", "\"" + value + "\" is not SMTP:@domain");
    if (!seen.insert(*domain).second) continue;
    mb::SmtpDomain d;
    d.set_name(*domain);
    d.set_authoritative(!non_authoritative.contains(*domain));
    d.set_policy_priority(priority);
    d.set_primary(primary);
    d.set_policy_dn(policy.dn);
    d.set_policy_filter(f.text("purportedSearch"));
    domains.push_back(std::move(d));
  }
  for (const auto& domain : non_authoritative)
    if (!seen.contains(domain))
      invalid(policy, "msExchNonAuthoritativeDomains",
              "\"" + domain + "\" is not one of the policy's gatewayProxy SMTP domains");
}

mb::MailboxServer mailbox_server(const DirectoryEntry& server, const std::vector<std::string>& stores,
                                 bool is_this_server) {
  const Fields f(server);
  mb::MailboxServer m;
  m.set_name(cn_of(server));
  m.set_dn(server.dn);
  m.set_legacy_exchange_dn(f.text("legacyExchangeDN"));
  add_all(m.mutable_store_dns(), stores);
  m.set_is_this_server(is_this_server);
  m.set_routing_group_dn(f.text("msExchHomeRoutingGroup"));
  const auto protocol = gw::ascii_lower(f.text("gwDeliveryProtocol", "smtp"));
  if (protocol == "smtp")
    m.set_delivery_protocol(mb::DELIVERY_SMTP);
  else if (protocol == "lmtp")
    m.set_delivery_protocol(mb::DELIVERY_LMTP);
  else
    invalid(server, "gwDeliveryProtocol", "\"" + f.text("gwDeliveryProtocol") + "\" is not SMTP or LMTP");
  const auto default_port =
      m.delivery_protocol() == mb::DELIVERY_LMTP ? defaults::kLmtpDeliveryPort : defaults::kSmtpDeliveryPort;
  auto fqdn = fqdn_of(server);
  if (auto endpoint = f.single("gwDeliveryEndpoint")) {
    auto host_port = take(server, "gwDeliveryEndpoint", parse_host_port(trim(*endpoint)));
    m.set_delivery_host(host_port.host);
    m.set_delivery_port(host_port.port);
  } else {
    if (!fqdn) invalid(server, "networkAddress", "no ncacn_ip_tcp:<fqdn> value and no gwDeliveryEndpoint");
    m.set_delivery_host(*fqdn);
    m.set_delivery_port(default_port);
  }
  m.set_fqdn(fqdn.value_or(m.delivery_host()));
  return m;
}

mb::Metabase build(const ConfigSnapshot& snapshot) {
  mb::Metabase metabase;
  metabase.set_format_version(1);
  auto* provenance = metabase.mutable_provenance();
  provenance->set_source_uri(snapshot.source_uri);
  provenance->set_context_csn(snapshot.context_csn);
  provenance->set_sync_cookie(snapshot.sync_cookie);

  const auto& server = snapshot.this_server;
  const Fields server_fields(server);
  auto* this_server = metabase.mutable_this_server();
  this_server->set_name(cn_of(server));
  this_server->set_dn(server.dn);
  this_server->set_fqdn(required_fqdn(server));
  this_server->set_legacy_exchange_dn(server_fields.text("legacyExchangeDN"));
  this_server->set_routing_group_dn(server_fields.text("msExchHomeRoutingGroup"));

  auto* organization = metabase.mutable_organization();
  organization->set_name(cn_of(snapshot.organization));
  organization->set_dn(snapshot.organization.dn);
  organization->set_legacy_exchange_dn(Fields(snapshot.organization).text("legacyExchangeDN"));
  organization->set_administrative_group_dn(ancestor_dn(server.dn, 2));
  organization->set_routing_group_dn(this_server->routing_group_dn());

  // Virtual servers, by instance number.
  std::vector<mb::VirtualServer> virtual_servers;
  for (const auto& entry : snapshot.virtual_servers)
    virtual_servers.push_back(virtual_server(entry, this_server->fqdn()));
  if (virtual_servers.empty())
    invalid(server, "protocolCfgSMTPServer", "no SMTP virtual server below CN=SMTP,CN=Protocols");
  std::sort(virtual_servers.begin(), virtual_servers.end(), [](const auto& a, const auto& b) {
    if (a.id().size() != b.id().size()) return a.id().size() < b.id().size();
    return a.id() < b.id();
  });
  add_all(metabase.mutable_virtual_servers(), virtual_servers);

  ServerIndex index;
  for (const auto& entry : snapshot.servers) index.servers.push_back(&entry);
  if (!index.server_for(server.dn)) index.servers.push_back(&server);

  std::vector<mb::Connector> connectors;
  for (const auto& entry : snapshot.connectors) connectors.push_back(connector(entry, server, index));
  std::sort(connectors.begin(), connectors.end(),
            [](const auto& a, const auto& b) { return std::tie(a.name(), a.dn()) < std::tie(b.name(), b.dn()); });
  add_all(metabase.mutable_connectors(), connectors);

  std::vector<mb::RoutingGroupConnector> group_connectors;
  for (const auto& entry : snapshot.routing_group_connectors)
    group_connectors.push_back(routing_group_connector(entry, index));
  std::sort(group_connectors.begin(), group_connectors.end(),
            [](const auto& a, const auto& b) { return std::tie(a.name(), a.dn()) < std::tie(b.name(), b.dn()); });
  add_all(metabase.mutable_routing_group_connectors(), group_connectors);

  std::vector<mb::SmtpDomain> domains;
  for (const auto& policy : snapshot.recipient_policies) add_policy_domains(policy, domains);
  std::sort(domains.begin(), domains.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.policy_priority(), a.name(), a.policy_dn()) <
           std::make_tuple(b.policy_priority(), b.name(), b.policy_dn());
  });
  add_all(metabase.mutable_domains(), domains);

  auto* delivery = metabase.mutable_message_delivery();
  delivery->set_default_recipient_limit(defaults::kRecipientLimit);
  delivery->set_default_send_size(defaults::kb_to_bytes(defaults::kSendSizeKb));
  delivery->set_default_receive_size(defaults::kb_to_bytes(defaults::kReceiveSizeKb));
  if (snapshot.message_delivery) {
    const Fields f(*snapshot.message_delivery);
    add_all(delivery->mutable_sender_filter(), f.list("msExchTurfListNames"));
    delivery->set_default_recipient_limit(f.uint32("msExchRecipLimit", defaults::kRecipientLimit));
    delivery->set_default_send_size(
        defaults::kb_to_bytes(f.uint("submissionContLength", defaults::kSendSizeKb, UINT32_MAX)));
    delivery->set_default_receive_size(
        defaults::kb_to_bytes(f.uint("delivContLength", defaults::kReceiveSizeKb, UINT32_MAX)));
  }

  // Mailbox servers: every server that owns at least one mailbox store.
  std::vector<mb::MailboxServer> mailbox_servers;
  for (const auto* candidate : index.servers) {
    std::vector<std::string> stores;
    for (const auto& store : snapshot.mailbox_stores) {
      const auto owner = store.first("msExchOwningServer");
      // msExchOwningServer, else the store's layout position (below CN=<server>).
      const bool owned = owner ? same_dn(*owner, candidate->dn) : same_dn(ancestor_dn(store.dn, 3), candidate->dn);
      if (owned) stores.push_back(store.dn);
    }
    if (stores.empty()) continue;
    std::sort(stores.begin(), stores.end());
    mailbox_servers.push_back(mailbox_server(*candidate, stores, same_dn(candidate->dn, server.dn)));
  }
  std::sort(mailbox_servers.begin(), mailbox_servers.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  add_all(metabase.mutable_mailbox_servers(), mailbox_servers);

  auto* directory = metabase.mutable_directory();
  const auto uris = server_fields.list("gwDirectoryUri");
  if (uris.empty()) {
    // The URI list metabase-sync itself used ("ldap://dc1 ldap://dc2").
    std::string list = snapshot.source_uri;
    std::replace(list.begin(), list.end(), ',', ' ');
    std::size_t start = 0;
    while (start < list.size()) {
      const auto end = list.find(' ', start);
      const auto uri = list.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!uri.empty()) directory->add_uris(uri);
      if (end == std::string::npos) break;
      start = end + 1;
    }
  } else {
    add_all(directory->mutable_uris(), uris);
  }
  for (const auto& uri : directory->uris())
    if (!starts_with_icase(uri, "ldap://") && !starts_with_icase(uri, "ldaps://") &&
        !starts_with_icase(uri, "ldapi://"))
      invalid(server, "gwDirectoryUri", "\"" + uri + "\" is not an ldap://, ldaps:// or ldapi:// URI");
  directory->set_recipient_base_dn(server_fields.text("gwRecipientBaseDN", snapshot.default_nc));
  directory->set_config_base_dn(snapshot.config_nc);
  const auto bind_dn = server_fields.text("gwDirectoryBindDN");
  if (bind_dn.empty()) {
    directory->set_bind_dn(snapshot.bind_dn);
    directory->set_bind_password_file(snapshot.bind_password_file);
  } else {
    directory->set_bind_dn(bind_dn);
    auto password_file = server_fields.text("gwDirectoryBindPasswordFile");
    // The same identity metabase-sync uses: its password file is the one to use.
    if (password_file.empty() && same_dn(bind_dn, snapshot.bind_dn)) password_file = snapshot.bind_password_file;
    directory->set_bind_password_file(password_file);
  }
  directory->set_start_tls(server_fields.boolean("gwDirectoryStartTls", snapshot.start_tls));
  directory->set_search_timeout_ms(defaults::kSearchTimeoutMs);
  return metabase;
}

}  // namespace

gw::Result<gw::metabase::Metabase> build_metabase(const ConfigSnapshot& snapshot) {
  try {
    return build(snapshot);
  } catch (const InvalidValue& error) {
    return fail(SyncErrc::InvalidConfiguration, error.line);
  }
}

}  // namespace msync
