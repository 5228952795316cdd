#include "gateway/common/address.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <optional>

#include "gateway/common/utf8.h"

namespace gw {
namespace {

class AddressCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "address"; }
  std::string message(int value) const override {
    switch (static_cast<AddressErrc>(value)) {
      case AddressErrc::Syntax: return "address syntax error";
      case AddressErrc::LocalPartTooLong: return "local part longer than 64 octets";
      case AddressErrc::DomainTooLong: return "domain longer than 255 octets or label longer than 63";
      case AddressErrc::PathTooLong: return "path longer than 256 octets";
      case AddressErrc::NonAsciiNotAllowed: return "non-ASCII address without SMTPUTF8";
      case AddressErrc::NullPathNotAllowed: return "null path not allowed here";
    }
    return "unknown address error";
  }
};

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_let_dig(unsigned char c) { return is_alpha(c) || is_digit(c); }

// RFC 5322 atext.
bool is_atext(unsigned char c) {
  if (is_let_dig(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

// RFC 5321 qtextSMTP: printable ASCII except '"' and '\'.
bool is_qtext(unsigned char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

struct Cursor {
  std::string_view text;
  std::size_t pos = 0;
  bool at_end() const { return pos >= text.size(); }
  unsigned char peek() const { return at_end() ? 0 : static_cast<unsigned char>(text[pos]); }
};

using Parsed = std::expected<void, AddressErrc>;

// Dot-string = Atom *("." Atom); with UTF-8, atext also takes UTF8-non-ascii.
Parsed parse_dot_string(Cursor& cur, bool allow_utf8, bool& saw_utf8, std::string& out) {
  bool need_atom = true;
  while (!cur.at_end()) {
    const unsigned char c = cur.peek();
    if (is_atext(c)) {
      out += static_cast<char>(c);
      ++cur.pos;
      need_atom = false;
    } else if (c >= 0x80) {
      const std::size_t n = utf8_sequence(cur.text, cur.pos);
      if (n == 0) return std::unexpected(AddressErrc::Syntax);
      if (!allow_utf8) return std::unexpected(AddressErrc::NonAsciiNotAllowed);
      saw_utf8 = true;
      out.append(cur.text.substr(cur.pos, n));
      cur.pos += n;
      need_atom = false;
    } else if (c == '.') {
      if (need_atom) return std::unexpected(AddressErrc::Syntax);
      out += '.';
      ++cur.pos;
      need_atom = true;
    } else {
      break;
    }
  }
  if (need_atom) return std::unexpected(AddressErrc::Syntax);
  return {};
}

Parsed parse_quoted_string(Cursor& cur, bool allow_utf8, std::string& out) {
  ++cur.pos;  // opening DQUOTE
  while (!cur.at_end()) {
    const unsigned char c = cur.peek();
    if (c == '"') {
      ++cur.pos;
      return {};
    }
    if (c == '\\') {
      ++cur.pos;
      const unsigned char q = cur.peek();
      if (cur.at_end() || q < 32 || q > 126) return std::unexpected(AddressErrc::Syntax);
      out += static_cast<char>(q);
      ++cur.pos;
    } else if (is_qtext(c)) {
      out += static_cast<char>(c);
      ++cur.pos;
    } else if (c >= 0x80) {
      const std::size_t n = utf8_sequence(cur.text, cur.pos);
      if (n == 0) return std::unexpected(AddressErrc::Syntax);
      if (!allow_utf8) return std::unexpected(AddressErrc::NonAsciiNotAllowed);
      out.append(cur.text.substr(cur.pos, n));
      cur.pos += n;
    } else {
      return std::unexpected(AddressErrc::Syntax);
    }
  }
  return std::unexpected(AddressErrc::Syntax);  // unterminated
}

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str], or a
// U-label with SMTPUTF8. One trailing dot is tolerated and removed. Lower-cases
// ASCII letters.
Parsed parse_domain(Cursor& cur, bool allow_utf8, std::string& out) {
  const std::size_t start = cur.pos;
  std::size_t label_length = 0;
  bool label_open = false;
  unsigned char last = 0;
  while (!cur.at_end()) {
    const unsigned char c = cur.peek();
    if (is_let_dig(c) || c == '-') {
      if (!label_open && c == '-') return std::unexpected(AddressErrc::Syntax);
      out += static_cast<char>(is_alpha(c) ? (c | 0x20) : c);
      ++cur.pos;
      ++label_length;
      label_open = true;
      last = c;
    } else if (c >= 0x80) {
      const std::size_t n = utf8_sequence(cur.text, cur.pos);
      if (n == 0) return std::unexpected(AddressErrc::Syntax);
      if (!allow_utf8) return std::unexpected(AddressErrc::NonAsciiNotAllowed);
      out.append(cur.text.substr(cur.pos, n));
      cur.pos += n;
      label_length += n;
      label_open = true;
      last = 'a';
    } else if (c == '.') {
      if (!label_open || last == '-') return std::unexpected(AddressErrc::Syntax);
      ++cur.pos;
      label_open = false;
      label_length = 0;
      // A trailing dot (root) ends the domain and is dropped.
      const unsigned char next = cur.peek();
      if (cur.at_end() || !(is_let_dig(next) || next >= 0x80 || next == '-')) break;
      out += '.';
    } else {
      break;
    }
    if (label_length > 63) return std::unexpected(AddressErrc::DomainTooLong);
  }
  if (out.empty()) return std::unexpected(AddressErrc::Syntax);
  if (label_open && last == '-') return std::unexpected(AddressErrc::Syntax);
  if (!label_open && cur.text[cur.pos - 1] != '.') return std::unexpected(AddressErrc::Syntax);
  if (cur.pos - start > Address::kMaxDomain || out.size() > Address::kMaxDomain)
    return std::unexpected(AddressErrc::DomainTooLong);
  return {};
}

// IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT up to 255. Returns
// the dotted quad without leading zeros ("010.1.1.1" -> "10.1.1.1").
std::optional<std::string> canonical_ipv4(std::string_view text) {
  std::string out;
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    unsigned value = 0;
    while (i < text.size() && is_digit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++digits;
      ++i;
      if (digits > 3) return std::nullopt;
    }
    if (digits == 0 || value > 255) return std::nullopt;
    out += std::to_string(value);
    ++parts;
    if (i == text.size()) break;
    if (text[i] != '.' || parts == 4) return std::nullopt;
    out += '.';
    ++i;
  }
  if (parts != 4) return std::nullopt;
  return out;
}

// address-literal = "[" ( IPv4-address-literal / "IPv6:" IPv6-addr ) "]".
// General-address-literal (Standardized-tag ":" dcontent) is refused: there is no
// registered tag this gateway could route to.
Parsed parse_address_literal(Cursor& cur, std::string& out) {
  const std::size_t close = cur.text.find(']', cur.pos);
  if (close == std::string_view::npos) return std::unexpected(AddressErrc::Syntax);
  const std::string_view inner = cur.text.substr(cur.pos + 1, close - cur.pos - 1);
  if (inner.size() >= 5 && (inner.substr(0, 5) == "IPv6:" || inner.substr(0, 5) == "ipv6:" ||
                            inner.substr(0, 5) == "IPV6:" || inner.substr(0, 5) == "ipV6:")) {
    const std::string ip(inner.substr(5));
    std::array<unsigned char, 16> buffer{};
    if (ip.empty() || ip.size() > 45 || inet_pton(AF_INET6, ip.c_str(), buffer.data()) != 1)
      return std::unexpected(AddressErrc::Syntax);
    std::array<char, INET6_ADDRSTRLEN> canonical{};
    inet_ntop(AF_INET6, buffer.data(), canonical.data(), canonical.size());
    out = "[ipv6:" + std::string(canonical.data()) + "]";
  } else if (auto canonical = canonical_ipv4(inner)) {
    out = "[" + *canonical + "]";
  } else {
    return std::unexpected(AddressErrc::Syntax);
  }
  cur.pos = close + 1;
  return {};
}

bool is_dot_string(std::string_view text) {
  if (text.empty()) return false;
  bool need_atom = true;
  for (const unsigned char c : text) {
    if (c == '.') {
      if (need_atom) return false;
      need_atom = true;
    } else if (is_atext(c) || c >= 0x80) {
      need_atom = false;
    } else {
      return false;
    }
  }
  return !need_atom;
}

// Mailbox = Local-part "@" ( Domain / address-literal ). Stops at the first octet
// after the mailbox; the caller checks what follows.
std::expected<Address, AddressErrc> parse_mailbox_at(Cursor& cur, const AddressOptions& options) {
  std::string local;
  bool saw_utf8 = false;
  const std::size_t local_start = cur.pos;
  if (cur.peek() == '"') {
    if (auto r = parse_quoted_string(cur, options.allow_utf8, local); !r) return std::unexpected(r.error());
  } else {
    if (auto r = parse_dot_string(cur, options.allow_utf8, saw_utf8, local); !r)
      return std::unexpected(r.error());
  }
  // RFC 5321 4.5.3.1.1 counts the local part as sent (with quotes).
  if (cur.pos - local_start > Address::kMaxLocalPart) return std::unexpected(AddressErrc::LocalPartTooLong);
  if (cur.peek() != '@') {
    // RFC 5321 4.1.1.3: "Postmaster" without a domain is a valid RCPT TO.
    if (options.allow_postmaster && cur.at_end() && normalize_domain(local) == "postmaster")
      return Address("postmaster", "");
    return std::unexpected(AddressErrc::Syntax);
  }
  ++cur.pos;
  std::string domain;
  if (cur.peek() == '[') {
    if (auto r = parse_address_literal(cur, domain); !r) return std::unexpected(r.error());
  } else {
    if (auto r = parse_domain(cur, options.allow_utf8, domain); !r) return std::unexpected(r.error());
  }
  return Address(std::move(local), std::move(domain));
}

Result<Path> fail(AddressErrc e) { return make_error(make_error_code(e)); }

}  // namespace

const std::error_category& address_category() noexcept {
  static const AddressCategory category;
  return category;
}

std::error_code make_error_code(AddressErrc e) noexcept {
  return {static_cast<int>(e), address_category()};
}

Address::Address(std::string local_part, std::string domain)
    : local_part_(std::move(local_part)), domain_(std::move(domain)) {}

bool Address::is_ascii() const noexcept {
  for (unsigned char c : local_part_)
    if (c >= 0x80) return false;
  for (unsigned char c : domain_)
    if (c >= 0x80) return false;
  return true;
}

std::string Address::str() const {
  std::string out;
  if (is_dot_string(local_part_)) {
    out = local_part_;
  } else {
    out += '"';
    for (const char c : local_part_) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  if (!domain_.empty()) {
    out += '@';
    out += domain_;
  }
  return out;
}

LocalPartRouting local_part_routing(const Address& address) noexcept {
  const std::string& local = address.local_part();
  if (local.find('@') != std::string::npos) return LocalPartRouting::QuotedAt;
  if (local.find('%') != std::string::npos) return LocalPartRouting::Percent;
  if (local.find('!') != std::string::npos) return LocalPartRouting::Bang;
  return LocalPartRouting::None;
}

std::string Path::str() const { return null ? "<>" : "<" + mailbox.str() + ">"; }

Result<Path> parse_path(std::string_view text, const AddressOptions& options) {
  if (text.size() > Address::kMaxPath) return fail(AddressErrc::PathTooLong);
  if (text.size() < 2 || text.front() != '<' || text.back() != '>') return fail(AddressErrc::Syntax);
  Path path;
  if (text == "<>") {
    if (!options.allow_null) return fail(AddressErrc::NullPathNotAllowed);
    path.null = true;
    return path;
  }
  Cursor cur{text.substr(1, text.size() - 2)};
  // A-d-l = At-domain *( "," At-domain ) ":"  (source route, RFC 5321 4.1.2)
  if (cur.peek() == '@') {
    while (true) {
      ++cur.pos;  // '@'
      std::string domain;
      if (cur.peek() == '[') {
        if (auto r = parse_address_literal(cur, domain); !r) return fail(r.error());
      } else if (auto r = parse_domain(cur, options.allow_utf8, domain); !r) {
        return fail(r.error());
      }
      path.source_route.push_back(std::move(domain));
      if (cur.peek() == ',') {
        ++cur.pos;
        if (cur.peek() != '@') return fail(AddressErrc::Syntax);
        continue;
      }
      if (cur.peek() != ':') return fail(AddressErrc::Syntax);
      ++cur.pos;
      break;
    }
  }
  AddressOptions mailbox_options = options;
  mailbox_options.allow_postmaster = options.allow_postmaster && path.source_route.empty();
  auto mailbox = parse_mailbox_at(cur, mailbox_options);
  if (!mailbox) return fail(mailbox.error());
  if (!cur.at_end()) return fail(AddressErrc::Syntax);
  path.mailbox = std::move(*mailbox);
  return path;
}

Result<Address> parse_mailbox(std::string_view text, const AddressOptions& options) {
  Cursor cur{text};
  auto mailbox = parse_mailbox_at(cur, options);
  if (!mailbox) return make_error(make_error_code(mailbox.error()));
  if (!cur.at_end()) return make_error(make_error_code(AddressErrc::Syntax));
  return std::move(*mailbox);
}

std::optional<std::string> domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= address.size()) return std::nullopt;
  std::string domain = normalize_domain(address.substr(at + 1));
  if (domain.empty()) return std::nullopt;
  return domain;
}

bool domain_in_form(std::string_view domain, std::string_view form) noexcept {
  if (form == "*") return true;
  if (form.starts_with("*.")) {
    const std::string_view parent = form.substr(1);  // ".x"
    return domain.size() > parent.size() && domain.ends_with(parent);
  }
  return domain == form;
}

std::string normalize_domain(std::string_view domain) {
  std::string out;
  out.reserve(domain.size());
  for (const unsigned char c : domain) out += static_cast<char>(is_alpha(c) ? (c | 0x20) : c);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace gw
