#include "gateway/queue/spool_error.h"

#include <cerrno>
#include <cstring>

namespace gw::queue {
namespace {

class SpoolCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "spool"; }
  std::string message(int value) const override {
    switch (static_cast<SpoolErrc>(value)) {
      case SpoolErrc::NoSpace: return "no space left in the spool";
      case SpoolErrc::Io: return "spool I/O error";
      case SpoolErrc::Corrupt: return "corrupt spool file";
      case SpoolErrc::NotFound: return "no such queued message";
      case SpoolErrc::Abandoned: return "message writer no longer open";
    }
    return "unknown spool error";
  }
};

}  // namespace

const std::error_category& spool_category() noexcept {
  static const SpoolCategory category;
  return category;
}

Error errno_error(int err, const std::string& what) {
  SpoolErrc kind = SpoolErrc::Io;
  if (err == ENOSPC || err == EDQUOT) {
    kind = SpoolErrc::NoSpace;
  } else if (err == ENOENT) {
    kind = SpoolErrc::NotFound;
  }
  return Error{make_error_code(kind), "queue: " + what + ": " + std::strerror(err)};
}

}  // namespace gw::queue
