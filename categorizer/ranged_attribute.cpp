#include "categorizer/ranged_attribute.h"

#include <charconv>

#include "categorizer/names.h"

namespace gw::categorizer {
namespace {

std::optional<std::uint64_t> number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

std::optional<AttributeRange> parse_range(std::string_view description) {
  // Options follow the attribute type, each after a ';' (RFC 4512 section 2.5).
  const auto first_option = description.find(';');
  if (first_option == std::string_view::npos || first_option == 0) return std::nullopt;
  AttributeRange range;
  range.attribute = std::string(description.substr(0, first_option));
  bool found = false;
  std::size_t pos = first_option;
  while (pos != std::string_view::npos) {
    const std::size_t start = pos + 1;
    pos = description.find(';', start);
    const std::string_view option =
        description.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start);
    if (option.size() > 6 && iequals(option.substr(0, 6), "range=")) {
      if (found) return std::nullopt;  // two range options
      const std::string_view bounds = option.substr(6);
      const auto dash = bounds.find('-');
      if (dash == std::string_view::npos) return std::nullopt;
      const auto low = number(bounds.substr(0, dash));
      if (!low) return std::nullopt;
      range.low = *low;
      const std::string_view high = bounds.substr(dash + 1);
      if (high != "*") {
        const auto h = number(high);
        if (!h || *h < *low) return std::nullopt;
        range.high = *h;
      }
      found = true;
    } else if (option.empty()) {
      return std::nullopt;
    } else {
      range.attribute += ";";  // other options (";binary") belong to the description
      range.attribute += option;
    }
  }
  if (!found) return std::nullopt;
  return range;
}

std::string next_range_request(const AttributeRange& got) {
  const std::uint64_t next = got.high ? *got.high + 1 : got.low;
  return got.attribute + ";range=" + std::to_string(next) + "-*";
}

std::vector<RangeContinuation> fold_ranged_attributes(Entry& entry) {
  std::vector<RangeContinuation> continuations;
  for (auto it = entry.attributes.begin(); it != entry.attributes.end();) {
    const auto range = parse_range(it->first);
    if (!range) {
      ++it;
      continue;
    }
    auto values = std::move(it->second);
    it = entry.attributes.erase(it);
    auto& plain = entry.attributes[range->attribute];
    plain.insert(plain.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
    if (range->high) continuations.push_back(RangeContinuation{range->attribute, next_range_request(*range)});
  }
  return continuations;
}

}  // namespace gw::categorizer
