#include "categorizer/names.h"
#include "gateway/common/ascii.h"

#include <ldap.h>
#include <strings.h>

namespace gw::categorizer {
namespace {

bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 (RFC 6531 atext extension)
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

bool valid_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char ch : s) {
    if (ch == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(static_cast<unsigned char>(ch))) {
      return false;
    }
    prev = ch;
  }
  return true;
}

// RFC 5321 Quoted-string: qtextSMTP is %d32-33 / %d35-91 / %d93-126, quoted-pairSMTP is
// "\" followed by %d32-126. NUL and controls are therefore never valid.
bool valid_quoted_string(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;
      const auto next = static_cast<unsigned char>(s[++i]);
      if (next < 32 || next > 126) return false;
    } else if (c == '"' || c < 32 || c == 127) {
      return false;
    }
  }
  return true;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  if (d.front() == '[') {  // address literal
    if (d.back() != ']' || d.size() < 3) return false;
    for (char ch : d.substr(1, d.size() - 2)) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= 32 || c >= 127 || ch == '[' || ch == ']' || ch == '\\') return false;
    }
    return true;
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (d[i - 1] == '-' || d[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(d[i]);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c >= 0x80;
    if (!ok) return false;
    ++label;
  }
  return true;
}

}  // namespace

std::string to_lower(std::string_view text) { return gw::ascii_lower(text); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<MailAddress> parse_mail_address(std::string_view text) {
  if (text.size() > 320) return std::nullopt;
  const auto at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()) return std::nullopt;
  const auto local = text.substr(0, at);
  const auto domain = text.substr(at + 1);
  if (local.size() > 64) return std::nullopt;  // RFC 5321 4.5.3.1.1
  const bool local_ok = local.front() == '"' ? valid_quoted_string(local) : valid_dot_atom(local);
  if (!local_ok || !valid_domain(domain)) return std::nullopt;
  return MailAddress{std::string(local), to_lower(domain)};
}

namespace {

// True when libldap's RFC 4514 normalization could only change the case of `dn`: every RDN is
// one type=value pair of letters, digits and " .-_()'/&@" inside the value, with no space
// next to a separator and no character that needs escaping. Group members and homeMDB values
// are written this way almost always, and parsing each of 10,000 member DNs with libldap costs
// more than the whole search that returned them.
bool needs_only_case_folding(std::string_view dn) {
  if (dn.empty()) return false;
  bool in_value = false;
  char previous = ',';
  for (const char c : dn) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == '=') {
      if (in_value || previous == ',' || previous == ' ') return false;
      in_value = true;
    } else if (c == ',') {
      if (!in_value || previous == '=' || previous == ' ') return false;
      in_value = false;
    } else if (c == ' ') {
      if (!in_value || previous == '=' || previous == ',') return false;
    } else if (!plain) {
      if (!in_value) {
        if (c != '-' && c != '.') return false;  // attribute type: name or OID
      } else if (std::string_view(".-_()'/&@").find(c) == std::string_view::npos) {
        return false;
      }
    }
    previous = c;
  }
  return in_value && previous != '=' && previous != ' ';
}

}  // namespace

std::string normalize_dn(std::string_view dn) {
  if (needs_only_case_folding(dn)) return to_lower(dn);
  std::string input(dn);
  char* out = nullptr;
  if (ldap_dn_normalize(input.c_str(), LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) ==
          LDAP_SUCCESS &&
      out != nullptr) {
    std::string normalized = to_lower(out);
    ldap_memfree(out);
    return normalized;
  }
  if (out != nullptr) ldap_memfree(out);
  return to_lower(dn);
}

std::optional<std::string> ancestor_dn(std::string_view dn, int levels) {
  std::size_t pos = 0;
  for (int level = 0; level < levels; ++level) {
    bool found = false;
    for (; pos < dn.size(); ++pos) {
      if (dn[pos] == '\\') {
        ++pos;  // skip the escaped character (or the first hex digit of a pair)
        continue;
      }
      if (dn[pos] == ',') {
        found = true;
        ++pos;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  while (pos < dn.size() && dn[pos] == ' ') ++pos;
  if (pos >= dn.size()) return std::nullopt;
  return std::string(dn.substr(pos));
}

bool dn_is_within(std::string_view dn, std::string_view suffix) {
  if (suffix.empty()) return true;
  if (dn.size() < suffix.size()) return false;
  if (dn.substr(dn.size() - suffix.size()) != suffix) return false;
  return dn.size() == suffix.size() || dn[dn.size() - suffix.size() - 1] == ',';
}

}  // namespace gw::categorizer
