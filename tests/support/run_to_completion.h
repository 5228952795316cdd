// run_to_completion(): drives one coroutine of a test to its end and returns its
// value, so a test can call asynchronous code as if it were a function.
//
// With an io_context the test owns, only as much is run as the coroutine needs:
// work that keeps the context busy (an LDAP client's reader) stays for later.
// Without one, a fresh context runs until it has no work left. Throws when the
// coroutine cannot finish (the context ran out of work first).
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>

#include "gateway/common/asio.h"

namespace gw::test {

template <typename T>
T run_to_completion(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); }, asio::detached);
  io.restart();
  while (!out && io.run_one()) {
  }
  if (!out) throw std::logic_error("the operation did not complete");
  return std::move(*out);
}

template <typename T>
T run_to_completion(asio::awaitable<T> op) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); }, asio::detached);
  io.run();
  if (!out) throw std::logic_error("the operation did not complete");
  return std::move(*out);
}

}  // namespace gw::test
