// LdapSession: one bound connection to the directory, synchronous libldap.
// `uri` may list several servers ("ldap://dc1 ldap://dc2"); libldap tries them
// in order.
//
// metabase-sync is a standalone tool, so it uses libldap's synchronous calls;
// every call is bounded: LDAP_OPT_NETWORK_TIMEOUT for the TCP connect,
// LDAP_OPT_TIMEOUT for each bind/search round trip and a server-side time
// limit on searches, so a hung directory (SIGSTOP) yields DirectoryUnavailable
// instead of a hang. Errors map to SyncErrc: connection problems and timeouts ->
// DirectoryUnavailable, refused credentials -> BindFailed, anything else ->
// DirectoryError; the detail names the URI or the searched DN. Values are read
// as octet strings, so binary attributes arrive intact. Not thread-safe; one
// owner. Passwords are never logged or put into error text.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "metabase-sync/directory_entry.h"

typedef struct ldap LDAP;

namespace msync {

struct ConnectOptions {
  std::string uri;
  std::string bind_dn;   // empty = anonymous
  std::string password;
  bool start_tls = false;  // RFC 4513 StartTLS before the bind (CA from ldap.conf / LDAPTLS_CACERT)
  std::chrono::milliseconds network_timeout{5000};
  std::chrono::milliseconds operation_timeout{10000};
};

enum class Scope { Base, OneLevel, Subtree };

class LdapSession {
 public:
  static gw::Result<LdapSession> connect(const ConnectOptions& options);

  LdapSession(LdapSession&&) noexcept;
  LdapSession& operator=(LdapSession&&) noexcept;
  ~LdapSession();

  // Zero entries is success. A base DN that does not exist is an empty result
  // when `missing_base_is_empty`, an error otherwise.
  gw::Result<std::vector<DirectoryEntry>> search(const std::string& base, Scope scope, const std::string& filter,
                                                 const std::vector<std::string>& attributes = {},
                                                 bool missing_base_is_empty = true);

  // One entry by DN; nullopt when it does not exist.
  gw::Result<std::optional<DirectoryEntry>> read(const std::string& dn,
                                                 const std::vector<std::string>& attributes = {});

  const ConnectOptions& options() const { return options_; }
  LDAP* handle() { return ld_; }

 private:
  LdapSession(LDAP* ld, ConnectOptions options) : ld_(ld), options_(std::move(options)) {}
  LDAP* ld_ = nullptr;
  ConnectOptions options_;
};

// Maps a libldap result code to SyncErrc and a detail line.
gw::Error ldap_error(int code, const std::string& context, const std::string& diagnostic = {});

}  // namespace msync
