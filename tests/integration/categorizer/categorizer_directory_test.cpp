// The categorizer against a real directory with the sample organization (directory-schema/sample),
// run once against OpenLDAP and once against a Samba AD DC (gw_discover_directory_tests): one
// case per NDR code, group expansion (ranged on AD), nothing vanishing, computers, LDAP injection,
// batching, outage and failover.
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <set>
#include <string>

#include "categorizer/categorizer.h"
#include "categorizer/ldap/ldap_directory_client.h"
#include "gateway/dsn/status_table.h"
#include "tests/integration/categorizer/stopped.h"
#include "tests/integration/fixtures/directory.h"
#include "tests/support/ignore_sigpipe.h"
#include "tests/support/run_to_completion.h"
#include "tests/unit/categorizer/test_metabase.h"

namespace gw::categorizer {
namespace {

using gw::test::run_to_completion;

using namespace std::chrono_literals;

// Generous deadlines by default (a loaded CI machine must not turn into a false TryLater); the
// outage tests shorten the search deadline so the hung-server path is quick.
ldap::LdapClientOptions client_options(const std::vector<std::string>& uris, const gw::test::Directory& directory,
                                       std::chrono::milliseconds search_timeout = 5000ms) {
  ldap::LdapClientOptions o;
  o.uris = uris;
  o.bind_dn = directory.service_dn();
  o.bind_password = directory.service_password();
  o.connect_timeout = 3000ms;
  o.search_timeout = search_timeout;
  o.backoff_initial = 50ms;
  o.backoff_max = 200ms;
  return o;
}

CategorizerOptions categorizer_options(bool cache) {
  auto options = CategorizerOptions::from_metabase(test::sample_metabase());
  options.use_cache = cache;
  return options;
}

// LDIF for `count` mailbox users below OU=<ou>, addresses <prefix><i>@example.com.
std::string users_ldif(const std::string& ou, const std::string& prefix, int count) {
  const std::string store =
      "CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore,CN=MBX1," + std::string(test::kServers);
  std::string ldif = "dn: OU=" + ou + ",DC=example,DC=com\nobjectClass: top\nobjectClass: organizationalUnit\nou: " + ou + "\n\n";
  for (int i = 0; i < count; ++i) {
    const std::string name = prefix + std::to_string(i);
    ldif += "dn: CN=" + name + ",OU=" + ou + ",DC=example,DC=com\n"
            "objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n"
            "cn: " + name + "\nsn: " + name + "\nmail: " + name + "@example.com\nproxyAddresses: SMTP:" + name +
            "@example.com\nhomeMDB: " + store + "\n\n";
  }
  return ldif;
}

// LDIF for `count` contacts below OU=<ou>, addresses <prefix><i>@example.com, each forwarding to
// <prefix><i>@partner.example. A contact is the cheapest mail-enabled object for a DC to create.
std::string contacts_ldif(const std::string& ou, const std::string& prefix, int count) {
  std::string ldif = "dn: OU=" + ou + ",DC=example,DC=com\nobjectClass: top\nobjectClass: organizationalUnit\nou: " + ou + "\n\n";
  for (int i = 0; i < count; ++i) {
    const std::string name = prefix + std::to_string(i);
    ldif += "dn: CN=" + name + ",OU=" + ou + ",DC=example,DC=com\n"
            "objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: contact\n"
            "cn: " + name + "\nsn: " + name + "\nmail: " + name + "@example.com\ntargetAddress: SMTP:" + name +
            "@partner.example\n\n";
  }
  return ldif;
}

class CategorizerDirectoryTest : public ::testing::Test {
 protected:
  CategorizerDirectoryTest()
      : client_(io_.get_executor(), client_options({directory_.uri()}, directory_)),
        categorizer_(client_, test::sample_metabase(), categorizer_options(true)) {}

  envelope::Envelope message(const std::string& sender, const std::vector<std::string>& rcpts, bool auth = false,
                             std::uint64_t size = 100) {
    envelope::Envelope env;
    env.set_queue_id("T1");
    env.set_sender(sender);
    if (auth) env.set_auth_identity(sender);
    env.set_body_size(size);
    for (const auto& r : rcpts) env.add_recipients()->set_address(r);
    return env;
  }

  void categorize(envelope::Envelope& env) {
    auto done = run_to_completion(io_, categorizer_.categorize(env));
    ASSERT_TRUE(done) << done.error().message();
  }

  static void expect_mailbox(const envelope::Recipient& r, const std::string& fqdn) {
    EXPECT_EQ(r.state(), envelope::RESOLVED) << r.address() << ": " << r.diagnostic();
    EXPECT_EQ(r.resolution().kind(), envelope::Resolution::MAILBOX) << r.address();
    EXPECT_EQ(r.resolution().home_server_fqdn(), fqdn) << r.address();
  }

  gw::test::Directory directory_;
  asio::io_context io_;
  ldap::LdapDirectoryClient client_;
  Categorizer categorizer_;
};

// --- One case per NDR code; the other recipients of the same message are unaffected ------------

struct NdrCase {
  const char* name;
  const char* recipient;
  const char* sender;
  bool authenticated;
  std::uint64_t size;
  const char* want_status;
  unsigned want_code;
};

class NdrTableTest : public CategorizerDirectoryTest, public ::testing::WithParamInterface<NdrCase> {};

TEST_P(NdrTableTest, FailsOnlyTheBrokenRecipientWithItsExactCode) {
  const NdrCase& c = GetParam();
  auto env = message(c.sender, {"alice@example.com", c.recipient, "bob@example.com"}, c.authenticated, c.size);
  categorize(env);
  const auto& failed = env.recipients(1);
  EXPECT_EQ(failed.state(), envelope::FAILED) << "got " << failed.status() << " want " << c.want_status;
  EXPECT_EQ(failed.status(), c.want_status) << failed.diagnostic();
  EXPECT_EQ(failed.reply_code(), c.want_code);
  expect_mailbox(env.recipients(0), "mbx1.example.com");
  expect_mailbox(env.recipients(2), "bh1.example.com");
}

INSTANTIATE_TEST_SUITE_P(
    SampleOrganization, NdrTableTest,
    ::testing::Values(
        NdrCase{"UnknownInAuthoritativeDomain", "nobody@example.com", "carol@example.com", false, 100, "5.1.1", 550},
        NdrCase{"ContactWithoutTargetAddress", "no-target@example.com", "carol@example.com", false, 100, "5.1.0", 550},
        NdrCase{"ContactWithMalformedTargetAddress", "bad-target@example.com", "carol@example.com", false, 100, "5.1.3", 553},
        NdrCase{"AmbiguousProxyAddress", "ambiguous@example.com", "carol@example.com", false, 100, "5.1.4", 550},
        NdrCase{"MailboxWithoutHomeMdb", "nohome@example.com", "carol@example.com", false, 100, "5.1.6", 550},
        NdrCase{"HomeMdbOfAMissingServer", "loststore@example.com", "carol@example.com", false, 100, "5.1.6", 550},
        NdrCase{"MessageOverDelivContLength", "tiny@example.com", "carol@example.com", false, 4096, "5.2.3", 552},
        NdrCase{"AltRecipientLoop", "fwd-one@example.com", "carol@example.com", false, 100, "5.4.6", 554},
        NdrCase{"DomainIsAServerFqdn", "alice@mbx1.example.com", "carol@example.com", false, 100, "5.4.8", 554},
        NdrCase{"RestrictedGroupAnonymousSender", "executives@example.com", "alice@example.com", false, 100, "5.7.1", 550},
        NdrCase{"RestrictedGroupUnlistedSender", "executives@example.com", "erin@example.com", true, 100, "5.7.1", 550}),
    [](const ::testing::TestParamInfo<NdrCase>& info) { return std::string(info.param.name); });

TEST_F(CategorizerDirectoryTest, RestrictedGroupAdmitsAMemberOfItsSubmitGroup) {
  // Executives: dLMemSubmitPerms Engineering; Carol is in Engineering (directly and via Platform).
  auto env = message("carol@example.com", {"executives@example.com"}, true);
  categorize(env);
  EXPECT_EQ(env.recipients(0).state(), envelope::EXPANDED) << env.recipients(0).diagnostic();
}

TEST_F(CategorizerDirectoryTest, SenderWithoutMailAttributeFailsEveryRecipient517) {
  auto env = message("nomail@example.com", {"alice@example.com", "bob@example.com"});
  categorize(env);
  for (const auto& r : env.recipients()) {
    EXPECT_EQ(r.status(), "5.1.7") << r.address();
    EXPECT_EQ(r.reply_code(), 553u);
  }
}

TEST_F(CategorizerDirectoryTest, SenderWithMalformedMailAttributeFailsEveryRecipient517) {
  auto env = message("badmail@example.com", {"alice@example.com"});
  categorize(env);
  EXPECT_EQ(env.recipients(0).status(), "5.1.7");
}

TEST_F(CategorizerDirectoryTest, SenderOverItsRecipientLimitFailsTheMessage553) {
  auto env = message("limited@example.com", {"alice@example.com", "bob@example.com", "carol@example.com"});
  categorize(env);
  for (const auto& r : env.recipients()) {
    EXPECT_EQ(r.status(), "5.5.3") << r.address();
    EXPECT_EQ(r.reply_code(), 550u);
  }
}

TEST_F(CategorizerDirectoryTest, SenderAtItsRecipientLimitIsFine) {
  auto env = message("limited@example.com", {"alice@example.com", "bob@example.com"});
  categorize(env);
  expect_mailbox(env.recipients(0), "mbx1.example.com");
  expect_mailbox(env.recipients(1), "bh1.example.com");
}

// --- Resolution of the sample objects -----------------------------------------------------------

TEST_F(CategorizerDirectoryTest, ContactResolvesToItsTargetAddress) {
  auto env = message("carol@example.com", {"pat.partner@example.com"});
  categorize(env);
  const auto& r = env.recipients(0);
  EXPECT_EQ(r.resolution().kind(), envelope::Resolution::CONTACT);
  EXPECT_EQ(r.resolution().target_address(), "pat@partner.example");
}

TEST_F(CategorizerDirectoryTest, DeliverAndRedirectAddsTheAlternateRecipient) {
  auto env = message("carol@example.com", {"grace@example.com"});
  categorize(env);
  ASSERT_EQ(env.recipients_size(), 2);
  expect_mailbox(env.recipients(0), "mbx1.example.com");
  EXPECT_EQ(env.recipients(0).resolution().primary_address(), "grace@example.com");
  EXPECT_EQ(env.recipients(1).resolution().primary_address(), "alice@example.com");
}

TEST_F(CategorizerDirectoryTest, ForwardOnlyAlternateReplacesTheRecipient) {
  auto env = message("carol@example.com", {"henry@example.com"});
  categorize(env);
  ASSERT_EQ(env.recipients_size(), 1);
  expect_mailbox(env.recipients(0), "bh1.example.com");
  EXPECT_EQ(env.recipients(0).address(), "henry@example.com");
  EXPECT_EQ(env.recipients(0).resolution().primary_address(), "bob@example.com");
}

TEST_F(CategorizerDirectoryTest, UnknownInNonAuthoritativeDomainIsRoutedOnward) {
  auto env = message("carol@example.com", {"stranger@shared.example.org", "sam@shared.example.org"});
  categorize(env);
  EXPECT_EQ(env.recipients(0).resolution().kind(), envelope::Resolution::NON_AUTHORITATIVE);
  expect_mailbox(env.recipients(1), "mbx1.example.com");
}

// --- Group expansion -----------------------------------------------------------------------------

std::multiset<std::string> expanded_addresses(const envelope::Envelope& env) {
  std::multiset<std::string> out;
  for (const auto& r : env.recipients())
    if (!r.resolution().expanded_from_dn().empty() && r.state() == envelope::RESOLVED) out.insert(r.address());
  return out;
}

TEST_F(CategorizerDirectoryTest, ThreeLevelNestedGroupExpandsEveryMemberOnce) {
  auto env = message("carol@example.com", {"allstaff@example.com"});
  categorize(env);
  EXPECT_EQ(env.recipients(0).state(), envelope::EXPANDED);
  EXPECT_EQ(expanded_addresses(env),
            (std::multiset<std::string>{"alice@example.com", "bob@example.com", "carol@example.com",
                                        "frank@example.com", "pat@partner.example"}));
}

TEST_F(CategorizerDirectoryTest, GroupCycleEndsWithoutDuplicates) {
  auto env = message("carol@example.com", {"loop-a@example.com"});
  categorize(env);
  EXPECT_EQ(expanded_addresses(env), (std::multiset<std::string>{"alice@example.com"}));
}

TEST_F(CategorizerDirectoryTest, UserInTwoGroupsOfOneMessageGetsOneCopy) {
  auto env = message("carol@example.com", {"engineering@example.com", "platform@example.com"});
  categorize(env);
  const auto got = expanded_addresses(env);
  EXPECT_EQ(got.count("carol@example.com"), 1u);
  EXPECT_EQ(got.count("frank@example.com"), 1u);
}

// A group larger than AD's MaxValRange (1500): on AD its members come in ranges
// ("member;range=0-1499", then "member;range=1500-*"), on OpenLDAP in one attribute. Samba
// creates about 25 contacts a second on a busy machine, so the AD group has 3,000 members, enough
// for two ranges; OpenLDAP's has 10,000.
TEST_F(CategorizerDirectoryTest, LargeGroupExpandsCompletely) {
  const int members = directory_.is_ad() ? 3000 : 10000;
  std::string ldif = contacts_ldif("Big", "big", members);
  ldif += "dn: CN=Everyone Big,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: group\n"
          "cn: Everyone Big\ngroupType: 8\nmail: everyone-big@example.com\nproxyAddresses: SMTP:everyone-big@example.com\n";
  for (int i = 0; i < members; ++i) ldif += "member: CN=big" + std::to_string(i) + ",OU=Big,DC=example,DC=com\n";
  directory_.add(ldif);

  auto env = message("carol@example.com", {"everyone-big@example.com"});
  categorize(env);
  const auto got = expanded_addresses(env);
  EXPECT_EQ(got.size(), static_cast<std::size_t>(members));
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), static_cast<std::size_t>(members));
  EXPECT_TRUE(got.contains("big0@partner.example"));
  EXPECT_TRUE(got.contains("big" + std::to_string(members - 1) + "@partner.example"));
  const auto stats = categorizer_.stats().resolver;
  const std::size_t batch = categorizer_options(true).resolver.batch_size;
  // member batches + the group's address + its ranges + the sender (address, group levels)
  EXPECT_LE(stats.searches, (members + batch - 1) / batch + 10) << "searches " << stats.searches;
  EXPECT_EQ(stats.dn_reads, 0u);  // every member came back from a batch on the kind's DN attribute
  if (directory_.is_ad())
    EXPECT_EQ(stats.range_continuations, 1u);  // 0-1499 with the group, then 1500-*
  else
    EXPECT_EQ(stats.range_continuations, 0u);
}

TEST_F(CategorizerDirectoryTest, DirectoryKindComesFromTheRootDse) {
  auto kind = run_to_completion(io_, client_.kind());
  ASSERT_TRUE(kind) << kind.error().message();
  EXPECT_EQ(*kind, directory_.kind());
}

TEST_F(CategorizerDirectoryTest, NestedGroupsAreFetchedByTheKindsDnAttributeWithoutSingleReads) {
  auto env = message("carol@example.com", {"allstaff@example.com"});
  categorize(env);
  EXPECT_EQ(expanded_addresses(env).size(), 5u);
  EXPECT_EQ(categorizer_.stats().resolver.dn_reads, 0u);
}

// --- Computers (AD derives computer from user) ----------------------------------------------------

constexpr const char* kWorkstation =
    "dn: CN=WS1,CN=Computers,DC=example,DC=com\nobjectClass: top\nobjectClass: person\n"
    "objectClass: organizationalPerson\nobjectClass: user\nobjectClass: computer\ncn: WS1\n"
    "sAMAccountName: WS1$\nmail: ws1@example.com\n\n"
    "dn: CN=Machines,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: group\ncn: Machines\n"
    "groupType: 8\nmail: machines@example.com\nproxyAddresses: SMTP:machines@example.com\n"
    "member: CN=WS1,CN=Computers,DC=example,DC=com\nmember: CN=Alice Anderson,CN=Users,DC=example,DC=com\n";

TEST_F(CategorizerDirectoryTest, ComputerWithAMailAddressIsNoRecipient) {
  if (!directory_.is_ad()) GTEST_SKIP() << "computer is an Active Directory class; the OpenLDAP schema has none";
  directory_.add(kWorkstation);
  auto v = run_to_completion(io_, categorizer_.check_recipient("ws1@example.com", {}));
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  EXPECT_EQ(dsn::status_of(std::get<Reject>(v).kind).status.str(), "5.1.1");
  auto env = message("carol@example.com", {"machines@example.com"});
  categorize(env);
  EXPECT_EQ(expanded_addresses(env), (std::multiset<std::string>{"alice@example.com"}));
}

// --- Nothing vanishes ----------------------------------------------------------------------------

constexpr const char* kQuietList =
    "dn: CN=Printer Account,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: person\n"
    "objectClass: organizationalPerson\nobjectClass: user\ncn: Printer Account\nsn: Account\n\n"
    "dn: CN=Quiet List,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: group\ncn: Quiet List\n"
    "groupType: 8\nmail: quiet-list@example.com\nproxyAddresses: SMTP:quiet-list@example.com\n"
    "member: CN=Printer Account,CN=Users,DC=example,DC=com\n\n"
    "dn: CN=Empty List,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: group\ncn: Empty List\n"
    "groupType: 8\nmail: empty-list@example.com\nproxyAddresses: SMTP:empty-list@example.com\n";

// A member DN that names no object: OpenLDAP stores it (memberof's dangling "ignore"); AD refuses
// such a value and drops the member when its object is deleted.
constexpr const char* kGhostList =
    "dn: CN=Ghost List,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: group\ncn: Ghost List\n"
    "groupType: 8\nmail: ghost-list@example.com\nproxyAddresses: SMTP:ghost-list@example.com\n"
    "member: CN=Alice Anderson,CN=Users,DC=example,DC=com\nmember: CN=Departed User,CN=Users,DC=example,DC=com\n";

TEST_F(CategorizerDirectoryTest, GroupWithoutMembersIsRefusedAtRcpt550524) {
  directory_.add(kQuietList);
  auto v = run_to_completion(io_, categorizer_.check_recipient("empty-list@example.com", {}));
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  EXPECT_EQ(dsn::status_of(std::get<Reject>(v).kind).status.str(), "5.2.4");
  EXPECT_EQ(dsn::status_of(std::get<Reject>(v).kind).reply_code, 550);
}

TEST_F(CategorizerDirectoryTest, GroupWhoseMembersCannotReceiveMailFails524NotExpandedIntoNothing) {
  directory_.add(kQuietList);
  auto env = message("carol@example.com", {"quiet-list@example.com", "bob@example.com"});
  categorize(env);
  ASSERT_EQ(env.recipients_size(), 2);
  EXPECT_EQ(env.recipients(0).state(), envelope::FAILED);
  EXPECT_EQ(env.recipients(0).status(), "5.2.4");
  EXPECT_EQ(env.recipients(0).reply_code(), 550u);
  EXPECT_NE(env.recipients(0).diagnostic().find("Quiet List"), std::string::npos) << env.recipients(0).diagnostic();
  expect_mailbox(env.recipients(1), "bh1.example.com");
}

TEST_F(CategorizerDirectoryTest, MemberThatDoesNotExistIsReported510BesideItsGroup) {
  if (directory_.is_ad()) GTEST_SKIP() << "AD keeps no member value that names no object";
  directory_.add(kGhostList);
  auto env = message("carol@example.com", {"ghost-list@example.com"});
  categorize(env);
  EXPECT_EQ(env.recipients(0).state(), envelope::EXPANDED);
  ASSERT_EQ(env.recipients_size(), 3);
  int delivered = 0, failed = 0;
  for (int i = 1; i < env.recipients_size(); ++i) {
    const auto& r = env.recipients(i);
    EXPECT_EQ(r.orcpt(), "rfc822;ghost-list@example.com");
    if (r.state() == envelope::RESOLVED) {
      ++delivered;
      EXPECT_EQ(r.address(), "alice@example.com");
    } else {
      ++failed;
      EXPECT_EQ(r.status(), "5.1.0");
      EXPECT_NE(r.diagnostic().find("does not exist"), std::string::npos) << r.diagnostic();
    }
  }
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(failed, 1);
}

// --- LDAP injection ------------------------------------------------------------------------------

TEST_F(CategorizerDirectoryTest, FilterMetacharactersNeverMatchMoreThanTheLiteralAddress) {
  directory_.add(
      "dn: CN=Odd Name,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: person\n"
      "objectClass: organizationalPerson\nobjectClass: user\ncn: Odd Name\nsn: Name\n"
      "mail: \"odd*(x)\\\\y\"@example.com\nproxyAddresses: SMTP:\"odd*(x)\\\\y\"@example.com\n"
      "homeMDB: CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore,CN=MBX1," +
      std::string(test::kServers) + "\n");
  const std::vector<std::string> hostile = {"*@example.com", "\"*\"@example.com", "alice*@example.com",
                                            "\"*)(mail=*\"@example.com", "\"odd*\"@example.com",
                                            "\"\\\\2a\"@example.com"};
  for (const auto& address : hostile) {
    auto v = run_to_completion(io_, categorizer_.check_recipient(address, {}));
    ASSERT_TRUE(std::holds_alternative<Reject>(v)) << address;
    EXPECT_EQ(dsn::status_of(std::get<Reject>(v).kind).status.str(), "5.1.1") << address;
  }
  auto literal = run_to_completion(io_, categorizer_.check_recipient("\"odd*(x)\\\\y\"@example.com", {}));
  EXPECT_TRUE(std::holds_alternative<Accept>(literal));
}

TEST_F(CategorizerDirectoryTest, NulInAQuotedLocalPartIsBadSyntaxNotASearch) {
  const auto before = categorizer_.stats().resolver.searches;
  auto v = run_to_completion(io_, categorizer_.check_recipient(std::string("\"alice\0\"@example.com", 20), {}));
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  EXPECT_EQ(dsn::status_of(std::get<Reject>(v).kind).status.str(), "5.1.3");
  EXPECT_EQ(categorizer_.stats().resolver.searches, before);
}

// --- Batching ------------------------------------------------------------------------------------

TEST_F(CategorizerDirectoryTest, HundredRecipientBatchNeedsFewSearches) {
  directory_.add(users_ldif("Batch", "batch", 100));
  std::vector<std::string> rcpts;
  for (int i = 0; i < 100; ++i) rcpts.push_back("batch" + std::to_string(i) + "@example.com");
  auto env = message("", rcpts);
  categorize(env);
  for (const auto& r : env.recipients()) expect_mailbox(r, "mbx1.example.com");
  const std::size_t batch = categorizer_options(true).resolver.batch_size;
  // address batches + one store fetch + one server fetch
  EXPECT_LE(categorizer_.stats().resolver.searches, (100 + batch - 1) / batch + 2);
}

// --- RCPT time and outages -----------------------------------------------------------------------

class OutageTest : public ::testing::Test {
 protected:
  OutageTest()
      : client_(io_.get_executor(), client_options({directory_.uri()}, directory_, 1500ms)),
        categorizer_(client_, test::sample_metabase(), categorizer_options(false)) {}

  RecipientVerdict check(const std::string& address) {
    return run_to_completion(io_, categorizer_.check_recipient(address, {}));
  }
  // Polls until the directory answers again (bounded; back-off is at most 200 ms here).
  bool eventually_accepts(const std::string& address) {
    for (int i = 0; i < 100; ++i) {
      if (std::holds_alternative<Accept>(check(address))) return true;
      asio::steady_timer t(io_, 100ms);
      t.wait();
    }
    return false;
  }

  gw::test::Directory directory_;
  asio::io_context io_;
  ldap::LdapDirectoryClient client_;
  Categorizer categorizer_;
};

TEST_F(OutageTest, HungServerGivesTryLaterThenAcceptsAfterResume) {
  ASSERT_TRUE(std::holds_alternative<Accept>(check("alice@example.com")));
  directory_.pause();
  ASSERT_TRUE(gw::categorizer::test::wait_until_stopped(directory_.pid()));
  EXPECT_TRUE(std::holds_alternative<TryLater>(check("alice@example.com")));
  EXPECT_GE(client_.stats().timeouts, 1u);
  directory_.resume();
  EXPECT_TRUE(eventually_accepts("alice@example.com"));
}

TEST_F(OutageTest, KilledServerGivesTryLaterThenAcceptsAfterRestart) {
  ASSERT_TRUE(std::holds_alternative<Accept>(check("alice@example.com")));
  directory_.kill();
  EXPECT_TRUE(std::holds_alternative<TryLater>(check("alice@example.com")));
  directory_.restart();
  EXPECT_TRUE(eventually_accepts("alice@example.com"));
  EXPECT_GE(client_.stats().connects, 2u);
}

TEST_F(OutageTest, UnknownUserIsStillRejectedNotDeferred) {
  auto v = check("nobody@example.com");
  ASSERT_TRUE(std::holds_alternative<Reject>(v));
  EXPECT_EQ(dsn::status_of(std::get<Reject>(v).kind).reply_code, 550);
}

TEST_F(OutageTest, CategorizeDuringOutageLeavesTheMessageWaiting) {
  envelope::Envelope env;
  env.set_sender("carol@example.com");
  env.add_recipients()->set_address("alice@example.com");
  const std::string before = env.SerializeAsString();
  directory_.kill();
  auto done = run_to_completion(io_, categorizer_.categorize(env));
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, make_error_code(DirectoryErrc::Unavailable));
  EXPECT_EQ(env.SerializeAsString(), before);
}

TEST(FailoverTest, LookupsContinueOnTheSecondServerWhenTheFirstDies) {
  gw::test::Directory first;
  gw::test::Directory second;
  asio::io_context io;
  ldap::LdapDirectoryClient client(io.get_executor(), client_options({first.uri(), second.uri()}, first));
  Categorizer categorizer(client, test::sample_metabase(), categorizer_options(false));
  ASSERT_TRUE(std::holds_alternative<Accept>(run_to_completion(io, categorizer.check_recipient("alice@example.com", {}))));
  EXPECT_EQ(client.connected_uri(), first.uri());
  first.kill();
  EXPECT_TRUE(std::holds_alternative<Accept>(run_to_completion(io, categorizer.check_recipient("bob@example.com", {}))));
  EXPECT_EQ(client.connected_uri(), second.uri());
}

}  // namespace
}  // namespace gw::categorizer
