#include "metabase-sync/errors.h"

#include <ldap.h>

#include <gtest/gtest.h>

#include "metabase-sync/ldap_session.h"

namespace msync {
namespace {

ExitCode exit_for_ldap(int code) { return exit_code_for(ldap_error(code, "ldap://dc1")); }

TEST(ExitCodes, ConnectionProblemsAreDirectoryUnavailable) {
  EXPECT_EQ(exit_for_ldap(LDAP_SERVER_DOWN), ExitCode::DirectoryUnavailable);
  EXPECT_EQ(exit_for_ldap(LDAP_CONNECT_ERROR), ExitCode::DirectoryUnavailable);
  EXPECT_EQ(exit_for_ldap(LDAP_TIMEOUT), ExitCode::DirectoryUnavailable);
  EXPECT_EQ(exit_for_ldap(LDAP_BUSY), ExitCode::DirectoryUnavailable);
  EXPECT_EQ(exit_for_ldap(LDAP_UNAVAILABLE), ExitCode::DirectoryUnavailable);
}

TEST(ExitCodes, RefusedCredentialsAreBindFailed) {
  EXPECT_EQ(exit_for_ldap(LDAP_INVALID_CREDENTIALS), ExitCode::BindFailed);
  EXPECT_EQ(exit_for_ldap(LDAP_INAPPROPRIATE_AUTH), ExitCode::BindFailed);
}

TEST(ExitCodes, OtherDirectoryFailuresAreDirectoryError) {
  EXPECT_EQ(exit_for_ldap(LDAP_INSUFFICIENT_ACCESS), ExitCode::DirectoryError);
  EXPECT_EQ(exit_for_ldap(LDAP_PROTOCOL_ERROR), ExitCode::DirectoryError);
}

TEST(ExitCodes, EveryErrorKindHasItsOwnCode) {
  EXPECT_EQ(exit_code_for(fail(SyncErrc::ConfigurationMissing, "x").error()), ExitCode::ConfigurationMissing);
  EXPECT_EQ(exit_code_for(fail(SyncErrc::UnknownServer, "x").error()), ExitCode::UnknownServer);
  EXPECT_EQ(exit_code_for(fail(SyncErrc::InvalidConfiguration, "x").error()), ExitCode::InvalidConfiguration);
  EXPECT_EQ(exit_code_for(fail(SyncErrc::LocalIo, "x").error()), ExitCode::LocalIo);
}

TEST(LdapError, DetailNamesTheContextAndTheServerDiagnostic) {
  const auto error = ldap_error(LDAP_INSUFFICIENT_ACCESS, "search CN=Configuration,DC=example,DC=com", "no read access");
  EXPECT_EQ(error.detail, "search CN=Configuration,DC=example,DC=com: Insufficient access (no read access)");
}

TEST(Describe, PrefersTheDetailOverTheGenericText) {
  EXPECT_EQ(describe(fail(SyncErrc::UnknownServer, "cn=Example: no server named \"X\"").error()),
            "cn=Example: no server named \"X\"");
  EXPECT_EQ(describe(fail(SyncErrc::UnknownServer, "").error()), "server not found in the directory");
}

}  // namespace
}  // namespace msync
