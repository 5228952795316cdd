// Resolver and Categorizer behaviour over FakeDirectoryClient: one behaviour per test. The same
// behaviours are exercised against a real slapd in tests/integration/categorizer/.
#include "categorizer/resolver.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <unordered_set>

#include "categorizer/categorizer.h"
#include "gateway/dsn/status_table.h"
#include "tests/support/run_to_completion.h"
#include "tests/unit/categorizer/fake_directory_client.h"
#include "tests/unit/categorizer/test_metabase.h"

namespace gw::categorizer {
namespace {

using gw::test::run_to_completion;

using test::FakeDirectoryClient;

const std::string kServers = test::kServers;
const std::string kMbx1 = "CN=MBX1," + kServers;
const std::string kStore = "CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore," + kMbx1;

Entry make(std::string dn, std::vector<std::pair<std::string, std::string>> attrs) {
  Entry e;
  e.dn = std::move(dn);
  for (auto& [k, v] : attrs) e.attributes[k].push_back(v);
  return e;
}

Entry user(const std::string& cn, const std::string& mail, std::vector<std::pair<std::string, std::string>> more = {}) {
  std::vector<std::pair<std::string, std::string>> attrs{
      {"objectClass", "user"}, {"mail", mail}, {"proxyAddresses", "SMTP:" + mail}, {"homeMDB", kStore}};
  attrs.insert(attrs.end(), more.begin(), more.end());
  return make("CN=" + cn + ",CN=Users,DC=example,DC=com", attrs);
}

std::string dn_of(const std::string& cn) { return "CN=" + cn + ",CN=Users,DC=example,DC=com"; }

Entry group(const std::string& cn, const std::string& mail, const std::vector<std::string>& member_cns,
            std::vector<std::pair<std::string, std::string>> more = {}) {
  std::vector<std::pair<std::string, std::string>> attrs{{"objectClass", "group"}, {"mail", mail},
                                                         {"proxyAddresses", "SMTP:" + mail}};
  for (const auto& m : member_cns) attrs.emplace_back("member", dn_of(m));
  attrs.insert(attrs.end(), more.begin(), more.end());
  return make(dn_of(cn), attrs);
}

class ResolverTest : public ::testing::Test {
 protected:
  ResolverTest() {
    fake_.add(make(kMbx1, {{"objectClass", "msExchExchangeServer"}, {"networkAddress", "ncacn_np:MBX1"},
                           {"networkAddress", "ncacn_ip_tcp:mbx1.example.com"}}));
    fake_.add(make(kStore, {{"objectClass", "msExchPrivateMDB"}, {"msExchOwningServer", kMbx1}}));
    fake_.add(user("Alice", "alice@example.com", {{"proxyAddresses", "smtp:a.anderson@example.com"}}));
    fake_.add(user("Bob", "bob@example.com"));
    fake_.add(user("Carol", "carol@example.com"));
  }

  Resolver resolver(ResolverOptions options = {}) {
    options.recipient_base_dn = test::kRecipientBase;
    options.config_base_dn = test::kConfigBase;
    return Resolver(fake_, DomainClassifier(test::sample_metabase()), options, cache_ptr_);
  }

  RecipientOutcome resolve_one(const std::string& address, const SenderIdentity& sender = {},
                               std::uint64_t size = 0) {
    auto r = resolver();
    auto out = run_to_completion(r.resolve({address}, sender, size, Depth::Full));
    EXPECT_TRUE(out.has_value());
    return out->front();
  }

  SenderIdentity sender(const std::string& address, bool authenticated = false) {
    auto r = resolver();
    auto s = run_to_completion(r.resolve_sender(address, authenticated));
    EXPECT_TRUE(s.has_value());
    return *s;
  }

  FakeDirectoryClient fake_;
  DirectoryCache* cache_ptr_ = nullptr;
};

TEST_F(ResolverTest, MailboxUserResolvesToTheFqdnOfItsHomeServer) {
  auto o = resolve_one("alice@example.com");
  ASSERT_FALSE(o.failure);
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].kind, ResolutionKind::Mailbox);
  EXPECT_EQ(o.deliveries[0].home_server_fqdn, "mbx1.example.com");
  EXPECT_EQ(o.deliveries[0].home_server_dn, kMbx1);
}

TEST_F(ResolverTest, SecondaryProxyAddressAppliesThePrimaryAddress) {
  auto o = resolve_one("A.Anderson@example.com");
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].primary_address, "alice@example.com");
  EXPECT_EQ(o.address, "A.Anderson@example.com");
}

TEST_F(ResolverTest, StoreAndItsServerAreFetchedInOneSearch) {
  resolve_one("alice@example.com");
  EXPECT_EQ(fake_.searches(), 2u);  // the address, then the store with its server
}

TEST_F(ResolverTest, OwningServerOutsideTheStoresTreeCostsOneMoreSearch) {
  const std::string elsewhere = "CN=MBX9," + kServers;
  fake_.add(make(elsewhere, {{"objectClass", "msExchExchangeServer"}, {"networkAddress", "ncacn_ip_tcp:mbx9.example.com"}}));
  const std::string store = "CN=Moved Store,CN=SG,CN=InformationStore," + kMbx1;
  fake_.add(make(store, {{"objectClass", "msExchPrivateMDB"}, {"msExchOwningServer", elsewhere}}));
  fake_.add(make(dn_of("Moved"), {{"objectClass", "user"}, {"mail", "moved@example.com"}, {"homeMDB", store}}));
  auto o = resolve_one("moved@example.com");
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].home_server_fqdn, "mbx9.example.com");
  EXPECT_EQ(fake_.searches(), 3u);
}

TEST_F(ResolverTest, StoreListedInTheMetabaseNeedsNoSearch) {
  ResolverOptions options;
  options.known_stores[normalize_dn(kStore)] = KnownHomeServer{kMbx1, "MBX1.example.com"};
  auto r = resolver(options);
  auto out = run_to_completion(r.resolve({"alice@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->front().deliveries.size(), 1u);
  const auto& d = out->front().deliveries[0];
  EXPECT_EQ(d.home_server_fqdn, "mbx1.example.com");
  EXPECT_EQ(d.home_server_dn, kMbx1);
  EXPECT_EQ(d.home_mdb_dn, kStore);
  EXPECT_EQ(fake_.searches(), 1u);  // the address only
}

TEST_F(ResolverTest, StoreMissingFromTheMetabaseIsStillLookedUp) {
  ResolverOptions options;
  options.known_stores["cn=some other store,cn=sg,cn=informationstore,cn=mbx2"] = KnownHomeServer{"CN=MBX2", "mbx2"};
  auto r = resolver(options);
  auto out = run_to_completion(r.resolve({"alice@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->front().deliveries.size(), 1u);
  EXPECT_EQ(out->front().deliveries[0].home_server_fqdn, "mbx1.example.com");
}

TEST_F(ResolverTest, StoreWithoutOwningServerFallsBackToThreeRdnsUp) {
  FakeDirectoryClient& f = fake_;
  const std::string store = "CN=Store B,CN=SG,CN=InformationStore," + kMbx1;
  f.add(make(store, {{"objectClass", "msExchPrivateMDB"}}));
  f.add(make("CN=Dan,CN=Users,DC=example,DC=com",
             {{"objectClass", "user"}, {"mail", "dan@example.com"}, {"homeMDB", store}}));
  auto o = resolve_one("dan@example.com");
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].home_server_fqdn, "mbx1.example.com");
}

TEST_F(ResolverTest, UnknownRecipientInAuthoritativeDomainFailsUnknownRecipient) {
  auto o = resolve_one("nobody@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::UnknownRecipient);
}

TEST_F(ResolverTest, UnknownRecipientInNonAuthoritativeDomainIsRoutedOnward) {
  auto o = resolve_one("nobody@shared.example.org");
  ASSERT_FALSE(o.failure);
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].kind, ResolutionKind::NonAuthoritative);
}

TEST_F(ResolverTest, RemoteDomainIsNotLookedUp) {
  auto o = resolve_one("someone@elsewhere.test");
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].kind, ResolutionKind::Remote);
  EXPECT_EQ(fake_.searches(), 0u);
}

TEST_F(ResolverTest, DomainEqualToAServerFqdnFails) {
  auto o = resolve_one("alice@mbx1.example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::DomainIsServerFqdn);
}

TEST_F(ResolverTest, TwoObjectsWithTheSameProxyAddressAreAmbiguous) {
  fake_.add(user("Dup", "dup@example.com", {{"proxyAddresses", "smtp:alice@example.com"}}));
  auto o = resolve_one("alice@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::AmbiguousRecipient);
}

TEST_F(ResolverTest, ContactResolvesToItsTargetAddress) {
  fake_.add(make("CN=Pat,CN=Users,DC=example,DC=com", {{"objectClass", "contact"},
                                                       {"proxyAddresses", "smtp:pat@example.com"},
                                                       {"proxyAddresses", "SMTP:pat@partner.example"},
                                                       {"targetAddress", "SMTP:pat@partner.example"}}));
  auto o = resolve_one("pat@example.com");
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].kind, ResolutionKind::Contact);
  EXPECT_EQ(o.deliveries[0].target_address, "pat@partner.example");
}

TEST_F(ResolverTest, ContactWithoutTargetAddressIsACategorizerFailure) {
  fake_.add(make(dn_of("NoTarget"), {{"objectClass", "contact"}, {"mail", "nt@example.com"}}));
  auto o = resolve_one("nt@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::CategorizerFailure);
}

TEST_F(ResolverTest, ContactWithMalformedTargetAddressIsBadSyntax) {
  fake_.add(make(dn_of("BadTarget"), {{"objectClass", "contact"}, {"mail", "bt@example.com"},
                                      {"targetAddress", "SMTP:x@@bad..example"}}));
  auto o = resolve_one("bt@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::BadAddressSyntax);
}

TEST_F(ResolverTest, ContactTargetingItsOwnAddressIsAForwardLoop) {
  fake_.add(make(dn_of("Self"), {{"objectClass", "contact"}, {"mail", "self@example.com"},
                                 {"targetAddress", "SMTP:self@example.com"}}));
  auto o = resolve_one("self@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::ForwardLoop);
}

TEST_F(ResolverTest, MailboxUserWithoutHomeMdbFailsInvalidHomeServer) {
  fake_.add(make(dn_of("NoHome"), {{"objectClass", "user"}, {"mail", "nohome@example.com"}}));
  auto o = resolve_one("nohome@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::InvalidHomeServer);
}

TEST_F(ResolverTest, HomeMdbNamingAMissingStoreFailsInvalidHomeServer) {
  fake_.add(make(dn_of("Lost"), {{"objectClass", "user"}, {"mail", "lost@example.com"},
                                 {"homeMDB", "CN=Gone,CN=SG,CN=InformationStore,CN=GONE," + kServers}}));
  auto o = resolve_one("lost@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::InvalidHomeServer);
}

TEST_F(ResolverTest, ServerWithoutTcpNetworkAddressFailsInvalidHomeServer) {
  const std::string server = "CN=NONET," + kServers;
  const std::string store = "CN=S,CN=SG,CN=InformationStore," + server;
  fake_.add(make(server, {{"objectClass", "msExchExchangeServer"}, {"networkAddress", "netbios:NONET"}}));
  fake_.add(make(store, {{"objectClass", "msExchPrivateMDB"}, {"msExchOwningServer", server}}));
  fake_.add(make(dn_of("Eve"), {{"objectClass", "user"}, {"mail", "eve@example.com"}, {"homeMDB", store}}));
  auto o = resolve_one("eve@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::InvalidHomeServer);
}

TEST_F(ResolverTest, NestedGroupsExpandToEachMemberOnce) {
  fake_.add(group("Inner", "inner@example.com", {"Carol", "Bob"}));
  fake_.add(group("Middle", "middle@example.com", {"Inner", "Carol"}));
  fake_.add(group("Outer", "outer@example.com", {"Middle", "Alice", "Carol"}));
  auto o = resolve_one("outer@example.com");
  ASSERT_FALSE(o.failure);
  EXPECT_TRUE(o.is_group);
  std::multiset<std::string> got;
  for (const auto& d : o.deliveries) got.insert(d.primary_address);
  EXPECT_EQ(got, (std::multiset<std::string>{"alice@example.com", "bob@example.com", "carol@example.com"}));
}

TEST_F(ResolverTest, GroupCycleTerminates) {
  fake_.add(group("LoopA", "loop-a@example.com", {"LoopB"}));
  fake_.add(group("LoopB", "loop-b@example.com", {"LoopA", "Alice"}));
  auto o = resolve_one("loop-a@example.com");
  ASSERT_FALSE(o.failure);
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].primary_address, "alice@example.com");
}

TEST_F(ResolverTest, MemberWhoIsAlsoADirectRecipientGetsOneCopy) {
  fake_.add(group("Team", "team@example.com", {"Alice", "Bob"}));
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"alice@example.com", "team@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)[0].deliveries.size(), 1u);
  ASSERT_EQ((*out)[1].deliveries.size(), 1u);
  EXPECT_EQ((*out)[1].deliveries[0].primary_address, "bob@example.com");
}

TEST_F(ResolverTest, TwoAliasesOfOneMailboxInOneMessageGetOneCopy) {
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"alice@example.com", "a.anderson@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)[0].deliveries.size(), 1u);
  EXPECT_FALSE((*out)[1].failure);
  EXPECT_TRUE((*out)[1].deliveries.empty());
}

TEST_F(ResolverTest, ExpansionBeyondTheMemberLimitFailsTheGroupWithGroupExpansionLimit) {
  fake_.add(group("Big", "big@example.com", {"Alice", "Bob", "Carol"}));
  ResolverOptions options;
  options.max_expanded_members = 2;
  auto r = resolver(options);
  auto out = run_to_completion(r.resolve({"big@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  ASSERT_TRUE((*out)[0].failure);
  EXPECT_EQ((*out)[0].failure->kind, FailureKind::GroupExpansionLimit);
  EXPECT_NE((*out)[0].failure->detail.find("expansion limit"), std::string::npos);
  EXPECT_TRUE((*out)[0].deliveries.empty());
}

TEST_F(ResolverTest, ExpansionDeeperThanTheDepthLimitFailsTheGroupWithGroupExpansionLimit) {
  fake_.add(group("Inner", "inner@example.com", {"Alice"}));
  fake_.add(group("Middle", "middle@example.com", {"Inner"}));
  fake_.add(group("Outer", "outer@example.com", {"Middle"}));
  ResolverOptions options;
  options.max_expansion_depth = 2;
  auto r = resolver(options);
  auto out = run_to_completion(r.resolve({"outer@example.com", "bob@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  ASSERT_TRUE((*out)[0].failure);
  EXPECT_EQ((*out)[0].failure->kind, FailureKind::GroupExpansionLimit);
  EXPECT_NE((*out)[0].failure->detail.find("deeper than 2 levels"), std::string::npos);
  EXPECT_FALSE((*out)[1].failure);  // the other recipient of the message is unaffected
}

TEST_F(ResolverTest, GroupAtExactlyTheMemberLimitExpands) {
  fake_.add(group("Pair", "pair@example.com", {"Alice", "Bob"}));
  ResolverOptions options;
  options.max_expanded_members = 2;
  auto r = resolver(options);
  auto out = run_to_completion(r.resolve({"pair@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  EXPECT_FALSE((*out)[0].failure);
  EXPECT_EQ((*out)[0].deliveries.size(), 2u);
}

TEST_F(ResolverTest, MembersOfOneLevelAreFetchedInOneBatch) {
  fake_.add(group("Team", "team@example.com", {"Alice", "Bob", "Carol"}));
  resolve_one("team@example.com");
  // address lookup, one member batch, the store together with its server
  EXPECT_EQ(fake_.searches(), 3u);
}

TEST_F(ResolverTest, ForwardOnlyAlternateReplacesTheRecipient) {
  fake_.add(user("Henry", "henry@example.com", {{"altRecipient", dn_of("Bob")}, {"deliverAndRedirect", "FALSE"}}));
  auto o = resolve_one("henry@example.com");
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].primary_address, "bob@example.com");
  EXPECT_TRUE(o.deliveries[0].replaces_recipient);
}

TEST_F(ResolverTest, DeliverAndRedirectDeliversToBoth) {
  fake_.add(user("Grace", "grace@example.com", {{"altRecipient", dn_of("Alice")}, {"deliverAndRedirect", "TRUE"}}));
  auto o = resolve_one("grace@example.com");
  ASSERT_EQ(o.deliveries.size(), 2u);
  std::set<std::string> got{o.deliveries[0].primary_address, o.deliveries[1].primary_address};
  EXPECT_EQ(got, (std::set<std::string>{"alice@example.com", "grace@example.com"}));
}

TEST_F(ResolverTest, AlternateRecipientLoopIsAForwardLoop) {
  fake_.add(user("F1", "f1@example.com", {{"altRecipient", dn_of("F2")}}));
  fake_.add(user("F2", "f2@example.com", {{"altRecipient", dn_of("F1")}}));
  auto o = resolve_one("f1@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::ForwardLoop);
}

TEST_F(ResolverTest, AuthOrigAdmitsOnlyListedSenders) {
  fake_.add(group("Exec", "exec@example.com", {"Bob"}, {{"authOrig", dn_of("Alice")}}));
  auto denied = resolve_one("exec@example.com", sender("carol@example.com"));
  ASSERT_TRUE(denied.failure);
  EXPECT_EQ(denied.failure->kind, FailureKind::SenderRestricted);
  EXPECT_FALSE(resolve_one("exec@example.com", sender("alice@example.com")).failure);
}

TEST_F(ResolverTest, UnauthOrigRejectsTheListedSender) {
  fake_.add(user("Quiet", "quiet@example.com", {{"unauthOrig", dn_of("Bob")}}));
  auto o = resolve_one("quiet@example.com", sender("bob@example.com"));
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::SenderRestricted);
  EXPECT_FALSE(resolve_one("quiet@example.com", sender("alice@example.com")).failure);
}

TEST_F(ResolverTest, DlMemSubmitPermsAdmitsMembersOfNestedGroups) {
  fake_.add(group("Inner", "inner@example.com", {"Carol"}));
  fake_.add(group("Outer", "outer@example.com", {"Inner"}));
  fake_.add(user("Boss", "boss@example.com", {{"dLMemSubmitPerms", dn_of("Outer")}}));
  EXPECT_FALSE(resolve_one("boss@example.com", sender("carol@example.com")).failure);
  auto o = resolve_one("boss@example.com", sender("bob@example.com"));
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::SenderRestricted);
}

TEST_F(ResolverTest, SenderGroupsAreLookedUpOnlyWhenARecipientIsRestrictedByGroup) {
  fake_.add(group("Inner", "inner@example.com", {"Carol"}));
  fake_.add(group("Outer", "outer@example.com", {"Inner"}));
  fake_.add(user("Boss", "boss@example.com", {{"dLMemSubmitPerms", dn_of("Outer")}}));
  auto r = resolver();
  auto carol = run_to_completion(r.resolve_sender("carol@example.com", false, SenderGroups::WhenNeeded));
  ASSERT_TRUE(carol);
  EXPECT_FALSE(carol->groups_resolved);
  EXPECT_EQ(fake_.searches(), 1u);  // the sender's address only

  ASSERT_TRUE(run_to_completion(r.resolve({"alice@example.com"}, *carol, 0, Depth::Full)));
  EXPECT_EQ(fake_.searches(), 1u + 2u);  // alice's address, store with server: no group search

  auto boss = run_to_completion(r.resolve({"boss@example.com"}, *carol, 0, Depth::Full));
  ASSERT_TRUE(boss);
  EXPECT_FALSE(boss->front().failure) << boss->front().failure->detail;  // carol is in Outer via Inner
}

TEST_F(ResolverTest, LazilyResolvedSenderGroupsStillRejectOutsiders) {
  fake_.add(group("Outer", "outer@example.com", {"Carol"}));
  fake_.add(user("Boss", "boss@example.com", {{"dLMemSubmitPerms", dn_of("Outer")}}));
  auto r = resolver();
  auto bob = run_to_completion(r.resolve_sender("bob@example.com", false, SenderGroups::WhenNeeded));
  ASSERT_TRUE(bob);
  auto out = run_to_completion(r.resolve({"boss@example.com"}, *bob, 0, Depth::Full));
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->front().failure);
  EXPECT_EQ(out->front().failure->kind, FailureKind::SenderRestricted);
}

TEST_F(ResolverTest, DlMemRejectPermsRejectsMembers) {
  fake_.add(group("Blocked", "blocked@example.com", {"Bob"}));
  fake_.add(user("Shy", "shy@example.com", {{"dLMemRejectPerms", dn_of("Blocked")}}));
  auto o = resolve_one("shy@example.com", sender("bob@example.com"));
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::SenderRestricted);
}

TEST_F(ResolverTest, RequireAuthToSendToRejectsAnonymousSenders) {
  fake_.add(user("Vip", "vip@example.com", {{"msExchRequireAuthToSendTo", "TRUE"}}));
  auto o = resolve_one("vip@example.com", sender("alice@example.com", false));
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::SenderRestricted);
  EXPECT_FALSE(resolve_one("vip@example.com", sender("alice@example.com", true)).failure);
}

TEST_F(ResolverTest, RestrictionOnAMemberFailsOnlyThatMember) {
  fake_.add(user("Vip", "vip@example.com", {{"msExchRequireAuthToSendTo", "TRUE"}}));
  fake_.add(group("Team", "team@example.com", {"Vip", "Bob"}));
  auto o = resolve_one("team@example.com");
  ASSERT_FALSE(o.failure);
  ASSERT_EQ(o.deliveries.size(), 1u);
  ASSERT_EQ(o.member_failures.size(), 1u);
  EXPECT_EQ(o.member_failures[0].address, "vip@example.com");
  EXPECT_EQ(o.member_failures[0].failure.kind, FailureKind::SenderRestricted);
}

TEST_F(ResolverTest, MessageLargerThanDelivContLengthFails) {
  fake_.add(user("Tiny", "tiny@example.com", {{"delivContLength", "1"}}));
  auto o = resolve_one("tiny@example.com", {}, 2048);
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::MessageTooLargeForRecipient);
  EXPECT_FALSE(resolve_one("tiny@example.com", {}, 1024).failure);
}

TEST_F(ResolverTest, SenderWithMalformedMailFailsEveryRecipient) {
  fake_.add(make(dn_of("BadMail"), {{"objectClass", "user"}, {"mail", "badmail@@example"},
                                    {"proxyAddresses", "SMTP:badmail@example.com"}, {"homeMDB", kStore}}));
  auto s = sender("badmail@example.com");
  ASSERT_TRUE(s.failure);
  auto o = resolve_one("alice@example.com", s);
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::BadSenderAddress);
}

TEST_F(ResolverTest, SenderRecipientLimitFailsTheMessage) {
  fake_.add(user("Limited", "limited@example.com", {{"msExchRecipLimit", "2"}}));
  auto s = sender("limited@example.com");
  EXPECT_EQ(s.recipient_limit, 2u);
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"alice@example.com", "bob@example.com", "carol@example.com"}, s, 0, Depth::Full));
  ASSERT_TRUE(out);
  for (const auto& o : *out) {
    ASSERT_TRUE(o.failure);
    EXPECT_EQ(o.failure->kind, FailureKind::TooManyRecipients);
  }
}

TEST_F(ResolverTest, BatchOfAddressesUsesOneSearchPerBatchSize) {
  std::vector<std::string> addresses;
  for (int i = 0; i < 100; ++i) {
    fake_.add(user("U" + std::to_string(i), "u" + std::to_string(i) + "@example.com"));
    addresses.push_back("u" + std::to_string(i) + "@example.com");
  }
  ResolverOptions options;
  options.batch_size = 25;
  auto r = resolver(options);
  auto out = run_to_completion(r.resolve(addresses, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  for (const auto& o : *out) EXPECT_EQ(o.deliveries.size(), 1u) << o.address;
  EXPECT_EQ(r.stats().batches, 4u + 1u);  // 4 address batches, the store with its server
  EXPECT_EQ(r.stats().largest_batch, 25u);
}

TEST_F(ResolverTest, CachedAnswersNeedNoSearch) {
  DirectoryCache cache({});
  cache_ptr_ = &cache;
  auto r = resolver();
  ASSERT_TRUE(run_to_completion(r.resolve({"alice@example.com", "nobody@example.com"}, {}, 0, Depth::Full)));
  const auto before = fake_.searches();
  auto again = run_to_completion(r.resolve({"alice@example.com", "nobody@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(again);
  EXPECT_EQ(fake_.searches(), before);
  EXPECT_EQ((*again)[1].failure->kind, FailureKind::UnknownRecipient);
  EXPECT_GE(r.stats().cache_hits, 4u);
}

TEST_F(ResolverTest, DirectoryErrorIsReturnedNotTurnedIntoAFailure) {
  fake_.fail_all(DirectoryErrc::Timeout);
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"alice@example.com"}, {}, 0, Depth::Full));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, make_error_code(DirectoryErrc::Timeout));
}

TEST_F(ResolverTest, FailureDuringGroupExpansionIsReturnedAsAnError) {
  fake_.add(group("Team", "team@example.com", {"Alice"}));
  fake_.fail_search(1, DirectoryErrc::Unavailable);  // the member fetch after the address lookup
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"team@example.com"}, {}, 0, Depth::Full));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, make_error_code(DirectoryErrc::Unavailable));
}

// --- Nothing vanishes: every group ends delivered to someone or reported -------------------------

TEST_F(ResolverTest, GroupWithoutMembersFailsNamingTheGroup) {
  fake_.add(group("Nobody", "nobody-list@example.com", {}));
  auto o = resolve_one("nobody-list@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::GroupWithoutRecipients);
  EXPECT_NE(o.failure->detail.find(dn_of("Nobody")), std::string::npos) << o.failure->detail;
  EXPECT_TRUE(o.deliveries.empty());
}

TEST_F(ResolverTest, GroupOfMembersWithoutMailAttributesFails) {
  fake_.add(make(dn_of("Plain"), {{"objectClass", "user"}}));
  fake_.add(group("Quiet", "quiet@example.com", {"Plain"}));
  auto o = resolve_one("quiet@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::GroupWithoutRecipients);
  EXPECT_NE(o.failure->detail.find("1 without mail attributes"), std::string::npos) << o.failure->detail;
}

TEST_F(ResolverTest, GroupWhoseEveryMemberFailsIsReportedWithItsMembers) {
  fake_.add(user("Locked", "locked@example.com", {{"msExchRequireAuthToSendTo", "TRUE"}}));
  fake_.add(group("Guarded", "guarded@example.com", {"Locked"}));
  auto o = resolve_one("guarded@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::GroupWithoutRecipients);
  ASSERT_EQ(o.member_failures.size(), 1u);
  EXPECT_EQ(o.member_failures[0].address, "locked@example.com");
  EXPECT_EQ(o.member_failures[0].failure.kind, FailureKind::SenderRestricted);
}

TEST_F(ResolverTest, GroupWhoseMembersReceiveThroughAnotherRecipientIsNoFailure) {
  fake_.add(group("Pair", "pair@example.com", {"Alice", "Bob"}));
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"alice@example.com", "bob@example.com", "pair@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  EXPECT_FALSE((*out)[2].failure);
  EXPECT_TRUE((*out)[2].is_group);
  EXPECT_TRUE((*out)[2].deliveries.empty());  // both copies go with the direct recipients
}

TEST_F(ResolverTest, GroupWhoseOnlyMemberIsAFailedDirectRecipientFails) {
  fake_.add(user("Locked", "locked@example.com", {{"msExchRequireAuthToSendTo", "TRUE"}}));
  fake_.add(group("Guarded", "guarded@example.com", {"Locked"}));
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"locked@example.com", "guarded@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  ASSERT_TRUE((*out)[0].failure);
  ASSERT_TRUE((*out)[1].failure);
  EXPECT_EQ((*out)[1].failure->kind, FailureKind::GroupWithoutRecipients);
}

TEST_F(ResolverTest, GroupContainingOnlyAnEmptyGroupFails) {
  fake_.add(group("Hollow", "hollow@example.com", {}));
  fake_.add(group("Shell", "shell@example.com", {"Hollow"}));
  auto o = resolve_one("shell@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::GroupWithoutRecipients);
}

TEST_F(ResolverTest, EmptyNestedGroupBesideARealMemberIsNoFailure) {
  fake_.add(group("Hollow", "hollow@example.com", {}));
  fake_.add(group("Mixed", "mixed@example.com", {"Hollow", "Alice"}));
  auto o = resolve_one("mixed@example.com");
  ASSERT_FALSE(o.failure);
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].primary_address, "alice@example.com");
}

TEST_F(ResolverTest, ForwardToAGroupWithoutMembersFails) {
  fake_.add(group("Hollow", "hollow@example.com", {}));
  fake_.add(user("Ivan", "ivan@example.com", {{"altRecipient", dn_of("Hollow")}, {"deliverAndRedirect", "FALSE"}}));
  auto o = resolve_one("ivan@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::GroupWithoutRecipients);
}

TEST_F(ResolverTest, MemberTheDirectoryDoesNotKnowIsReportedBesideItsGroup) {
  Entry team = group("Team", "team@example.com", {"Alice"});
  team.attributes["member"].push_back(dn_of("Ghost"));
  fake_.add(team);
  auto o = resolve_one("team@example.com");
  ASSERT_FALSE(o.failure);
  ASSERT_EQ(o.deliveries.size(), 1u);
  ASSERT_EQ(o.member_failures.size(), 1u);
  EXPECT_EQ(o.member_failures[0].failure.kind, FailureKind::CategorizerFailure);
  EXPECT_EQ(normalize_dn(o.member_failures[0].object_dn), normalize_dn(dn_of("Ghost")));
  EXPECT_NE(o.member_failures[0].failure.detail.find("does not exist"), std::string::npos);
}

TEST_F(ResolverTest, GroupOfOnlyUnknownMembersFailsAndReportsThem) {
  fake_.add(make(dn_of("Phantoms"), {{"objectClass", "group"}, {"mail", "phantoms@example.com"},
                                     {"member", dn_of("Ghost1")}}));
  auto o = resolve_one("phantoms@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::GroupWithoutRecipients);
  EXPECT_EQ(o.member_failures.size(), 1u);
}

TEST_F(ResolverTest, MembersADnFilterMissesAreReadOneByOne) {
  // Active Directory answers a filter on entryDN with zero entries and no error.
  fake_.ignore_attribute("entryDN");
  fake_.add(group("Team", "team@example.com", {"Alice", "Bob", "Carol"}));
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"team@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out) << out.error().message();
  ASSERT_FALSE(out->front().failure);
  EXPECT_EQ(out->front().deliveries.size(), 3u);
  EXPECT_EQ(r.stats().dn_reads, 5u);  // three members, the store and its server
}

TEST_F(ResolverTest, MemberThatCannotBeReadIsADirectoryErrorNotAnEmptyGroup) {
  fake_.add(group("Team", "team@example.com", {"Alice"}));
  fake_.hide(dn_of("Alice"));  // searches skip it, a read brings neither the entry nor noSuchObject
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"team@example.com"}, {}, 0, Depth::Full));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, make_error_code(DirectoryErrc::Protocol));
}

TEST_F(ResolverTest, FailedMemberReadIsADirectoryError) {
  fake_.ignore_attribute("entryDN");
  fake_.add(group("Team", "team@example.com", {"Alice"}));
  fake_.fail_search(2, DirectoryErrc::Timeout);  // address, member batch, then the read of Alice
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"team@example.com"}, {}, 0, Depth::Full));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, make_error_code(DirectoryErrc::Timeout));
}

TEST_F(ResolverTest, ActiveDirectoryFetchesByDistinguishedNameWithoutReads) {
  fake_.set_kind(DirectoryKind::ActiveDirectory);
  fake_.ignore_attribute("entryDN");
  fake_.add(group("Team", "team@example.com", {"Alice", "Bob"}));
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"team@example.com"}, {}, 0, Depth::Full));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->front().deliveries.size(), 2u);
  EXPECT_EQ(r.stats().dn_reads, 0u);
  EXPECT_NE(fake_.filters()[1].find("(distinguishedName="), std::string::npos) << fake_.filters()[1];
}

TEST_F(ResolverTest, ComputerIsNeverFoundByAddress) {
  fake_.add(make("CN=WS1,CN=Computers,DC=example,DC=com",
                 {{"objectClass", "user"}, {"objectClass", "computer"}, {"mail", "ws1@example.com"}}));
  auto o = resolve_one("ws1@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::UnknownRecipient);
}

TEST_F(ResolverTest, ComputerMemberReceivesNothingAndLeavesTheGroupEmpty) {
  Entry ws = make("CN=WS1,CN=Computers,DC=example,DC=com",
                  {{"objectClass", "user"}, {"objectClass", "computer"}, {"mail", "ws1@example.com"}, {"homeMDB", kStore}});
  fake_.add(ws);
  fake_.add(make(dn_of("Machines"), {{"objectClass", "group"}, {"mail", "machines@example.com"}, {"member", ws.dn}}));
  auto o = resolve_one("machines@example.com");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, FailureKind::GroupWithoutRecipients);
}

TEST_F(ResolverTest, GroupWithoutMembersIsRefusedAtRcptTime) {
  fake_.add(group("Nobody", "nobody-list@example.com", {}));
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"nobody-list@example.com"}, {}, 0, Depth::Shallow));
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->front().failure);
  EXPECT_EQ(out->front().failure->kind, FailureKind::GroupWithoutRecipients);
}

// --- Categorizer: RCPT verdicts and envelope stamping -------------------------------------------

class CategorizerTest : public ResolverTest {
 protected:
  Categorizer categorizer() {
    return Categorizer(fake_, test::sample_metabase());
  }
};

TEST_F(CategorizerTest, RcptForKnownUserIsAccepted) {
  auto c = categorizer();
  auto v = run_to_completion(c.check_recipient("alice@example.com", {}));
  EXPECT_TRUE(std::holds_alternative<Accept>(v));
}

TEST_F(CategorizerTest, RcptForUnknownUserInAuthoritativeDomainIsRejected) {
  auto c = categorizer();
  auto v = run_to_completion(c.check_recipient("nobody@example.com", {}));
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  const auto& row = dsn::status_of(std::get<Reject>(v).kind);
  EXPECT_EQ(row.reply_code, 550);
  EXPECT_EQ(row.status.str(), "5.1.1");
}

// --- Forward unresolved recipients to host (gwSmtpForwardUnresolvedToHost) ----------------------

class ForwardUnresolvedTest : public ResolverTest {
 protected:
  // Virtual server "1" forwards unresolved recipients; "2" does not.
  Categorizer categorizer() {
    auto mb = test::sample_metabase();
    auto* forwarding = mb.add_virtual_servers();
    forwarding->set_id("1");
    forwarding->mutable_messages()->set_forward_unresolved_to_host("unresolved.example.com");
    mb.add_virtual_servers()->set_id("2");
    return Categorizer(fake_, mb);
  }
};

TEST_F(ForwardUnresolvedTest, OptionsListOnlyVirtualServersWithAForwardHost) {
  auto mb = test::sample_metabase();
  auto* forwarding = mb.add_virtual_servers();
  forwarding->set_id("1");
  forwarding->mutable_messages()->set_forward_unresolved_to_host("unresolved.example.com");
  mb.add_virtual_servers()->set_id("2");
  EXPECT_EQ(CategorizerOptions::from_metabase(mb).forward_unresolved_virtual_servers,
            (std::unordered_set<std::string>{"1"}));
}

TEST_F(ForwardUnresolvedTest, ResolverForwardPolicyTurnsUnknownAuthoritativeAddressIntoRemote) {
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"nobody@example.com"}, {}, 0, Depth::Full, UnresolvedPolicy::Forward));
  ASSERT_TRUE(out);
  const auto& o = out->front();
  ASSERT_FALSE(o.failure);
  ASSERT_EQ(o.deliveries.size(), 1u);
  EXPECT_EQ(o.deliveries[0].kind, ResolutionKind::Remote);
  EXPECT_TRUE(o.deliveries[0].forwarded_unresolved);
  EXPECT_TRUE(o.deliveries[0].replaces_recipient);
  EXPECT_EQ(o.deliveries[0].address, "nobody@example.com");
}

TEST_F(ForwardUnresolvedTest, ForwardPolicyLeavesUnknownNonAuthoritativeAddressesNonAuthoritative) {
  auto r = resolver();
  auto out = run_to_completion(r.resolve({"stranger@shared.example.org"}, {}, 0, Depth::Full, UnresolvedPolicy::Forward));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->front().deliveries.size(), 1u);
  EXPECT_EQ(out->front().deliveries[0].kind, ResolutionKind::NonAuthoritative);
  EXPECT_FALSE(out->front().deliveries[0].forwarded_unresolved);
}

TEST_F(ForwardUnresolvedTest, RcptForUnknownUserIsAcceptedOnTheForwardingVirtualServer) {
  auto c = categorizer();
  auto v = run_to_completion(c.check_recipient("nobody@example.com", {}, 0, 0, "1"));
  EXPECT_TRUE(std::holds_alternative<Accept>(v));
}

TEST_F(ForwardUnresolvedTest, RcptForUnknownUserIsRejected550511OnAnotherVirtualServer) {
  auto c = categorizer();
  auto v = run_to_completion(c.check_recipient("nobody@example.com", {}, 0, 0, "2"));
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  const auto& row = dsn::status_of(std::get<Reject>(v).kind);
  EXPECT_EQ(row.reply_code, 550);
  EXPECT_EQ(row.status.str(), "5.1.1");
}

TEST_F(ForwardUnresolvedTest, CategorizeStampsUnknownUserRemoteWithoutObjectOrPrimaryAddress) {
  auto c = categorizer();
  envelope::Envelope env;
  env.set_virtual_server_id("1");
  env.add_recipients()->set_address("nobody@example.com");
  env.add_recipients()->set_address("alice@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  const auto& r = env.recipients(0);
  EXPECT_EQ(r.state(), envelope::RESOLVED);
  EXPECT_EQ(r.resolution().kind(), envelope::Resolution::REMOTE);
  EXPECT_TRUE(r.resolution().object_dn().empty());
  EXPECT_TRUE(r.resolution().primary_address().empty());
  EXPECT_TRUE(r.status().empty());
  EXPECT_EQ(r.address(), "nobody@example.com");
  EXPECT_EQ(env.recipients(1).resolution().kind(), envelope::Resolution::MAILBOX);
}

TEST_F(ForwardUnresolvedTest, CategorizeFailsUnknownUser511WhenTheMessageCameThroughAnotherVirtualServer) {
  auto c = categorizer();
  envelope::Envelope env;
  env.set_virtual_server_id("2");
  env.add_recipients()->set_address("nobody@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  EXPECT_EQ(env.recipients(0).state(), envelope::FAILED);
  EXPECT_EQ(env.recipients(0).status(), "5.1.1");
}

TEST_F(CategorizerTest, RcptWithLazySenderGroupsSearchesGroupsOnlyForAGroupRestrictedRecipient) {
  fake_.add(group("Inner", "inner@example.com", {"Carol"}));
  fake_.add(group("Outer", "outer@example.com", {"Inner"}));
  fake_.add(user("Boss", "boss@example.com", {{"dLMemSubmitPerms", dn_of("Outer")}}));
  auto c = categorizer();
  auto carol = run_to_completion(c.resolve_sender("carol@example.com", false, SenderGroups::WhenNeeded));
  ASSERT_TRUE(carol);
  EXPECT_TRUE(std::holds_alternative<Accept>(run_to_completion(c.check_recipient("alice@example.com", *carol))));
  EXPECT_EQ(fake_.searches(), 2u);  // carol's address, alice's address
  EXPECT_TRUE(std::holds_alternative<Accept>(run_to_completion(c.check_recipient("boss@example.com", *carol))));
  auto bob = run_to_completion(c.resolve_sender("bob@example.com", false, SenderGroups::WhenNeeded));
  ASSERT_TRUE(bob);
  auto refused = run_to_completion(c.check_recipient("boss@example.com", *bob));
  ASSERT_TRUE(std::holds_alternative<Reject>(refused));
  EXPECT_EQ(dsn::status_of(std::get<Reject>(refused).kind).status.str(), "5.7.1");
}

TEST_F(CategorizerTest, RcptDuringDirectoryOutageIsTryLater) {
  fake_.fail_all(DirectoryErrc::Unavailable);
  auto c = categorizer();
  auto v = run_to_completion(c.check_recipient("alice@example.com", {}));
  EXPECT_TRUE(std::holds_alternative<TryLater>(v));
}

TEST_F(CategorizerTest, RcptBeyondTheSenderLimitIsRejected) {
  auto c = categorizer();
  SenderIdentity s;
  s.recipient_limit = 2;
  auto v = run_to_completion(c.check_recipient("alice@example.com", s, 2));
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  EXPECT_EQ(dsn::status_of(std::get<Reject>(v).kind).status.str(), "5.5.3");
}

TEST_F(CategorizerTest, CategorizeStampsResolutionAndKeepsTheOriginalAddress) {
  auto c = categorizer();
  envelope::Envelope env;
  env.set_sender("bob@example.com");
  env.add_recipients()->set_address("A.Anderson@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  const auto& r = env.recipients(0);
  EXPECT_EQ(r.address(), "A.Anderson@example.com");
  EXPECT_EQ(r.state(), envelope::RESOLVED);
  EXPECT_EQ(r.resolution().kind(), envelope::Resolution::MAILBOX);
  EXPECT_EQ(r.resolution().primary_address(), "alice@example.com");
  EXPECT_EQ(r.resolution().home_server_fqdn(), "mbx1.example.com");
}

TEST_F(CategorizerTest, CategorizeExpandsAGroupIntoAppendedRecipients) {
  fake_.add(group("Team", "team@example.com", {"Alice", "Bob"}));
  auto c = categorizer();
  envelope::Envelope env;
  env.add_recipients()->set_address("team@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  ASSERT_EQ(env.recipients_size(), 3);
  EXPECT_EQ(env.recipients(0).state(), envelope::EXPANDED);
  EXPECT_EQ(env.recipients(0).resolution().kind(), envelope::Resolution::GROUP);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(env.recipients(i).state(), envelope::RESOLVED);
    EXPECT_EQ(env.recipients(i).resolution().expanded_from_dn(), dn_of("Team"));
  }
}

TEST_F(CategorizerTest, CategorizeStampsFailureCodesFromTheStatusTable) {
  auto c = categorizer();
  envelope::Envelope env;
  env.add_recipients()->set_address("nobody@example.com");
  env.add_recipients()->set_address("alice@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  EXPECT_EQ(env.recipients(0).state(), envelope::FAILED);
  EXPECT_EQ(env.recipients(0).status(), "5.1.1");
  EXPECT_EQ(env.recipients(0).reply_code(), 550u);
  EXPECT_EQ(env.recipients(1).state(), envelope::RESOLVED);
}

TEST_F(CategorizerTest, CategorizeStampsAnOverLargeGroup550524) {
  fake_.add(group("Big", "big@example.com", {"Alice", "Bob", "Carol"}));
  auto options = CategorizerOptions::from_metabase(test::sample_metabase());
  options.resolver.max_expanded_members = 2;
  Categorizer c(fake_, test::sample_metabase(), options);
  envelope::Envelope env;
  env.add_recipients()->set_address("big@example.com");
  env.add_recipients()->set_address("bob@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  ASSERT_EQ(env.recipients_size(), 2);  // no members appended
  EXPECT_EQ(env.recipients(0).state(), envelope::FAILED);
  EXPECT_EQ(env.recipients(0).status(), "5.2.4");
  EXPECT_EQ(env.recipients(0).reply_code(), 550u);
  EXPECT_NE(env.recipients(0).diagnostic().find("expansion limit of 2 members exceeded"), std::string::npos)
      << env.recipients(0).diagnostic();
  EXPECT_EQ(env.recipients(1).state(), envelope::RESOLVED);
}

TEST_F(CategorizerTest, CategorizeFailsAGroupThatReachesNobody550524) {
  fake_.add(user("Locked", "locked@example.com", {{"msExchRequireAuthToSendTo", "TRUE"}}));
  fake_.add(group("Guarded", "guarded@example.com", {"Locked"}));
  auto c = categorizer();
  envelope::Envelope env;
  env.set_sender("someone@elsewhere.example");
  env.add_recipients()->set_address("guarded@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  ASSERT_EQ(env.recipients_size(), 2);
  EXPECT_EQ(env.recipients(0).state(), envelope::FAILED);
  EXPECT_EQ(env.recipients(0).status(), "5.2.4");
  EXPECT_EQ(env.recipients(0).reply_code(), 550u);
  EXPECT_NE(env.recipients(0).diagnostic().find(dn_of("Guarded")), std::string::npos) << env.recipients(0).diagnostic();
  // The member's own failure is reported beside it, and names the group as its original recipient.
  EXPECT_EQ(env.recipients(1).address(), "locked@example.com");
  EXPECT_EQ(env.recipients(1).state(), envelope::FAILED);
  EXPECT_EQ(env.recipients(1).status(), "5.7.1");
  EXPECT_EQ(env.recipients(1).orcpt(), "rfc822;guarded@example.com");
}

TEST_F(CategorizerTest, ExpandedMembersCarryTheGroupAsOriginalRecipient) {
  fake_.add(group("Team", "team@example.com", {"Alice"}));
  auto c = categorizer();
  envelope::Envelope env;
  auto* r = env.add_recipients();
  r->set_address("team@example.com");
  r->mutable_notify()->set_failure(true);
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  ASSERT_EQ(env.recipients_size(), 2);
  EXPECT_EQ(env.recipients(1).orcpt(), "rfc822;team@example.com");
  EXPECT_TRUE(env.recipients(1).notify().failure());
}

TEST_F(CategorizerTest, RcptForAGroupWithoutMembersIsRejected550524) {
  fake_.add(group("Nobody", "nobody-list@example.com", {}));
  auto c = categorizer();
  auto v = run_to_completion(c.check_recipient("nobody-list@example.com", {}));
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  const auto& row = dsn::status_of(std::get<Reject>(v).kind);
  EXPECT_EQ(row.reply_code, 550);
  EXPECT_EQ(row.status.str(), "5.2.4");
}

TEST_F(CategorizerTest, SenderAndRecipientsOfAMessageShareOneAddressSearch) {
  auto c = categorizer();
  envelope::Envelope env;
  env.set_sender("carol@example.com");
  env.add_recipients()->set_address("alice@example.com");
  env.add_recipients()->set_address("bob@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  EXPECT_EQ(env.recipients(1).state(), envelope::RESOLVED);
  EXPECT_EQ(fake_.searches(), 2u);  // every address at once, then the store with its server
}

TEST_F(CategorizerTest, CategorizeTakesHomeServersOfListedStoresFromTheMetabase) {
  auto mb = test::sample_metabase();
  auto* mbx1 = mb.mutable_mailbox_servers(0);
  mbx1->set_dn(kMbx1);
  mbx1->add_store_dns(kStore);
  Categorizer c(fake_, mb);
  envelope::Envelope env;
  env.add_recipients()->set_address("alice@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  const auto& res = env.recipients(0).resolution();
  EXPECT_EQ(res.home_server_fqdn(), "mbx1.example.com");
  EXPECT_EQ(res.home_server_dn(), kMbx1);
  EXPECT_EQ(res.home_mdb_dn(), kStore);
  EXPECT_EQ(fake_.searches(), 1u);
}

TEST_F(CategorizerTest, CategorizeLeavesTheEnvelopeUntouchedOnOutage) {
  auto c = categorizer();
  envelope::Envelope env;
  env.add_recipients()->set_address("alice@example.com");
  const std::string before = env.SerializeAsString();
  fake_.fail_search(0, DirectoryErrc::Timeout);
  fake_.fail_search(1, DirectoryErrc::Timeout);
  fake_.fail_search(2, DirectoryErrc::Timeout);
  EXPECT_FALSE(run_to_completion(c.categorize(env)));
  EXPECT_EQ(env.SerializeAsString(), before);
}

TEST_F(CategorizerTest, CategorizeOnlyTouchesPendingRecipients) {
  auto c = categorizer();
  envelope::Envelope env;
  auto* done = env.add_recipients();
  done->set_address("nobody@example.com");
  done->set_state(envelope::DELIVERED);
  env.add_recipients()->set_address("bob@example.com");
  ASSERT_TRUE(run_to_completion(c.categorize(env)));
  EXPECT_EQ(env.recipients(0).state(), envelope::DELIVERED);
  EXPECT_EQ(env.recipients(1).state(), envelope::RESOLVED);
}

}  // namespace
}  // namespace gw::categorizer
