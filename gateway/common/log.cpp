#include "gateway/common/log.h"

#include <memory>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "gateway/common/utf8.h"

namespace gw::log {

std::string Context::prefix() const {
  std::string out;
  if (!subsystem.empty()) {
    out.append(subsystem);
    out.append(": ");
  }
  if (session != 0) {
    out.append("session=");
    out.append(std::to_string(session));
    out.push_back(' ');
  }
  if (!peer.empty()) {
    out.append("peer=");
    out.append(peer);
    out.push_back(' ');
  }
  if (!queue_id.empty()) {
    out.append("queue=");
    out.append(queue_id);
    out.push_back(' ');
  }
  return out;
}

// Well-formed UTF-8 (an SMTPUTF8 address) is kept as it is; control octets
// and bytes that are not well-formed UTF-8 become '?'.
std::string printable(std::string_view text, std::size_t max_len) {
  std::string out;
  out.reserve(std::min(text.size(), max_len));
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_len) {
      out.append("...");
      break;
    }
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x80) {
      // Well-formed UTF-8 (an SMTPUTF8 address) is kept as it is.
      if (const std::size_t n = utf8_sequence(text, i); n > 0) {
        out.append(text.substr(i, n));
        i += n - 1;
        continue;
      }
    }
    out.push_back(u >= 0x20 && u < 0x7f ? text[i] : '?');
  }
  return out;
}

void init(std::string_view level, const std::string& file) {
  std::shared_ptr<spdlog::logger> logger;
  if (file.empty())
    logger = spdlog::stderr_logger_mt("gw");
  else
    logger = spdlog::basic_logger_mt("gw", file);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace gw::log
