// FakeDirectoryClient: an in-memory DirectoryClient for orderings a real slapd cannot produce on
// demand (a failure at the N-th search, a reply that only arrives after the deadline). It
// evaluates the structured ldap::Filter (equality case-insensitively, DN-valued attributes and
// entryDN by normalized DN, presence, and/or/not) over entries within the search base. read()
// answers like a server: the entry, or nullopt (noSuchObject) when there is none. It can play the
// directories that answer wrongly: ignore_attribute() makes equality on an attribute never match
// (Active Directory and `entryDN`), hide() makes an entry invisible to searches and reads it as
// "no entry, no noSuchObject" (an access control that hides it).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "categorizer/directory_client.h"
#include "categorizer/names.h"

namespace gw::categorizer::test {

class FakeDirectoryClient final : public DirectoryClient {
 public:
  void add(Entry entry) { entries_.push_back(std::move(entry)); }

  // The search with 0-based index `n` (counting from now) fails with `errc`.
  void fail_search(std::size_t n, DirectoryErrc errc) { failures_.push_back({searches_ + n, errc}); }
  void fail_all(std::optional<DirectoryErrc> errc) { fail_all_ = errc; }
  void set_kind(DirectoryKind kind) { kind_ = kind; }
  void ignore_attribute(std::string attribute) { ignored_.push_back(std::move(attribute)); }
  void hide(std::string dn) { hidden_.push_back(normalize_dn(dn)); }

  std::size_t searches() const noexcept { return searches_; }  // reads included
  std::size_t reads() const noexcept { return reads_; }
  const std::vector<std::string>& filters() const noexcept { return filters_; }

  asio::awaitable<Result<std::vector<Entry>>> search(SearchRequest request) override {
    const std::size_t index = searches_++;
    filters_.push_back(request.filter.str());
    for (const auto& [at, errc] : failures_)
      if (at == index) co_return gw::make_error(make_error_code(errc), "injected");
    if (fail_all_) co_return gw::make_error(make_error_code(*fail_all_), "injected");
    std::vector<Entry> out;
    const std::string base = normalize_dn(request.base);
    for (const auto& e : entries_) {
      const std::string dn = normalize_dn(e.dn);
      if (std::find(hidden_.begin(), hidden_.end(), dn) != hidden_.end()) continue;
      const bool in_scope = request.scope == SearchScope::Base ? dn == base : dn_is_within(dn, base);
      if (in_scope && matches(e, request.filter)) out.push_back(e);
    }
    co_return out;
  }

  asio::awaitable<Result<std::optional<Entry>>> read(std::string dn, std::vector<std::string> attributes) override {
    ++reads_;
    const bool hidden = std::find(hidden_.begin(), hidden_.end(), normalize_dn(dn)) != hidden_.end();
    SearchRequest request{dn, SearchScope::Base, ldap::FilterBuilder::present("objectClass"), std::move(attributes), 1};
    auto found = co_await search(std::move(request));
    if (!found) co_return std::unexpected(found.error());
    if (hidden) co_return gw::make_error(make_error_code(DirectoryErrc::Protocol), "no entry and no noSuchObject");
    if (found->empty()) co_return std::optional<Entry>();
    co_return std::optional<Entry>(std::move(found->front()));
  }

  asio::awaitable<Result<DirectoryKind>> kind() override {
    if (fail_all_) co_return gw::make_error(make_error_code(*fail_all_), "injected");
    co_return kind_;
  }

 private:
  static bool value_equals(std::string_view a, std::string_view b) {
    if (iequals(a, b)) return true;
    return a.find('=') != std::string_view::npos && normalize_dn(a) == normalize_dn(b);
  }
  bool matches(const Entry& e, const ldap::Filter& f) const {
    using K = ldap::Filter::Kind;
    switch (f.kind()) {
      case K::Equality:
        for (const auto& ignored : ignored_)
          if (iequals(f.attribute(), ignored)) return false;
        if (iequals(f.attribute(), "entryDN") || iequals(f.attribute(), "distinguishedName"))
          return normalize_dn(e.dn) == normalize_dn(f.value());
        for (const auto& v : e.values(f.attribute()))
          if (value_equals(v, f.value())) return true;
        return false;
      case K::Presence:
        return iequals(f.attribute(), "objectClass") || e.has(f.attribute());
      case K::And:
        for (const auto& c : f.children())
          if (!matches(e, c)) return false;
        return true;
      case K::Or:
        for (const auto& c : f.children())
          if (matches(e, c)) return true;
        return false;
      case K::Not:
        return !matches(e, f.children().front());
    }
    return false;
  }

  std::vector<Entry> entries_;
  std::vector<std::pair<std::size_t, DirectoryErrc>> failures_;
  std::optional<DirectoryErrc> fail_all_;
  std::size_t searches_ = 0;
  std::size_t reads_ = 0;
  DirectoryKind kind_ = DirectoryKind::OpenLdap;
  std::vector<std::string> ignored_;
  std::vector<std::string> hidden_;
  std::vector<std::string> filters_;
};

}  // namespace gw::categorizer::test
