// The Directory fixture on the directory under test (run once per kind): it
// starts with the documented identities, its outage simulations
// (pause/resume/kill/restart) work on the real server, parallel instances get
// distinct endpoints, and add() takes LDIF written for slapd on both kinds.
// The Active Directory cases check what only a domain controller offers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <strings.h>

#include <cctype>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/fixtures/directory.h"
#include "tests/integration/fixtures/process.h"

namespace gw::test {
namespace {

using ::testing::HasSubstr;

// Root DSE read as the service account with a hard 2 s wall-clock limit, so a
// hung server shows up as exit 124 from timeout(1) instead of blocking.
RunResult probe(const Directory& directory) {
  return run({"timeout", "2", "ldapsearch", "-x", "-LLL", "-H", directory.uri(), "-D", directory.service_dn(), "-w",
              directory.service_password(), "-b", "", "-s", "base", "namingContexts"});
}

// DNs of the entries in -LLL output (continuation references are comments).
std::vector<std::string> dns_in(const std::string& ldif) {
  std::vector<std::string> dns;
  std::istringstream lines(ldif);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("dn: ", 0) == 0) dns.push_back(line.substr(4));
  }
  return dns;
}

// ldapwhoami-free bind check: a base search of the root DSE bound as `who`.
int bind_as(const Directory& directory, const std::string& who, const std::string& password) {
  return run({"ldapsearch", "-x", "-LLL", "-H", directory.uri(), "-D", who, "-w", password, "-b", "", "-s", "base",
              "1.1"})
      .exit_code;
}

TEST(DirectoryFixtureTest, StartsAnsweringOnLoopbackWithTheDocumentedIdentities) {
  Directory directory({.empty = true});
  EXPECT_EQ(directory.uri(), "ldap://" + directory.host() + ":" + std::to_string(directory.port()));
  EXPECT_EQ(directory.host().rfind("127.", 0), 0u) << directory.host();
  EXPECT_EQ(strcasecmp(directory.base_dn().c_str(), "dc=example,dc=com"), 0) << directory.base_dn();
  EXPECT_EQ(directory.service_dn(), "CN=svc-gateway,CN=Users,DC=example,DC=com");
  EXPECT_TRUE(directory.running());
  RunResult answer = probe(directory);
  EXPECT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_THAT(answer.out, testing::ContainsRegex("namingContexts: (dc|DC)=example,(dc|DC)=com"));
}

TEST(DirectoryFixtureTest, ParallelStartsGetDistinctEndpoints) {
  constexpr int kInstances = 3;
  std::vector<std::unique_ptr<Directory>> instances(kInstances);
  std::vector<std::string> errors(kInstances);
  std::vector<std::thread> starters;
  for (int i = 0; i < kInstances; ++i) {
    starters.emplace_back([&, i] {
      try {
        instances[i] = std::make_unique<Directory>(DirectoryOptions{.empty = true});
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    });
  }
  for (auto& starter : starters) starter.join();
  std::set<std::string> endpoints;
  for (int i = 0; i < kInstances; ++i) {
    ASSERT_TRUE(instances[i]) << errors[i];
    endpoints.insert(instances[i]->uri());
    EXPECT_EQ(probe(*instances[i]).exit_code, 0);
  }
  EXPECT_EQ(endpoints.size(), static_cast<std::size_t>(kInstances));
}

TEST(DirectoryFixtureTest, EmptyInstanceHoldsOnlyTheBaseEntries) {
  Directory directory({.empty = true});
  EXPECT_TRUE(dns_in(directory.search(directory.base_dn(), "(objectClass=msExchOrganizationContainer)", {"1.1"})).empty());
  EXPECT_TRUE(dns_in(directory.search("CN=Configuration,DC=example,DC=com", "(cn=Microsoft Exchange)", {"1.1"})).empty());
  auto found = dns_in(directory.search(directory.base_dn(), "(cn=svc-gateway)", {"1.1"}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(strcasecmp(found[0].c_str(), "cn=svc-gateway,cn=Users,dc=example,dc=com"), 0) << found[0];
}

TEST(DirectoryFixtureTest, SampleUserBindsWithTheDocumentedPassword) {
  Directory directory;
  EXPECT_EQ(bind_as(directory, "CN=Alice Anderson,CN=Users,DC=example,DC=com", "Passw0rd!"), 0);
  EXPECT_EQ(bind_as(directory, "CN=Alice Anderson,CN=Users,DC=example,DC=com", "wrong"), 49);
  EXPECT_EQ(bind_as(directory, directory.service_dn(), directory.service_password()), 0);
}

TEST(DirectoryFixtureTest, PausedServerDoesNotAnswerUntilResumed) {
  Directory directory({.empty = true});
  directory.pause();
  EXPECT_EQ(probe(directory).exit_code, 124);  // timeout(1): no answer within 2 s
  directory.resume();
  EXPECT_EQ(probe(directory).exit_code, 0);
}

TEST(DirectoryFixtureTest, KilledServerRefusesConnections) {
  Directory directory({.empty = true});
  pid_t pid = directory.pid();
  directory.kill();
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(directory.running());
  EXPECT_EQ(probe(directory).exit_code, 255);  // LDAP_SERVER_DOWN: cannot contact
}

TEST(DirectoryFixtureTest, RestartAfterKillKeepsEndpointAndData) {
  Directory directory({.empty = true});
  const std::string uri = directory.uri();
  directory.add("dn: CN=Survivor,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: container\ncn: Survivor\n");
  directory.kill();
  directory.restart();
  EXPECT_EQ(directory.uri(), uri);
  EXPECT_TRUE(directory.running());
  EXPECT_EQ(dns_in(directory.search(directory.base_dn(), "(cn=Survivor)", {"1.1"})).size(), 1u);
}

TEST(DirectoryFixtureTest, RestartOfARunningServerKeepsEndpointAndData) {
  Directory directory({.empty = true});
  const std::string uri = directory.uri();
  const auto old_pid = directory.pid();
  directory.add("dn: CN=Kept,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: container\ncn: Kept\n");
  directory.restart();
  EXPECT_EQ(directory.uri(), uri);
  EXPECT_NE(directory.pid(), old_pid);
  EXPECT_FALSE(process_alive(old_pid));
  EXPECT_EQ(dns_in(directory.search(directory.base_dn(), "(cn=Kept)", {"1.1"})).size(), 1u);
}

TEST(DirectoryFixtureTest, StopWorksOnAPausedServer) {
  Directory directory({.empty = true});
  pid_t pid = directory.pid();
  directory.pause();
  directory.stop();
  EXPECT_FALSE(process_alive(pid));
}

TEST(DirectoryFixtureTest, FailedModifyThrowsWithTheServerMessage) {
  Directory directory({.empty = true});
  try {
    directory.modify("dn: CN=Missing,DC=example,DC=com\nchangetype: modify\nreplace: description\ndescription: x\n");
    FAIL() << "modify of a missing entry succeeded";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("No such object"));
  }
}

// LDIF written for slapd (cleartext userPassword, a reference to an entry
// added further down) works unchanged on both kinds.
TEST(DirectoryFixtureTest, AddTakesSlapdLdifWithPasswordsAndForwardReferences) {
  Directory directory({.empty = true});
  directory.add(
      "dn: CN=Fwd A,CN=Users,DC=example,DC=com\n"
      "objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n"
      "cn: Fwd A\nsn: A\nsAMAccountName: fwd-a\nuserPrincipalName: fwd-a@example.com\nuserAccountControl: 512\n"
      "userPassword: Secret-1\naltRecipient: CN=Fwd B,CN=Users,DC=example,DC=com\n\n"
      "dn: CN=Fwd B,CN=Users,DC=example,DC=com\n"
      "objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n"
      "cn: Fwd B\nsn: B\nsAMAccountName: fwd-b\nuserAccountControl: 512\nuserPassword: Secret-2\n"
      "altRecipient: CN=Fwd A,CN=Users,DC=example,DC=com\n");
  EXPECT_EQ(bind_as(directory, "CN=Fwd A,CN=Users,DC=example,DC=com", "Secret-1"), 0);
  EXPECT_EQ(bind_as(directory, "CN=Fwd B,CN=Users,DC=example,DC=com", "Secret-2"), 0);
  std::string a = directory.search("CN=Fwd A,CN=Users,DC=example,DC=com", "(objectClass=*)", {"altRecipient"}, "base");
  for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_THAT(a, HasSubstr("altrecipient: cn=fwd b,cn=users,dc=example,dc=com"));
}

TEST(DirectoryFixtureTest, DestructorStopsTheServer) {
  pid_t pid;
  std::filesystem::path dir;
  {
    Directory directory({.empty = true});
    pid = directory.pid();
    dir = directory.directory();
  }
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// ---- Active Directory only ----

TEST(DirectoryFixtureTest, AdIsADomainControllerOnPort389AtItsOwnLoopbackAddress) {
  if (directory_kind_under_test() != DirectoryKind::ActiveDirectory) GTEST_SKIP() << "Active Directory only";
  Directory directory({.empty = true});
  EXPECT_EQ(directory.port(), 389);
  EXPECT_NE(directory.host(), "127.0.0.1");
  RunResult dse = run({"ldapsearch", "-x", "-LLL", "-H", directory.uri(), "-b", "", "-s", "base",
                       "supportedCapabilities", "supportedControl"});
  ASSERT_EQ(dse.exit_code, 0) << dse.err;
  EXPECT_THAT(dse.out, HasSubstr("supportedCapabilities: 1.2.840.113556.1.4.800"));  // LDAP_CAP_ACTIVE_DIRECTORY_OID
  EXPECT_THAT(dse.out, HasSubstr("supportedControl: 1.2.840.113556.1.4.841"));       // DirSync
  EXPECT_THAT(dse.out, HasSubstr("supportedControl: 1.2.840.113556.1.4.319"));       // paged results
}

TEST(DirectoryFixtureTest, AdSampleUsersBindByPrincipalNameAndDownLevelName) {
  if (directory_kind_under_test() != DirectoryKind::ActiveDirectory) GTEST_SKIP() << "Active Directory only";
  Directory directory;
  EXPECT_EQ(bind_as(directory, "alice@example.com", "Passw0rd!"), 0);
  EXPECT_EQ(bind_as(directory, "EXAMPLE\\alice", "Passw0rd!"), 0);
  EXPECT_EQ(bind_as(directory, "EXAMPLE\\alice", "wrong"), 49);
}

TEST(DirectoryFixtureTest, AdSampleLeavesOutReferencesToObjectsThatDoNotExist) {
  if (directory_kind_under_test() != DirectoryKind::ActiveDirectory) GTEST_SKIP() << "Active Directory only";
  Directory directory;
  std::string lost = directory.search("CN=Lost Store,OU=Broken,DC=example,DC=com", "(objectClass=*)",
                                      {"homeMDB", "mailNickname"}, "base");
  EXPECT_THAT(lost, HasSubstr("mailNickname: loststore"));
  EXPECT_THAT(lost, testing::Not(HasSubstr("homeMDB")));
  std::string alice = directory.search("CN=Alice Anderson,CN=Users,DC=example,DC=com", "(objectClass=*)",
                                       {"homeMDB", "memberOf"}, "base");
  EXPECT_THAT(alice, HasSubstr("homeMDB: CN=Mailbox Store (MBX1)"));
  EXPECT_THAT(alice, HasSubstr("memberOf: CN=All Staff,CN=Users,DC=example,DC=com"));
  EXPECT_TRUE(std::filesystem::exists(directory.directory() / "sample-differences.txt"));
}

}  // namespace
}  // namespace gw::test
