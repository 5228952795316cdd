#include "gateway/server/sasl_password_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace gw::server {
namespace {

using ::testing::ElementsAre;
using Kind = PasswordVerdict::Kind;
namespace cat = categorizer;

// Answers searches from a fixed result and records the requests.
class FakeDirectoryClient final : public cat::DirectoryClient {
 public:
  asio::awaitable<Result<std::vector<cat::Entry>>> search(cat::SearchRequest request) override {
    requests.push_back(request);
    co_return result;
  }
  asio::awaitable<Result<std::optional<cat::Entry>>> read(std::string, std::vector<std::string>) override {
    co_return std::optional<cat::Entry>();
  }
  asio::awaitable<Result<DirectoryKind>> kind() override { co_return DirectoryKind::OpenLdap; }
  Result<std::vector<cat::Entry>> result = std::vector<cat::Entry>{};
  std::vector<cat::SearchRequest> requests;
};

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
  Result<bool> bind_result = true;
  DirectoryPasswordVerifier verifier{
      directory,
      [this](std::string dn, std::string password) -> asio::awaitable<Result<bool>> {
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

TEST_F(PasswordVerifierTest, FilterMetacharactersInTheUserNameAreEscaped) {
  verify("*)(objectClass=*", "x");
  ASSERT_EQ(directory.requests.size(), 1u);
  EXPECT_EQ(directory.requests[0].filter.str().find("(objectClass=*)"), std::string::npos);
  EXPECT_NE(directory.requests[0].filter.str().find("\\2a\\29\\28objectClass=\\2a"), std::string::npos);
}

TEST_F(PasswordVerifierTest, WrongPasswordIsRejected) {
  directory.result = std::vector<cat::Entry>{alice()};
  bind_result = false;
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
  bind_result = false;
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
