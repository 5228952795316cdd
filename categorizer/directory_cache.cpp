#include "categorizer/directory_cache.h"

namespace gw::categorizer {

DirectoryCache::DirectoryCache(Options options, std::function<Clock::time_point()> now)
    : options_(options), now_(std::move(now)) {}

std::optional<std::vector<EntryPtr>> DirectoryCache::get(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= now_()) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->entries;
}

void DirectoryCache::put(const std::string& key, std::vector<EntryPtr> entries) {
  if (options_.capacity == 0) return;
  const auto ttl = entries.empty() ? options_.negative_ttl : options_.positive_ttl;
  const auto expires = now_() + ttl;
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->entries = std::move(entries);
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Slot{key, std::move(entries), expires});
  index_.emplace(key, lru_.begin());
  while (index_.size() > options_.capacity) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void DirectoryCache::clear() {
  lru_.clear();
  index_.clear();
}

}  // namespace gw::categorizer
