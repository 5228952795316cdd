#include "categorizer/directory_client.h"

#include <strings.h>

#include <algorithm>

namespace gw::categorizer {
namespace {

class DirectoryCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "directory"; }
  std::string message(int value) const override {
    switch (static_cast<DirectoryErrc>(value)) {
      case DirectoryErrc::Unavailable: return "directory unavailable";
      case DirectoryErrc::Timeout: return "directory request timed out";
      case DirectoryErrc::SizeLimit: return "directory size limit exceeded";
      case DirectoryErrc::Protocol: return "directory protocol error";
    }
    return "unknown directory error";
  }
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

const std::error_category& directory_category() noexcept {
  static const DirectoryCategory category;
  return category;
}

bool AttributeNameLess::operator()(std::string_view a, std::string_view b) const noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  const int c = ::strncasecmp(a.data(), b.data(), n);
  if (c != 0) return c < 0;
  return a.size() < b.size();
}

const std::vector<std::string>& Entry::values(std::string_view attribute) const {
  static const std::vector<std::string> kNone;
  auto it = attributes.find(attribute);
  return it == attributes.end() ? kNone : it->second;
}

std::optional<std::string_view> Entry::first(std::string_view attribute) const {
  const auto& v = values(attribute);
  if (v.empty()) return std::nullopt;
  return std::string_view(v.front());
}

bool Entry::is_a(std::string_view object_class) const {
  const auto& classes = values("objectClass");
  return std::any_of(classes.begin(), classes.end(),
                     [&](const std::string& c) { return iequals(c, object_class); });
}

}  // namespace gw::categorizer
