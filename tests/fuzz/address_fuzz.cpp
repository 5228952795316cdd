// libFuzzer target: the RFC 5321 path parser. Beyond "no crash", it checks that
// a parsed path printed with str() parses again to the same mailbox.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/common/address.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  gw::AddressOptions options;
  options.allow_utf8 = (data[0] & 1) != 0;
  options.allow_null = (data[0] & 2) != 0;
  options.allow_postmaster = (data[0] & 4) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto path = gw::parse_path(text, options);
  if (!path || path->null || path->mailbox.domain().empty()) return 0;
  const std::string printed = path->mailbox.str();
  const auto again = gw::parse_mailbox(printed, options);
  if (!again || !(*again == path->mailbox)) std::abort();
  return 0;
}
