// read_snapshot(): reads this server's configuration from the directory into a
// ConfigSnapshot, with a handful of bounded searches on one LdapSession.
//
// Where things are found: the configuration NC comes from
// --config-nc, else the RootDSE's configurationNamingContext, else
// "CN=Configuration,<first namingContext>"; the organization is the one
// msExchOrganizationContainer below CN=Microsoft Exchange,CN=Services,<config NC>;
// this server is the msExchExchangeServer whose cn is --server (the value is
// escaped per RFC 4515); its virtual servers are the protocolCfgSMTPServer
// entries below it; servers, mailbox stores, SMTP and routing group connectors, recipient
// policies and Message Delivery are read from the whole organization.
// Errors: ConfigurationMissing (no configuration NC or organization),
// UnknownServer, and the LdapSession errors. Every search is paged (RFC 2696)
// and continuation references are skipped (LdapSession), so the same reads
// work on OpenLDAP and on Active Directory. Interpreting values is the
// builder's job, not this one's.
#pragma once

#include <string>
#include <vector>

#include "gateway/common/directory_kind.h"
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

// What the RootDSE says about the server: its kind (supportedCapabilities,
// gateway/common/directory_kind.h), whether it offers RFC 4533 Content
// Synchronization (supportedControl), and on AD the highest update sequence
// number the domain controller has committed (highestCommittedUSN, which grows
// with every write to any of its naming contexts).
struct ServerInfo {
  gw::DirectoryKind kind = gw::DirectoryKind::OpenLdap;
  bool content_sync = false;
  std::string highest_committed_usn;  // empty when the server publishes none
};
gw::Result<ServerInfo> read_server_info(LdapSession& session);

// The change marks of everything read_snapshot() reads, for following a
// directory that has no RFC 4533 (AD): "<dn>\t<uSNChanged>" of each
// organization, server, virtual server, mailbox store, SMTP connector,
// recipient policy and Message Delivery object below
// CN=Microsoft Exchange,CN=Services,<config NC>, sorted. AD stamps uSNChanged
// on every write to an object, so two equal results mean none of them was
// added, changed, renamed or deleted in between (on the same domain
// controller: USNs are per DC).
gw::Result<std::vector<std::string>> read_change_marks(LdapSession& session, const std::string& config_nc);

}  // namespace msync
