// Result<T>: the return type of every fallible operation on a hot path.
//
// An alias of std::expected (C++23 mode, -std=c++2b). Each library defines its
// own error enum and wraps it in gw::Error together with a human-readable
// detail, so a caller can both branch on the kind and log something useful.
// Exceptions are reserved for start-up and configuration boundaries.
#pragma once

#include <expected>
#include <string>
#include <system_error>
#include <utility>

namespace gw {

struct Error {
  std::error_code code;
  std::string detail;  // context for the log: file, DN, peer ...

  std::string message() const {
    return detail.empty() ? code.message() : detail + ": " + code.message();
  }
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(std::error_code code, std::string detail = {}) {
  return std::unexpected<Error>(Error{code, std::move(detail)});
}

}  // namespace gw
