#include "gateway/smtp/command.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

namespace gw::smtp {
namespace {

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

Reply syntax(std::string text) { return Reply(501, status(5, 5, 4), std::move(text)); }

constexpr std::array<std::pair<std::string_view, Verb>, 17> kVerbs{{
    {"HELO", Verb::Helo}, {"EHLO", Verb::Ehlo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data}, {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit}, {"HELP", Verb::Help}, {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn},
    {"ETRN", Verb::Etrn}, {"STARTTLS", Verb::StartTls}, {"AUTH", Verb::Auth},
    {"TURN", Verb::Turn}, {"ATRN", Verb::Atrn},
}};

// Length of the path token at the start of `text`: from "<" to the ">" that
// closes it, skipping quoted strings (a quoted local part may hold ">" and
// blanks). 0 when there is no complete path.
std::size_t path_length(std::string_view text) {
  if (text.empty() || text.front() != '<') return 0;
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return 0;
}

struct Parameter {
  std::string keyword;  // upper case
  std::optional<std::string_view> value;
};

// esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2); keyword is
// ALPHA/DIGIT then ALPHA/DIGIT/"-"; value is octets 33-126 except "=", or UTF-8.
std::optional<Parameter> parse_parameter(std::string_view text) {
  const std::size_t eq = text.find('=');
  const std::string_view keyword = text.substr(0, eq);
  if (keyword.empty()) return std::nullopt;
  for (std::size_t i = 0; i < keyword.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(keyword[i]);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum && !(i > 0 && c == '-')) return std::nullopt;
  }
  Parameter parameter{upper(keyword), std::nullopt};
  if (eq != std::string_view::npos) {
    const std::string_view value = text.substr(eq + 1);
    if (value.empty()) return std::nullopt;
    for (const unsigned char c : value)
      if (c == '=' || c < 33 || c == 127) return std::nullopt;
    parameter.value = value;
  }
  return parameter;
}

std::vector<std::string_view> split_blanks(std::string_view text) {
  std::vector<std::string_view> parts;
  while (true) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (text.empty()) break;
    const std::size_t end = text.find(' ');
    parts.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end);
  }
  return parts;
}

Reply address_error(const Error& error, bool sender) {
  const EnhancedStatus enhanced = sender ? status(5, 1, 7) : status(5, 1, 3);
  const char* who = sender ? "sender" : "recipient";
  switch (static_cast<AddressErrc>(error.code.value())) {
    case AddressErrc::LocalPartTooLong:
      return Reply(501, enhanced, std::string("Bad ") + who + " address: local part longer than 64 octets");
    case AddressErrc::DomainTooLong:
      return Reply(501, enhanced, std::string("Bad ") + who + " address: domain too long");
    case AddressErrc::PathTooLong:
      return Reply(501, enhanced, "Path too long");
    case AddressErrc::NonAsciiNotAllowed:
      // RFC 6531 3.5: 553 with X.6.7 when SMTPUTF8 was not requested.
      return Reply(553, status(5, 6, 7), "Non-ASCII addresses require SMTPUTF8");
    case AddressErrc::NullPathNotAllowed:
      return Reply(501, enhanced, std::string("Bad ") + who + " address syntax");
    case AddressErrc::Syntax:
      break;
  }
  return Reply(501, enhanced, std::string("Bad ") + who + " address syntax");
}

bool parse_u64(std::string_view digits, std::uint64_t& out) {
  if (digits.empty() || digits.size() > 20) return false;
  for (const char c : digits)
    if (c < '0' || c > '9') return false;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  if (ec == std::errc::result_out_of_range) {
    out = std::numeric_limits<std::uint64_t>::max();  // still over any limit
    return true;
  }
  return ec == std::errc{} && ptr == digits.data() + digits.size();
}

// "FROM:" / "TO:" then optional blanks then the path then parameters.
bool split_path_argument(Command& command, std::string_view prefix, std::string_view usage,
                         std::string_view& path, std::vector<std::string_view>& parameters) {
  std::string_view rest = command.argument;
  if (!istarts_with(rest, prefix)) {
    command.error = syntax(std::string(usage));
    return false;
  }
  rest.remove_prefix(prefix.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const std::size_t length = path_length(rest);
  if (length == 0) {
    command.error = syntax(std::string(usage));
    return false;
  }
  path = rest.substr(0, length);
  rest.remove_prefix(length);
  if (!rest.empty() && rest.front() != ' ') {
    command.error = syntax(std::string(usage));
    return false;
  }
  parameters = split_blanks(rest);
  command.has_parameters = !parameters.empty();
  return true;
}

void parse_mail(Command& command) {
  std::string_view path_text;
  std::vector<std::string_view> parameters;
  if (!split_path_argument(command, "FROM:", "Syntax: MAIL FROM:<address> [parameters]", path_text,
                           parameters))
    return;
  MailParameters& mail = command.mail;
  std::vector<std::string> seen;
  for (const std::string_view text : parameters) {
    const auto parameter = parse_parameter(text);
    if (!parameter) {
      command.error = syntax("Bad parameter syntax");
      return;
    }
    for (const auto& keyword : seen) {
      if (keyword == parameter->keyword) {
        command.error = syntax("Duplicate " + parameter->keyword + " parameter");
        return;
      }
    }
    seen.push_back(parameter->keyword);
    const std::string& keyword = parameter->keyword;
    const std::string_view value = parameter->value.value_or("");
    const bool has_value = parameter->value.has_value();
    if (keyword == "SIZE") {
      std::uint64_t size = 0;
      if (!has_value || !parse_u64(value, size)) {
        command.error = syntax("Bad SIZE parameter");
        return;
      }
      mail.size = size;
    } else if (keyword == "BODY") {
      if (iequals(value, "7BIT")) {
        mail.body = BodyType::SevenBit;
      } else if (iequals(value, "8BITMIME")) {
        mail.body = BodyType::EightBitMime;
      } else if (iequals(value, "BINARYMIME")) {
        mail.body = BodyType::BinaryMime;
      } else {
        command.error = syntax("Bad BODY parameter");
        return;
      }
      mail.body_given = true;
    } else if (keyword == "SMTPUTF8") {
      if (has_value) {
        command.error = syntax("SMTPUTF8 takes no value");
        return;
      }
      mail.smtputf8 = true;
    } else if (keyword == "RET") {
      if (iequals(value, "FULL")) {
        mail.ret = Ret::Full;
      } else if (iequals(value, "HDRS")) {
        mail.ret = Ret::Headers;
      } else {
        command.error = syntax("Bad RET parameter");
        return;
      }
    } else if (keyword == "ENVID") {
      auto decoded = decode_xtext(value);
      // RFC 3461 4.4: at most 100 characters.
      if (!has_value || !decoded || value.size() > 100) {
        command.error = syntax("Bad ENVID parameter");
        return;
      }
      mail.envid = std::move(*decoded);
    } else if (keyword == "AUTH") {
      auto decoded = decode_xtext(value);
      if (!has_value || !decoded) {
        command.error = syntax("Bad AUTH parameter");
        return;
      }
      mail.auth = std::move(*decoded);
    } else {
      command.error = Reply(555, status(5, 5, 4), "Unsupported parameter " + keyword);
      return;
    }
  }
  AddressOptions options;
  options.allow_null = true;
  options.allow_utf8 = mail.smtputf8;
  auto path = parse_path(path_text, options);
  if (!path) {
    command.error = address_error(path.error(), true);
    return;
  }
  command.path = std::move(*path);
}

bool parse_notify(std::string_view value, Notify& notify) {
  notify.given = true;
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view item = value.substr(0, comma);
    if (iequals(item, "NEVER")) {
      notify.never = true;
    } else if (iequals(item, "SUCCESS")) {
      notify.success = true;
    } else if (iequals(item, "FAILURE")) {
      notify.failure = true;
    } else if (iequals(item, "DELAY")) {
      notify.delay = true;
    } else {
      return false;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  // RFC 3461 4.1: NEVER must appear alone.
  return !(notify.never && (notify.success || notify.failure || notify.delay));
}

void parse_rcpt(Command& command) {
  std::string_view path_text;
  std::vector<std::string_view> parameters;
  if (!split_path_argument(command, "TO:", "Syntax: RCPT TO:<address> [parameters]", path_text,
                           parameters))
    return;
  RcptParameters& rcpt = command.rcpt;
  bool orcpt_seen = false;
  for (const std::string_view text : parameters) {
    const auto parameter = parse_parameter(text);
    if (!parameter) {
      command.error = syntax("Bad parameter syntax");
      return;
    }
    const std::string_view value = parameter->value.value_or("");
    if (parameter->keyword == "NOTIFY") {
      if (rcpt.notify.given) {
        command.error = syntax("Duplicate NOTIFY parameter");
        return;
      }
      if (!parameter->value || !parse_notify(value, rcpt.notify)) {
        command.error = syntax("Bad NOTIFY parameter");
        return;
      }
    } else if (parameter->keyword == "ORCPT") {
      // ORCPT=addr-type ";" xtext (RFC 3461 4.2), at most 500 characters.
      const std::size_t semicolon = value.find(';');
      if (orcpt_seen) {
        command.error = syntax("Duplicate ORCPT parameter");
        return;
      }
      orcpt_seen = true;
      if (!parameter->value || semicolon == std::string_view::npos || semicolon == 0 ||
          value.size() > 500) {
        command.error = syntax("Bad ORCPT parameter");
        return;
      }
      auto decoded = decode_xtext(value.substr(semicolon + 1));
      if (!decoded || decoded->empty()) {
        command.error = syntax("Bad ORCPT parameter");
        return;
      }
      std::string type(value.substr(0, semicolon));
      for (char& c : type) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      rcpt.orcpt_type = std::move(type);
      rcpt.orcpt = std::move(*decoded);
    } else {
      command.error = Reply(555, status(5, 5, 4), "Unsupported parameter " + parameter->keyword);
      return;
    }
  }
  AddressOptions options;
  options.allow_utf8 = true;  // the Session refuses it unless MAIL said SMTPUTF8
  options.allow_postmaster = true;
  auto path = parse_path(path_text, options);
  if (!path) {
    command.error = address_error(path.error(), false);
    return;
  }
  command.path = std::move(*path);
}

void parse_bdat(Command& command) {
  const auto parts = split_blanks(command.argument);
  const bool ok = (parts.size() == 1 || (parts.size() == 2 && iequals(parts[1], "LAST"))) &&
                  parts[0].size() <= 19 && parse_u64(parts[0], command.chunk_size);
  if (!ok) {
    command.error = syntax("Syntax: BDAT chunk-size [LAST]");
    return;
  }
  command.last_chunk = parts.size() == 2;
}

// A DNS domain name as ETRN and ATRN name nodes: LDH labels of 1..63 octets,
// at most 253 octets in all (RFC 1035 2.3.1). No address literals: a node is a
// host or domain whose mail is queued, never an IP.
bool valid_node_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || label > 63 || domain[i - 1] == '-' || domain[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = domain[i];
    const bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ldh) return false;
    ++label;
  }
  return true;
}

void parse_etrn(Command& command) {
  std::string_view node = command.argument;
  const Reply usage = syntax("Syntax: ETRN [@]domain | #queue");
  if (node.empty() || node.find(' ') != std::string_view::npos) {
    command.error = usage;
    return;
  }
  if (node.front() == '#') {
    node.remove_prefix(1);
    // A queue name is the name of a connector: printable ASCII, bounded.
    const bool printable = std::all_of(node.begin(), node.end(), [](char c) { return c > 32 && c < 127; });
    if (node.empty() || node.size() > 64 || !printable) {
      command.error = usage;
      return;
    }
    command.etrn = EtrnRequest{EtrnKind::Queue, std::string(node)};
    return;
  }
  EtrnKind kind = EtrnKind::Domain;
  if (node.front() == '@') {
    node.remove_prefix(1);
    kind = EtrnKind::Subdomains;
  }
  if (!valid_node_domain(node)) {
    command.error = usage;
    return;
  }
  command.etrn = EtrnRequest{kind, normalize_domain(node)};
}

// ATRN [domain[,domain]...] (RFC 2645 4.1).
void parse_atrn(Command& command) {
  if (command.argument.empty()) return;
  std::string_view rest = command.argument;
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view domain = rest.substr(0, comma);
    if (!valid_node_domain(domain)) {
      command.error = syntax("Syntax: ATRN [domain[,domain]...]");
      command.atrn_domains.clear();
      return;
    }
    command.atrn_domains.push_back(normalize_domain(domain));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
}

}  // namespace

Command CommandParser::parse_line(std::string_view line) {
  Command command;
  command.line = std::string(line);
  const std::string_view text = trim_blanks(line);
  const std::size_t blank = text.find(' ');
  const std::string_view keyword = text.substr(0, blank);
  command.argument = blank == std::string_view::npos ? std::string() : std::string(trim_blanks(text.substr(blank)));
  for (const auto& [name, verb] : kVerbs) {
    if (iequals(keyword, name)) {
      command.verb = verb;
      break;
    }
  }
  switch (command.verb) {
    case Verb::Helo:
    case Verb::Ehlo:
      if (command.argument.empty())
        command.error = syntax(command.verb == Verb::Helo ? "Syntax: HELO hostname" : "Syntax: EHLO hostname");
      break;
    case Verb::Mail:
      parse_mail(command);
      break;
    case Verb::Rcpt:
      parse_rcpt(command);
      break;
    case Verb::Bdat:
      parse_bdat(command);
      break;
    case Verb::Data:
    case Verb::Rset:
    case Verb::Quit:
    case Verb::StartTls:
    case Verb::Turn:
      if (!command.argument.empty()) command.error = syntax("Syntax: " + upper(keyword) + " takes no arguments");
      break;
    case Verb::Vrfy:
    case Verb::Auth:
      if (command.argument.empty()) command.error = syntax("Syntax: " + upper(keyword) + " argument required");
      break;
    case Verb::Etrn:
      parse_etrn(command);
      break;
    case Verb::Atrn:
      parse_atrn(command);
      break;
    case Verb::Noop:
    case Verb::Help:
    case Verb::Expn:
    case Verb::Unknown:
      break;
  }
  return command;
}

std::size_t CommandParser::put(std::string_view input) {
  if (ready_) return 0;
  const void* found = std::memchr(input.data(), '\n', input.size());
  const std::size_t end = found ? static_cast<std::size_t>(static_cast<const char*>(found) - input.data()) : input.size();
  // Keep at most kMaxLine octets; anything longer is already an error.
  const std::size_t room = kMaxLine > line_.size() ? kMaxLine - line_.size() : 0;
  if (end > room) overflow_ = true;
  line_.append(input.substr(0, std::min(end, room)));
  if (!found) return input.size();

  // A complete line: line_ holds it without the LF.
  const bool crlf = !line_.empty() && line_.back() == '\r';
  if (overflow_ || line_.size() + 1 > kMaxLine) {
    command_ = Command{};
    command_.line = line_.substr(0, 64);
    command_.error = Reply(500, status(5, 5, 2), "Line too long");
    command_.line_error = true;
  } else if (!crlf) {
    // RFC 5321 2.3.8: lines end with CRLF only. Refused rather than guessed at.
    command_ = Command{};
    command_.line = line_;
    command_.error = Reply(500, status(5, 5, 2), "Syntax error: bare LF in command line");
    command_.line_error = true;
  } else {
    const std::string_view text = std::string_view(line_).substr(0, line_.size() - 1);
    if (text.find('\r') != std::string_view::npos || text.find('\0') != std::string_view::npos) {
      command_ = Command{};
      command_.line = std::string(text);
      command_.error = Reply(500, status(5, 5, 2), "Syntax error: bare CR or NUL in command line");
      command_.line_error = true;
    } else {
      command_ = parse_line(text);
    }
  }
  line_.clear();
  overflow_ = false;
  ready_ = true;
  return end + 1;
}

Command CommandParser::take() {
  ready_ = false;
  return std::exchange(command_, Command{});
}

void CommandParser::reset() {
  line_.clear();
  overflow_ = false;
  ready_ = false;
  command_ = Command{};
}

std::optional<std::string> decode_xtext(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // RFC 3461 4: upper-case hex only
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex(text[i + 1]);
      const int low = hex(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      // ENVID, ORCPT and AUTH= carry printable text (RFC 3461 4.2, 4.4; RFC
      // 4954 5): an escape that decodes to a control character (CR, LF, NUL
      // ...) could inject lines into a DSN or a header, so it is refused.
      const int octet = high * 16 + low;
      if (octet < 0x20 || octet == 0x7f) return std::nullopt;
      out += static_cast<char>(octet);
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out += static_cast<char>(c);
    } else if (c >= 0x80) {
      out += static_cast<char>(c);  // RFC 6533 utf-8 in xtext values
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string encode_xtext(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out += static_cast<char>(c);
    } else {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace gw::smtp
