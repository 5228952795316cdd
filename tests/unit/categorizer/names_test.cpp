#include "categorizer/names.h"

#include <gtest/gtest.h>
#include <ldap.h>

namespace gw::categorizer {
namespace {

TEST(ParseMailAddress, SplitsAtTheLastAtAndLowercasesTheDomain) {
  auto a = parse_mail_address("Alice.Anderson@Example.COM");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "Alice.Anderson");
  EXPECT_EQ(a->domain, "example.com");
}

TEST(ParseMailAddress, AcceptsQuotedLocalPartWithSpecials) {
  EXPECT_TRUE(parse_mail_address("\"a*(b)\\\\c\"@example.com"));
}

TEST(ParseMailAddress, RejectsNulInsideQuotes) {
  EXPECT_FALSE(parse_mail_address(std::string("\"a\0b\"@example.com", 17)));
}

TEST(ParseMailAddress, RejectsControlCharacters) { EXPECT_FALSE(parse_mail_address("a\rb@example.com")); }

TEST(ParseMailAddress, RejectsDoubleAtAndDoubleDots) {
  EXPECT_FALSE(parse_mail_address("bad-target@@partner..example"));
  EXPECT_FALSE(parse_mail_address("a..b@example.com"));
  EXPECT_FALSE(parse_mail_address("a@example..com"));
}

TEST(ParseMailAddress, RejectsMissingPartsAndOverlongLocalPart) {
  EXPECT_FALSE(parse_mail_address("@example.com"));
  EXPECT_FALSE(parse_mail_address("alice@"));
  EXPECT_FALSE(parse_mail_address(std::string(65, 'a') + "@example.com"));
}

TEST(ParseMailAddress, AcceptsUtf8AndAddressLiterals) {
  EXPECT_TRUE(parse_mail_address("j\xc3\xbcrgen@example.com"));
  EXPECT_TRUE(parse_mail_address("postmaster@[127.0.0.1]"));
}

TEST(NormalizeDn, FoldsCaseAndSpacing) {
  EXPECT_EQ(normalize_dn("CN=Alice Anderson, CN=Users,DC=Example,DC=com"),
            normalize_dn("cn=alice anderson,cn=users,dc=example,dc=com"));
}

TEST(AncestorDn, StripsThreeRdnsFromAStoreDn) {
  EXPECT_EQ(ancestor_dn("CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore,CN=MBX1,CN=Servers,DC=x", 3),
            "CN=MBX1,CN=Servers,DC=x");
}

TEST(AncestorDn, RespectsEscapedCommas) {
  EXPECT_EQ(ancestor_dn("CN=Smith\\, John,OU=People,DC=x", 1), "OU=People,DC=x");
}

TEST(AncestorDn, FailsWhenTheDnIsTooShort) { EXPECT_FALSE(ancestor_dn("DC=x", 1)); }

TEST(DnIsWithin, RequiresAnRdnBoundary) {
  EXPECT_TRUE(dn_is_within("cn=a,dc=example,dc=com", "dc=example,dc=com"));
  EXPECT_TRUE(dn_is_within("dc=example,dc=com", "dc=example,dc=com"));
  EXPECT_FALSE(dn_is_within("dc=myexample,dc=com", "dc=example,dc=com"));
}

// The case-folding shortcut must agree with libldap's normalization on every form it accepts,
// and leave everything else to libldap.
TEST(NormalizeDn, AgreesWithLibldapOnPlainAndUnusualDns) {
  const char* dns[] = {
      "CN=Alice Anderson,CN=Users,DC=example,DC=com",
      "CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore,CN=MBX1,CN=Servers,DC=x",
      "cn=o'brien,ou=R&D,dc=example,dc=com",
      "2.5.4.3=raw oid,dc=com",
      "CN=a.b-c_d/e@f,DC=com",
      "CN=Alice Anderson, CN=Users,DC=example,DC=com",
      "CN = spaced,DC=com",
      "CN=trailing ,DC=com",
      "CN=Smith\\, John,DC=com",
      "CN=multi+SN=valued,DC=com",
      "CN=#hash,DC=com",
      "CN=semi;colon,DC=com",
      "CN=\\41lice,DC=com",
      "CN=a=b,DC=com",
      "CN=ÄÖ,DC=com",
  };
  for (const char* dn : dns) {
    std::string input(dn);
    char* out = nullptr;
    // An unparsable DN ("#hash" is not valid BER) is compared lower-cased as it is.
    const bool parsed =
        ldap_dn_normalize(input.c_str(), LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS;
    const std::string want = to_lower(parsed ? std::string_view(out) : std::string_view(dn));
    if (out != nullptr) ldap_memfree(out);
    EXPECT_EQ(normalize_dn(dn), want) << dn;
  }
}

}  // namespace
}  // namespace gw::categorizer
