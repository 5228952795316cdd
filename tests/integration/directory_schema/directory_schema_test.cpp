// The directory schema and sample organization, checked against the directory
// under test (slapd with directory-schema/schema, then a Samba AD DC with
// directory-schema/ad): the filters the categorizer and metabase-sync rely on
// match the same way on both, memberOf is kept, and limits (paged results)
// behave as documented in directory-schema/README.md. The syncprov cases are
// OpenLDAP's own (AD offers no RFC 4533).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <strings.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/fixtures/process.h"
#include "tests/integration/fixtures/directory.h"
#include "tests/integration/fixtures/temp_dir.h"

namespace gw::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kUsers = "cn=Users,dc=example,dc=com";
// The configuration naming context: below the domain on slapd, a naming
// context of its own on AD (a subtree search at the domain root does not
// reach it there).
constexpr std::string_view kConfiguration = "CN=Configuration,DC=example,DC=com";
constexpr std::string_view kAdminGroup =
    "CN=First Administrative Group,CN=Administrative Groups,CN=Example,CN=Microsoft Exchange,"
    "CN=Services,CN=Configuration,DC=example,DC=com";

// Values of `attribute` in unwrapped -LLL LDIF (plain values only).
std::vector<std::string> values_of(const std::string& ldif, std::string_view attribute) {
  std::vector<std::string> values;
  std::istringstream lines(ldif);
  std::string prefix = std::string(attribute) + ": ";
  for (std::string line; std::getline(lines, line);) {
    if (line.size() >= prefix.size() && strncasecmp(line.c_str(), prefix.c_str(), prefix.size()) == 0) {
      values.push_back(line.substr(prefix.size()));
    }
  }
  return values;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Values of `attribute`, lower-cased: DN values come back as cn=... from
// slapd and CN=... from AD.
std::vector<std::string> lower_values_of(const std::string& ldif, std::string_view attribute) {
  auto values = values_of(ldif, attribute);
  for (auto& value : values) value = lower(value);
  return values;
}

// Leading RDN values ("Alice Anderson") of the entries in an LDIF result.
std::vector<std::string> names_in(const std::string& ldif) {
  std::vector<std::string> names;
  for (const auto& dn : values_of(ldif, "dn")) {
    auto equals = dn.find('=');
    names.push_back(dn.substr(equals + 1, dn.find(',') - equals - 1));
  }
  return names;
}

// RFC 4515 escaping of a filter assertion value: DNs of stores contain "(".
std::string escaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '(': out += "\\28"; break;
      case ')': out += "\\29"; break;
      case '*': out += "\\2a"; break;
      case '\\': out += "\\5c"; break;
      case '\0': out += "\\00"; break;
      default: out += c;
    }
  }
  return out;
}

RunResult search_as(const Directory& directory, const std::string& bind_dn, const std::string& password,
                    std::string_view filter, const std::vector<std::string>& options,
                    const std::vector<std::string>& attributes) {
  std::vector<std::string> argv{"ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", directory.uri(), "-D",
                                bind_dn, "-w", password, "-b", directory.base_dn()};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.emplace_back(filter);
  argv.insert(argv.end(), attributes.begin(), attributes.end());
  return run(argv);
}

std::string store_dn(std::string_view server) {
  return "CN=Mailbox Store (" + std::string(server) + "),CN=First Storage Group,CN=InformationStore,CN=" +
         std::string(server) + ",CN=Servers," + std::string(kAdminGroup);
}

class DirectorySchemaTest : public ::testing::Test {
 protected:
  Directory directory_;
};

TEST_F(DirectorySchemaTest, SampleOrganizationLoadsBothVirtualServersAndThreeConnectors) {
  auto servers = directory_.search(kConfiguration, "(objectClass=protocolCfgSMTPServer)", {"msExchServerBindings"});
  EXPECT_THAT(values_of(servers, "msExchServerBindings"), UnorderedElementsAre("127.0.0.1:2525:", "127.0.0.1:2587:"));
  auto connectors = directory_.search(kConfiguration, "(objectClass=msExchRoutingSMTPConnector)", {"routingList"});
  EXPECT_THAT(values_of(connectors, "routingList"),
              UnorderedElementsAre("SMTP:*;10", "SMTP:*.mil;1", "SMTP:shared.example.org;1"));
}

TEST_F(DirectorySchemaTest, ProxyAddressesEqualityIgnoresCaseOfTypeAndAddress) {
  auto found = directory_.search(directory_.base_dn(), "(proxyAddresses=smtp:ALICE@Example.COM)", {"proxyAddresses"});
  EXPECT_THAT(names_in(found), ElementsAre("Alice Anderson"));
  // The stored value keeps its case: primary-ness is read from the result.
  EXPECT_THAT(values_of(found, "proxyAddresses"), testing::Contains("SMTP:alice@example.com"));
}

TEST_F(DirectorySchemaTest, ProxyAddressesSecondaryAddressMatchesUpperCaseType) {
  auto found = directory_.search(directory_.base_dn(), "(proxyAddresses=SMTP:robert.brown@example.com)", {"mail"});
  EXPECT_THAT(values_of(found, "mail"), ElementsAre("bob@example.com"));
}

TEST_F(DirectorySchemaTest, ProxyAddressesSubstringFindsEveryAddressInADomain) {
  auto found = directory_.search(directory_.base_dn(), "(proxyAddresses=smtp:*@EXAMPLE.NET)", {"1.1"});
  EXPECT_THAT(names_in(found), UnorderedElementsAre("Erin Evans", "Frank Fischer"));
}

TEST_F(DirectorySchemaTest, SharedProxyAddressReturnsBothObjects) {
  auto found = directory_.search(directory_.base_dn(), "(proxyAddresses=smtp:ambiguous@example.com)", {"1.1"});
  EXPECT_THAT(names_in(found), UnorderedElementsAre("Dup One", "Dup Two"));
}

TEST_F(DirectorySchemaTest, MailEqualityIgnoresCase) {
  auto found = directory_.search(directory_.base_dn(), "(mail=Carol@EXAMPLE.com)", {"1.1"});
  EXPECT_THAT(names_in(found), ElementsAre("Carol Clark"));
}

TEST_F(DirectorySchemaTest, MailNicknameEqualityIgnoresCase) {
  auto found = directory_.search(directory_.base_dn(), "(mailNickname=GRACE)", {"altRecipient", "deliverAndRedirect"});
  EXPECT_THAT(names_in(found), ElementsAre("Grace Green"));
  EXPECT_THAT(values_of(found, "deliverAndRedirect"), ElementsAre("TRUE"));
}

TEST_F(DirectorySchemaTest, HomeMdbEqualityFindsEveryMailboxOfAStore) {
  auto found = directory_.search(directory_.base_dn(), "(homeMDB=" + escaped(store_dn("BH1")) + ")", {"1.1"});
  EXPECT_THAT(names_in(found), UnorderedElementsAre("Bob Brown", "Frank Fischer", "Dup Two"));
}

TEST_F(DirectorySchemaTest, StoreNamesItsOwningServerWhoseNetworkAddressCarriesTheFqdn) {
  auto store = directory_.search(store_dn("MBX1"), "(objectClass=msExchPrivateMDB)", {"msExchOwningServer"}, "base");
  auto owner = values_of(store, "msExchOwningServer");
  ASSERT_EQ(owner.size(), 1u);
  auto server = directory_.search(owner[0], "(objectClass=msExchExchangeServer)", {"networkAddress"}, "base");
  EXPECT_THAT(values_of(server, "networkAddress"), testing::Contains("ncacn_ip_tcp:mbx1.example.com"));
}

TEST_F(DirectorySchemaTest, DisabledAccountsMatchTheAdBitwiseFilter) {
  // Recipients only: AD's built-in Guest and krbtgt accounts are disabled as well.
  auto found = directory_.search(directory_.base_dn(), "(&(mailNickname=*)(userAccountControl:1.2.840.113556.1.4.803:=2))",
                                 {"1.1"});
  EXPECT_THAT(names_in(found), ElementsAre("Dave Disabled"));
}

TEST_F(DirectorySchemaTest, SecurityGroupsMatchTheAdBitwiseFilter) {
  // Mail-enabled groups only: AD's built-in groups are security groups as well.
  auto found = directory_.search(directory_.base_dn(),
                                 "(&(objectClass=group)(mailNickname=*)(groupType:1.2.840.113556.1.4.803:=2147483648))",
                                 {"1.1"});
  EXPECT_THAT(names_in(found), ElementsAre("Help Desk"));
}

TEST_F(DirectorySchemaTest, MemberOfListsDirectAndNestedGroupMembership) {
  auto carol = directory_.search(directory_.base_dn(), "(mailNickname=carol)", {"memberOf"});
  EXPECT_THAT(lower_values_of(carol, "memberOf"),
              UnorderedElementsAre("cn=platform,cn=users,dc=example,dc=com", "cn=engineering,cn=users,dc=example,dc=com"));
  auto platform = directory_.search(directory_.base_dn(), "(mailNickname=platform)", {"memberOf"});
  EXPECT_THAT(lower_values_of(platform, "memberOf"), ElementsAre("cn=engineering,cn=users,dc=example,dc=com"));
}

TEST_F(DirectorySchemaTest, MemberOfFollowsMembershipChanges) {
  directory_.modify(
      "dn: CN=Executives,CN=Users,DC=example,DC=com\n"
      "changetype: modify\n"
      "add: member\n"
      "member: CN=Carol Clark,CN=Users,DC=example,DC=com\n");
  auto carol = directory_.search(directory_.base_dn(), "(memberOf=CN=Executives,CN=Users,DC=example,DC=com)", {"1.1"});
  EXPECT_THAT(names_in(carol), UnorderedElementsAre("Alice Anderson", "Bob Brown", "Carol Clark"));
}

TEST_F(DirectorySchemaTest, GroupCycleIsStoredBothWays) {
  auto loop_a = directory_.search(directory_.base_dn(), "(mailNickname=loop-a)", {"member", "memberOf"});
  EXPECT_THAT(lower_values_of(loop_a, "member"), ElementsAre("cn=loop b,cn=users,dc=example,dc=com"));
  EXPECT_THAT(lower_values_of(loop_a, "memberOf"), ElementsAre("cn=loop b,cn=users,dc=example,dc=com"));
}

TEST_F(DirectorySchemaTest, SyncprovAnswersARefreshOnlySearchAndPublishesContextCsn) {
  if (directory_.is_ad()) GTEST_SKIP() << "OpenLDAP only: AD offers no RFC 4533";
  RunResult sync = search_as(directory_, directory_.service_dn(), directory_.service_password(), "(mailNickname=alice)",
                             {"-E", "!sync=ro"}, {"1.1"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(names_in(sync.out), ElementsAre("Alice Anderson"));
  auto base = directory_.search(directory_.base_dn(), "(objectClass=*)", {"contextCSN"}, "base");
  EXPECT_EQ(values_of(base, "contextCSN").size(), 1u);
}

TEST_F(DirectorySchemaTest, SyncprovPersistSearchDeliversALaterChange) {
  if (directory_.is_ad()) GTEST_SKIP() << "OpenLDAP only: AD offers no RFC 4533";
  TempDir dir("gw-syncrp");
  const auto output = dir / "persist.ldif";
  Process persist = Process::spawn({"ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", directory_.uri(), "-D",
                                    directory_.service_dn(), "-w", directory_.service_password(), "-b",
                                    "CN=Configuration,DC=example,DC=com", "-E", "!sync=rp", "(cn=Message Delivery)",
                                    "msExchRecipLimit"},
                                   {.stdout_file = output, .stderr_file = dir / "persist.err"});
  auto file_contains = [&](std::string_view needle) {
    std::ifstream file(output);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    return text.find(needle) != std::string::npos;
  };
  auto wait_for = [&](std::string_view needle) {
    for (int i = 0; i < 1000 && !file_contains(needle); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return file_contains(needle);
  };
  ASSERT_TRUE(wait_for("msExchRecipLimit: 5000")) << "refresh phase never delivered the entry";
  directory_.modify("dn: CN=Message Delivery,CN=Global Settings,CN=Example,CN=Microsoft Exchange,CN=Services,"
                "CN=Configuration,DC=example,DC=com\nchangetype: modify\nreplace: msExchRecipLimit\n"
                "msExchRecipLimit: 250\n");
  EXPECT_TRUE(wait_for("msExchRecipLimit: 250")) << "persist phase never delivered the change";
  persist.stop();
}

TEST_F(DirectorySchemaTest, ServiceAccountReadsRecipientsButNotPasswords) {
  RunResult result = search_as(directory_, directory_.service_dn(), directory_.service_password(), "(mailNickname=alice)", {},
                               {"userPassword", "homeMDB"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(values_of(result.out, "homeMDB"), ElementsAre(testing::StrCaseEq(store_dn("MBX1"))));
  EXPECT_TRUE(values_of(result.out, "userPassword").empty());
}

TEST_F(DirectorySchemaTest, UserBindsWithOwnPassword) {
  // A root DSE read after the bind (AD has no "Who am I?" operation).
  auto bind = [&](const char* password) {
    return run({"ldapsearch", "-x", "-LLL", "-H", directory_.uri(), "-D", "CN=Alice Anderson,CN=Users,DC=example,DC=com",
                "-w", password, "-b", "", "-s", "base", "1.1"});
  };
  RunResult ok = bind("Passw0rd!");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(bind("wrong").exit_code, 49);  // invalidCredentials
}

TEST_F(DirectorySchemaTest, AnonymousClientsCannotSearchRecipients) {
  RunResult result = run({"ldapsearch", "-x", "-LLL", "-H", directory_.uri(), "-b", directory_.base_dn(), "(mail=*)", "1.1"});
  EXPECT_THAT(result.out, testing::Not(HasSubstr("dn:")));
}

TEST_F(DirectorySchemaTest, SchemaRejectsAttributesOutsideTheClass) {
  EXPECT_THROW(directory_.add("dn: CN=Stray,CN=Users,DC=example,DC=com\n"
                          "objectClass: top\nobjectClass: group\ncn: Stray\ngroupType: 8\n"
                          "homeMDB: " + store_dn("BH1") + "\n"),
               std::runtime_error);
}

TEST_F(DirectorySchemaTest, GatewayExtensionAttributesNeedTheirAuxiliaryClass) {
  const std::string vs = "CN=1,CN=SMTP,CN=Protocols,CN=BH1,CN=Servers," + std::string(kAdminGroup);
  directory_.modify("dn: " + vs + "\nchangetype: modify\nreplace: gwSmtpMaxConnectionsPerIp\ngwSmtpMaxConnectionsPerIp: 7\n");
  EXPECT_THAT(values_of(directory_.search(vs, "(objectClass=*)", {"gwSmtpMaxConnectionsPerIp"}, "base"),
                        "gwSmtpMaxConnectionsPerIp"),
              ElementsAre("7"));
  const std::string store = store_dn("BH1");
  EXPECT_THROW(directory_.modify("dn: " + store + "\nchangetype: modify\nadd: gwSmtpMaxConnectionsPerIp\n"
                             "gwSmtpMaxConnectionsPerIp: 7\n"),
               std::runtime_error);
}

TEST_F(DirectorySchemaTest, RootDsePublishesTheAdNamingContexts) {
  RunResult result = run({"ldapsearch", "-x", "-LLL", "-H", directory_.uri(), "-b", "", "-s", "base",
                          "configurationNamingContext", "defaultNamingContext"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(values_of(result.out, "configurationNamingContext"), ElementsAre("CN=Configuration,DC=example,DC=com"));
  EXPECT_THAT(values_of(result.out, "defaultNamingContext"), ElementsAre("DC=example,DC=com"));
}

// Blocks of one entry each from -LLL output (continuation references, which AD
// returns for other naming contexts below the base, are no entries).
std::vector<std::string> entries_in(const std::string& ldif) {
  std::vector<std::string> entries;
  std::istringstream lines(ldif);
  std::string current;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) {
      if (!current.empty()) entries.push_back(current);
      current.clear();
    } else {
      current += line + "\n";
    }
  }
  if (!current.empty()) entries.push_back(current);
  std::erase_if(entries, [](const std::string& entry) { return !entry.starts_with("dn: "); });
  return entries;
}


TEST_F(DirectorySchemaTest, SampleProxyAddressesAreUniqueExceptTheDeliberateDuplicate) {
  auto all = directory_.search(directory_.base_dn(), "(proxyAddresses=*)", {"proxyAddresses"});
  std::map<std::string, int> owners;
  for (const auto& value : values_of(all, "proxyAddresses")) ++owners[lower(value)];
  for (const auto& [address, count] : owners) {
    if (address == "smtp:ambiguous@example.com") {
      EXPECT_EQ(count, 2) << address;
    } else {
      EXPECT_EQ(count, 1) << address << " is shared by " << count << " objects";
    }
  }
}

TEST_F(DirectorySchemaTest, SampleMailEqualsThePrimarySmtpProxyAddressOutsideOuBroken) {
  auto all = directory_.search(directory_.base_dn(), "(&(mailNickname=*)(!(objectClass=contact)))", {"mail", "proxyAddresses"});
  for (const auto& entry : entries_in(all)) {
    if (lower(entry).find(",ou=broken,") != std::string::npos) continue;
    auto mail = values_of(entry, "mail");
    ASSERT_EQ(mail.size(), 1u) << entry;
    EXPECT_THAT(values_of(entry, "proxyAddresses"), testing::Contains("SMTP:" + mail[0])) << entry;
  }
}

TEST_F(DirectorySchemaTest, SampleMailboxesPointAtAStoreWhoseServerMatchesTheirHomeServerOutsideOuBroken) {
  auto all = directory_.search(directory_.base_dn(), "(homeMDB=*)", {"homeMDB", "msExchHomeServerName"});
  int checked = 0;
  for (const auto& entry : entries_in(all)) {
    if (lower(entry).find(",ou=broken,") != std::string::npos) continue;
    auto store = values_of(entry, "homeMDB");
    ASSERT_EQ(store.size(), 1u) << entry;
    auto owner = values_of(directory_.search(store[0], "(objectClass=msExchPrivateMDB)", {"msExchOwningServer"}, "base"),
                           "msExchOwningServer");
    ASSERT_EQ(owner.size(), 1u) << entry;
    auto server_legacy_dn =
        values_of(directory_.search(owner[0], "(objectClass=msExchExchangeServer)", {"legacyExchangeDN"}, "base"),
                  "legacyExchangeDN");
    EXPECT_EQ(values_of(entry, "msExchHomeServerName"), server_legacy_dn) << entry;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(DirectorySchemaLimitsTest, PagedSearchReturnsMoreEntriesThanTheSoftSizeLimit) {
  Directory directory({.empty = true});
  constexpr int kEntries = 1100;  // slapd's soft size limit is 1000
  std::string ldif = "dn: OU=Bulk,DC=example,DC=com\nobjectClass: organizationalUnit\nou: Bulk\n\n";
  for (int i = 0; i < kEntries; ++i) {
    ldif += "dn: CN=bulk" + std::to_string(i) + ",OU=Bulk,DC=example,DC=com\nobjectClass: top\nobjectClass: person\n"
            "objectClass: organizationalPerson\nobjectClass: contact\ncn: bulk" + std::to_string(i) +
            "\nsn: bulk\nmailNickname: bulk" + std::to_string(i) + "\n\n";
  }
  directory.add(ldif);

  RunResult unpaged = search_as(directory, directory.service_dn(), directory.service_password(), "(mailNickname=bulk*)", {}, {"1.1"});
  if (directory.is_ad()) {
    // Samba, unlike a Windows DC (MaxPageSize 1000), does not cap unpaged searches.
    EXPECT_EQ(unpaged.exit_code, 0) << unpaged.err;
    EXPECT_EQ(names_in(unpaged.out).size(), static_cast<std::size_t>(kEntries));
  } else {
    EXPECT_EQ(unpaged.exit_code, 4);  // sizeLimitExceeded
    EXPECT_EQ(names_in(unpaged.out).size(), 1000u);
  }

  RunResult paged = search_as(directory, directory.service_dn(), directory.service_password(), "(mailNickname=bulk*)",
                              {"-E", "pr=250/noprompt"}, {"1.1"});
  ASSERT_EQ(paged.exit_code, 0) << paged.err;
  EXPECT_EQ(names_in(paged.out).size(), static_cast<std::size_t>(kEntries));
}

}  // namespace
}  // namespace gw::test
