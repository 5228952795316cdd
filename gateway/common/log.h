// gw::log: the application log, spdlog behind a thin wrapper that carries context.
//
// Every line names its subsystem and, when known, the session, peer and queue
// id ("session=7 peer=127.0.0.1:40112 queue=0001A2B3: ..."), the way Postfix
// prefixes the queue id. Peer-supplied text goes through printable() before it
// is logged. Passwords and SASL payloads are never logged.
#pragma once

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace gw::log {

// Context for one log line; empty fields are left out.
struct Context {
  std::string_view subsystem;   // "smtp", "queue", "categorizer" ...
  std::uint64_t session = 0;    // 0 = none
  std::string_view peer;        // "ip:port"
  std::string_view queue_id;

  std::string prefix() const;
};

// Replaces control characters and non-ASCII bytes with '?', caps the length,
// so that peer text cannot forge log lines.
std::string printable(std::string_view text, std::size_t max_len = 256);

// Configures the default logger: level name ("info", "debug" ...) and an
// optional file (empty = stderr).
void init(std::string_view level, const std::string& file = {});

template <typename... Args>
void info(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  spdlog::info("{}{}", ctx.prefix(), fmt::format(fmt, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  spdlog::warn("{}{}", ctx.prefix(), fmt::format(fmt, std::forward<Args>(args)...));
}
template <typename... Args>
void error(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  spdlog::error("{}{}", ctx.prefix(), fmt::format(fmt, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("{}{}", ctx.prefix(), fmt::format(fmt, std::forward<Args>(args)...));
}

}  // namespace gw::log
