#include "gateway/server/sasl_password_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace gw::server {
namespace {

using ::testing::ElementsAre;
using Kind = PasswordVerdict::Kind;
namespace cat = categorizer;

// Answers searches from `queued` results in order, then from a fixed result,
// and records the requests.
class FakeDirectoryClient final : public cat::DirectoryClient {
 public:
  asio::awaitable<Result<std::vector<cat::Entry>>> search(cat::SearchRequest request) override {
    requests.push_back(request);
    if (!queued.empty()) {
      auto next = std::move(queued.front());
      queued.erase(queued.begin());
      co_return next;
    }
    co_return result;
  }
  asio::awaitable<Result<std::optional<cat::Entry>>> read(std::string, std::vector<std::string>) override {
    co_return std::optional<cat::Entry>();
  }
  asio::awaitable<Result<DirectoryKind>> kind() override { co_return DirectoryKind::OpenLdap; }
  Result<std::vector<cat::Entry>> result = std::vector<cat::Entry>{};
  std::vector<Result<std::vector<cat::Entry>>> queued;
  std::vector<cat::SearchRequest> requests;
};

// The RootDSE and the crossRef of an AD domain, as is_this_domain reads them.
std::vector<cat::Entry> root_dse() {
  cat::Entry dse;
  dse.attributes["configurationNamingContext"] = {"CN=Configuration,DC=example,DC=com"};
  return {dse};
}
std::vector<cat::Entry> cross_ref(std::string nc) {
  cat::Entry ref;
  ref.dn = "CN=EXAMPLE,CN=Partitions,CN=Configuration,DC=example,DC=com";
  ref.attributes["nCName"] = {std::move(nc)};
  return {ref};
}

// Samba's diagnostic for a refused bind with the given "data" code.
cat::ldap::BindCheck ad_refusal(const char* code) {
  return {.accepted = false,
          .diagnostic = std::string("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ") +
                        code + ", v1db1"};
}

cat::Entry alice(std::string account_control = "512") {
  cat::Entry entry;
  entry.dn = "CN=Alice Anderson,CN=Users,DC=example,DC=com";
  entry.attributes["userPrincipalName"] = {"alice@example.com"};
  entry.attributes["mail"] = {"alice@example.com"};
  entry.attributes["proxyAddresses"] = {"SMTP:alice@example.com", "smtp:A.Anderson@example.com",
                                        "X400:c=US;a= ;p=Example;o=Exchange;s=Anderson;"};
  entry.attributes["userAccountControl"] = {std::move(account_control)};
  return entry;
}

class PasswordVerifierTest : public ::testing::Test {
 protected:
  PasswordVerdict verify(std::string user, std::string password) {
    asio::io_context io;
    PasswordVerdict verdict;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { verdict = co_await verifier.verify(user, password); },
        asio::detached);
    io.run();
    return verdict;
  }

  FakeDirectoryClient directory;
  std::vector<std::pair<std::string, std::string>> binds;
  Result<cat::ldap::BindCheck> bind_result = cat::ldap::BindCheck{.accepted = true, .diagnostic = {}};
  DirectoryPasswordVerifier verifier{
      directory,
      [this](std::string dn, std::string password) -> asio::awaitable<Result<cat::ldap::BindCheck>> {
        binds.emplace_back(dn, password);
        co_return bind_result;
      },
      "DC=example,DC=com"};
};

TEST_F(PasswordVerifierTest, CorrectPasswordIsAcceptedWithTheUserPrincipalName) {
  directory.result = std::vector<cat::Entry>{alice()};
  PasswordVerdict verdict = verify("alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Accepted);
  EXPECT_EQ(verdict.identity, "alice@example.com");
  EXPECT_THAT(binds, ElementsAre(std::pair<std::string, std::string>(
                         "CN=Alice Anderson,CN=Users,DC=example,DC=com", "Passw0rd!")));
}

TEST_F(PasswordVerifierTest, AcceptedVerdictListsTheAccountsSmtpAddresses) {
  directory.result = std::vector<cat::Entry>{alice()};
  EXPECT_THAT(verify("alice", "Passw0rd!").own_addresses,
              ElementsAre("alice@example.com", "a.anderson@example.com"));
}

TEST_F(PasswordVerifierTest, SearchCoversAllFourNameFormsBelowTheBase) {
  directory.result = std::vector<cat::Entry>{alice()};
  verify("alice@example.com", "Passw0rd!");
  ASSERT_EQ(directory.requests.size(), 1u);
  EXPECT_EQ(directory.requests[0].base, "DC=example,DC=com");
  EXPECT_EQ(directory.requests[0].filter.str(),
            "(&(objectClass=user)(|(userPrincipalName=alice@example.com)(mail=alice@example.com)"
            "(proxyAddresses=smtp:alice@example.com)(sAMAccountName=alice@example.com)))");
}

TEST_F(PasswordVerifierTest, DownLevelNameOfTheDirectorysDomainIsLookedUpByAccountName) {
  directory.queued = {root_dse(), cross_ref("DC=Example,DC=COM")};
  directory.result = std::vector<cat::Entry>{alice()};
  PasswordVerdict verdict = verify("EXAMPLE\\alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Accepted) << verdict.reason;
  ASSERT_EQ(directory.requests.size(), 3u);
  EXPECT_EQ(directory.requests[1].base, "CN=Partitions,CN=Configuration,DC=example,DC=com");
  EXPECT_EQ(directory.requests[1].filter.str(), "(&(objectClass=crossRef)(nETBIOSName=EXAMPLE))");
  EXPECT_EQ(directory.requests[2].filter.str(), "(&(objectClass=user)(sAMAccountName=alice))");
}

TEST_F(PasswordVerifierTest, ComputerAccountIsNotAUser) {
  cat::Entry machine;
  machine.dn = "CN=DC1,OU=Domain Controllers,DC=example,DC=com";
  machine.attributes["objectClass"] = {"top", "person", "organizationalPerson", "user", "computer"};
  machine.attributes["userAccountControl"] = {"532480"};
  directory.result = std::vector<cat::Entry>{machine};
  PasswordVerdict verdict = verify("DC1$", "secret");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_EQ(verdict.reason, "no such account");
  EXPECT_TRUE(binds.empty());
}

TEST_F(PasswordVerifierTest, DownLevelNameOfAnotherDomainIsRejectedWithoutLookingUpTheUser) {
  directory.queued = {root_dse(), std::vector<cat::Entry>{}};
  directory.result = std::vector<cat::Entry>{alice()};
  PasswordVerdict verdict = verify("OTHER\\alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_EQ(verdict.reason, "domain OTHER is not the directory's domain");
  EXPECT_EQ(directory.requests.size(), 2u);
  EXPECT_TRUE(binds.empty());
}

TEST_F(PasswordVerifierTest, DownLevelNameOnADirectoryWithoutDomainsIsRejected) {
  directory.queued = {std::vector<cat::Entry>{cat::Entry{}}};  // a RootDSE without AD's naming contexts
  directory.result = std::vector<cat::Entry>{alice()};
  EXPECT_EQ(verify("EXAMPLE\\alice", "Passw0rd!").kind, Kind::Rejected);
  EXPECT_TRUE(binds.empty());
}

TEST_F(PasswordVerifierTest, AdRefusalIsLoggedInWords) {
  directory.result = std::vector<cat::Entry>{alice()};
  bind_result = ad_refusal("52e");
  PasswordVerdict verdict = verify("alice", "wrong");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_EQ(verdict.reason, "wrong password (AD data 52e)");
}

TEST_F(PasswordVerifierTest, LockedOutAccountIsRefusedWithTheReasonInWords) {
  directory.result = std::vector<cat::Entry>{alice()};
  bind_result = ad_refusal("775");
  PasswordVerdict verdict = verify("alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Disabled);
  EXPECT_EQ(verdict.reason, "account locked out (AD data 775)");
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::InvalidCredentials);
}

TEST_F(PasswordVerifierTest, ExpiredPasswordIsRejectedWithTheReasonInWords) {
  directory.result = std::vector<cat::Entry>{alice()};
  bind_result = ad_refusal("532");
  PasswordVerdict verdict = verify("alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_EQ(verdict.reason, "password expired (AD data 532)");
}

TEST_F(PasswordVerifierTest, FilterMetacharactersInTheUserNameAreEscaped) {
  verify("*)(objectClass=*", "x");
  ASSERT_EQ(directory.requests.size(), 1u);
  EXPECT_EQ(directory.requests[0].filter.str().find("(objectClass=*)"), std::string::npos);
  EXPECT_NE(directory.requests[0].filter.str().find("\\2a\\29\\28objectClass=\\2a"), std::string::npos);
}

TEST_F(PasswordVerifierTest, WrongPasswordIsRejected) {
  directory.result = std::vector<cat::Entry>{alice()};
  bind_result = cat::ldap::BindCheck{};
  PasswordVerdict verdict = verify("alice", "wrong");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::InvalidCredentials);
}

TEST_F(PasswordVerifierTest, UnknownUserIsRejectedWithoutABind) {
  PasswordVerdict verdict = verify("mallory", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_TRUE(binds.empty());
}

TEST_F(PasswordVerifierTest, DisabledAccountIsRefusedWithoutABind) {
  directory.result = std::vector<cat::Entry>{alice("514")};
  PasswordVerdict verdict = verify("alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Disabled);
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::InvalidCredentials);
  EXPECT_TRUE(binds.empty());
}

TEST_F(PasswordVerifierTest, UnreadableAccountControlFailsClosed) {
  directory.result = std::vector<cat::Entry>{alice("normal")};
  EXPECT_EQ(verify("alice", "Passw0rd!").kind, Kind::Disabled);
}

TEST_F(PasswordVerifierTest, AmbiguousUserNameIsRejected) {
  cat::Entry other = alice();
  other.dn = "CN=Alice Other,CN=Users,DC=example,DC=com";
  directory.result = std::vector<cat::Entry>{alice(), other};
  EXPECT_EQ(verify("alice", "Passw0rd!").kind, Kind::Rejected);
  EXPECT_TRUE(binds.empty());
}

TEST_F(PasswordVerifierTest, DirectoryUnavailableDuringSearchIsTemporary) {
  directory.result = make_error(cat::DirectoryErrc::Unavailable, "ldap://127.0.0.1:1");
  PasswordVerdict verdict = verify("alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Unavailable);
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::Temporary);
}

TEST_F(PasswordVerifierTest, DirectoryUnavailableDuringBindIsTemporary) {
  directory.result = std::vector<cat::Entry>{alice()};
  bind_result = make_error(cat::DirectoryErrc::Timeout);
  EXPECT_EQ(verify("alice", "Passw0rd!").kind, Kind::Unavailable);
}

TEST_F(PasswordVerifierTest, EmptyPasswordIsRejectedWithoutAskingTheDirectory) {
  EXPECT_EQ(verify("alice", "").kind, Kind::Rejected);
  EXPECT_TRUE(directory.requests.empty());
}

TEST_F(PasswordVerifierTest, ReasonNeverContainsThePassword) {
  directory.result = std::vector<cat::Entry>{alice()};
  bind_result = cat::ldap::BindCheck{};
  EXPECT_EQ(verify("alice", "S3cret-Value").reason.find("S3cret-Value"), std::string::npos);
}

// Records the thread each verification ran on.
class ThreadRecordingVerifier final : public PasswordVerifier {
 public:
  asio::awaitable<PasswordVerdict> verify(std::string user, std::string) override {
    thread = std::this_thread::get_id();
    PasswordVerdict verdict;
    verdict.kind = Kind::Accepted;
    verdict.identity = user;
    co_return verdict;
  }
  std::thread::id thread;
};

TEST(ExecutorBoundPasswordVerifier, VerifiesOnTheOwnersLoopAndAnswersOnTheCallersLoop) {
  asio::io_context owner;
  auto work = asio::make_work_guard(owner);
  std::thread owner_thread([&] { owner.run(); });
  const std::thread::id owner_id = owner_thread.get_id();
  ThreadRecordingVerifier inner;
  ExecutorBoundPasswordVerifier bound(owner.get_executor(), inner);

  asio::io_context caller;
  PasswordVerdict verdict;
  std::thread::id resumed_on;
  asio::co_spawn(
      caller,
      [&]() -> asio::awaitable<void> {
        verdict = co_await bound.verify("alice", "Passw0rd!");
        resumed_on = std::this_thread::get_id();
      },
      asio::detached);
  caller.run();
  work.reset();
  owner_thread.join();

  EXPECT_EQ(verdict.kind, Kind::Accepted);
  EXPECT_EQ(verdict.identity, "alice");
  EXPECT_EQ(inner.thread, owner_id);
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace gw::server
