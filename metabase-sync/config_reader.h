// read_snapshot(): reads this server's configuration from the directory into a
// ConfigSnapshot, with a handful of bounded searches on one LdapSession.
//
// Where things are found (SCHEMA.md section 7): the configuration NC comes from
// --config-nc, else the RootDSE's configurationNamingContext, else
// "CN=Configuration,<first namingContext>"; the organization is the one
// msExchOrganizationContainer below CN=Microsoft Exchange,CN=Services,<config NC>;
// this server is the msExchExchangeServer whose cn is --server (the value is
// escaped per RFC 4515); its virtual servers are the protocolCfgSMTPServer
// entries below it; servers, mailbox stores, SMTP connectors, recipient
// policies and Message Delivery are read from the whole organization.
// Errors: ConfigurationMissing (no configuration NC or organization),
// UnknownServer, and the LdapSession errors. Interpreting values is the
// builder's job, not this one's.
#pragma once

#include <string>

#include "gateway/common/result.h"
#include "metabase-sync/directory_entry.h"
#include "metabase-sync/ldap_session.h"

namespace msync {

struct ReadOptions {
  std::string server_name;         // cn of this server's msExchExchangeServer
  std::string config_nc;           // empty = discover
  std::string default_nc;          // empty = discover (recipient base)
  std::string bind_password_file;  // recorded as the categorizer's default
};

gw::Result<ConfigSnapshot> read_snapshot(LdapSession& session, const ReadOptions& options);

// True when the RootDSE lists the RFC 4533 Content Synchronization control.
gw::Result<bool> supports_content_sync(LdapSession& session);

}  // namespace msync
