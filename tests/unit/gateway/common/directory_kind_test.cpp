// directory_kind_from_capabilities: the root DSE decides the kind of directory.
#include "gateway/common/directory_kind.h"

#include <gtest/gtest.h>

namespace gw {
namespace {

TEST(DirectoryKindTest, DomainControllerCapabilityMeansActiveDirectory) {
  // A Samba 4.17 AD DC's supportedCapabilities.
  EXPECT_EQ(directory_kind_from_capabilities({"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670",
                                              "1.2.840.113556.1.4.1791", "1.2.840.113556.1.4.1935",
                                              "1.2.840.113556.1.4.2080"}),
            DirectoryKind::ActiveDirectory);
}

TEST(DirectoryKindTest, LightweightDirectoryServicesCountsAsActiveDirectory) {
  EXPECT_EQ(directory_kind_from_capabilities({"1.2.840.113556.1.4.1851", "1.2.840.113556.1.4.1670"}),
            DirectoryKind::ActiveDirectory);
}

TEST(DirectoryKindTest, NoCapabilitiesMeansAnRfcDirectory) {
  // slapd publishes no supportedCapabilities.
  EXPECT_EQ(directory_kind_from_capabilities({}), DirectoryKind::OpenLdap);
}

TEST(DirectoryKindTest, OtherCapabilitiesAndPrefixesAreNotActiveDirectory) {
  EXPECT_EQ(directory_kind_from_capabilities({"1.2.840.113556.1.4.8000", "1.2.840.113556.1.4.80"}),
            DirectoryKind::OpenLdap);
}

TEST(DirectoryKindTest, EachKindNamesEntriesByItsOwnDnAttribute) {
  EXPECT_EQ(dn_filter_attribute(DirectoryKind::OpenLdap), "entryDN");
  EXPECT_EQ(dn_filter_attribute(DirectoryKind::ActiveDirectory), "distinguishedName");
}

}  // namespace
}  // namespace gw
