// Address: an RFC 5321 mailbox (local-part@domain) and the reverse/forward paths
// that carry it in MAIL FROM and RCPT TO.
//
// Contract: parse_path() and parse_mailbox() accept exactly the RFC 5321 4.1.2
// grammar (extended by RFC 6531 when SMTPUTF8 is allowed) and report why they
// refused in an AddressErrc that maps one-to-one onto an SMTP reply. The result is
// normalized: the domain is lower-cased (ASCII letters) with one trailing dot
// removed, a quoted local part is stored unquoted (quoted-pairs resolved) and
// str() re-quotes it only when it is not a valid dot-string. The local part keeps
// its case (RFC 5321 2.4). Source routes (<@a,@b:user@d>) are parsed and kept for
// the record, but RFC 5321 4.1.1.3 says they are to be ignored: every decision
// uses the final mailbox. Length limits are RFC 5321 4.5.3.1: local part 64
// octets, domain 255, path 256 including the angle brackets.
//
// Not responsible for: IDNA (U-labels are checked for UTF-8 well-formedness only,
// not converted to A-labels), deciding relay (gateway/smtp/relay.h does that) or
// knowing whether a mailbox exists. No I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gateway/common/result.h"

namespace gw {

enum class AddressErrc {
  Syntax = 1,          // not the RFC 5321 grammar
  LocalPartTooLong,    // > 64 octets
  DomainTooLong,       // > 255 octets, or a label > 63
  PathTooLong,         // > 256 octets including "<" and ">"
  NonAsciiNotAllowed,  // UTF-8 without SMTPUTF8 (RFC 6531 3.4)
  NullPathNotAllowed,  // "<>" where a mailbox is required (RCPT TO)
};

const std::error_category& address_category() noexcept;
std::error_code make_error_code(AddressErrc e) noexcept;

class Address {
 public:
  static constexpr std::size_t kMaxLocalPart = 64;
  static constexpr std::size_t kMaxDomain = 255;
  static constexpr std::size_t kMaxPath = 256;

  Address() = default;
  Address(std::string local_part, std::string domain);

  // Local part with quoting removed ("a b"@x has local part `a b`).
  const std::string& local_part() const noexcept { return local_part_; }
  // Normalized domain: "example.com", "[192.0.2.1]", "[ipv6:2001:db8::1]", or empty
  // for the special RCPT TO:<Postmaster> form.
  const std::string& domain() const noexcept { return domain_; }
  bool is_ip_literal() const noexcept { return !domain_.empty() && domain_.front() == '['; }
  bool is_ascii() const noexcept;
  bool empty() const noexcept { return local_part_.empty() && domain_.empty(); }

  // The address as it goes on the wire and into the envelope: the local part as a
  // dot-string when it is one, quoted otherwise; "@domain" unless the domain is empty.
  std::string str() const;

  friend bool operator==(const Address&, const Address&) = default;

 private:
  std::string local_part_;
  std::string domain_;
};

// The local part tries to route mail itself (RFC 5321 3.6 "sender-specified
// routing"). These forms are the classic relay tricks aimed at a host that
// accepts the domain after the last "@" and then lets a later MTA reinterpret the
// local part. gateway/smtp/README.md documents what the session does with each.
enum class LocalPartRouting {
  None,
  Percent,   // user%remote@local
  Bang,      // remote!user@local (UUCP)
  QuotedAt,  // "user@remote"@local
};
LocalPartRouting local_part_routing(const Address& address) noexcept;

struct Path {
  bool null = false;                       // the reverse-path "<>"
  Address mailbox;                         // empty when null
  std::vector<std::string> source_route;   // A-d-l domains, normalized; ignored by policy

  // "<>" or "<mailbox>" (without the source route).
  std::string str() const;
};

struct AddressOptions {
  bool allow_utf8 = false;       // SMTPUTF8 given: RFC 6531 non-ASCII in local part and domain
  bool allow_null = false;       // MAIL FROM:<> (reverse-path)
  bool allow_postmaster = false; // RCPT TO:<Postmaster> without a domain (RFC 5321 4.1.1.3)
};

// Parses a Path ("<...>", as in MAIL FROM:<...>). `text` is exactly the path, with
// no surrounding blanks and no parameters.
Result<Path> parse_path(std::string_view text, const AddressOptions& options = {});

// Parses a bare Mailbox ("user@example.com", no angle brackets).
Result<Address> parse_mailbox(std::string_view text, const AddressOptions& options = {});

// Normalizes a domain the way the parser does (lower case, one trailing dot
// removed); for comparisons with configured domains.
std::string normalize_domain(std::string_view domain);

// The domain of "local@domain", normalized (normalize_domain()); nullopt when
// the text is not of that form. For addresses already accepted (envelopes).
std::optional<std::string> domain_of(std::string_view address);

// Whether `domain` is named by a domain form as connector address spaces and
// ETRN/ATRN use them: "x" (that domain), "*.x" (its subdomains, not x itself)
// or "*" (any domain). Both normalized already.
bool domain_in_form(std::string_view domain, std::string_view form) noexcept;

}  // namespace gw

template <>
struct std::is_error_code_enum<gw::AddressErrc> : std::true_type {};
