#include "gateway/smtp/reply.h"

namespace gw::smtp {

std::string Reply::wire() const {
  std::string out;
  const std::string code_text = std::to_string(code);
  const std::string prefix = status ? status->str() + " " : std::string();
  const std::size_t count = lines.empty() ? 1 : lines.size();
  for (std::size_t i = 0; i < count; ++i) {
    out += code_text;
    out += (i + 1 == count) ? ' ' : '-';
    out += prefix;
    if (!lines.empty()) out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string Reply::summary() const {
  std::string out = std::to_string(code);
  if (status) out += " " + status->str();
  if (!lines.empty()) out += " " + lines.front();
  return out;
}

}  // namespace gw::smtp
