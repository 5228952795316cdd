// Names the categorizer compares: mail addresses and distinguished names.
//
// parse_mail_address() accepts an RFC 5321 Mailbox (dot-atom or quoted-string local part,
// domain or address literal; UTF-8 allowed for RFC 6531) and rejects anything with NUL or
// control characters, so such bytes never reach a directory filter. normalize_dn() gives the
// form used as a set/cache key: RFC 4514 string, attribute types and values folded to lower case
// (AD and our schema compare DNs case-insensitively). Pure functions, no I/O, no directory.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gw::categorizer {

struct MailAddress {
  std::string local;   // as given (quotes kept)
  std::string domain;  // lower case
  std::string str() const { return local + "@" + domain; }
};

std::optional<MailAddress> parse_mail_address(std::string_view text);

// ASCII lower-casing (addresses and DNs compare case-insensitively).
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

// Canonical form of a DN for comparisons; an unparsable DN is returned lower-cased as is.
std::string normalize_dn(std::string_view dn);

// The DN `levels` RDNs up ("cn=a,cn=b,dc=x" with 1 -> "cn=b,dc=x"); nullopt when the DN has
// fewer RDNs than that.
std::optional<std::string> ancestor_dn(std::string_view dn, int levels);

// True when `dn` equals `suffix` or lies below it (both normalized by the caller).
bool dn_is_within(std::string_view dn, std::string_view suffix);

}  // namespace gw::categorizer
