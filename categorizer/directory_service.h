// DirectoryService: the one directory connection and categorizer of a gatewayd process, shared
// by the RCPT-time validator and the post-queue CategorizeStage.
//
// Contract: everything that talks to the directory runs on executor(), which must be
// single-threaded (LdapDirectoryClient's requirement); callers on other threads co_spawn onto it.
// configure() is called on that executor with each metabase (start-up and reload): it creates an
// LdapDirectoryClient from the metabase's DirectoryEndpoints, keeps the existing client when the
// endpoints are unchanged, replaces it when they change, and drops it when the metabase lists
// none. Every metabase gets a fresh Categorizer (domains, limits and bases may have changed).
// categorizer() is thread-safe and returns a handle that keeps its client and metabase alive, so
// operations in flight finish on the configuration they started with; nullptr = no directory.
// Not responsible for: SMTP replies (DirectoryRecipientValidator), queue moves (CategorizeStage).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "categorizer/categorizer.h"
#include "categorizer/ldap/ldap_directory_client.h"
#include "gateway/common/asio.h"
#include "proto/metabase.pb.h"

namespace gw::categorizer {

// Overrides for tests; zero = take the value from the metabase or the client default.
struct DirectoryServiceOptions {
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds backoff_max{0};
};

class DirectoryService {
 public:
  DirectoryService(asio::any_io_executor executor, DirectoryServiceOptions options = {});
  ~DirectoryService();
  DirectoryService(const DirectoryService&) = delete;
  DirectoryService& operator=(const DirectoryService&) = delete;

  // On executor(). Returns false (and keeps the previous state) when the endpoints cannot be
  // used, e.g. the bind password file is unreadable; the reason is logged.
  bool configure(std::shared_ptr<const metabase::Metabase> metabase);

  std::shared_ptr<Categorizer> categorizer() const;
  const asio::any_io_executor& executor() const noexcept { return executor_; }

  // On executor() only: the current LDAP client (nullptr = no directory) and the
  // base below which accounts live, for AUTH's password checks. The returned
  // client stays usable after a reload replaces it.
  std::shared_ptr<ldap::LdapDirectoryClient> client() const { return client_; }
  std::string recipient_base_dn() const;

 private:
  struct Generation;

  asio::any_io_executor executor_;
  DirectoryServiceOptions options_;
  std::shared_ptr<ldap::LdapDirectoryClient> client_;  // touched on executor_ only
  std::string client_endpoints_;                                     // serialized DirectoryEndpoints
  mutable std::mutex mutex_;
  std::shared_ptr<Generation> current_;
};

}  // namespace gw::categorizer
