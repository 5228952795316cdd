// Text helpers for LDAP filters and distinguished names.
//
// escape_filter_value() is the only way metabase-sync puts a value into a search
// filter: it escapes per RFC 4515 section 3 ('*', '(', ')', '\\' and NUL become
// \2a \28 \29 \5c \00), so a server name such as "BH1*" can never widen a search.
// equality_filter() builds "(attr=value)" with the value escaped.
// normalize_dn() gives a canonical form for comparing DNs that the directory may
// spell differently ("CN=1, cn=SMTP" vs "cn=1,CN=SMTP"); rdn_values() splits a DN
// into its RDN values, leaf first. These functions do no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace msync {

std::string escape_filter_value(std::string_view value);

std::string equality_filter(std::string_view attribute, std::string_view value);

// Canonical, case-folded DN for comparisons; returns the input lower-cased when
// it does not parse as a DN (so two equal malformed strings still compare equal).
std::string normalize_dn(std::string_view dn);

bool same_dn(std::string_view a, std::string_view b);

// RDN attribute values from leaf to root: "CN=1,CN=SMTP,DC=x" -> {"1","SMTP","x"}.
// Empty when the DN does not parse.
std::vector<std::string> rdn_values(std::string_view dn);

// The DN with its first `levels` RDNs removed ("" if it has fewer).
std::string ancestor_dn(std::string_view dn, std::size_t levels);

}  // namespace msync
