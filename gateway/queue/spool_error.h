// SpoolErrc: the ways a spool operation can fail, as a std::error_code category.
//
// The SMTP session maps them to replies: NoSpace -> "452 4.3.1", every other
// error on the accept path -> "451 4.3.0". Corrupt is what the envelope codec and
// recover() report for a file that fails its framing check; NotFound is a queue id
// with no complete message behind it. The errno text of the failing call is in
// gw::Error::detail, never lost.
#pragma once

#include <string>
#include <system_error>

#include "gateway/common/result.h"

namespace gw::queue {

enum class SpoolErrc {
  NoSpace = 1,   // ENOSPC / EDQUOT: try again later, 452 4.3.1
  Io,            // any other failing system call: 451 4.3.0
  Corrupt,       // an envelope file failed magic, version, length or CRC32C
  NotFound,      // no complete message with this id
  Abandoned,     // the writer was already committed, abandoned or failed
};

const std::error_category& spool_category() noexcept;

inline std::error_code make_error_code(SpoolErrc e) noexcept {
  return {static_cast<int>(e), spool_category()};
}

// Classifies errno from a failing system call: ENOSPC and EDQUOT are NoSpace,
// ENOENT is NotFound, everything else is Io. `what` names the call and the file
// ("fsync queue/0001.env"); the result's detail reads "queue: <what>: <strerror>".
Error errno_error(int err, const std::string& what);

}  // namespace gw::queue

template <>
struct std::is_error_code_enum<gw::queue::SpoolErrc> : std::true_type {};
