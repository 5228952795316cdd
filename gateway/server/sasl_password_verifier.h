// PasswordVerifier: decides whether a (user, password) pair that a SASL
// mechanism decoded belongs to an enabled directory account. The interface
// keeps the connection driver testable; DirectoryPasswordVerifier is the real
// one.
//
// DirectoryPasswordVerifier contract:
//  - Finds the account below `base_dn` among user objects that are not
//    computers (on AD a computer is a user too; dropped from the result) by
//    userPrincipalName, mail,
//    proxyAddresses (smtp:<user>, matched case-insensitively by the
//    directory) or sAMAccountName, with a filter built by FilterBuilder (the
//    user name is never pasted into a filter). A down-level logon name
//    "DOMAIN\user" is looked up by sAMAccountName, and only when DOMAIN is the
//    NetBIOS name of the domain `base_dn` is (its crossRef in
//    CN=Partitions of the configuration naming context): otherwise Rejected.
//  - No entry or more than one entry: Rejected (an ambiguous name must not
//    authenticate as whichever entry the server returns first).
//  - userAccountControl with ACCOUNTDISABLE (0x2): Disabled, without a bind.
//  - Otherwise an LDAP simple bind as the entry's DN with the password, on a
//    separate connection (LdapDirectoryClient::simple_bind_check): Accepted or
//    Rejected. When AD names why it refused (the "data" code of its
//    diagnostic, gateway/common/ad_bind_error.h) the reason says it in words;
//    an account that may not log on whatever the password (disabled, locked
//    out, expired) is Disabled.
//  - Directory errors (unreachable, timeout, refused search) at any step:
//    Unavailable, which the session answers 454 4.7.0 -- never a false 535.
//  - An empty password is Rejected without asking the directory (RFC 4513
//    5.1.2: an empty simple bind is an unauthenticated bind that "succeeds").
//  - Accepted carries the identity for the envelope and logs (the
//    userPrincipalName, else the mail attribute, else the DN) and the account's
//    SMTP addresses (for "sender must be one of the user's own addresses").
//  - The password is never logged or kept.
// Not responsible for: throttling, SASL, reply codes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "categorizer/directory_client.h"
#include "categorizer/ldap/ldap_directory_client.h"
#include "gateway/common/asio.h"
#include "gateway/common/result.h"
#include "gateway/smtp/session.h"

namespace gw::server {

struct PasswordVerdict {
  enum class Kind { Accepted, Rejected, Disabled, Unavailable };
  Kind kind = Kind::Rejected;
  std::string identity;                   // Accepted: canonical account name
  std::string dn;                         // the account's DN when one was found
  std::vector<std::string> own_addresses; // Accepted: lower-case SMTP addresses
  std::string reason;                     // for the log, no secrets
};

// How the session reports a verdict that is not Accepted.
smtp::AuthFailure auth_failure_for(const PasswordVerdict& verdict);

class PasswordVerifier {
 public:
  virtual ~PasswordVerifier() = default;
  virtual asio::awaitable<PasswordVerdict> verify(std::string user, std::string password) = 0;
};

class DirectoryPasswordVerifier final : public PasswordVerifier {
 public:
  // Verifies a password for a DN: accepted, refused (with the server's diagnostic), or an
  // error = directory trouble.
  using BindCheck =
      std::function<asio::awaitable<Result<categorizer::ldap::BindCheck>>(std::string dn, std::string password)>;

  DirectoryPasswordVerifier(categorizer::DirectoryClient& directory, BindCheck bind_check, std::string base_dn);
  // The usual wiring: searches and binds through one LDAP client.
  DirectoryPasswordVerifier(categorizer::ldap::LdapDirectoryClient& client, std::string base_dn);

  asio::awaitable<PasswordVerdict> verify(std::string user, std::string password) override;

  // The search filter for `user` (exposed for tests).
  static categorizer::ldap::Filter account_filter(std::string_view user);

 private:
  // Whether `domain` is the NetBIOS name of the domain base_dn_ names.
  asio::awaitable<Result<bool>> is_this_domain(std::string domain);

  categorizer::DirectoryClient& directory_;
  BindCheck bind_check_;
  std::string base_dn_;
};

// Runs another verifier on the executor it belongs to (the LDAP client is
// single-threaded and lives on gatewayd's control loop) and resumes the caller
// on the caller's own executor.
class ExecutorBoundPasswordVerifier final : public PasswordVerifier {
 public:
  ExecutorBoundPasswordVerifier(asio::any_io_executor executor, PasswordVerifier& inner)
      : executor_(std::move(executor)), inner_(inner) {}

  asio::awaitable<PasswordVerdict> verify(std::string user, std::string password) override;

 private:
  asio::any_io_executor executor_;
  PasswordVerifier& inner_;
};

}  // namespace gw::server
