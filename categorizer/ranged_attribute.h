// Ranged attribute retrieval (Active Directory's "range option" for multi-valued attributes).
//
// AD returns at most MaxValRange values (1500 by default) of a large attribute such as a group's
// `member`, under the description "member;range=0-1499" and without a plain "member"; the client
// asks for "member;range=1500-*" on the same entry, and so on, until a reply ends in "-*"
// ("member;range=3000-*"). parse_range() reads such a description; fold_ranged_attributes()
// moves ranged values into the plain attribute and says which range to ask for next. Servers
// without ranges (OpenLDAP) return plain attributes, which pass through untouched.
// Pure functions: no directory access (Resolver issues the continuation searches).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "categorizer/directory_client.h"

namespace gw::categorizer {

struct AttributeRange {
  std::string attribute;                // the description without its range option ("member")
  std::uint64_t low = 0;
  std::optional<std::uint64_t> high;    // nullopt: "*", the last values of the attribute
};

// "member;range=0-1499" -> {member, 0, 1499}; "member;Range=1500-*" -> {member, 1500, *}.
// nullopt for a description without a range option or with a malformed one.
std::optional<AttributeRange> parse_range(std::string_view description);

// The description that asks for the values after `got`: "member;range=1500-*".
std::string next_range_request(const AttributeRange& got);

// What fold_ranged_attributes() leaves to fetch.
struct RangeContinuation {
  std::string attribute;  // "member"
  std::string request;    // "member;range=1500-*"
};

// Appends the values of every ranged attribute of `entry` to its plain attribute and removes the
// ranged description. Returns one continuation per attribute whose range did not end in "*".
// A malformed range option is left as it is (the values stay under their description).
std::vector<RangeContinuation> fold_ranged_attributes(Entry& entry);

}  // namespace gw::categorizer
