#include "gateway/routing/address_space.h"

#include <gtest/gtest.h>

namespace gw::routing {
namespace {

TEST(AddressSpace, ExactPatternMatchesOnlyThatDomain) {
  EXPECT_TRUE(match_address_space("partner.example", "partner.example"));
  EXPECT_FALSE(match_address_space("partner.example", "mail.partner.example"));
  EXPECT_FALSE(match_address_space("partner.example", "partner.example.net"));
}

TEST(AddressSpace, MatchingIgnoresCaseAndTrailingDot) {
  EXPECT_TRUE(match_address_space("Partner.Example", "PARTNER.example."));
}

TEST(AddressSpace, StarDotDomainMatchesSubdomainsButNotTheDomainItself) {
  EXPECT_TRUE(match_address_space("*.mil", "army.mil"));
  EXPECT_TRUE(match_address_space("*.mil", "hq.army.mil"));
  EXPECT_FALSE(match_address_space("*.mil", "mil"));
  EXPECT_FALSE(match_address_space("*.mil", "army.mil.example"));
}

TEST(AddressSpace, StarMatchesEveryDomain) {
  EXPECT_TRUE(match_address_space("*", "anything.example"));
}

TEST(AddressSpace, PercentMatchesExactlyOneCharacter) {
  EXPECT_TRUE(match_address_space("host%.example", "host1.example"));
  EXPECT_FALSE(match_address_space("host%.example", "host12.example"));
  EXPECT_FALSE(match_address_space("host%.example", "host.example"));
}

TEST(AddressSpace, StarInTheMiddleBacktracks) {
  EXPECT_TRUE(match_address_space("mail*.ex*le", "mail-gw.example"));
  EXPECT_FALSE(match_address_space("mail*.ex*le", "mail-gw.examples"));
}

TEST(AddressSpace, ExactBeatsAnyWildcard) {
  auto exact = match_address_space("a.mil", "a.mil");
  auto wildcard = match_address_space("%.mil", "a.mil");
  ASSERT_TRUE(exact && wildcard);
  EXPECT_EQ(exact->literal_chars, wildcard->literal_chars + 1);
  EXPECT_GT(*exact, *wildcard);
  auto many_literals = match_address_space("*.very-long-name.mil", "x.very-long-name.mil");
  auto short_exact = match_address_space("b.mil", "b.mil");
  ASSERT_TRUE(many_literals && short_exact);
  EXPECT_GT(*short_exact, *many_literals);
}

TEST(AddressSpace, MoreLiteralCharactersAreMoreSpecific) {
  auto sub = match_address_space("*.sub.example", "a.sub.example");
  auto parent = match_address_space("*.example", "a.sub.example");
  auto all = match_address_space("*", "a.sub.example");
  ASSERT_TRUE(sub && parent && all);
  EXPECT_GT(*sub, *parent);
  EXPECT_GT(*parent, *all);
}

TEST(AddressSpace, EmptyPatternMatchesNothing) {
  EXPECT_FALSE(match_address_space("", "example.com"));
  EXPECT_FALSE(match_address_space("*", ""));
}

}  // namespace
}  // namespace gw::routing
