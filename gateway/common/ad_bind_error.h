// AdBindError: why Active Directory refused a bind, read from the diagnostic
// message of its invalidCredentials (49) result.
//
// AD (and Samba) answers a failed simple bind with a text such as
// "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error,
// data 775, v3839": the hexadecimal number after "data" is the Windows error
// the logon failed with. The gateway logs it in words -- an administrator asked
// "why can't alice send" reads "account locked out", not "49". Pure: the caller
// supplies the text. Messages without a "data" code (OpenLDAP, other servers)
// give nullopt.
#pragma once

#include <optional>
#include <string_view>

namespace gw {

enum class AdBindError {
  NoSuchUser,           // 525 ERROR_NO_SUCH_USER
  WrongPassword,        // 52e ERROR_LOGON_FAILURE: unknown user or wrong password
  LogonHours,           // 530 ERROR_INVALID_LOGON_HOURS
  Workstation,          // 531 ERROR_INVALID_WORKSTATION
  PasswordExpired,      // 532 ERROR_PASSWORD_EXPIRED
  AccountDisabled,      // 533 ERROR_ACCOUNT_DISABLED
  AccountExpired,       // 701 ERROR_ACCOUNT_EXPIRED
  PasswordMustChange,   // 773 ERROR_PASSWORD_MUST_CHANGE
  AccountLockedOut,     // 775 ERROR_ACCOUNT_LOCKED_OUT
  Other,                // a "data" code not listed here
};

struct AdBindFailure {
  AdBindError error = AdBindError::Other;
  unsigned code = 0;  // the "data" value, e.g. 0x775
};

// The failure named by `diagnostic`, or nullopt when it carries no "data" code.
std::optional<AdBindFailure> ad_bind_failure(std::string_view diagnostic) noexcept;

// "account locked out", "wrong password", ... ("unrecognized reason" for Other).
std::string_view describe(AdBindError error) noexcept;

// True when the account itself may not log on now, whatever the password:
// disabled, locked out, expired, outside its logon hours or workstations.
bool account_cannot_log_on(AdBindError error) noexcept;

}  // namespace gw
