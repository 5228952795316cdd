#include "metabase-sync/ldap_text.h"
#include "gateway/common/ascii.h"

#include <algorithm>
#include <cctype>

#include <ldap.h>

namespace msync {
namespace {

struct ParsedDn {
  LDAPDN dn = nullptr;
  ParsedDn(std::string_view text) {
    std::string copy(text);
    if (ldap_str2dn(copy.c_str(), &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) dn = nullptr;
  }
  ~ParsedDn() {
    if (dn) ldap_dnfree(dn);
  }
  ParsedDn(const ParsedDn&) = delete;
  ParsedDn& operator=(const ParsedDn&) = delete;
};

}  // namespace

std::string escape_filter_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '*':
      case '(':
      case ')':
      case '\\':
      case '\0': {
        const auto u = static_cast<unsigned char>(c);
        out.push_back('\\');
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0x0f]);
        break;
      }
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string equality_filter(std::string_view attribute, std::string_view value) {
  std::string out = "(";
  out.append(attribute);
  out.push_back('=');
  out.append(escape_filter_value(value));
  out.push_back(')');
  return out;
}

std::string normalize_dn(std::string_view dn) {
  std::string copy(dn);
  char* normalized = nullptr;
  if (ldap_dn_normalize(copy.c_str(), LDAP_DN_FORMAT_LDAP, &normalized, LDAP_DN_FORMAT_LDAPV3) !=
          LDAP_SUCCESS ||
      normalized == nullptr) {
    return gw::ascii_lower(dn);
  }
  std::string out = gw::ascii_lower(normalized);
  ldap_memfree(normalized);
  return out;
}

bool same_dn(std::string_view a, std::string_view b) { return normalize_dn(a) == normalize_dn(b); }

std::vector<std::string> rdn_values(std::string_view dn) {
  std::vector<std::string> out;
  ParsedDn parsed(dn);
  if (!parsed.dn) return out;
  for (int i = 0; parsed.dn[i] != nullptr; ++i) {
    LDAPRDN rdn = parsed.dn[i];
    // Multi-valued RDNs are not used in the configuration NC; take the first AVA.
    if (rdn[0] == nullptr) continue;
    out.emplace_back(rdn[0]->la_value.bv_val, rdn[0]->la_value.bv_len);
  }
  return out;
}

std::string ancestor_dn(std::string_view dn, std::size_t levels) {
  ParsedDn parsed(dn);
  if (!parsed.dn) return {};
  std::size_t count = 0;
  while (parsed.dn[count] != nullptr) ++count;
  if (count <= levels) return {};
  char* text = nullptr;
  if (ldap_dn2str(parsed.dn + levels, &text, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !text) return {};
  std::string out(text);
  ldap_memfree(text);
  return out;
}

}  // namespace msync
