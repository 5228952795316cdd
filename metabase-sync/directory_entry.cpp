#include "metabase-sync/directory_entry.h"

#include <algorithm>
#include <cctype>

namespace msync {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const noexcept {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](unsigned char x, unsigned char y) {
                                        return std::tolower(x) < std::tolower(y);
                                      });
}

const std::vector<std::string>& DirectoryEntry::values(std::string_view attribute) const {
  static const std::vector<std::string> kNone;
  auto it = attributes.find(attribute);
  return it == attributes.end() ? kNone : it->second;
}

std::optional<std::string> DirectoryEntry::first(std::string_view attribute) const {
  const auto& all = values(attribute);
  if (all.empty()) return std::nullopt;
  return all.front();
}

bool DirectoryEntry::has_object_class(std::string_view object_class) const {
  const CaseInsensitiveLess less;
  for (const auto& value : values("objectClass"))
    if (!less(value, object_class) && !less(object_class, value)) return true;
  return false;
}

DirectoryEntry& DirectoryEntry::add(std::string_view attribute, std::string value) {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) it = attributes.emplace(std::string(attribute), std::vector<std::string>{}).first;
  it->second.push_back(std::move(value));
  return *this;
}

}  // namespace msync
