// Capabilities: what a server announced in its EHLO/LHLO reply (RFC 5321 4.1.1.1).
//
// Parsed from the reply's lines after the first (the greeting line); keywords are
// case-insensitive. Only the extensions the outbound client uses are kept:
// PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531),
// DSN (RFC 3461), CHUNKING and BINARYMIME (RFC 3030), STARTTLS (RFC 3207), AUTH
// (RFC 4954, including the obsolete "AUTH=" form) and ENHANCEDSTATUSCODES
// (RFC 2034). A HELO reply yields no capabilities. Pure value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/delivery/reply.h"

namespace gw::delivery {

struct Capabilities {
  bool pipelining = false;
  // SIZE: nullopt when not announced; 0 when announced without a limit.
  std::optional<std::uint64_t> size;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool chunking = false;
  bool binary_mime = false;
  bool starttls = false;
  bool enhanced_status_codes = false;
  std::vector<std::string> auth_mechanisms;  // upper case, in the server's order

  bool offers_auth(std::string_view mechanism) const;

  static Capabilities from_ehlo(const Reply& reply);
};

}  // namespace gw::delivery
