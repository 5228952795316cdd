// LdapDirectoryClient: the DirectoryClient that talks to a real LDAP server with libldap,
// driven by the caller's Asio executor.
//
// Contract:
// - Executor: every operation runs and completes on the executor given to the constructor, which
//   must be single-threaded (one io_context thread, or a strand). All concurrent searches are
//   multiplexed on one connection (message id -> waiter); one reader coroutine waits for socket
//   readiness on a non-owning asio::posix::stream_descriptor and drains ldap_result() with a zero
//   timeout, so no libldap call ever waits on the network.
// - Connect: ldap_initialize + LDAP_OPT_CONNECT_ASYNC + LDAP_OPT_NETWORK_TIMEOUT. The first
//   operation returns LDAP_X_CONNECTING; the client waits for the socket (LDAP_OPT_DESC) to become
//   writable and repeats the call. Then StartTLS if configured, then a simple bind as the service
//   identity. Endpoints are tried in failover order; when none answers, new requests fail fast
//   with Unavailable until an exponential back-off delay has passed.
// - Searches: paged (RFC 2696) so large result sets are never truncated by server limits, each
//   page with a deadline; an expired request is abandoned (ldap_abandon_ext) and reported as
//   Timeout. A lost connection is re-established and the search retried once. Repeated timeouts
//   drop the connection, so a hung server is failed over like a dead one. Base-scope searches
//   (one entry at most) go without the paging control. Search references (continuations, such as
//   AD's reference to CN=Configuration under the domain) and referrals are never chased.
// - Kind: right after the bind, the root DSE's supportedCapabilities say whether the server is
//   Active Directory (gateway/common/directory_kind.h); kind() answers from the connection. A
//   root DSE that cannot be read counts as an RFC directory (logged): callers must not lose data
//   when the kind is wrong, only speed.
// - TLS: ldaps:// endpoints and StartTLS (`start_tls`, for ldap:// endpoints) verify the server
//   certificate against `tls_ca_file` (or libldap's configured CAs) and the host name in the URI;
//   a failed verification is a failed connect (Unavailable), so the next endpoint is tried.
// - The one place libldap can still block: the TLS handshake of StartTLS/ldaps (ldap_install_tls
//   has no non-blocking form). It is bounded by LDAP_OPT_NETWORK_TIMEOUT (the connect timeout),
//   and the client resolves nothing itself: host names in the URIs are resolved by libldap's
//   getaddrinfo, so deployments should use addresses or names in /etc/hosts.
// - Lifetime: the client must outlive every operation started on it; close() or destruction
//   fails pending requests with Unavailable once the executor runs them.
// - Signals: libldap writes with write(2), so a server that has closed the connection raises
//   SIGPIPE; the process must ignore SIGPIPE, as every network daemon does.
// Not responsible for: interpreting entries, caching, choosing filters.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "categorizer/directory_client.h"
#include "gateway/common/asio.h"
#include "proto/metabase.pb.h"

namespace gw::categorizer::ldap {

struct LdapClientOptions {
  std::vector<std::string> uris;  // failover order: ldap://host:port, ldaps://...
  std::string bind_dn;            // empty = anonymous
  std::string bind_password;
  bool start_tls = false;
  // CA certificates (PEM) that may sign the directory's certificate, for ldaps:// and StartTLS.
  // Empty: libldap's defaults (TLS_CACERT in ldap.conf, or the LDAPTLS_CACERT environment
  // variable). The server certificate is always verified, name included (TLS_REQCERT demand):
  // a certificate that does not verify makes the endpoint Unavailable, never "user unknown".
  std::string tls_ca_file;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds search_timeout{5000};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{5000};
  int page_size = 500;
  std::size_t max_entries = 200000;  // cap per search when the request sets none
  int timeouts_before_reconnect = 2;

  // From the metabase; reads the bind password file (start-up only: throws std::runtime_error).
  static LdapClientOptions from_metabase(const metabase::DirectoryEndpoints& endpoints);
};

struct LdapClientStats {
  std::uint64_t requests = 0;     // search operations sent (one per page)
  std::uint64_t connects = 0;     // successful connect + bind
  std::uint64_t connect_failures = 0;
  std::uint64_t timeouts = 0;     // requests abandoned at their deadline
  std::uint64_t connections_lost = 0;
};

// The answer of LdapDirectoryClient::simple_bind_check().
struct BindCheck {
  bool accepted = false;
  std::string diagnostic;  // the server's message when it refused
};

class LdapDirectoryClient final : public DirectoryClient {
 public:
  LdapDirectoryClient(asio::any_io_executor executor, LdapClientOptions options);
  ~LdapDirectoryClient() override;
  LdapDirectoryClient(const LdapDirectoryClient&) = delete;
  LdapDirectoryClient& operator=(const LdapDirectoryClient&) = delete;

  asio::awaitable<Result<std::vector<Entry>>> search(SearchRequest request) override;
  asio::awaitable<Result<std::optional<Entry>>> read(std::string dn, std::vector<std::string> attributes) override;
  asio::awaitable<Result<DirectoryKind>> kind() override;

  // Verifies a password with a simple bind on a separate, short-lived connection to the first
  // endpoint that answers. accepted = valid; not accepted = invalid credentials (an empty
  // password is never accepted: RFC 4513 5.1.2 unauthenticated binds would otherwise "succeed"),
  // with the server's diagnostic message, where AD names the reason (gateway/common/
  // ad_bind_error.h). Errors: Unavailable, Timeout. Never logs the password.
  asio::awaitable<Result<BindCheck>> simple_bind_check(std::string dn, std::string password);

  // Drops the connection; pending requests fail with Unavailable.
  void close();

  const LdapClientStats& stats() const noexcept { return stats_; }
  // URI of the current connection, empty when disconnected.
  std::string connected_uri() const;

  struct Connection;  // detail; public so the implementation's helpers can name it

 private:
  struct PageResult;
  asio::awaitable<Result<std::shared_ptr<Connection>>> connection();
  asio::awaitable<Result<std::shared_ptr<Connection>>> open(const std::string& uri,
                                                            const std::string& dn,
                                                            const std::string& password,
                                                            bool start_reader, int* bind_rc,
                                                            std::string* bind_diagnostic = nullptr);
  asio::awaitable<PageResult> search_page(std::shared_ptr<Connection> conn, const SearchRequest& request,
                                          const std::string& cookie, std::vector<Entry>& out,
                                          std::size_t cap);
  asio::awaitable<Result<std::vector<Entry>>> run(const SearchRequest& request, bool* no_such_object);
  asio::awaitable<DirectoryKind> read_kind(std::shared_ptr<Connection> conn);
  void drop(const std::shared_ptr<Connection>& conn);

  asio::any_io_executor executor_;
  LdapClientOptions options_;
  LdapClientStats stats_;
  std::shared_ptr<Connection> current_;
  bool connecting_ = false;
  std::vector<std::shared_ptr<asio::steady_timer>> connect_waiters_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  int consecutive_timeouts_ = 0;
};

}  // namespace gw::categorizer::ldap
