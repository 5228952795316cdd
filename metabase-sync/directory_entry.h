// DirectoryEntry and ConfigSnapshot: the raw directory objects metabase-sync read.
//
// A DirectoryEntry is one LDAP entry as plain values (attribute names compared
// case-insensitively, values kept as the server sent them, binary values intact).
// ConfigSnapshot groups the entries of one consistent read of the configuration
// container. Both are plain data: the LDAP reader fills them, the pure builder
// (metabase_builder.h) turns them into a Metabase, and tests construct them by hand.
// Nothing here interprets a value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace msync {

struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};

struct DirectoryEntry {
  std::string dn;
  std::map<std::string, std::vector<std::string>, CaseInsensitiveLess> attributes;

  // All values of an attribute; empty when absent.
  const std::vector<std::string>& values(std::string_view attribute) const;
  // The first value, or nullopt when absent.
  std::optional<std::string> first(std::string_view attribute) const;
  bool has(std::string_view attribute) const { return !values(attribute).empty(); }
  bool has_object_class(std::string_view object_class) const;

  // Test helper style builder: entry.add("cn", "BH1").add("cn", ...).
  DirectoryEntry& add(std::string_view attribute, std::string value);
};

struct ConfigSnapshot {
  std::string source_uri;       // LDAP URI that was read
  std::string config_nc;        // CN=Configuration,DC=example,DC=com
  std::string default_nc;       // the domain naming context (recipients)
  std::string bind_dn;          // the identity metabase-sync bound with
  std::string bind_password_file;  // where that identity's password came from (may be empty)
  bool start_tls = false;       // whether metabase-sync used StartTLS
  std::string context_csn;      // contextCSN of the database, when published
  std::string sync_cookie;      // RFC 4533 cookie, when following

  DirectoryEntry organization;                   // msExchOrganizationContainer
  DirectoryEntry this_server;                    // msExchExchangeServer, cn = --server
  std::vector<DirectoryEntry> virtual_servers;   // protocolCfgSMTPServer below this_server
  std::vector<DirectoryEntry> servers;           // every msExchExchangeServer of the organization
  std::vector<DirectoryEntry> mailbox_stores;    // every msExchPrivateMDB of the organization
  std::vector<DirectoryEntry> connectors;        // every msExchRoutingSMTPConnector
  std::vector<DirectoryEntry> routing_group_connectors;  // every msExchRoutingGroupConnector
  std::vector<DirectoryEntry> recipient_policies;  // every msExchRecipientPolicy
  std::optional<DirectoryEntry> message_delivery;  // CN=Message Delivery,CN=Global Settings
};

}  // namespace msync
