#include "gateway/common/enhanced_status.h"

#include <charconv>

namespace gw {

std::optional<EnhancedStatus> EnhancedStatus::parse(std::string_view text) {
  unsigned parts[3] = {};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc{} || next == p || next - p > 3) return std::nullopt;
    p = next;
    if (i < 2) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  if (parts[0] != 2 && parts[0] != 4 && parts[0] != 5) return std::nullopt;
  return EnhancedStatus{static_cast<std::uint8_t>(parts[0]), static_cast<std::uint16_t>(parts[1]),
                        static_cast<std::uint16_t>(parts[2])};
}

}  // namespace gw
