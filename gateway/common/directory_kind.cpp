#include "gateway/common/directory_kind.h"

#include <algorithm>

namespace gw {
namespace {

constexpr std::string_view kActiveDirectory = "1.2.840.113556.1.4.800";     // LDAP_CAP_ACTIVE_DIRECTORY_OID
constexpr std::string_view kActiveDirectoryLds = "1.2.840.113556.1.4.1851";  // LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID

}  // namespace

DirectoryKind directory_kind_from_capabilities(const std::vector<std::string>& supported_capabilities) {
  const bool ad = std::any_of(supported_capabilities.begin(), supported_capabilities.end(),
                              [](const std::string& oid) { return oid == kActiveDirectory || oid == kActiveDirectoryLds; });
  return ad ? DirectoryKind::ActiveDirectory : DirectoryKind::OpenLdap;
}

std::string_view dn_filter_attribute(DirectoryKind kind) noexcept {
  return kind == DirectoryKind::ActiveDirectory ? "distinguishedName" : "entryDN";
}

std::string_view directory_kind_name(DirectoryKind kind) noexcept {
  return kind == DirectoryKind::ActiveDirectory ? "Active Directory" : "OpenLDAP";
}

}  // namespace gw
