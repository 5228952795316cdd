// Active Directory range retrieval: parsing "member;range=a-b", folding ranged values into the
// plain attribute, and the Resolver's continuation searches against a directory that answers
// the way AD does (MaxValRange values per reply).
#include "categorizer/ranged_attribute.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "categorizer/resolver.h"
#include "tests/support/run_to_completion.h"
#include "tests/unit/categorizer/fake_directory_client.h"
#include "tests/unit/categorizer/test_metabase.h"

namespace gw::categorizer {
namespace {

using gw::test::run_to_completion;

TEST(ParseRange, ReadsAFirstChunk) {
  const auto r = parse_range("member;range=0-1499");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attribute, "member");
  EXPECT_EQ(r->low, 0u);
  EXPECT_EQ(r->high, 1499u);
}

TEST(ParseRange, ReadsTheLastChunkAsOpenEnded) {
  const auto r = parse_range("member;Range=3000-*");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->low, 3000u);
  EXPECT_FALSE(r->high);
}

TEST(ParseRange, KeepsOtherOptionsInTheAttribute) {
  const auto r = parse_range("member;binary;range=10-20");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attribute, "member;binary");
}

TEST(ParseRange, RejectsDescriptionsWithoutAWellFormedRange) {
  for (const char* d : {"member", "member;binary", "member;range=", "member;range=5", "member;range=-5",
                        "member;range=a-b", "member;range=20-10", "member;range=1-2;range=3-4", ";range=0-1",
                        "member;;range=0-1", "member;range=0-1x"})
    EXPECT_FALSE(parse_range(d)) << d;
}

TEST(NextRangeRequest, AsksForEverythingAfterTheLastValueReceived) {
  EXPECT_EQ(next_range_request(AttributeRange{"member", 0, 1499}), "member;range=1500-*");
  EXPECT_EQ(next_range_request(AttributeRange{"member", 1500, 2999}), "member;range=3000-*");
}

TEST(FoldRangedAttributes, MovesValuesToThePlainAttributeAndAsksForTheRest) {
  Entry e;
  e.dn = "CN=G";
  e.attributes["member;range=0-1"] = {"CN=a", "CN=b"};
  e.attributes["mail"] = {"g@example.com"};
  const auto next = fold_ranged_attributes(e);
  EXPECT_EQ(e.values("member"), (std::vector<std::string>{"CN=a", "CN=b"}));
  EXPECT_FALSE(e.attributes.contains("member;range=0-1"));
  EXPECT_EQ(e.values("mail").size(), 1u);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].attribute, "member");
  EXPECT_EQ(next[0].request, "member;range=2-*");
}

TEST(FoldRangedAttributes, LastChunkNeedsNoContinuation) {
  Entry e;
  e.attributes["member"] = {"CN=a"};
  e.attributes["member;range=1-*"] = {"CN=b"};
  EXPECT_TRUE(fold_ranged_attributes(e).empty());
  EXPECT_EQ(e.values("member"), (std::vector<std::string>{"CN=a", "CN=b"}));
}

TEST(FoldRangedAttributes, PlainAttributesPassThroughUntouched) {
  Entry e;
  e.attributes["member"] = {"CN=a", "CN=b"};
  EXPECT_TRUE(fold_ranged_attributes(e).empty());
  EXPECT_EQ(e.values("member").size(), 2u);
}

// A directory that answers like AD with MaxValRange = `max_values`: a `member` attribute with
// more values (or asked for in a range) comes back as "member;range=0-<max-1>", and a base search
// for "member;range=N-*" returns the next chunk ("-*" on the last one). Its kind is Active
// Directory, so the resolver asks for "member;range=0-1499" in its first search of an entry.
// requests() lists "search" for first searches, "member;range=N-*" for continuations.
class RangedDirectory final : public DirectoryClient {
 public:
  RangedDirectory(test::FakeDirectoryClient& inner, std::size_t max_values) : inner_(inner), max_(max_values) {
    inner_.set_kind(DirectoryKind::ActiveDirectory);
  }

  asio::awaitable<Result<std::vector<Entry>>> search(SearchRequest request) override {
    std::optional<AttributeRange> asked;
    for (const auto& a : request.attributes)
      if (auto r = parse_range(a)) asked = r;
    requests_.push_back(asked && asked->low != 0 ? asked->attribute + ";range=" + std::to_string(asked->low) + "-*"
                                                 : "search");
    SearchRequest forwarded = request;
    auto entries = co_await inner_.search(std::move(forwarded));
    if (!entries) co_return std::move(entries);
    for (auto& e : *entries) {
      auto it = e.attributes.find("member");
      if (it == e.attributes.end() || (it->second.size() <= max_ && !asked)) continue;
      const std::vector<std::string> all = std::move(it->second);
      e.attributes.erase(it);
      const std::size_t low = asked ? asked->low : 0;
      const std::size_t high = std::min(all.size(), low + max_) - 1;
      const bool last = high + 1 == all.size();
      e.attributes["member;range=" + std::to_string(low) + "-" + (last ? "*" : std::to_string(high))] =
          std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(low),
                                   all.begin() + static_cast<std::ptrdiff_t>(high) + 1);
    }
    co_return std::move(entries);
  }

  asio::awaitable<Result<std::optional<Entry>>> read(std::string dn, std::vector<std::string> attributes) override {
    SearchRequest request{dn, SearchScope::Base, ldap::FilterBuilder::present("objectClass"), std::move(attributes), 1};
    auto found = co_await search(std::move(request));
    if (!found) co_return std::unexpected(found.error());
    if (found->empty()) co_return std::optional<Entry>();
    co_return std::optional<Entry>(std::move(found->front()));
  }

  asio::awaitable<Result<DirectoryKind>> kind() override { co_return DirectoryKind::ActiveDirectory; }

  const std::vector<std::string>& requests() const { return requests_; }

 private:
  test::FakeDirectoryClient& inner_;
  std::size_t max_;
  std::vector<std::string> requests_;
};

class RangedResolverTest : public ::testing::Test {
 protected:
  RangedResolverTest() {
    const std::string servers = test::kServers;
    const std::string mbx1 = "CN=MBX1," + servers;
    store_ = "CN=Store,CN=SG,CN=InformationStore," + mbx1;
    fake_.add(make(mbx1, {{"objectClass", "msExchExchangeServer"}, {"networkAddress", "ncacn_ip_tcp:mbx1.example.com"}}));
    fake_.add(make(store_, {{"objectClass", "msExchPrivateMDB"}, {"msExchOwningServer", mbx1}}));
  }

  static Entry make(std::string dn, std::vector<std::pair<std::string, std::string>> attrs) {
    Entry e;
    e.dn = std::move(dn);
    for (auto& [k, v] : attrs) e.attributes[k].push_back(v);
    return e;
  }

  // A group of `count` mailbox users.
  void add_group(const std::string& mail, int count) {
    Entry group = make("CN=" + mail + ",CN=Users,DC=example,DC=com",
                       {{"objectClass", "group"}, {"mail", mail + "@example.com"}});
    for (int i = 0; i < count; ++i) {
      const std::string dn = "CN=" + mail + std::to_string(i) + ",CN=Users,DC=example,DC=com";
      fake_.add(make(dn, {{"objectClass", "user"}, {"mail", mail + std::to_string(i) + "@example.com"}, {"homeMDB", store_}}));
      group.attributes["member"].push_back(dn);
    }
    fake_.add(std::move(group));
  }

  Resolver resolver(DirectoryClient& client, ResolverOptions options = {}) {
    options.recipient_base_dn = test::kRecipientBase;
    options.config_base_dn = test::kConfigBase;
    return Resolver(client, DomainClassifier(test::sample_metabase()), options);
  }

  test::FakeDirectoryClient fake_;
  std::string store_;
};

TEST_F(RangedResolverTest, GroupLargerThanOneRangeExpandsCompletely) {
  add_group("big", 7);
  RangedDirectory ad(fake_, 3);
  auto r = resolver(ad);
  auto out = run_to_completion(r.resolve({"big@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out) << out.error().message();
  ASSERT_FALSE(out->front().failure);
  std::set<std::string> got;
  for (const auto& d : out->front().deliveries) got.insert(d.address);
  EXPECT_EQ(got.size(), 7u);
  EXPECT_TRUE(got.contains("big0@example.com"));
  EXPECT_TRUE(got.contains("big6@example.com"));
  // the group's address, then ranges 3-* and 6-* on the group, then members, then the store
  EXPECT_EQ(ad.requests(), (std::vector<std::string>{"search", "member;range=3-*", "member;range=6-*", "search", "search"}));
}

TEST_F(RangedResolverTest, GroupWithinOneRangeNeedsNoContinuation) {
  add_group("small", 3);
  RangedDirectory ad(fake_, 3);
  auto r = resolver(ad);
  auto out = run_to_completion(r.resolve({"small@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->front().deliveries.size(), 3u);
  for (const auto& request : ad.requests()) EXPECT_EQ(request, "search");
}

TEST_F(RangedResolverTest, NestedGroupFetchedByDnIsCompletedToo) {
  add_group("inner", 5);
  fake_.add(make("CN=outer,CN=Users,DC=example,DC=com",
                 {{"objectClass", "group"}, {"mail", "outer@example.com"}, {"member", "CN=inner,CN=Users,DC=example,DC=com"}}));
  RangedDirectory ad(fake_, 2);
  auto r = resolver(ad);
  auto out = run_to_completion(r.resolve({"outer@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->front().deliveries.size(), 5u);
}

TEST_F(RangedResolverTest, RangesStopOnceTheGroupIsOverTheExpansionLimit) {
  add_group("huge", 10);
  RangedDirectory ad(fake_, 2);
  ResolverOptions options;
  options.max_expanded_members = 3;
  auto r = resolver(ad, options);
  auto out = run_to_completion(r.resolve({"huge@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->front().failure);
  EXPECT_EQ(out->front().failure->kind, FailureKind::GroupExpansionLimit);
  // The address (values 0-1), then 2-*; with four values the group is over the limit of three.
  EXPECT_EQ(ad.requests(), (std::vector<std::string>{"search", "member;range=2-*"}));
}

TEST_F(RangedResolverTest, ContinuationFailureIsADirectoryErrorNotARecipientFailure) {
  add_group("big", 7);
  RangedDirectory ad(fake_, 3);
  fake_.fail_search(1, DirectoryErrc::Timeout);  // the first range continuation
  auto r = resolver(ad);
  auto out = run_to_completion(r.resolve({"big@example.com"}, {}, 0, Depth::Full));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, make_error_code(DirectoryErrc::Timeout));
}

}  // namespace
}  // namespace gw::categorizer
