// DirectoryClient: asynchronous LDAP searches, as the categorizer needs them.
//
// Contract: search() completes on the caller's executor and never blocks it. Zero entries is
// success, not an error. Errors are DirectoryErrc values: Unavailable (no server could be
// connected to or bound, or the connection was lost), Timeout (the request passed its deadline
// and was abandoned), SizeLimit (more entries than the request allows), Protocol (the server
// rejected the request). Filters are ldap::Filter values, so every value in them has been
// escaped by ldap::FilterBuilder; no code builds a filter by string concatenation.
// read() is the one answer that may say "this entry does not exist": only the server's
// noSuchObject result means absent; a read that brings back no entry and no noSuchObject is an
// error, never an absent entry. kind() says which kind of server answers (its root DSE), so callers
// can use what that kind supports (gateway/common/directory_kind.h).
// Not responsible for: what the entries mean (Resolver), caching (DirectoryCache).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "categorizer/ldap/filter_builder.h"
#include "gateway/common/asio.h"
#include "gateway/common/directory_kind.h"
#include "gateway/common/result.h"

namespace gw::categorizer {

enum class DirectoryErrc {
  Unavailable = 1,
  Timeout,
  SizeLimit,
  Protocol,
};

const std::error_category& directory_category() noexcept;
inline std::error_code make_error_code(DirectoryErrc e) noexcept {
  return {static_cast<int>(e), directory_category()};
}

// Case-insensitive ordering for attribute descriptions (RFC 4512 section 2.5).
struct AttributeNameLess {
  bool operator()(std::string_view a, std::string_view b) const noexcept;
  using is_transparent = void;
};

// One directory entry: its DN and the requested attributes.
struct Entry {
  std::string dn;
  std::map<std::string, std::vector<std::string>, AttributeNameLess> attributes;

  // All values of an attribute; empty when absent.
  const std::vector<std::string>& values(std::string_view attribute) const;
  // The first value, if any.
  std::optional<std::string_view> first(std::string_view attribute) const;
  bool has(std::string_view attribute) const { return !values(attribute).empty(); }
  // objectClass membership, case-insensitive.
  bool is_a(std::string_view object_class) const;
};
using EntryPtr = std::shared_ptr<const Entry>;

enum class SearchScope { Base, OneLevel, Subtree };

struct SearchRequest {
  std::string base;
  SearchScope scope = SearchScope::Subtree;
  ldap::Filter filter = ldap::FilterBuilder::present("objectClass");
  std::vector<std::string> attributes;  // empty = all user attributes
  std::size_t max_entries = 0;          // 0 = the client's own cap
};

class DirectoryClient {
 public:
  virtual ~DirectoryClient() = default;
  virtual asio::awaitable<Result<std::vector<Entry>>> search(SearchRequest request) = 0;
  // The entry named `dn` (a base-scope read; `attributes` empty = all user attributes). nullopt
  // only when the server answers noSuchObject. No entry without noSuchObject is Protocol.
  virtual asio::awaitable<Result<std::optional<Entry>>> read(std::string dn, std::vector<std::string> attributes) = 0;
  // The kind of the server that answers (connecting first when needed). Errors: Unavailable.
  virtual asio::awaitable<Result<DirectoryKind>> kind() = 0;
};

}  // namespace gw::categorizer

template <>
struct std::is_error_code_enum<gw::categorizer::DirectoryErrc> : std::true_type {};
