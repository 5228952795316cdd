#include "gateway/server/sasl_password_verifier.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>

#include "categorizer/ldap/ldap_directory_client.h"
#include "categorizer/names.h"
#include "gateway/common/ad_bind_error.h"
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

// "DOMAIN\user", the down-level logon name of Windows: the NetBIOS domain
// name and the sAMAccountName. nullopt for any other form.
struct DownLevelName {
  std::string_view domain;
  std::string_view account;
};
std::optional<DownLevelName> down_level_name(std::string_view user) {
  const auto backslash = user.find('\\');
  if (backslash == std::string_view::npos || backslash == 0 || backslash + 1 == user.size() ||
      user.find('\\', backslash + 1) != std::string_view::npos)
    return std::nullopt;
  return DownLevelName{user.substr(0, backslash), user.substr(backslash + 1)};
}

// Why the directory refused a bind, for the log: AD's reason in words when it
// gave one.
std::string refusal(const std::string& diagnostic) {
  auto failure = ad_bind_failure(diagnostic);
  if (!failure) return "wrong password";
  char code[16];
  std::snprintf(code, sizeof code, "%x", failure->code);
  return std::string(describe(failure->error)) + " (AD data " + code + ")";
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
  ldap::Filter names = FilterBuilder::any_of({
      FilterBuilder::equals("userPrincipalName", user),
      FilterBuilder::equals("mail", user),
      FilterBuilder::equals("proxyAddresses", "smtp:" + std::string(user)),
      FilterBuilder::equals("sAMAccountName", user),
  });
  if (auto down_level = down_level_name(user)) names = FilterBuilder::equals("sAMAccountName", down_level->account);
  return FilterBuilder::all_of({FilterBuilder::equals("objectClass", "user"), std::move(names)});
}

asio::awaitable<Result<bool>> DirectoryPasswordVerifier::is_this_domain(std::string domain) {
  using ldap::FilterBuilder;
  categorizer::SearchRequest root;
  root.base = "";
  root.scope = categorizer::SearchScope::Base;
  root.attributes = {"configurationNamingContext"};
  auto dse = co_await directory_.search(std::move(root));
  if (!dse) co_return std::unexpected(dse.error());
  const auto config = dse->empty() ? std::nullopt : dse->front().first("configurationNamingContext");
  if (!config) co_return false;  // no AD naming contexts: no NetBIOS domains either
  categorizer::SearchRequest partitions;
  partitions.base = "CN=Partitions," + std::string(*config);
  partitions.scope = categorizer::SearchScope::OneLevel;
  partitions.filter = FilterBuilder::all_of(
      {FilterBuilder::equals("objectClass", "crossRef"), FilterBuilder::equals("nETBIOSName", domain)});
  partitions.attributes = {"nCName"};
  auto refs = co_await directory_.search(std::move(partitions));
  if (!refs) co_return std::unexpected(refs.error());
  const std::string base = categorizer::normalize_dn(base_dn_);
  for (const auto& ref : *refs) {
    if (auto nc = ref.first("nCName"); nc && categorizer::normalize_dn(*nc) == base) co_return true;
  }
  co_return false;
}

asio::awaitable<PasswordVerdict> DirectoryPasswordVerifier::verify(std::string user, std::string password) {
  if (user.empty()) {
    wipe(password);
    co_return verdict(PasswordVerdict::Kind::Rejected, "empty user name");
  }
  if (password.empty()) co_return verdict(PasswordVerdict::Kind::Rejected, "empty password");
  if (auto down_level = down_level_name(user)) {
    auto ours = co_await is_this_domain(std::string(down_level->domain));
    if (!ours) {
      wipe(password);
      co_return verdict(PasswordVerdict::Kind::Unavailable, "directory search: " + ours.error().message());
    }
    if (!*ours) {
      wipe(password);
      co_return verdict(PasswordVerdict::Kind::Rejected, "domain " + std::string(down_level->domain) +
                                                             " is not the directory's domain");
    }
  }

  categorizer::SearchRequest request;
  request.base = base_dn_;
  request.filter = account_filter(user);
  request.attributes = {"objectClass", "userPrincipalName", "mail", "proxyAddresses", "userAccountControl"};
  request.max_entries = 2;
  auto found = co_await directory_.search(std::move(request));
  // AD's computer class derives from user: machine accounts never send mail.
  // (Not "(!(objectClass=computer))" in the filter: slapd's schema has no such
  // class, and the negation of an undefined assertion matches nothing there.)
  if (found) std::erase_if(*found, [](const categorizer::Entry& entry) { return entry.is_a("computer"); });
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
  if (!bound->accepted) {
    auto failure = ad_bind_failure(bound->diagnostic);
    const bool locked_out = failure && account_cannot_log_on(failure->error);
    co_return verdict(locked_out ? PasswordVerdict::Kind::Disabled : PasswordVerdict::Kind::Rejected,
                      refusal(bound->diagnostic), entry.dn);
  }

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
