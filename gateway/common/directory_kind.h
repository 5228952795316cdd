// DirectoryKind: which kind of LDAP server answers, decided from its root DSE, so that nothing
// has to be configured (and nothing can be configured wrong).
//
// Active Directory (and AD LDS) lists its capabilities in the root DSE attribute
// supportedCapabilities: 1.2.840.113556.1.4.800 (LDAP_CAP_ACTIVE_DIRECTORY_OID) on a domain
// controller, Samba's included, 1.2.840.113556.1.4.1851 (LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID) on
// AD LDS. Any other server is taken for an RFC directory such as OpenLDAP. The difference matters
// where the two disagree: an entry's own DN is the operational attribute entryDN (RFC 5020) on
// OpenLDAP and distinguishedName on AD (where OpenLDAP's distinguishedName is the super-type of
// member, owner and every other DN attribute, so a filter on it matches the wrong entries); AD
// returns large multi-valued attributes in ranges and stops unpaged searches at MaxPageSize.
// Pure: the caller reads the root DSE (base "", scope base, kRootDseAttributes).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gw {

enum class DirectoryKind { OpenLdap, ActiveDirectory };

// What to ask the root DSE for.
inline constexpr std::string_view kRootDseCapabilitiesAttribute = "supportedCapabilities";

// From the values of the root DSE's supportedCapabilities (empty when the server has none).
DirectoryKind directory_kind_from_capabilities(const std::vector<std::string>& supported_capabilities);

// The attribute an equality filter uses to name an entry by its DN: entryDN or distinguishedName.
std::string_view dn_filter_attribute(DirectoryKind kind) noexcept;

// "OpenLDAP" / "Active Directory", for logs.
std::string_view directory_kind_name(DirectoryKind kind) noexcept;

}  // namespace gw
