// Smart host lists as administrators write them (msExchSmtpSmartHost,
// gwSmtpForwardUnresolvedToHost): "relay.example.net; [192.0.2.25], backup.example.net:2525".
//
// Contract: entries are separated by ';' or ',' with optional blanks. An entry
// is an FQDN (letters, digits, hyphens; labels of 1..63 characters) or an
// address literal in brackets ("[192.0.2.25]", "[IPv6:2001:db8::1]" or
// "[2001:db8::1]"), optionally followed by ":port". Literals are never looked
// up in DNS (RFC 5321 section 5.1); names are resolved by the delivery client
// (A/AAAA, not MX). Pure parsing: no resolution, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"

namespace gw::routing {

struct SmartHost {
  std::string host;          // FQDN in lower case, or the bare IP address for a literal
  bool ip_literal = false;
  std::uint16_t port = 0;    // 0 = the virtual server's outbound port

  // "relay.example.net", "[192.0.2.25]:2525", "[IPv6:2001:db8::1]".
  std::string str() const;
  friend bool operator==(const SmartHost&, const SmartHost&) = default;
};

// Errors of this library; RoutingErrc::BadSmartHost for an unparsable list.
enum class RoutingErrc { BadSmartHost = 1 };
std::error_code make_error_code(RoutingErrc e);

// Parses the whole list; an empty or blank list is an empty vector. Any bad
// entry fails the whole list, naming the entry in Error::detail.
Result<std::vector<SmartHost>> parse_smart_hosts(std::string_view text);

// True when `name` is a syntactically valid DNS host name (no trailing dot required).
bool is_valid_hostname(std::string_view name);

}  // namespace gw::routing

namespace std {
template <>
struct is_error_code_enum<gw::routing::RoutingErrc> : true_type {};
}  // namespace std
