// Command and CommandParser: the framing and syntax of SMTP command lines
// (RFC 5321 4.1, 4.5.3.1.4) with the ESMTP parameters this gateway supports:
// MAIL SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET and
// ENVID (RFC 3461), AUTH= (RFC 4954); RCPT NOTIFY and ORCPT (RFC 3461); BDAT
// (RFC 3030); the node of ETRN (RFC 1985) and the domain list of ATRN (RFC 2645).
//
// Contract: CommandParser is sans-I/O. put() consumes bytes up to and including
// the end of ONE command line and no further, so that bytes after it (pipelined
// commands, a BDAT chunk, DATA content, a TLS ClientHello) stay with the caller.
// A command line ends with CRLF; it may be at most 512 octets including the CRLF
// (RFC 5321 4.5.3.1.4). A longer line is discarded up to its end and yields a
// Command whose error is "500 5.5.2 Line too long". A bare LF ends a line too, but
// the line is refused with "500 5.5.2" (see gateway/smtp/README.md); a bare CR or
// a NUL inside a line gets the same reply. Every malformed argument produces a
// Command with `error` set to the exact reply; the Session sends it only after
// checking that the command is allowed at this point of the dialogue, so the
// sequence error (503) wins over the syntax error, as RFC 5321 4.1.4 orders them.
//
// Not responsible for: whether a command is allowed now, relay or policy
// decisions (Session), DATA content (DataParser).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/address.h"
#include "gateway/smtp/reply.h"

namespace gw::smtp {

enum class Verb {
  Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Help, Vrfy, Expn, Etrn,
  StartTls, Auth,
  Turn,  // RFC 821 role reversal without authentication: always refused
  Atrn,  // RFC 2645 authenticated TURN
  Unknown,  // not a command this server knows: 500 5.5.1
};

enum class BodyType { SevenBit, EightBitMime, BinaryMime };  // BODY=; SevenBit when absent
enum class Ret { Unspecified, Full, Headers };                // RET=

struct MailParameters {
  std::optional<std::uint64_t> size;   // SIZE=
  BodyType body = BodyType::SevenBit;
  bool body_given = false;
  bool smtputf8 = false;               // SMTPUTF8
  Ret ret = Ret::Unspecified;
  std::string envid;                   // ENVID=, xtext-decoded; empty when absent
  std::optional<std::string> auth;     // AUTH=, xtext-decoded ("<>" kept as is)
};

// RFC 3461 NOTIFY: NEVER, or any of SUCCESS, FAILURE, DELAY.
struct Notify {
  bool given = false;
  bool never = false;
  bool success = false;
  bool failure = false;
  bool delay = false;
  friend bool operator==(const Notify&, const Notify&) = default;
};

struct RcptParameters {
  Notify notify;
  std::string orcpt_type;  // ORCPT= address type, lower case ("rfc822"); empty when absent
  std::string orcpt;       // ORCPT= address, xtext-decoded
};

// ETRN argument forms (RFC 1985 5): "domain", "@domain" (the domain and every
// subdomain), "#queue" (an implementation-defined queue name).
enum class EtrnKind { Domain, Subdomains, Queue };

struct EtrnRequest {
  EtrnKind kind = EtrnKind::Domain;
  std::string node;  // normalized domain without "@", or the queue name without "#"
};

struct Command {
  Verb verb = Verb::Unknown;
  std::string line;      // the whole line without CRLF (for SASL responses and the protocol log)
  std::string argument;  // text after the verb and its separating space, as received

  // Set when the line or the arguments are malformed; the reply to send.
  std::optional<Reply> error;
  // The error concerns the line itself (too long, bare LF/CR, NUL): it is sent
  // whatever the phase, the verb could not be trusted.
  bool line_error = false;

  // MAIL / RCPT: the path and parameters. For RCPT the path is parsed with
  // UTF-8 allowed; the Session refuses non-ASCII unless MAIL said SMTPUTF8.
  Path path;
  bool has_parameters = false;  // any ESMTP parameter present (refused after HELO)
  MailParameters mail;
  RcptParameters rcpt;

  // BDAT
  std::uint64_t chunk_size = 0;
  bool last_chunk = false;

  // ETRN
  EtrnRequest etrn;
  // ATRN: the requested domains, normalized; empty = every domain the account may take.
  std::vector<std::string> atrn_domains;

  // Set by the driver, which alone knows the timing (RFC 2920): `pipelined`
  // when the command arrived before the reply to the previous command (or the
  // greeting) was written; `input_follows` when octets after this line had
  // already arrived when it was taken.
  bool pipelined = false;
  bool input_follows = false;
};

class CommandParser {
 public:
  static constexpr std::size_t kMaxLine = 512;  // octets including CRLF

  // Consumes octets of at most one command line. Returns how many octets of
  // `input` were consumed; the caller must keep the rest for the next call (or for
  // DataParser / BDAT / TLS). When a line completed, ready() is true and take()
  // returns it; put() consumes nothing more until then.
  std::size_t put(std::string_view input);

  bool ready() const noexcept { return ready_; }
  bool need_more() const noexcept { return !ready_; }
  // The completed command; resets ready().
  Command take();
  // Octets of an incomplete line held (STARTTLS: must be zero or discarded).
  std::size_t buffered() const noexcept { return line_.size(); }
  // Drops any partial line, e.g. after STARTTLS (RFC 3207 4.2 pipelined plaintext).
  void reset();

  // Parses one complete line (without CRLF); used by put() and directly by tests.
  static Command parse_line(std::string_view line);

 private:
  std::string line_;
  bool overflow_ = false;
  bool ready_ = false;
  Command command_;
};

// RFC 3461 4 xtext decoding ("+2B" -> "+"); nullopt when malformed or when an
// escape decodes to a control character (CR, LF, NUL, ...: "501 5.5.4").
std::optional<std::string> decode_xtext(std::string_view text);
// xtext encoding for values written back into parameters (outbound ORCPT/ENVID).
std::string encode_xtext(std::string_view text);

}  // namespace gw::smtp
