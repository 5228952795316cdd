#include "gateway/server/directory_auth.h"

#include "categorizer/ldap/ldap_directory_client.h"

namespace gw::server {

asio::awaitable<PasswordVerdict> DirectoryServicePasswordVerifier::verify(std::string user, std::string password) {
  auto client = directory_.client();
  if (!client) {
    PasswordVerdict unavailable;
    unavailable.kind = PasswordVerdict::Kind::Unavailable;
    unavailable.reason = "no directory configured";
    co_return unavailable;
  }
  DirectoryPasswordVerifier verifier(*client, directory_.recipient_base_dn());
  PasswordVerdict verdict = co_await verifier.verify(std::move(user), std::move(password));
  co_return verdict;
}

}  // namespace gw::server
