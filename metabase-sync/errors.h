// metabase-sync errors and process exit codes.
//
// Every failure metabase-sync can report is one SyncErrc, carried in a gw::Error
// whose detail is the complete, admin-readable line (for configuration errors:
// "<DN>: <attribute>: <problem>"). The exit code of the tool is a function of the
// SyncErrc alone, so scripts can tell "directory down" from "bad configuration"
// without parsing text. This header does not print anything; main.cpp does.
#pragma once

#include <string>
#include <system_error>

#include "gateway/common/result.h"

namespace msync {

enum class SyncErrc {
  DirectoryUnavailable = 1,  // cannot connect, timed out, server went away
  BindFailed,                // the directory refused the credentials
  DirectoryError,            // any other LDAP failure (access denied, protocol ...)
  ConfigurationMissing,      // configuration NC / Exchange organization not found
  UnknownServer,             // no msExchExchangeServer with the requested cn
  InvalidConfiguration,      // a value failed validation; nothing was written
  LocalIo,                   // reading/writing local files failed
};

const std::error_category& sync_category() noexcept;

inline std::error_code make_error_code(SyncErrc e) noexcept {
  return {static_cast<int>(e), sync_category()};
}

inline std::unexpected<gw::Error> fail(SyncErrc e, std::string detail) {
  return gw::make_error(make_error_code(e), std::move(detail));
}

// Process exit codes (documented in metabase-sync/README.md).
enum class ExitCode : int {
  Ok = 0,
  LintErrors = 1,            // --check found at least one error
  Usage = 2,                 // bad command line
  DirectoryUnavailable = 3,
  BindFailed = 4,
  ConfigurationMissing = 5,
  UnknownServer = 6,
  InvalidConfiguration = 7,
  LocalIo = 8,
  DirectoryError = 9,
};

ExitCode exit_code_for(const gw::Error& error) noexcept;

// The one line printed for an error: the detail when there is one (it already
// names the object), otherwise the generic text of the code.
std::string describe(const gw::Error& error);

}  // namespace msync

template <>
struct std::is_error_code_enum<msync::SyncErrc> : std::true_type {};
