// Parsers for the textual (and one binary) value formats of the Exchange
// configuration attributes.
//
// Each parser takes one attribute value and returns the parsed value or a short
// problem text such as `"abc" is not IP:port:` that the caller prefixes with the
// object's DN and the attribute name. They are pure functions; they neither know
// which attribute they parse nor apply defaults (defaults.h and the builder do).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "proto/metabase.pb.h"

namespace msync {

template <typename T>
using Parsed = std::expected<T, std::string>;

// Directory booleans: TRUE / FALSE (case-insensitive), also 1 / 0.
Parsed<bool> parse_bool(std::string_view value);

// Unsigned decimal integer within [0, max].
Parsed<std::uint64_t> parse_uint(std::string_view value, std::uint64_t max = UINT32_MAX);

// Signed 32-bit decimal integer.
Parsed<std::int32_t> parse_int32(std::string_view value);

// msExchServerBindings, IIS ServerBindings "IP:port:hostname"; IP and hostname may
// be empty (empty IP = all unassigned addresses); IPv6 as "[addr]:port:".
Parsed<gw::metabase::Binding> parse_server_binding(std::string_view value);

// msExchSecureBindings, IIS SecureBindings "IP:port" (a trailing ':' is accepted).
Parsed<gw::metabase::Binding> parse_secure_binding(std::string_view value);

// routingList "TYPE:address-space;cost", cost 1..100.
Parsed<gw::metabase::AddressSpace> parse_address_space(std::string_view value);

// msExchSmtpRemoteQueueRetries "first,second,third,subsequent" in minutes; one to
// four positive numbers, the last one repeating. Returned in seconds.
Parsed<gw::metabase::RetrySchedule> parse_retry_minutes(std::string_view value);

// "a.b.c.d", "a.b.c.d/len", "x::y", "x::y/len". The address is returned in
// canonical text form with host bits cleared.
Parsed<gw::metabase::IpNetwork> parse_ip_network(std::string_view value);

// "host:port" or "[v6]:port" (gwDeliveryEndpoint).
struct HostPort {
  std::string host;
  std::uint32_t port = 0;
};
Parsed<HostPort> parse_host_port(std::string_view value);

// A smart-host list: "host1;host2;[192.0.2.1]" (';' or ',' separated, blanks
// ignored). Each entry must be a DNS name or a bracketed IP literal; an unbracketed
// IP is accepted here (it is a lint finding, not a syntax error).
Parsed<std::vector<std::string>> parse_smart_hosts(std::string_view value);

// True for a textual IPv4 or IPv6 address (no brackets, no prefix).
bool is_ip_literal(std::string_view text);

// A DNS host name per RFC 1123 (letters, digits, '-', '.'; labels 1..63).
bool is_host_name(std::string_view text);

std::string trim(std::string_view text);

}  // namespace msync
