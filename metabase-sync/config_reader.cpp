#include "metabase-sync/config_reader.h"

#include <algorithm>

#include "metabase-sync/errors.h"
#include "metabase-sync/ldap_text.h"

namespace msync {
namespace {

constexpr const char* kSyncControlOid = "1.3.6.1.4.1.4203.1.9.1.1";  // RFC 4533

// The classes read_snapshot() reads below the Exchange container (besides
// those it reads only below this server, which are among them).
constexpr const char* kConfigurationObjects =
    "(|(objectClass=msExchOrganizationContainer)(objectClass=msExchExchangeServer)"
    "(objectClass=protocolCfgSMTPServer)(objectClass=msExchPrivateMDB)(objectClass=msExchRoutingSMTPConnector)"
    "(objectClass=msExchRoutingGroupConnector)(objectClass=msExchRecipientPolicy)(objectClass=msExchMessageDeliveryConfig))";

gw::Result<DirectoryEntry> root_dse(LdapSession& session) {
  auto entries = session.search("", Scope::Base, "(objectClass=*)",
                                {"namingContexts", "configurationNamingContext", "defaultNamingContext",
                                 "supportedControl", std::string(gw::kRootDseCapabilitiesAttribute),
                                 "highestCommittedUSN"});
  if (!entries) return std::unexpected(entries.error());
  if (entries->empty()) return DirectoryEntry{};
  return std::move(entries->front());
}

std::string exchange_container(const std::string& config_nc) { return "CN=Microsoft Exchange,CN=Services," + config_nc; }

}  // namespace

gw::Result<ServerInfo> read_server_info(LdapSession& session) {
  auto dse = root_dse(session);
  if (!dse) return std::unexpected(dse.error());
  ServerInfo info;
  info.kind = gw::directory_kind_from_capabilities(dse->values(gw::kRootDseCapabilitiesAttribute));
  const auto& controls = dse->values("supportedControl");
  info.content_sync = std::find(controls.begin(), controls.end(), kSyncControlOid) != controls.end();
  info.highest_committed_usn = dse->first("highestCommittedUSN").value_or("");
  return info;
}

gw::Result<std::vector<std::string>> read_change_marks(LdapSession& session, const std::string& config_nc) {
  auto entries = session.search(exchange_container(config_nc), Scope::Subtree, kConfigurationObjects, {"uSNChanged"});
  if (!entries) return std::unexpected(entries.error());
  std::vector<std::string> marks;
  marks.reserve(entries->size());
  for (const auto& entry : *entries) marks.push_back(entry.dn + "\t" + entry.first("uSNChanged").value_or(""));
  std::sort(marks.begin(), marks.end());
  return marks;
}

gw::Result<ConfigSnapshot> read_snapshot(LdapSession& session, const ReadOptions& options) {
  ConfigSnapshot snapshot;
  snapshot.source_uri = session.options().uri;
  snapshot.bind_dn = session.options().bind_dn;
  snapshot.bind_password_file = options.bind_password_file;
  snapshot.start_tls = session.options().start_tls;

  auto dse = root_dse(session);
  if (!dse) return std::unexpected(dse.error());
  snapshot.default_nc = options.default_nc;
  if (snapshot.default_nc.empty()) snapshot.default_nc = dse->first("defaultNamingContext").value_or("");
  if (snapshot.default_nc.empty()) snapshot.default_nc = dse->first("namingContexts").value_or("");
  snapshot.config_nc = options.config_nc;
  if (snapshot.config_nc.empty()) snapshot.config_nc = dse->first("configurationNamingContext").value_or("");
  if (snapshot.config_nc.empty()) {
    if (snapshot.default_nc.empty())
      return fail(SyncErrc::ConfigurationMissing,
                  session.options().uri + ": the RootDSE names no naming context; use --config-nc");
    snapshot.config_nc = "CN=Configuration," + snapshot.default_nc;
  }

  auto config = session.read(snapshot.config_nc, {"1.1"});
  if (!config) return std::unexpected(config.error());
  if (!*config) return fail(SyncErrc::ConfigurationMissing, snapshot.config_nc + ": configuration container not found");

  // contextCSN is published on the database suffix by the syncprov overlay.
  if (!snapshot.default_nc.empty()) {
    auto suffix = session.read(snapshot.default_nc, {"contextCSN"});
    if (suffix && *suffix) {
      auto csns = (*suffix)->values("contextCSN");
      std::sort(csns.begin(), csns.end());
      for (const auto& csn : csns) snapshot.context_csn += (snapshot.context_csn.empty() ? "" : ";") + csn;
    }
  }

  const std::string exchange = exchange_container(snapshot.config_nc);
  auto organizations = session.search(exchange, Scope::Subtree, "(objectClass=msExchOrganizationContainer)");
  if (!organizations) return std::unexpected(organizations.error());
  if (organizations->empty())
    return fail(SyncErrc::ConfigurationMissing, exchange + ": no Exchange organization (msExchOrganizationContainer)");
  if (organizations->size() > 1)
    return fail(SyncErrc::InvalidConfiguration,
                exchange + ": several Exchange organizations (msExchOrganizationContainer); expected one");
  snapshot.organization = std::move(organizations->front());
  const auto& org_dn = snapshot.organization.dn;

  const auto server_filter = "(&(objectClass=msExchExchangeServer)" + equality_filter("cn", options.server_name) + ")";
  auto servers = session.search(org_dn, Scope::Subtree, server_filter);
  if (!servers) return std::unexpected(servers.error());
  if (servers->empty())
    return fail(SyncErrc::UnknownServer,
                org_dn + ": no Exchange server (msExchExchangeServer) named \"" + options.server_name + "\"");
  if (servers->size() > 1)
    return fail(SyncErrc::InvalidConfiguration,
                org_dn + ": several Exchange servers named \"" + options.server_name + "\"");
  snapshot.this_server = std::move(servers->front());

  auto virtual_servers =
      session.search(snapshot.this_server.dn, Scope::Subtree, "(objectClass=protocolCfgSMTPServer)");
  if (!virtual_servers) return std::unexpected(virtual_servers.error());
  snapshot.virtual_servers = std::move(*virtual_servers);

  auto objects = session.search(org_dn, Scope::Subtree,
                                "(|(objectClass=msExchExchangeServer)(objectClass=msExchPrivateMDB)"
                                "(objectClass=msExchRoutingSMTPConnector)(objectClass=msExchRoutingGroupConnector)"
                                "(objectClass=msExchRecipientPolicy)(objectClass=msExchMessageDeliveryConfig))");
  if (!objects) return std::unexpected(objects.error());
  for (auto& entry : *objects) {
    if (entry.has_object_class("msExchExchangeServer"))
      snapshot.servers.push_back(std::move(entry));
    else if (entry.has_object_class("msExchPrivateMDB"))
      snapshot.mailbox_stores.push_back(std::move(entry));
    else if (entry.has_object_class("msExchRoutingSMTPConnector"))
      snapshot.connectors.push_back(std::move(entry));
    else if (entry.has_object_class("msExchRoutingGroupConnector"))
      snapshot.routing_group_connectors.push_back(std::move(entry));
    else if (entry.has_object_class("msExchRecipientPolicy"))
      snapshot.recipient_policies.push_back(std::move(entry));
    else if (entry.has_object_class("msExchMessageDeliveryConfig")) {
      if (snapshot.message_delivery)
        return fail(SyncErrc::InvalidConfiguration,
                    entry.dn + ": a second Message Delivery object (msExchMessageDeliveryConfig); expected one");
      snapshot.message_delivery = std::move(entry);
    }
  }
  return snapshot;
}

}  // namespace msync
