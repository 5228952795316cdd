#include "categorizer/directory_service.h"

#include <exception>

#include "gateway/common/log.h"

namespace gw::categorizer {

// A categorizer together with what it references: its client and its metabase.
struct DirectoryService::Generation {
  std::shared_ptr<const metabase::Metabase> metabase;
  std::shared_ptr<ldap::LdapDirectoryClient> client;
  Categorizer categorizer;

  Generation(std::shared_ptr<const metabase::Metabase> mb,
             std::shared_ptr<ldap::LdapDirectoryClient> c)
      : metabase(std::move(mb)), client(std::move(c)), categorizer(*client, *metabase) {}
};

DirectoryService::DirectoryService(asio::any_io_executor executor, DirectoryServiceOptions options)
    : executor_(std::move(executor)), options_(options) {}

DirectoryService::~DirectoryService() = default;

bool DirectoryService::configure(std::shared_ptr<const metabase::Metabase> metabase) {
  const auto& endpoints = metabase->directory();
  if (endpoints.uris().empty()) {
    if (client_) log::info({"directory"}, "no directory endpoints in the metabase: recipients are not looked up");
    client_.reset();
    client_endpoints_.clear();
    std::lock_guard lock(mutex_);
    current_.reset();
    return true;
  }
  const std::string serialized = endpoints.SerializeAsString();
  if (!client_ || serialized != client_endpoints_) {
    ldap::LdapClientOptions client_options;
    try {
      client_options = ldap::LdapClientOptions::from_metabase(endpoints);
    } catch (const std::exception& error) {
      log::error({"directory"}, "directory endpoints unusable: {}", error.what());
      return false;
    }
    if (options_.connect_timeout.count() > 0) client_options.connect_timeout = options_.connect_timeout;
    if (options_.backoff_max.count() > 0) client_options.backoff_max = options_.backoff_max;
    std::string uris;
    for (const auto& uri : client_options.uris) uris += (uris.empty() ? "" : " ") + uri;
    log::info({"directory"}, "directory {} (bind {}, search timeout {} ms){}", uris,
              client_options.bind_dn.empty() ? std::string("anonymous") : client_options.bind_dn,
              client_options.search_timeout.count(), client_ ? " (endpoints changed)" : "");
    client_ = std::make_shared<ldap::LdapDirectoryClient>(executor_, std::move(client_options));
    client_endpoints_ = serialized;
  }
  auto generation = std::make_shared<Generation>(std::move(metabase), client_);
  std::lock_guard lock(mutex_);
  current_ = std::move(generation);
  return true;
}

std::shared_ptr<Categorizer> DirectoryService::categorizer() const {
  std::lock_guard lock(mutex_);
  if (!current_) return nullptr;
  return {current_, &current_->categorizer};
}

std::string DirectoryService::recipient_base_dn() const {
  std::lock_guard lock(mutex_);
  return current_ ? current_->metabase->directory().recipient_base_dn() : std::string();
}

}  // namespace gw::categorizer
