#include "metabase-sync/ldap_text.h"

#include <gtest/gtest.h>

namespace msync {
namespace {

TEST(EscapeFilterValue, LeavesOrdinaryTextAlone) { EXPECT_EQ(escape_filter_value("BH1"), "BH1"); }

TEST(EscapeFilterValue, EscapesTheFiveSpecialCharactersPerRfc4515) {
  EXPECT_EQ(escape_filter_value("*"), "\\2a");
  EXPECT_EQ(escape_filter_value("("), "\\28");
  EXPECT_EQ(escape_filter_value(")"), "\\29");
  EXPECT_EQ(escape_filter_value("\\"), "\\5c");
  EXPECT_EQ(escape_filter_value(std::string_view("a\0b", 3)), "a\\00b");
}

TEST(EscapeFilterValue, NeutralisesAnInjectedFilter) {
  EXPECT_EQ(escape_filter_value("BH1)(cn=*"), "BH1\\29\\28cn=\\2a");
}

TEST(EqualityFilter, WrapsTheEscapedValue) { EXPECT_EQ(equality_filter("cn", "a*b"), "(cn=a\\2ab)"); }

TEST(NormalizeDn, IgnoresCaseAndSpacingDifferences) {
  EXPECT_TRUE(same_dn("CN=1,CN=SMTP,DC=example,DC=com", "cn=1, cn=smtp, dc=EXAMPLE, dc=com"));
  EXPECT_FALSE(same_dn("CN=1,CN=SMTP,DC=example,DC=com", "CN=2,CN=SMTP,DC=example,DC=com"));
}

TEST(RdnValues, ListsValuesFromLeafToRoot) {
  EXPECT_EQ(rdn_values("CN=1,CN=SMTP,CN=Protocols,CN=BH1,DC=x"),
            (std::vector<std::string>{"1", "SMTP", "Protocols", "BH1", "x"}));
}

TEST(RdnValues, KeepsEscapedCommasInsideAValue) {
  EXPECT_EQ(rdn_values("CN=Smith\\, John,DC=x"), (std::vector<std::string>{"Smith, John", "x"}));
}

TEST(AncestorDn, RemovesLeadingRdns) {
  EXPECT_TRUE(same_dn(ancestor_dn("CN=1,CN=SMTP,CN=Protocols,CN=BH1,CN=Servers,DC=x", 3), "CN=BH1,CN=Servers,DC=x"));
  EXPECT_EQ(ancestor_dn("CN=a,DC=x", 2), "");
}

}  // namespace
}  // namespace msync
