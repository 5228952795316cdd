// Exchange address-space patterns for SMTP connectors ("*", "*.mil",
// "partner.example", "a%c.example") and how specific a match is.
//
// Contract: matching is on the domain only, case-insensitively, with `*`
// matching any run of characters (possibly empty) and `%` exactly one. A
// pattern without wildcards matches only that domain, never its subdomains
// (use "*.domain" for those). Specificity orders matches the way the router
// must prefer them: an exact pattern beats any wildcard, then more literal
// characters beat fewer, so "*.sub.example" beats "*.example" beats "*".
// Not responsible for costs, connector state or the local part of an address.
#pragma once

#include <compare>
#include <cstddef>
#include <optional>
#include <string_view>

namespace gw::routing {

struct Specificity {
  bool exact = false;              // pattern has no wildcard
  std::size_t literal_chars = 0;   // characters other than '*' and '%'

  friend auto operator<=>(const Specificity&, const Specificity&) = default;
};

// The match's specificity, or nullopt when `pattern` does not match `domain`.
std::optional<Specificity> match_address_space(std::string_view pattern, std::string_view domain);

}  // namespace gw::routing
