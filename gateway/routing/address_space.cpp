#include "gateway/routing/address_space.h"

#include <vector>

namespace gw::routing {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Iterative glob match with single-star backtracking: O(n*m) worst case,
// no recursion, so a hostile pattern cannot blow the stack.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '%' || lower(pattern[p]) == lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

std::optional<Specificity> match_address_space(std::string_view pattern, std::string_view domain) {
  // A trailing dot names the same (absolute) domain.
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (!pattern.empty() && pattern.back() == '.') pattern.remove_suffix(1);
  if (pattern.empty() || domain.empty()) return std::nullopt;
  Specificity s;
  std::size_t first_wildcard = std::string_view::npos;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '*' && pattern[i] != '%')
      ++s.literal_chars;
    else if (first_wildcard == std::string_view::npos)
      first_wildcard = i;
  }
  s.exact = s.literal_chars == pattern.size();
  // Fast paths for the two shapes nearly every address space has: "domain"
  // and "*.domain" (or "*").
  if (s.exact) return iequals(pattern, domain) ? std::optional(s) : std::nullopt;
  if (first_wildcard == 0 && pattern[0] == '*' && s.literal_chars + 1 == pattern.size()) {
    const auto suffix = pattern.substr(1);
    if (domain.size() < suffix.size()) return std::nullopt;
    return iequals(suffix, domain.substr(domain.size() - suffix.size())) ? std::optional(s) : std::nullopt;
  }
  if (!glob_match(pattern, domain)) return std::nullopt;
  return s;
}

}  // namespace gw::routing
