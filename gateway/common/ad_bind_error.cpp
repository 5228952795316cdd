#include "gateway/common/ad_bind_error.h"

#include <cctype>
#include <charconv>

namespace gw {

std::optional<AdBindFailure> ad_bind_failure(std::string_view diagnostic) noexcept {
  // "..., data 775, v3839": the word "data", blanks, hexadecimal digits.
  for (std::size_t at = diagnostic.find("data"); at != std::string_view::npos;
       at = diagnostic.find("data", at + 4)) {
    if (at > 0 && std::isalnum(static_cast<unsigned char>(diagnostic[at - 1]))) continue;
    std::size_t begin = at + 4;
    if (begin >= diagnostic.size() || diagnostic[begin] != ' ') continue;
    while (begin < diagnostic.size() && diagnostic[begin] == ' ') ++begin;
    unsigned code = 0;
    const char* first = diagnostic.data() + begin;
    const char* last = diagnostic.data() + diagnostic.size();
    auto [end, ec] = std::from_chars(first, last, code, 16);
    if (ec != std::errc() || end == first) continue;
    if (end != last && std::isalnum(static_cast<unsigned char>(*end))) continue;
    AdBindFailure failure;
    failure.code = code;
    switch (code) {
      case 0x525: failure.error = AdBindError::NoSuchUser; break;
      case 0x52e: failure.error = AdBindError::WrongPassword; break;
      case 0x530: failure.error = AdBindError::LogonHours; break;
      case 0x531: failure.error = AdBindError::Workstation; break;
      case 0x532: failure.error = AdBindError::PasswordExpired; break;
      case 0x533: failure.error = AdBindError::AccountDisabled; break;
      case 0x701: failure.error = AdBindError::AccountExpired; break;
      case 0x773: failure.error = AdBindError::PasswordMustChange; break;
      case 0x775: failure.error = AdBindError::AccountLockedOut; break;
      default: failure.error = AdBindError::Other; break;
    }
    return failure;
  }
  return std::nullopt;
}

std::string_view describe(AdBindError error) noexcept {
  switch (error) {
    case AdBindError::NoSuchUser: return "no such user";
    case AdBindError::WrongPassword: return "wrong password";
    case AdBindError::LogonHours: return "not permitted to log on at this time";
    case AdBindError::Workstation: return "not permitted to log on from this workstation";
    case AdBindError::PasswordExpired: return "password expired";
    case AdBindError::AccountDisabled: return "account disabled";
    case AdBindError::AccountExpired: return "account expired";
    case AdBindError::PasswordMustChange: return "password must be changed before the first logon";
    case AdBindError::AccountLockedOut: return "account locked out";
    case AdBindError::Other: break;
  }
  return "unrecognized reason";
}

bool account_cannot_log_on(AdBindError error) noexcept {
  switch (error) {
    case AdBindError::LogonHours:
    case AdBindError::Workstation:
    case AdBindError::AccountDisabled:
    case AdBindError::AccountExpired:
    case AdBindError::AccountLockedOut:
      return true;
    default:
      return false;
  }
}

}  // namespace gw
