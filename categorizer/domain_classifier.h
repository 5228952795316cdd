// DomainClassifier: which class of domain a recipient address belongs to, from the metabase.
//
// Classes (in order of precedence): a domain equal to a server FQDN of the organization
// (mail to it is NDR'd 5.4.8, as Exchange does, because it would loop); an authoritative local
// domain (recipient policy; unknown recipients are rejected 5.1.1); a non-authoritative local
// domain (unknown recipients are routed onward); a connector relay domain (an SMTP connector with
// "allow relay" and that address space); everything else is remote. Policy domains and address
// spaces may be written "*.example.com" to cover sub-domains; the catch-all address space "*"
// never makes a relay domain (that would be an open relay). Pure; no directory access.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proto/metabase.pb.h"

namespace gw::categorizer {

enum class DomainClass { ServerFqdn, AuthoritativeLocal, NonAuthoritativeLocal, RelayDomain, Remote };

class DomainClassifier {
 public:
  DomainClassifier() = default;
  explicit DomainClassifier(const metabase::Metabase& metabase);

  DomainClass classify(std::string_view domain) const;
  bool is_local(std::string_view domain) const {
    const auto c = classify(domain);
    return c == DomainClass::AuthoritativeLocal || c == DomainClass::NonAuthoritativeLocal;
  }

 private:
  struct Pattern {
    std::string text;  // lower case; "*.x" matches sub-domains of x
    bool matches(std::string_view domain) const;
  };
  std::vector<std::string> server_fqdns_;
  std::vector<Pattern> authoritative_;
  std::vector<Pattern> non_authoritative_;
  std::vector<Pattern> relay_;
};

}  // namespace gw::categorizer
