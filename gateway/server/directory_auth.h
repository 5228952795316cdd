// DirectoryServicePasswordVerifier: the PasswordVerifier gatewayd hands its
// SaslAuthenticator. It checks each password against whatever directory the
// running metabase names at that moment, so AUTH follows reloads that change,
// add or remove directory endpoints without rebuilding the authenticator.
//
// Contract: verify() must run on the DirectoryService's executor (wrap it in an
// ExecutorBoundPasswordVerifier); it takes the service's current LDAP client and
// recipient base DN and delegates to DirectoryPasswordVerifier, keeping that
// client alive until the check ends. No directory configured: Unavailable (the
// session answers 454 4.7.0), never a rejection.
// Not responsible for: SASL, throttling, reply codes, whether AUTH is advertised
// (build_settings()).
#pragma once

#include <string>

#include "gateway/server/sasl_password_verifier.h"
#include "categorizer/directory_service.h"

namespace gw::server {

class DirectoryServicePasswordVerifier final : public PasswordVerifier {
 public:
  explicit DirectoryServicePasswordVerifier(const categorizer::DirectoryService& directory) : directory_(directory) {}
  asio::awaitable<PasswordVerdict> verify(std::string user, std::string password) override;

 private:
  const categorizer::DirectoryService& directory_;
};

}  // namespace gw::server
