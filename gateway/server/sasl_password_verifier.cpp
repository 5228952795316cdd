#include "gateway/server/sasl_password_verifier.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "categorizer/ldap/ldap_directory_client.h"
#include "gateway/common/ascii.h"

namespace gw::server {
namespace {

namespace ldap = categorizer::ldap;

constexpr unsigned long kAccountDisable = 0x2;

bool disabled(const categorizer::Entry& entry) {
  auto value = entry.first("userAccountControl");
  if (!value) return false;
  // AD stores a signed 32-bit integer; read it as such and test the bit.
  long long flags = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), flags);
  if (ec != std::errc() || end != value->data() + value->size()) return true;  // unreadable: fail closed
  return (static_cast<unsigned long>(flags) & kAccountDisable) != 0;
}

std::vector<std::string> smtp_addresses(const categorizer::Entry& entry) {
  std::vector<std::string> out;
  for (const std::string& proxy : entry.values("proxyAddresses")) {
    if (proxy.size() > 5 && gw::ascii_lower(proxy.substr(0, 5)) == "smtp:") out.push_back(gw::ascii_lower(proxy.substr(5)));
  }
  if (auto mail = entry.first("mail")) {
    std::string address = gw::ascii_lower(*mail);
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(std::move(address));
  }
  return out;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

PasswordVerdict verdict(PasswordVerdict::Kind kind, std::string reason, std::string dn = {}) {
  PasswordVerdict result;
  result.kind = kind;
  result.reason = std::move(reason);
  result.dn = std::move(dn);
  return result;
}

}  // namespace

smtp::AuthFailure auth_failure_for(const PasswordVerdict& verdict) {
  switch (verdict.kind) {
    case PasswordVerdict::Kind::Unavailable: return smtp::AuthFailure::Temporary;
    // A disabled account gets the same answer as a wrong password: the reply
    // must not tell a guesser which accounts exist.
    case PasswordVerdict::Kind::Disabled:
    case PasswordVerdict::Kind::Rejected:
    case PasswordVerdict::Kind::Accepted: break;
  }
  return smtp::AuthFailure::InvalidCredentials;
}

DirectoryPasswordVerifier::DirectoryPasswordVerifier(categorizer::DirectoryClient& directory, BindCheck bind_check,
                                                     std::string base_dn)
    : directory_(directory), bind_check_(std::move(bind_check)), base_dn_(std::move(base_dn)) {}

DirectoryPasswordVerifier::DirectoryPasswordVerifier(categorizer::ldap::LdapDirectoryClient& client,
                                                     std::string base_dn)
    : DirectoryPasswordVerifier(
          client,
          [&client](std::string dn, std::string password) {
            return client.simple_bind_check(std::move(dn), std::move(password));
          },
          std::move(base_dn)) {}

ldap::Filter DirectoryPasswordVerifier::account_filter(std::string_view user) {
  using ldap::FilterBuilder;
  return FilterBuilder::all_of({
      FilterBuilder::equals("objectClass", "user"),
      FilterBuilder::any_of({
          FilterBuilder::equals("userPrincipalName", user),
          FilterBuilder::equals("mail", user),
          FilterBuilder::equals("proxyAddresses", "smtp:" + std::string(user)),
          FilterBuilder::equals("sAMAccountName", user),
      }),
  });
}

asio::awaitable<PasswordVerdict> DirectoryPasswordVerifier::verify(std::string user, std::string password) {
  if (user.empty()) {
    wipe(password);
    co_return verdict(PasswordVerdict::Kind::Rejected, "empty user name");
  }
  if (password.empty()) co_return verdict(PasswordVerdict::Kind::Rejected, "empty password");

  categorizer::SearchRequest request;
  request.base = base_dn_;
  request.filter = account_filter(user);
  request.attributes = {"userPrincipalName", "mail", "proxyAddresses", "userAccountControl"};
  request.max_entries = 2;
  auto found = co_await directory_.search(std::move(request));
  if (!found) {
    wipe(password);
    if (found.error().code == make_error_code(categorizer::DirectoryErrc::SizeLimit))
      co_return verdict(PasswordVerdict::Kind::Rejected, "user name matches more than one account");
    co_return verdict(PasswordVerdict::Kind::Unavailable, "directory search: " + found.error().message());
  }
  if (found->empty()) {
    wipe(password);
    co_return verdict(PasswordVerdict::Kind::Rejected, "no such account");
  }
  if (found->size() > 1) {
    wipe(password);
    co_return verdict(PasswordVerdict::Kind::Rejected, "user name matches more than one account");
  }
  const categorizer::Entry& entry = found->front();
  if (disabled(entry)) {
    wipe(password);
    co_return verdict(PasswordVerdict::Kind::Disabled, "account disabled", entry.dn);
  }

  auto bound = co_await bind_check_(entry.dn, password);
  wipe(password);
  if (!bound) co_return verdict(PasswordVerdict::Kind::Unavailable, "bind: " + bound.error().message(), entry.dn);
  if (!*bound) co_return verdict(PasswordVerdict::Kind::Rejected, "wrong password", entry.dn);

  PasswordVerdict accepted = verdict(PasswordVerdict::Kind::Accepted, "password verified", entry.dn);
  if (auto upn = entry.first("userPrincipalName"))
    accepted.identity = std::string(*upn);
  else if (auto mail = entry.first("mail"))
    accepted.identity = std::string(*mail);
  else
    accepted.identity = entry.dn;
  accepted.own_addresses = smtp_addresses(entry);
  co_return accepted;
}

asio::awaitable<PasswordVerdict> ExecutorBoundPasswordVerifier::verify(std::string user, std::string password) {
  PasswordVerifier& inner = inner_;
  auto on_owner = [&inner, user = std::move(user),
                   password = std::move(password)]() mutable -> asio::awaitable<PasswordVerdict> {
    PasswordVerdict verdict = co_await inner.verify(std::move(user), std::move(password));
    co_return verdict;
  };
  PasswordVerdict verdict = co_await asio::co_spawn(executor_, std::move(on_owner), asio::use_awaitable);
  co_return verdict;
}

}  // namespace gw::server
