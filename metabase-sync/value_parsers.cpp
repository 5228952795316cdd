#include "metabase-sync/value_parsers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

#include <fmt/format.h>

namespace msync {
namespace {

std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  out.push_back('"');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::vector<std::string_view> split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find_first_of(separators, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

Parsed<std::uint32_t> parse_port(std::string_view text) {
  auto port = parse_uint(text, 65535);
  if (!port || *port == 0) return std::unexpected(std::string("bad port"));
  return static_cast<std::uint32_t>(*port);
}

// Splits "ip:rest" where ip may be "[v6]"; returns {ip, rest} or nullopt.
std::optional<std::pair<std::string_view, std::string_view>> split_ip(std::string_view value) {
  if (!value.empty() && value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':')
      return std::nullopt;
    return std::make_pair(value.substr(1, close - 1), value.substr(close + 2));
  }
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::make_pair(value.substr(0, colon), value.substr(colon + 1));
}

}  // namespace

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

bool is_ip_literal(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return false;
  const std::string copy(text);
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, copy.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, copy.c_str(), buf.data()) == 1;
}

bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  if (text.back() == '.') text.remove_suffix(1);
  for (auto label : split(text, ".")) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (unsigned char c : label)
      if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

Parsed<bool> parse_bool(std::string_view value) {
  if (iequals(value, "TRUE") || value == "1") return true;
  if (iequals(value, "FALSE") || value == "0") return false;
  return std::unexpected(quoted(value) + " is not TRUE or FALSE");
}

Parsed<std::uint64_t> parse_uint(std::string_view value, std::uint64_t max) {
  std::uint64_t out = 0;
  const auto* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, out);
  if (value.empty() || ec != std::errc() || ptr != end)
    return std::unexpected(quoted(value) + " is not a non-negative integer");
  if (out > max) return std::unexpected(fmt::format("{} is larger than {}", quoted(value), max));
  return out;
}

Parsed<std::int32_t> parse_int32(std::string_view value) {
  std::int32_t out = 0;
  const auto* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, out);
  if (value.empty() || ec != std::errc() || ptr != end)
    return std::unexpected(quoted(value) + " is not a 32-bit integer");
  return out;
}

Parsed<gw::metabase::Binding> parse_server_binding(std::string_view value) {
  const auto bad = [&] { return std::unexpected(quoted(value) + " is not IP:port:"); };
  const auto ip_rest = split_ip(value);
  if (!ip_rest) return bad();
  auto [ip, rest] = *ip_rest;
  // rest = "port:hostname" or "port"
  const auto colon = rest.find(':');
  const auto port_text = rest.substr(0, colon);
  if (!ip.empty() && !is_ip_literal(ip)) return bad();
  auto port = parse_port(port_text);
  if (!port) return bad();
  gw::metabase::Binding binding;
  binding.set_ip(std::string(ip));
  binding.set_port(*port);
  binding.set_implicit_tls(false);
  return binding;
}

Parsed<gw::metabase::Binding> parse_secure_binding(std::string_view value) {
  auto binding = parse_server_binding(value);
  if (!binding) return std::unexpected(quoted(value) + " is not IP:port");
  binding->set_implicit_tls(true);
  return binding;
}

Parsed<gw::metabase::AddressSpace> parse_address_space(std::string_view value) {
  const auto bad = [&] {
    return std::unexpected(quoted(value) + " is not TYPE:address-space;cost with cost 1..100");
  };
  const auto colon = value.find(':');
  const auto semicolon = value.rfind(';');
  if (colon == std::string_view::npos || colon == 0 || semicolon == std::string_view::npos ||
      semicolon <= colon + 1)
    return bad();
  const auto type = value.substr(0, colon);
  const auto pattern = trim(value.substr(colon + 1, semicolon - colon - 1));
  auto cost = parse_uint(trim(value.substr(semicolon + 1)), 100);
  if (!cost || *cost == 0 || pattern.empty()) return bad();
  gw::metabase::AddressSpace space;
  if (iequals(type, "SMTP"))
    space.set_type(gw::metabase::ADDRESS_SPACE_SMTP);
  else if (iequals(type, "X400"))
    space.set_type(gw::metabase::ADDRESS_SPACE_X400);
  else
    space.set_type(gw::metabase::ADDRESS_SPACE_OTHER);
  if (space.type() == gw::metabase::ADDRESS_SPACE_SMTP) {
    std::string lowered = pattern;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    space.set_pattern(lowered);
  } else {
    space.set_pattern(pattern);
  }
  space.set_cost(static_cast<std::uint32_t>(*cost));
  return space;
}

Parsed<gw::metabase::RetrySchedule> parse_retry_minutes(std::string_view value) {
  const auto bad = [&] {
    return std::unexpected(quoted(value) +
                           " is not a list of 1 to 4 retry intervals in minutes (\"10,10,10,15\")");
  };
  std::vector<std::uint32_t> minutes;
  for (auto part : split(value, ",;")) {
    const auto text = trim(part);
    auto number = parse_uint(text, 7 * 24 * 60);
    if (!number || *number == 0) return bad();
    minutes.push_back(static_cast<std::uint32_t>(*number));
  }
  if (minutes.empty() || minutes.size() > 4) return bad();
  while (minutes.size() < 4) minutes.push_back(minutes.back());
  gw::metabase::RetrySchedule schedule;
  schedule.set_first_retry_seconds(minutes[0] * 60);
  schedule.set_second_retry_seconds(minutes[1] * 60);
  schedule.set_third_retry_seconds(minutes[2] * 60);
  schedule.set_subsequent_retry_seconds(minutes[3] * 60);
  return schedule;
}

Parsed<gw::metabase::IpNetwork> parse_ip_network(std::string_view value) {
  const auto bad = [&] {
    return std::unexpected(quoted(value) + " is not an IP address or network (a.b.c.d/len)");
  };
  const auto text = trim(value);
  const auto slash = text.find('/');
  const std::string address = text.substr(0, slash);
  std::array<unsigned char, 16> bytes{};
  int family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), bytes.data()) != 1) {
    family = AF_INET6;
    if (inet_pton(AF_INET6, address.c_str(), bytes.data()) != 1) return bad();
  }
  const std::uint32_t max_prefix = family == AF_INET ? 32 : 128;
  std::uint32_t prefix = max_prefix;
  if (slash != std::string::npos) {
    auto parsed = parse_uint(std::string_view(text).substr(slash + 1), max_prefix);
    if (!parsed) return bad();
    prefix = static_cast<std::uint32_t>(*parsed);
  }
  const std::size_t length = family == AF_INET ? 4 : 16;
  for (std::size_t i = 0; i < length; ++i) {
    const std::uint32_t bit = static_cast<std::uint32_t>(i) * 8;
    if (bit >= prefix)
      bytes[i] = 0;
    else if (prefix - bit < 8)
      bytes[i] &= static_cast<unsigned char>(0xff << (8 - (prefix - bit)));
  }
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes.data(), out, sizeof out);
  gw::metabase::IpNetwork network;
  network.set_address(out);
  network.set_prefix_length(prefix);
  return network;
}

Parsed<HostPort> parse_host_port(std::string_view value) {
  const auto bad = [&] { return std::unexpected(quoted(value) + " is not host:port"); };
  std::string_view host;
  std::string_view port_text;
  if (!value.empty() && value.front() == '[') {
    const auto ip_rest = split_ip(value);
    if (!ip_rest || !is_ip_literal(ip_rest->first)) return bad();
    host = ip_rest->first;
    port_text = ip_rest->second;
  } else {
    const auto colon = value.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = value.substr(0, colon);
    port_text = value.substr(colon + 1);
    if (!is_host_name(host) && !is_ip_literal(host)) return bad();
  }
  auto port = parse_port(port_text);
  if (!port) return bad();
  return HostPort{std::string(host), *port};
}

Parsed<std::vector<std::string>> parse_smart_hosts(std::string_view value) {
  std::vector<std::string> hosts;
  for (auto part : split(value, ";,")) {
    auto host = trim(part);
    if (host.empty()) continue;
    const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
    const bool valid = bracketed ? is_ip_literal(std::string_view(host).substr(1, host.size() - 2))
                                 : (is_host_name(host) || is_ip_literal(host));
    if (!valid)
      return std::unexpected(quoted(host) + " is not a host name or a bracketed IP address ([192.0.2.1])");
    hosts.push_back(std::move(host));
  }
  if (hosts.empty()) return std::unexpected(quoted(value) + " names no smart host");
  return hosts;
}

}  // namespace msync
