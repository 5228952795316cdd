#include "gateway/routing/smart_host.h"
#include "gateway/common/ascii.h"

#include <arpa/inet.h>

#include <charconv>

namespace gw::routing {
namespace {

class RoutingCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "routing"; }
  std::string message(int ev) const override {
    switch (static_cast<RoutingErrc>(ev)) {
      case RoutingErrc::BadSmartHost: return "bad smart host";
    }
    return "unknown routing error";
  }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool is_ipv4(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& text) {
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

Result<SmartHost> parse_entry(std::string_view entry) {
  auto bad = [&](std::string_view why) {
    return make_error(RoutingErrc::BadSmartHost, std::string(why) + ": \"" + std::string(entry) + "\"");
  };
  SmartHost host;
  std::string_view rest;
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return bad("unterminated address literal");
    std::string_view inside = entry.substr(1, close - 1);
    rest = entry.substr(close + 1);
    std::string address;
    if (inside.size() > 5 && ascii_lower(inside.substr(0, 5)) == "ipv6:") {
      address = std::string(inside.substr(5));
      if (!is_ipv6(address)) return bad("invalid IPv6 literal");
    } else {
      address = std::string(inside);
      if (!is_ipv4(address) && !is_ipv6(address)) return bad("invalid address literal");
    }
    host.host = ascii_lower(address);
    host.ip_literal = true;
  } else {
    const auto colon = entry.find(':');
    std::string_view name = entry.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : entry.substr(colon);
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (!is_valid_hostname(name)) return bad("invalid host name");
    host.host = ascii_lower(name);
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || !parse_port(rest.substr(1), host.port)) return bad("invalid port");
  }
  return host;
}

}  // namespace

std::error_code make_error_code(RoutingErrc e) {
  static const RoutingCategory category;
  return {static_cast<int>(e), category};
}

std::string SmartHost::str() const {
  std::string out;
  if (ip_literal) {
    const bool v6 = host.find(':') != std::string::npos;
    out = (v6 ? "[IPv6:" : "[") + host + "]";
  } else {
    out = host;
  }
  if (port != 0) out += ":" + std::to_string(port);
  return out;
}

bool is_valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label_len = 0;
  char previous = '.';
  for (char c : name) {
    if (c == '.') {
      if (label_len == 0 || previous == '-') return false;
      label_len = 0;
    } else {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '-' && c != '_') return false;
      if (c == '-' && label_len == 0) return false;
      if (++label_len > 63) return false;
    }
    previous = c;
  }
  return label_len > 0 && previous != '-';
}

Result<std::vector<SmartHost>> parse_smart_hosts(std::string_view text) {
  std::vector<SmartHost> hosts;
  while (!text.empty()) {
    const auto sep = text.find_first_of(";,");
    const std::string_view entry = trim(text.substr(0, sep));
    text = sep == std::string_view::npos ? std::string_view{} : text.substr(sep + 1);
    if (entry.empty()) continue;  // "a;;b" and a trailing separator are harmless
    auto host = parse_entry(entry);
    if (!host) return std::unexpected(host.error());
    hosts.push_back(std::move(*host));
  }
  return hosts;
}

}  // namespace gw::routing
