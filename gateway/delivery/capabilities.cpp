#include "gateway/delivery/capabilities.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace gw::delivery {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    const auto start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
    if (pos > start) out.push_back(line.substr(start, pos - start));
  }
  return out;
}

void add_mechanisms(Capabilities& caps, const std::vector<std::string_view>& list, std::size_t from) {
  for (std::size_t i = from; i < list.size(); ++i) {
    auto mechanism = upper(list[i]);
    if (std::find(caps.auth_mechanisms.begin(), caps.auth_mechanisms.end(), mechanism) == caps.auth_mechanisms.end())
      caps.auth_mechanisms.push_back(std::move(mechanism));
  }
}

}  // namespace

bool Capabilities::offers_auth(std::string_view mechanism) const {
  const auto wanted = upper(mechanism);
  return std::find(auth_mechanisms.begin(), auth_mechanisms.end(), wanted) != auth_mechanisms.end();
}

Capabilities Capabilities::from_ehlo(const Reply& reply) {
  Capabilities caps;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const auto list = words(reply.lines[i]);
    if (list.empty()) continue;
    const auto keyword = upper(list[0]);
    if (keyword == "PIPELINING") {
      caps.pipelining = true;
    } else if (keyword == "SIZE") {
      std::uint64_t limit = 0;
      if (list.size() > 1) {
        const auto value = list[1];
        if (std::from_chars(value.data(), value.data() + value.size(), limit).ec != std::errc{}) limit = 0;
      }
      caps.size = limit;
    } else if (keyword == "8BITMIME") {
      caps.eight_bit_mime = true;
    } else if (keyword == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (keyword == "DSN") {
      caps.dsn = true;
    } else if (keyword == "CHUNKING") {
      caps.chunking = true;
    } else if (keyword == "BINARYMIME") {
      caps.binary_mime = true;
    } else if (keyword == "STARTTLS") {
      caps.starttls = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      caps.enhanced_status_codes = true;
    } else if (keyword == "AUTH") {
      add_mechanisms(caps, list, 1);
    } else if (keyword.starts_with("AUTH=")) {
      // Pre-RFC 4954 servers announce "AUTH=LOGIN PLAIN".
      std::vector<std::string_view> mechanisms = list;
      mechanisms[0] = list[0].substr(5);
      add_mechanisms(caps, mechanisms, mechanisms[0].empty() ? 1 : 0);
    }
  }
  return caps;
}

}  // namespace gw::delivery
