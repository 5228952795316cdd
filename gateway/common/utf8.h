// UTF-8 well-formedness (RFC 3629), the one check used by the address
// parser (RFC 6531 addresses), the application log and the event sinks (which
// keep UTF-8 addresses readable and escape everything else). Pure.
#pragma once

#include <cstddef>
#include <string_view>

namespace gw {

// Length of the well-formed UTF-8 sequence (2..4 octets) at text[pos], or 0.
// Rejects overlong forms, surrogates and code points above U+10FFFF.
std::size_t utf8_sequence(std::string_view text, std::size_t pos);

}  // namespace gw
