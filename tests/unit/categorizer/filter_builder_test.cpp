#include "categorizer/ldap/filter_builder.h"

#include <gtest/gtest.h>

#include <string>

namespace gw::categorizer::ldap {
namespace {

TEST(FilterBuilder, EscapesTheFiveCharactersRfc4515Requires) {
  EXPECT_EQ(escape_filter_value(std::string("a*b(c)d\\e\0f", 11)), "a\\2ab\\28c\\29d\\5ce\\00f");
}

TEST(FilterBuilder, EscapesNonAsciiOctetsAndControls) {
  EXPECT_EQ(escape_filter_value("j\xc3\xbcrgen\x01\x7f"), "j\\c3\\bcrgen\\01\\7f");
}

TEST(FilterBuilder, LeavesOrdinaryAddressCharactersAlone) {
  EXPECT_EQ(escape_filter_value("first.last+tag@example.com"), "first.last+tag@example.com");
}

TEST(FilterBuilder, EqualityEscapesTheValue) {
  EXPECT_EQ(FilterBuilder::equals("mail", "*)(mail=*").str(), "(mail=\\2a\\29\\28mail=\\2a)");
}

TEST(FilterBuilder, EqualityKeepsTheRawValueForEvaluation) {
  const auto f = FilterBuilder::equals("mail", "a*b");
  EXPECT_EQ(f.kind(), Filter::Kind::Equality);
  EXPECT_EQ(f.attribute(), "mail");
  EXPECT_EQ(f.value(), "a*b");
}

TEST(FilterBuilder, PresenceIsAttributeEqualsStar) {
  EXPECT_EQ(FilterBuilder::present("targetAddress").str(), "(targetAddress=*)");
}

TEST(FilterBuilder, AnyOfComposesAnOrFilter) {
  const auto f = FilterBuilder::any_of({FilterBuilder::equals("proxyAddresses", "smtp:a@x"),
                                        FilterBuilder::equals("mail", "a@x")});
  EXPECT_EQ(f.str(), "(|(proxyAddresses=smtp:a@x)(mail=a@x))");
}

TEST(FilterBuilder, AllOfAndNegateCompose) {
  const auto f = FilterBuilder::all_of(
      {FilterBuilder::equals("objectClass", "user"), FilterBuilder::negate(FilterBuilder::present("homeMDB"))});
  EXPECT_EQ(f.str(), "(&(objectClass=user)(!(homeMDB=*)))");
}

TEST(FilterBuilder, SingleOperandIsNotWrapped) {
  EXPECT_EQ(FilterBuilder::any_of({FilterBuilder::equals("cn", "x")}).str(), "(cn=x)");
}

TEST(FilterBuilder, EmptyOrIsAbsoluteFalse) { EXPECT_EQ(FilterBuilder::any_of({}).str(), "(|)"); }

TEST(FilterBuilderDeathTest, AttributeDescriptionWithFilterSyntaxAborts) {
  EXPECT_DEATH(FilterBuilder::equals("mail)(cn", "x"), "invalid LDAP attribute description");
}

}  // namespace
}  // namespace gw::categorizer::ldap
