// SMTP AUTH password verification against the sample directory (the one under
// test: OpenLDAP or Samba AD): users are found by any of their names, the
// password is checked by a real bind, disabled and locked-out accounts are
// refused (AD's reason in words) and a dead directory is a temporary failure.
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "categorizer/ldap/ldap_directory_client.h"
#include "gateway/server/sasl_password_verifier.h"
#include "gateway/server/sasl_server.h"
#include "tests/integration/fixtures/directory.h"
#include "tests/support/ignore_sigpipe.h"

namespace gw::server {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using Kind = PasswordVerdict::Kind;

class AuthDirectoryTest : public ::testing::Test {
 protected:
  categorizer::ldap::LdapClientOptions options() {
    categorizer::ldap::LdapClientOptions o;
    o.uris = {directory_.uri()};
    o.bind_dn = directory_.service_dn();
    o.bind_password = directory_.service_password();
    o.connect_timeout = 2000ms;
    o.search_timeout = 3000ms;
    return o;
  }

  PasswordVerdict verify(std::string user, std::string password) {
    std::optional<PasswordVerdict> out;
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { out = co_await verifier_.verify(user, password); }, asio::detached);
    io_.restart();
    while (!out && io_.run_one()) {
    }
    return std::move(*out);
  }

  // The whole path a PLAIN AUTH takes: libsasl2 decodes, the directory decides.
  PasswordVerdict authenticate_plain(const std::string& user, const std::string& password) {
    SaslSettings settings;
    settings.server_fqdn = "bh1.example.com";
    settings.tls_active = true;
    auto exchange = SaslServerExchange::create(settings);
    EXPECT_TRUE(exchange.has_value());
    std::string message = std::string(1, '\0') + user + std::string(1, '\0') + password;
    SaslStep step = (*exchange)->start("PLAIN", encode_base64(message));
    EXPECT_TRUE(std::holds_alternative<SaslCredentials>(step));
    auto& credentials = std::get<SaslCredentials>(step);
    return verify(credentials.user, credentials.password);
  }

  gw::test::Directory directory_;
  asio::io_context io_;
  categorizer::ldap::LdapDirectoryClient client_{io_.get_executor(), options()};
  DirectoryPasswordVerifier verifier_{client_, directory_.base_dn()};
};

TEST_F(AuthDirectoryTest, UserPrincipalNameWithCorrectPasswordIsAccepted) {
  PasswordVerdict verdict = authenticate_plain("alice@example.com", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Accepted) << verdict.reason;
  EXPECT_EQ(verdict.identity, "alice@example.com");
  EXPECT_THAT(verdict.own_addresses, Contains("a.anderson@example.com"));
}

TEST_F(AuthDirectoryTest, AccountNameAndSecondaryProxyAddressAreAccepted) {
  EXPECT_EQ(verify("alice", "Passw0rd!").kind, Kind::Accepted);
  EXPECT_EQ(verify("a.anderson@example.com", "Passw0rd!").kind, Kind::Accepted);
}

TEST_F(AuthDirectoryTest, WrongPasswordIsRejected) {
  PasswordVerdict verdict = authenticate_plain("alice@example.com", "passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::InvalidCredentials);
}

TEST_F(AuthDirectoryTest, UnknownUserIsRejected) {
  EXPECT_EQ(verify("nobody@example.com", "Passw0rd!").kind, Kind::Rejected);
}

TEST_F(AuthDirectoryTest, DisabledUserIsRefusedEvenWithTheRightPassword) {
  PasswordVerdict verdict = verify("dave@example.com", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Disabled);
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::InvalidCredentials);
}

// The down-level name DOMAIN\user exists only where there are NetBIOS
// domains: on AD it names the account, elsewhere it names nobody.
TEST_F(AuthDirectoryTest, DownLevelLogonNameNamesTheAccountOnlyOnActiveDirectory) {
  PasswordVerdict verdict = authenticate_plain("EXAMPLE\\alice", "Passw0rd!");
  if (directory_.is_ad()) {
    EXPECT_EQ(verdict.kind, Kind::Accepted) << verdict.reason;
    EXPECT_EQ(verdict.identity, "alice@example.com");
  } else {
    EXPECT_EQ(verdict.kind, Kind::Rejected) << verdict.reason;
  }
  EXPECT_EQ(verify("OTHER\\alice", "Passw0rd!").kind, Kind::Rejected);
}

// AD's computer class derives from user; its accounts (DC1$, the domain
// controller's own) are never taken for a person who sends mail.
TEST_F(AuthDirectoryTest, ComputerAccountIsNotAUser) {
  if (!directory_.is_ad()) GTEST_SKIP() << "Active Directory only: the slapd schema has no computer class";
  PasswordVerdict verdict = verify("DC1$", "anything");
  EXPECT_EQ(verdict.kind, Kind::Rejected);
  EXPECT_EQ(verdict.reason, "no such account");
}

TEST_F(AuthDirectoryTest, LockedOutAccountIsRefusedEvenWithTheRightPasswordAndTheReasonIsNamed) {
  if (!directory_.is_ad()) GTEST_SKIP() << "Active Directory only: OpenLDAP has no account lockout here";
  directory_.modify("dn: DC=example,DC=com\nchangetype: modify\nreplace: lockoutThreshold\nlockoutThreshold: 2\n");
  EXPECT_EQ(verify("bob", "wrong-1").reason, "wrong password (AD data 52e)");
  EXPECT_EQ(verify("bob", "wrong-2").kind, Kind::Rejected);
  PasswordVerdict verdict = authenticate_plain("bob@example.com", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Disabled);
  EXPECT_EQ(verdict.reason, "account locked out (AD data 775)");
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::InvalidCredentials);
}

TEST_F(AuthDirectoryTest, StoppedDirectoryIsATemporaryFailureNotAWrongPassword) {
  ASSERT_EQ(verify("alice", "Passw0rd!").kind, Kind::Accepted);
  directory_.kill();
  PasswordVerdict verdict = verify("alice", "Passw0rd!");
  EXPECT_EQ(verdict.kind, Kind::Unavailable) << verdict.reason;
  EXPECT_EQ(auth_failure_for(verdict), smtp::AuthFailure::Temporary);
}

}  // namespace
}  // namespace gw::server
