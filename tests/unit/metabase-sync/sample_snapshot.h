// A hand-built ConfigSnapshot shaped like the sample organization
// (directory-schema/sample): bridgehead BH1 with two virtual servers, mailbox
// server MBX1, three connectors, two recipient policies. Tests change one
// thing each and look at the effect.
#pragma once

#include "metabase-sync/directory_entry.h"

namespace msync::test {

inline const std::string kOrg =
    "CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com";
inline const std::string kAg = "CN=First Administrative Group,CN=Administrative Groups," + kOrg;
inline const std::string kRg = "CN=First Routing Group,CN=Routing Groups," + kAg;
inline const std::string kBh1 = "CN=BH1,CN=Servers," + kAg;
inline const std::string kMbx1 = "CN=MBX1,CN=Servers," + kAg;
inline const std::string kVs1 = "CN=1,CN=SMTP,CN=Protocols," + kBh1;
inline const std::string kVs2 = "CN=2,CN=SMTP,CN=Protocols," + kBh1;
inline const std::string kDefaultPolicy = "CN=Default Policy,CN=Recipient Policies," + kOrg;
inline const std::string kNetPolicy = "CN=Example Net,CN=Recipient Policies," + kOrg;

inline DirectoryEntry entry(std::string dn, std::string object_class) {
  DirectoryEntry e;
  e.dn = std::move(dn);
  e.add("objectClass", "top").add("objectClass", std::move(object_class));
  return e;
}

inline DirectoryEntry* find(std::vector<DirectoryEntry>& entries, const std::string& dn) {
  for (auto& e : entries)
    if (e.dn == dn) return &e;
  return nullptr;
}

inline ConfigSnapshot sample_snapshot() {
  ConfigSnapshot s;
  s.source_uri = "ldap://127.0.0.1:3890";
  s.config_nc = "CN=Configuration,DC=example,DC=com";
  s.default_nc = "DC=example,DC=com";
  s.bind_dn = "CN=svc-gateway,CN=Users,DC=example,DC=com";
  s.bind_password_file = "/etc/gateway/ldap.secret";
  s.organization = entry(kOrg, "msExchOrganizationContainer");
  s.organization.add("cn", "Example").add("legacyExchangeDN", "/o=Example");

  auto bh1 = entry(kBh1, "msExchExchangeServer");
  bh1.add("cn", "BH1")
      .add("networkAddress", "ncacn_ip_tcp:bh1.example.com")
      .add("networkAddress", "netbios:BH1")
      .add("legacyExchangeDN", "/o=Example/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=BH1")
      .add("msExchHomeRoutingGroup", kRg);
  auto mbx1 = entry(kMbx1, "msExchExchangeServer");
  mbx1.add("cn", "MBX1")
      .add("networkAddress", "ncacn_ip_tcp:mbx1.example.com")
      .add("legacyExchangeDN", "/o=Example/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=MBX1")
      .add("gwDeliveryProtocol", "LMTP")
      .add("gwDeliveryEndpoint", "127.0.0.1:2424");
  s.this_server = bh1;
  s.servers = {bh1, mbx1};

  auto store = entry("CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore," + kMbx1, "msExchPrivateMDB");
  store.add("msExchOwningServer", kMbx1);
  s.mailbox_stores = {store};

  auto vs1 = entry(kVs1, "protocolCfgSMTPServer");
  vs1.add("cn", "1")
      .add("adminDisplayName", "Default SMTP Virtual Server")
      .add("msExchServerBindings", "127.0.0.1:2525:")
      .add("msExchSmtpMaxMessageSize", "10240")
      .add("msExchSmtpMaxSessionSize", "20480")
      .add("gwSmtpRelayIpList", "127.0.0.1");
  auto vs2 = entry(kVs2, "protocolCfgSMTPServer");
  vs2.add("cn", "2")
      .add("adminDisplayName", "Client Submission")
      .add("msExchServerBindings", "127.0.0.1:2587:")
      .add("msExchAuthenticationFlags", "2")
      .add("msExchAccessSSLFlags", "1")
      .add("gwSmtpSenderMustBeOwnAddress", "TRUE");
  s.virtual_servers = {vs1, vs2};

  const std::string connections = "CN=Connections," + kRg;
  auto internet = entry("CN=Internet," + connections, "msExchRoutingSMTPConnector");
  internet.add("cn", "Internet").add("routingList", "SMTP:*;10").add("msExchSourceBridgeheadServersDN", kVs1);
  auto military = entry("CN=Military," + connections, "msExchRoutingSMTPConnector");
  military.add("cn", "Military")
      .add("routingList", "SMTP:*.mil;1")
      .add("msExchSmtpSmartHost", "smarthost.example.net")
      .add("gwSmtpOutboundRequireTls", "TRUE")
      .add("msExchSourceBridgeheadServersDN", kVs1);
  auto shared = entry("CN=Shared Namespace," + connections, "msExchRoutingSMTPConnector");
  shared.add("cn", "Shared Namespace")
      .add("routingList", "SMTP:shared.example.org;1")
      .add("msExchSmtpSmartHost", "[192.0.2.25]")
      .add("gwConnectorAllowRelay", "TRUE")
      .add("msExchSourceBridgeheadServersDN", kVs1);
  s.connectors = {internet, military, shared};

  auto default_policy = entry(kDefaultPolicy, "msExchRecipientPolicy");
  default_policy.add("cn", "Default Policy")
      .add("msExchPolicyOrder", "2147483647")
      .add("gatewayProxy", "SMTP:@example.com")
      .add("gatewayProxy", "smtp:@shared.example.org")
      .add("gatewayProxy", "X400:c=US;a= ;p=Example;o=Exchange;")
      .add("msExchNonAuthoritativeDomains", "SMTP:@shared.example.org")
      .add("purportedSearch", "(mailNickname=*)");
  auto net_policy = entry(kNetPolicy, "msExchRecipientPolicy");
  net_policy.add("cn", "Example Net")
      .add("msExchPolicyOrder", "1")
      .add("gatewayProxy", "SMTP:@example.net")
      .add("gatewayProxy", "smtp:@example.com")
      .add("purportedSearch", "(department=Sales)");
  s.recipient_policies = {default_policy, net_policy};

  auto delivery = entry("CN=Message Delivery,CN=Global Settings," + kOrg, "msExchMessageDeliveryConfig");
  delivery.add("msExchRecipLimit", "1000").add("submissionContLength", "10240");
  s.message_delivery = delivery;
  return s;
}

}  // namespace msync::test
