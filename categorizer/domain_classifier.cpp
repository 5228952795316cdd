#include "categorizer/domain_classifier.h"

#include <algorithm>

#include "categorizer/names.h"

namespace gw::categorizer {

bool DomainClassifier::Pattern::matches(std::string_view domain) const {
  if (text.rfind("*.", 0) == 0) {
    const std::string_view parent = std::string_view(text).substr(2);
    return domain.size() > parent.size() + 1 && domain.substr(domain.size() - parent.size()) == parent &&
           domain[domain.size() - parent.size() - 1] == '.';
  }
  return domain == text;
}

DomainClassifier::DomainClassifier(const metabase::Metabase& metabase) {
  auto add_fqdn = [this](const std::string& fqdn) {
    if (!fqdn.empty()) server_fqdns_.push_back(to_lower(fqdn));
  };
  add_fqdn(metabase.this_server().fqdn());
  for (const auto& server : metabase.mailbox_servers()) add_fqdn(server.fqdn());
  for (const auto& domain : metabase.domains()) {
    Pattern p{to_lower(domain.name())};
    if (p.text.empty()) continue;
    (domain.authoritative() ? authoritative_ : non_authoritative_).push_back(std::move(p));
  }
  for (const auto& connector : metabase.connectors()) {
    if (!connector.allow_relay()) continue;
    for (const auto& space : connector.address_spaces()) {
      if (space.type() != metabase::ADDRESS_SPACE_SMTP) continue;
      const std::string pattern = to_lower(space.pattern());
      if (pattern.empty() || pattern == "*") continue;
      relay_.push_back(Pattern{pattern});
    }
  }
}

DomainClass DomainClassifier::classify(std::string_view domain_text) const {
  const std::string domain = to_lower(domain_text);
  auto any = [&](const std::vector<Pattern>& patterns) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const Pattern& p) { return p.matches(domain); });
  };
  if (std::find(server_fqdns_.begin(), server_fqdns_.end(), domain) != server_fqdns_.end())
    return DomainClass::ServerFqdn;
  if (any(authoritative_)) return DomainClass::AuthoritativeLocal;
  if (any(non_authoritative_)) return DomainClass::NonAuthoritativeLocal;
  if (any(relay_)) return DomainClass::RelayDomain;
  return DomainClass::Remote;
}

}  // namespace gw::categorizer
