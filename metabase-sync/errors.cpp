#include "metabase-sync/errors.h"

namespace msync {
namespace {

class SyncCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "metabase-sync"; }
  std::string message(int value) const override {
    switch (static_cast<SyncErrc>(value)) {
      case SyncErrc::DirectoryUnavailable: return "directory unavailable";
      case SyncErrc::BindFailed: return "directory bind failed";
      case SyncErrc::DirectoryError: return "directory operation failed";
      case SyncErrc::ConfigurationMissing: return "configuration container not found";
      case SyncErrc::UnknownServer: return "server not found in the directory";
      case SyncErrc::InvalidConfiguration: return "invalid configuration";
      case SyncErrc::LocalIo: return "local file error";
    }
    return "unknown metabase-sync error";
  }
};

}  // namespace

const std::error_category& sync_category() noexcept {
  static const SyncCategory category;
  return category;
}

ExitCode exit_code_for(const gw::Error& error) noexcept {
  if (error.code.category() != sync_category()) return ExitCode::LocalIo;
  switch (static_cast<SyncErrc>(error.code.value())) {
    case SyncErrc::DirectoryUnavailable: return ExitCode::DirectoryUnavailable;
    case SyncErrc::BindFailed: return ExitCode::BindFailed;
    case SyncErrc::DirectoryError: return ExitCode::DirectoryError;
    case SyncErrc::ConfigurationMissing: return ExitCode::ConfigurationMissing;
    case SyncErrc::UnknownServer: return ExitCode::UnknownServer;
    case SyncErrc::InvalidConfiguration: return ExitCode::InvalidConfiguration;
    case SyncErrc::LocalIo: return ExitCode::LocalIo;
  }
  return ExitCode::DirectoryError;
}

std::string describe(const gw::Error& error) {
  return error.detail.empty() ? error.code.message() : error.detail;
}

}  // namespace msync
