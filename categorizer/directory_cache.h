// DirectoryCache: a bounded LRU cache of directory answers with separate positive and negative
// time-to-live values.
//
// Keys are strings chosen by the Resolver ("a:<address>", "d:<normalized dn>", "m:<dn>"); a value
// is the list of entries the directory returned, where an empty list is a cached "not found"
// (negative entry, shorter TTL). The clock is injected so expiry is tested without sleeping.
// Single-threaded, like the executor that uses it. Not responsible for invalidation on directory
// changes: TTLs bound staleness.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "categorizer/directory_client.h"

namespace gw::categorizer {

class DirectoryCache {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::size_t capacity = 50000;
    std::chrono::seconds positive_ttl{300};
    std::chrono::seconds negative_ttl{60};
  };

  explicit DirectoryCache(Options options, std::function<Clock::time_point()> now = &Clock::now);

  // nullopt = miss (absent or expired); an empty vector = cached "not found".
  std::optional<std::vector<EntryPtr>> get(const std::string& key);
  void put(const std::string& key, std::vector<EntryPtr> entries);
  void clear();
  std::size_t size() const noexcept { return index_.size(); }

 private:
  struct Slot {
    std::string key;
    std::vector<EntryPtr> entries;
    Clock::time_point expires;
  };
  Options options_;
  std::function<Clock::time_point()> now_;
  std::list<Slot> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<Slot>::iterator> index_;
};

}  // namespace gw::categorizer
