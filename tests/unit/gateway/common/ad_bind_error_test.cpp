#include "gateway/common/ad_bind_error.h"

#include <gtest/gtest.h>

namespace gw {
namespace {

// Samba's spelling of AD's bind failure text.
std::string text(const char* code) {
  return std::string("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ") + code +
         ", v1db1";
}

struct Case {
  const char* code;
  AdBindError error;
  const char* words;
  bool cannot_log_on;
};

class AdBindErrorCodes : public ::testing::TestWithParam<Case> {};

TEST_P(AdBindErrorCodes, DataCodeIsNamedInWords) {
  const Case& c = GetParam();
  auto failure = ad_bind_failure(text(c.code));
  ASSERT_TRUE(failure) << c.code;
  EXPECT_EQ(failure->error, c.error) << c.code;
  EXPECT_EQ(describe(failure->error), c.words) << c.code;
  EXPECT_EQ(account_cannot_log_on(failure->error), c.cannot_log_on) << c.code;
}

INSTANTIATE_TEST_SUITE_P(
    WindowsLogonErrors, AdBindErrorCodes,
    ::testing::Values(Case{"525", AdBindError::NoSuchUser, "no such user", false},
                      Case{"52e", AdBindError::WrongPassword, "wrong password", false},
                      Case{"530", AdBindError::LogonHours, "not permitted to log on at this time", true},
                      Case{"531", AdBindError::Workstation, "not permitted to log on from this workstation", true},
                      Case{"532", AdBindError::PasswordExpired, "password expired", false},
                      Case{"533", AdBindError::AccountDisabled, "account disabled", true},
                      Case{"701", AdBindError::AccountExpired, "account expired", true},
                      Case{"773", AdBindError::PasswordMustChange, "password must be changed before the first logon",
                           false},
                      Case{"775", AdBindError::AccountLockedOut, "account locked out", true}));

TEST(AdBindError, UpperCaseHexDigitsAreRead) {
  auto failure = ad_bind_failure(text("52E"));
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->error, AdBindError::WrongPassword);
  EXPECT_EQ(failure->code, 0x52eu);
}

TEST(AdBindError, UnlistedCodeIsOtherWithItsNumber) {
  auto failure = ad_bind_failure(text("568"));
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->error, AdBindError::Other);
  EXPECT_EQ(failure->code, 0x568u);
  EXPECT_EQ(describe(failure->error), "unrecognized reason");
}

TEST(AdBindError, MessagesWithoutADataCodeGiveNothing) {
  EXPECT_FALSE(ad_bind_failure(""));
  EXPECT_FALSE(ad_bind_failure("Invalid credentials"));
  EXPECT_FALSE(ad_bind_failure("metadata 775"));
  EXPECT_FALSE(ad_bind_failure("data x775"));
  EXPECT_FALSE(ad_bind_failure("data 775z"));
}

}  // namespace
}  // namespace gw
