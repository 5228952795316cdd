#include "gateway/smtp/policy.h"

#include "gateway/common/address.h"

namespace gw::smtp {
namespace {

bool listed(const std::vector<std::string>& domains, std::string_view domain) {
  for (const auto& entry : domains) {
    if (normalize_domain(entry) == domain) return true;
  }
  return false;
}

}  // namespace

DomainClass DomainTable::classify(std::string_view domain) const {
  const std::string wanted = normalize_domain(domain);
  if (wanted.empty()) return DomainClass::Remote;
  if (listed(authoritative, wanted)) return DomainClass::Authoritative;
  if (listed(non_authoritative, wanted)) return DomainClass::NonAuthoritative;
  // IP literals never match an address space pattern such as "*": relaying to a
  // literal is a relay decision, not a connector one.
  if (wanted.front() == '[') return DomainClass::Remote;
  for (const auto& pattern : relay_connector) {
    if (domain_in_form(wanted, normalize_domain(pattern))) return DomainClass::RelayConnector;
  }
  return DomainClass::Remote;
}

}  // namespace gw::smtp
