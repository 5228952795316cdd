// LdapDirectoryClient against a real directory, OpenLDAP and a Samba AD DC
// (gw_discover_directory_tests): the async connect and socket handling (the descriptor comes from
// LDAP_OPT_DESC), the kind from the root DSE, reads by DN, paging past the server's size limit,
// continuation references, multiplexing, limits and simple_bind_check.
#include "categorizer/ldap/ldap_directory_client.h"

#include <gtest/gtest.h>

#include <optional>

#include "categorizer/names.h"
#include "tests/integration/categorizer/stopped.h"
#include "tests/integration/fixtures/directory.h"
#include "tests/support/ignore_sigpipe.h"
#include "tests/support/run_to_completion.h"

namespace gw::categorizer::ldap {
namespace {

using gw::test::run_to_completion;

using namespace std::chrono_literals;

class LdapDirectoryClientTest : public ::testing::Test {
 protected:
  LdapClientOptions options() {
    LdapClientOptions o;
    o.uris = {directory_.uri()};
    o.bind_dn = directory_.service_dn();
    o.bind_password = directory_.service_password();
    o.connect_timeout = 3000ms;
    o.search_timeout = 5000ms;
    return o;
  }

  SearchRequest users(std::string base = "DC=example,DC=com") {
    return SearchRequest{std::move(base), SearchScope::Subtree, FilterBuilder::equals("objectClass", "user"),
                         {"mail"}, 0};
  }

  gw::test::Directory directory_;
  asio::io_context io_;
};

TEST_F(LdapDirectoryClientTest, ServiceAccountFindsASampleUser) {
  LdapDirectoryClient client(io_.get_executor(), options());
  SearchRequest request{"DC=example,DC=com", SearchScope::Subtree,
                        FilterBuilder::equals("proxyAddresses", "smtp:a.anderson@example.com"), {"mail", "homeMDB"}, 0};
  auto entries = run_to_completion(io_, client.search(request));
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(normalize_dn((*entries)[0].dn), normalize_dn("CN=Alice Anderson,CN=Users,DC=example,DC=com"));
  EXPECT_EQ((*entries)[0].first("MAIL"), "alice@example.com");
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(LdapDirectoryClientTest, KindComesFromTheRootDse) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto kind = run_to_completion(io_, client.kind());
  ASSERT_TRUE(kind) << kind.error().message();
  EXPECT_EQ(*kind, directory_.kind());
}

TEST_F(LdapDirectoryClientTest, SubtreeSearchAtTheDomainRootSkipsContinuationReferences) {
  // AD answers with the entry and references to CN=Configuration (and more); none is chased.
  LdapDirectoryClient client(io_.get_executor(), options());
  SearchRequest request{directory_.base_dn(), SearchScope::Subtree, FilterBuilder::equals("mail", "alice@example.com"),
                        {"mail"}, 0};
  auto entries = run_to_completion(io_, client.search(request));
  ASSERT_TRUE(entries) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(LdapDirectoryClientTest, ReadBringsTheEntryByItsDn) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto read = run_to_completion(io_, client.read("cn=alice anderson,cn=users,dc=example,dc=com", {"mail"}));
  ASSERT_TRUE(read) << read.error().message();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->first("mail"), "alice@example.com");
}

TEST_F(LdapDirectoryClientTest, ReadOfAnEntryThatDoesNotExistIsNoSuchObject) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto read = run_to_completion(io_, client.read("CN=Departed User,CN=Users,DC=example,DC=com", {"mail"}));
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_FALSE(read->has_value());
}

TEST_F(LdapDirectoryClientTest, NoMatchIsAnEmptyResultNotAnError) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto entries = run_to_completion(io_, client.search(
      SearchRequest{"DC=example,DC=com", SearchScope::Subtree, FilterBuilder::equals("mail", "*"), {}, 0}));
  ASSERT_TRUE(entries);
  EXPECT_TRUE(entries->empty());
}

TEST_F(LdapDirectoryClientTest, PagedSearchReturnsMoreEntriesThanTheServerSizeLimit) {
  // Contacts: the cheapest entries for a DC to create.
  std::string ldif = "dn: OU=Many,DC=example,DC=com\nobjectClass: top\nobjectClass: organizationalUnit\nou: Many\n\n";
  for (int i = 0; i < 1200; ++i)
    ldif += "dn: CN=m" + std::to_string(i) + ",OU=Many,DC=example,DC=com\nobjectClass: top\nobjectClass: person\n"
            "objectClass: organizationalPerson\nobjectClass: contact\ncn: m" + std::to_string(i) + "\nsn: m\n\n";
  directory_.add(ldif);
  auto o = options();
  o.page_size = 500;
  LdapDirectoryClient client(io_.get_executor(), o);
  SearchRequest request{"OU=Many,DC=example,DC=com", SearchScope::Subtree, FilterBuilder::equals("objectClass", "contact"),
                        {"cn"}, 0};
  auto entries = run_to_completion(io_, client.search(request));
  ASSERT_TRUE(entries) << entries.error().message();
  EXPECT_EQ(entries->size(), 1200u);  // unpaged, slapd (soft limit) and AD (MaxPageSize) stop at 1000
  EXPECT_EQ(client.stats().requests, 4u);  // the root DSE at connect, then three pages
}

TEST_F(LdapDirectoryClientTest, ResultOverTheRequestCapIsSizeLimit) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto request = users();
  request.max_entries = 2;
  auto entries = run_to_completion(io_, client.search(request));
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code, make_error_code(DirectoryErrc::SizeLimit));
}

TEST_F(LdapDirectoryClientTest, ConcurrentSearchesShareOneConnection) {
  LdapDirectoryClient client(io_.get_executor(), options());
  int done = 0;
  int found = 0;
  const std::vector<std::string> names = {"alice", "bob", "carol", "erin", "frank", "grace", "henry", "ivy"};
  for (const auto& name : names)
    asio::co_spawn(
        io_,
        [&, name]() -> asio::awaitable<void> {
          SearchRequest request;
          request.base = "DC=example,DC=com";
          request.filter = FilterBuilder::equals("mail", name + "@example.com");
          request.attributes = {"mail"};
          auto r = co_await client.search(std::move(request));
          if (r && r->size() == 1) ++found;
          ++done;
        },
        asio::detached);
  while (done < static_cast<int>(names.size()) && io_.run_one()) {
  }
  EXPECT_EQ(found, static_cast<int>(names.size()));
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(client.stats().requests, names.size() + 1);  // and the root DSE at connect
}

TEST_F(LdapDirectoryClientTest, WrongServicePasswordIsUnavailable) {
  auto o = options();
  o.bind_password = "wrong";
  LdapDirectoryClient client(io_.get_executor(), o);
  auto entries = run_to_completion(io_, client.search(users()));
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code, make_error_code(DirectoryErrc::Unavailable));
}

TEST_F(LdapDirectoryClientTest, NothingListeningIsUnavailable) {
  auto o = options();
  directory_.stop();
  LdapDirectoryClient client(io_.get_executor(), o);
  auto entries = run_to_completion(io_, client.search(users()));
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code, make_error_code(DirectoryErrc::Unavailable));
}

TEST_F(LdapDirectoryClientTest, HungServerSearchIsAbandonedAtItsDeadline) {
  auto o = options();
  o.search_timeout = 1500ms;
  LdapDirectoryClient client(io_.get_executor(), o);
  ASSERT_TRUE(run_to_completion(io_, client.search(users())));
  directory_.pause();
  ASSERT_TRUE(gw::categorizer::test::wait_until_stopped(directory_.pid()));
  auto entries = run_to_completion(io_, client.search(users()));
  directory_.resume();
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code, make_error_code(DirectoryErrc::Timeout));
  EXPECT_EQ(client.stats().timeouts, 1u);
  EXPECT_TRUE(run_to_completion(io_, client.search(users())));  // the connection is still usable
}

TEST_F(LdapDirectoryClientTest, SimpleBindCheckAcceptsTheRightPassword) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto ok = run_to_completion(io_, client.simple_bind_check("CN=Alice Anderson,CN=Users,DC=example,DC=com", "Passw0rd!"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_TRUE(ok->accepted);
}

TEST_F(LdapDirectoryClientTest, SimpleBindCheckRejectsAWrongPassword) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto ok = run_to_completion(io_, client.simple_bind_check("CN=Alice Anderson,CN=Users,DC=example,DC=com", "guess"));
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->accepted);
}

TEST_F(LdapDirectoryClientTest, SimpleBindCheckRejectsAnEmptyPasswordWithoutAsking) {
  LdapDirectoryClient client(io_.get_executor(), options());
  auto ok = run_to_completion(io_, client.simple_bind_check("CN=Alice Anderson,CN=Users,DC=example,DC=com", ""));
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->accepted);
  EXPECT_EQ(client.stats().connects, 0u);
}

}  // namespace
}  // namespace gw::categorizer::ldap
