// Specification of gw::Address and the RFC 5321 path parser.
#include "gateway/common/address.h"

#include <gtest/gtest.h>

#include <string>

namespace gw {
namespace {

AddressOptions utf8() {
  AddressOptions options;
  options.allow_utf8 = true;
  return options;
}

AddressErrc error_of(const Result<Path>& result) {
  EXPECT_FALSE(result.has_value());
  return static_cast<AddressErrc>(result.error().code.value());
}

AddressErrc error_of(const Result<Address>& result) {
  EXPECT_FALSE(result.has_value());
  return static_cast<AddressErrc>(result.error().code.value());
}

TEST(AddressPath, ParsesSimpleMailbox) {
  auto path = parse_path("<user@example.com>");
  ASSERT_TRUE(path.has_value());
  EXPECT_FALSE(path->null);
  EXPECT_EQ(path->mailbox.local_part(), "user");
  EXPECT_EQ(path->mailbox.domain(), "example.com");
  EXPECT_EQ(path->mailbox.str(), "user@example.com");
}

TEST(AddressPath, LowerCasesDomainAndKeepsLocalPartCase) {
  auto path = parse_path("<John.Smith@EXAMPLE.Com>");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.local_part(), "John.Smith");
  EXPECT_EQ(path->mailbox.domain(), "example.com");
}

TEST(AddressPath, RemovesOneTrailingDotFromDomain) {
  auto path = parse_path("<user@example.com.>");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.domain(), "example.com");
}

TEST(AddressPath, RefusesTwoTrailingDots) {
  EXPECT_EQ(error_of(parse_path("<user@example.com..>")), AddressErrc::Syntax);
}

TEST(AddressPath, NullPathOnlyWhenAllowed) {
  EXPECT_EQ(error_of(parse_path("<>")), AddressErrc::NullPathNotAllowed);
  AddressOptions options;
  options.allow_null = true;
  auto path = parse_path("<>", options);
  ASSERT_TRUE(path.has_value());
  EXPECT_TRUE(path->null);
  EXPECT_EQ(path->str(), "<>");
}

TEST(AddressPath, RequiresAngleBrackets) {
  EXPECT_EQ(error_of(parse_path("user@example.com")), AddressErrc::Syntax);
  EXPECT_EQ(error_of(parse_path("<user@example.com")), AddressErrc::Syntax);
  EXPECT_EQ(error_of(parse_path("user@example.com>")), AddressErrc::Syntax);
}

TEST(AddressPath, QuotedLocalPartIsStoredUnquoted) {
  auto path = parse_path(R"(<"john doe"@example.com>)");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.local_part(), "john doe");
  EXPECT_EQ(path->mailbox.str(), R"("john doe"@example.com)");
}

TEST(AddressPath, QuotedPairIsResolvedAndRequotedOnOutput) {
  auto path = parse_path(R"(<"a\"b\\c"@example.com>)");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.local_part(), R"(a"b\c)");
  EXPECT_EQ(path->mailbox.str(), R"("a\"b\\c"@example.com)");
}

TEST(AddressPath, NeedlesslyQuotedLocalPartIsWrittenAsDotString) {
  auto path = parse_path(R"(<"john.smith"@example.com>)");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.str(), "john.smith@example.com");
}

TEST(AddressPath, QuotedLocalPartMayHoldAngleBracketAndAt) {
  auto path = parse_path(R"(<"a>b@c"@example.com>)");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.local_part(), "a>b@c");
  EXPECT_EQ(path->mailbox.domain(), "example.com");
}

TEST(AddressPath, RefusesUnterminatedQuotedString) {
  EXPECT_EQ(error_of(parse_path(R"(<"abc@example.com>)")), AddressErrc::Syntax);
}

TEST(AddressPath, RefusesControlCharacterInQuotedString) {
  EXPECT_EQ(error_of(parse_path(std::string("<\"a\tb\"@example.com>"))), AddressErrc::Syntax);
}

TEST(AddressPath, RefusesMalformedDotStrings) {
  for (const char* text : {"<.user@example.com>", "<user.@example.com>", "<us..er@example.com>", "<@example.com>",
                           "<user@>", "<user>", "<us er@example.com>", "<user@@example.com>", "<user(x)@example.com>"}) {
    EXPECT_EQ(error_of(parse_path(text)), AddressErrc::Syntax) << text;
  }
}

TEST(AddressPath, RefusesMalformedDomains) {
  for (const char* text : {"<u@-example.com>", "<u@example-.com>", "<u@exa_mple.com>", "<u@.example.com>",
                           "<u@example..com>", "<u@example.com:25>"}) {
    EXPECT_EQ(error_of(parse_path(text)), AddressErrc::Syntax) << text;
  }
}

TEST(AddressPath, SourceRouteIsParsedAndFinalMailboxKept) {
  auto path = parse_path("<@Relay1.example.org,@relay2.example.net:user@Example.com>");
  ASSERT_TRUE(path.has_value());
  ASSERT_EQ(path->source_route.size(), 2u);
  EXPECT_EQ(path->source_route[0], "relay1.example.org");
  EXPECT_EQ(path->source_route[1], "relay2.example.net");
  EXPECT_EQ(path->mailbox.str(), "user@example.com");
  EXPECT_EQ(path->str(), "<user@example.com>");
}

TEST(AddressPath, RefusesMalformedSourceRoutes) {
  for (const char* text : {"<@a.example:>", "<@a.example,user@b.example>", "<@a.example,:u@b.example>", "<@:u@b.example>"}) {
    EXPECT_EQ(error_of(parse_path(text)), AddressErrc::Syntax) << text;
  }
}

TEST(AddressPath, AcceptsIpv4Literal) {
  auto path = parse_path("<user@[192.0.2.1]>");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.domain(), "[192.0.2.1]");
  EXPECT_TRUE(path->mailbox.is_ip_literal());
}

TEST(AddressPath, Ipv4LiteralLosesLeadingZeros) {
  auto path = parse_path("<user@[192.000.02.1]>");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.domain(), "[192.0.2.1]");
}

TEST(AddressPath, RefusesInvalidIpv4Literals) {
  for (const char* text : {"<u@[256.0.0.1]>", "<u@[1.2.3]>", "<u@[1.2.3.4.5]>", "<u@[1.2.3.4>", "<u@[]>", "<u@[01234.1.1.1]>"}) {
    EXPECT_EQ(error_of(parse_path(text)), AddressErrc::Syntax) << text;
  }
}

TEST(AddressPath, Ipv6LiteralIsNormalized) {
  auto path = parse_path("<user@[IPv6:2001:DB8:0:0:0:0:0:1]>");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.domain(), "[ipv6:2001:db8::1]");
}

TEST(AddressPath, RefusesInvalidIpv6Literal) {
  EXPECT_EQ(error_of(parse_path("<u@[IPv6:2001:db8::g]>")), AddressErrc::Syntax);
  EXPECT_EQ(error_of(parse_path("<u@[2001:db8::1]>")), AddressErrc::Syntax);
}

TEST(AddressPath, RefusesGeneralAddressLiteral) {
  EXPECT_EQ(error_of(parse_path("<u@[x400:c=us]>")), AddressErrc::Syntax);
}

TEST(AddressPath, LocalPartOf64OctetsIsAccepted) {
  EXPECT_TRUE(parse_path("<" + std::string(64, 'a') + "@example.com>").has_value());
}

TEST(AddressPath, LocalPartOf65OctetsIsTooLong) {
  EXPECT_EQ(error_of(parse_path("<" + std::string(65, 'a') + "@example.com>")), AddressErrc::LocalPartTooLong);
}

TEST(AddressPath, QuotedLocalPartLengthCountsTheQuotes) {
  EXPECT_EQ(error_of(parse_path("<\"" + std::string(63, 'a') + "\"@example.com>")),
            AddressErrc::LocalPartTooLong);
}

TEST(AddressPath, DomainLabelOf63OctetsIsAccepted) {
  EXPECT_TRUE(parse_path("<u@" + std::string(63, 'a') + ".com>").has_value());
}

TEST(AddressPath, DomainLabelOf64OctetsIsTooLong) {
  EXPECT_EQ(error_of(parse_path("<u@" + std::string(64, 'a') + ".com>")), AddressErrc::DomainTooLong);
}

TEST(AddressPath, PathOf256OctetsIsAccepted) {
  // "<" + 64 + "@" + 189 + ">" = 256
  const std::string domain = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(61, 'c');
  ASSERT_EQ(domain.size(), 189u);
  EXPECT_TRUE(parse_path("<" + std::string(64, 'x') + "@" + domain + ">").has_value());
}

TEST(AddressPath, PathOf257OctetsIsTooLong) {
  const std::string domain = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(62, 'c');
  EXPECT_EQ(error_of(parse_path("<" + std::string(64, 'x') + "@" + domain + ">")), AddressErrc::PathTooLong);
}

TEST(AddressMailbox, DomainOf255OctetsIsAccepted) {
  const std::string domain = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                             std::string(63, 'd');
  ASSERT_EQ(domain.size(), 255u);
  EXPECT_TRUE(parse_mailbox("u@" + domain).has_value());
}

TEST(AddressMailbox, DomainOf257OctetsIsTooLong) {
  const std::string domain = "e." + std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                             "." + std::string(63, 'd');
  EXPECT_EQ(error_of(parse_mailbox("u@" + domain)), AddressErrc::DomainTooLong);
}

TEST(AddressPath, NonAsciiIsRefusedWithoutSmtpUtf8) {
  EXPECT_EQ(error_of(parse_path("<j\xC3\xB6rg@example.com>")), AddressErrc::NonAsciiNotAllowed);
  EXPECT_EQ(error_of(parse_path("<joerg@b\xC3\xBC" "cher.example>")), AddressErrc::NonAsciiNotAllowed);
}

TEST(AddressPath, NonAsciiIsAcceptedWithSmtpUtf8) {
  auto path = parse_path("<j\xC3\xB6rg@B\xC3\xBC" "cher.example>", utf8());
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.local_part(), "j\xC3\xB6rg");
  EXPECT_EQ(path->mailbox.domain(), "b\xC3\xBC" "cher.example");
  EXPECT_FALSE(path->mailbox.is_ascii());
}

TEST(AddressPath, MalformedUtf8IsASyntaxErrorEvenWithSmtpUtf8) {
  for (const char* text : {"<a\xC0\xAF@example.com>", "<a\x80@example.com>", "<a\xED\xA0\x80@example.com>",
                           "<a\xF5\x80\x80\x80@example.com>", "<a\xE2\x82@example.com>"}) {
    EXPECT_EQ(error_of(parse_path(text, utf8())), AddressErrc::Syntax) << text;
  }
}

TEST(AddressPath, PostmasterWithoutDomainOnlyWhenAllowed) {
  EXPECT_EQ(error_of(parse_path("<Postmaster>")), AddressErrc::Syntax);
  AddressOptions options;
  options.allow_postmaster = true;
  auto path = parse_path("<PostMaster>", options);
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->mailbox.local_part(), "postmaster");
  EXPECT_EQ(path->mailbox.domain(), "");
  EXPECT_EQ(error_of(parse_path("<webmaster>", options)), AddressErrc::Syntax);
}

TEST(AddressRouting, DetectsPercentHack) {
  EXPECT_EQ(local_part_routing(Address("user%remote.example", "example.com")), LocalPartRouting::Percent);
}

TEST(AddressRouting, DetectsBangPath) {
  EXPECT_EQ(local_part_routing(Address("remote.example!user", "example.com")), LocalPartRouting::Bang);
}

TEST(AddressRouting, DetectsQuotedAt) {
  auto path = parse_path(R"(<"user@remote.example"@example.com>)");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(local_part_routing(path->mailbox), LocalPartRouting::QuotedAt);
}

TEST(AddressRouting, PlainLocalPartHasNoRouting) {
  EXPECT_EQ(local_part_routing(Address("first.last+tag", "example.com")), LocalPartRouting::None);
}

TEST(AddressDomain, NormalizeLowerCasesAndDropsTrailingDot) {
  EXPECT_EQ(normalize_domain("Example.COM."), "example.com");
  EXPECT_EQ(normalize_domain("example.com"), "example.com");
}

TEST(AddressDomain, DomainOfAnAddressIsNormalized) {
  EXPECT_EQ(domain_of("Office@Branch.Example."), "branch.example");
  EXPECT_EQ(domain_of("a@b@partner.example"), "partner.example");
}

TEST(AddressDomain, TextWithoutLocalPartOrDomainHasNoDomain) {
  EXPECT_EQ(domain_of("postmaster"), std::nullopt);
  EXPECT_EQ(domain_of("@example.com"), std::nullopt);
  EXPECT_EQ(domain_of("user@"), std::nullopt);
}

TEST(AddressDomain, APlainFormNamesExactlyThatDomain) {
  EXPECT_TRUE(domain_in_form("partner.example", "partner.example"));
  EXPECT_FALSE(domain_in_form("mail.partner.example", "partner.example"));
  EXPECT_FALSE(domain_in_form("xpartner.example", "partner.example"));
}

TEST(AddressDomain, AWildcardFormNamesSubdomainsButNotTheParent) {
  EXPECT_TRUE(domain_in_form("mail.partner.example", "*.partner.example"));
  EXPECT_TRUE(domain_in_form("a.b.partner.example", "*.partner.example"));
  EXPECT_FALSE(domain_in_form("partner.example", "*.partner.example"));
  EXPECT_FALSE(domain_in_form("xpartner.example", "*.partner.example"));
}

TEST(AddressDomain, TheStarFormNamesEveryDomain) {
  EXPECT_TRUE(domain_in_form("anything.example", "*"));
}

TEST(AddressErrors, CategoryNamesTheProblem) {
  const std::error_code code = AddressErrc::PathTooLong;
  EXPECT_STREQ(code.category().name(), "address");
  EXPECT_EQ(code.message(), "path longer than 256 octets");
}

}  // namespace
}  // namespace gw
