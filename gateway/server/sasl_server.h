// SaslServerExchange: one SMTP AUTH exchange (RFC 4954) run by Cyrus SASL
// (libsasl2: sasl_server_new / sasl_server_start / sasl_server_step), without
// I/O and without verifying the password itself.
//
// Why the password is not checked inside libsasl2: every libsasl2 callback is
// synchronous, and the only source of truth is an LDAP simple bind, which must
// not block the event loop. So the SASL_CB_SERVER_USERDB_CHECKPASS callback
// only captures the (authentication identity, password) pair the mechanism
// decoded and reports success to libsasl2; when the mechanism exchange has
// completed, the step result is `SaslCredentials` and the caller verifies them
// asynchronously (PasswordVerifier) before reporting the session authenticated.
// A mechanism failure after the capture (e.g. an authorization identity that
// differs from the authentication identity, refused by libsasl2's default proxy
// policy) is a failure; captured credentials are never returned then.
//
// Mechanisms: only mechanisms that hand libsasl2 the plaintext password (PLAIN,
// LOGIN) can be offered. Shared-secret mechanisms (CRAM-MD5, DIGEST-MD5,
// SCRAM-*) need the password or a derived verifier on the server side; the
// directory holds only bind-verifiable password hashes that it never discloses,
// so they are filtered out even when configured (with a warning at load time by
// the caller, see offered_mechanisms()). Plaintext mechanisms are offered before
// TLS only with allow_plaintext_without_tls (libsasl2's SASL_SEC_NOPLAINTEXT is
// set otherwise, so libsasl2 itself refuses them too).
//
// Lifetime: non-movable (libsasl2 keeps pointers to it); create() per AUTH
// command. The captured password is wiped when the object is destroyed.
// Not responsible for: reading/writing lines, the 334 framing, reply codes
// (the session maps SaslFailure to them), throttling.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <sasl/sasl.h>

#include "gateway/common/result.h"
#include "gateway/smtp/session.h"

namespace gw::server {

// Calls sasl_server_init() once per process (thread-safe); later calls return
// the first result. Errors are start-up errors.
Result<void> initialize_sasl_library();

struct SaslSettings {
  std::string service = "smtp";          // SASL service name (RFC 4422 registered "smtp")
  std::string server_fqdn;               // the virtual server's FQDN
  std::vector<std::string> mechanisms;   // configured (gwSaslMechanisms); empty = PLAIN LOGIN
  bool tls_active = false;
  bool allow_plaintext_without_tls = false;  // gwSmtpAllowPlaintextAuth
  std::string client_ip;                 // for libsasl2's log context only
};

// Mechanisms this gateway can run for `settings` (upper case, configured order):
// configured ∩ {PLAIN, LOGIN} ∩ what libsasl2 has plugins for; empty before TLS
// unless allow_plaintext_without_tls. `dropped` receives configured names that
// were left out (unknown or needing server-side secrets), for a warning.
std::vector<std::string> offered_mechanisms(const SaslSettings& settings,
                                            std::vector<std::string>* dropped = nullptr);

// A server challenge: send "334 <base64>".
struct SaslChallenge {
  std::string base64;
};
// The mechanism completed; verify these before accepting.
struct SaslCredentials {
  std::string user;      // authentication identity as the client sent it
  std::string password;  // never logged
};
struct SaslFailure {
  smtp::AuthFailure kind = smtp::AuthFailure::InvalidCredentials;
  std::string reason;  // for the log
};
using SaslStep = std::variant<SaslChallenge, SaslCredentials, SaslFailure>;

class SaslServerExchange {
 public:
  static Result<std::unique_ptr<SaslServerExchange>> create(const SaslSettings& settings);
  ~SaslServerExchange();
  SaslServerExchange(const SaslServerExchange&) = delete;
  SaslServerExchange& operator=(const SaslServerExchange&) = delete;

  // AUTH <mechanism> [initial-response]; the response is base64 as sent ("=" is
  // an empty response, RFC 4954 4). A PLAIN message (RFC 4616) is checked
  // before libsasl2 sees it, so the reply does not depend on its version: not
  // exactly "[authzid] NUL authcid NUL passwd" -> Malformed (501 5.5.2, the
  // response cannot be decoded into credentials); an empty authcid or
  // password -> InvalidCredentials (535 5.7.8, decodable but never valid).
  SaslStep start(std::string_view mechanism, std::optional<std::string_view> initial_response);
  // The client's answer to a challenge, one line without CRLF. "*" cancels.
  SaslStep step(std::string_view line);

 private:
  SaslServerExchange() = default;
  SaslStep outcome(int rc, const char* out, unsigned out_length);
  // The checks above for a decoded PLAIN message; nullopt when it may go on.
  std::optional<SaslFailure> refuse_plain(std::string_view message);
  static int capture_password(sasl_conn_t* conn, void* context, const char* user, const char* pass,
                              unsigned pass_length, propctx* properties);
  static int get_option(void* context, const char* plugin, const char* option, const char** result,
                        unsigned* length);
  static int log_message(void* context, int level, const char* message);

  sasl_conn_t* conn_ = nullptr;
  std::string mech_list_;
  std::string client_ip_;
  std::string mechanism_;  // upper case, once started
  bool done_ = false;
  std::optional<SaslCredentials> captured_;
  std::vector<sasl_callback_t> callbacks_;
};

// RFC 4648 base64 through libsasl2's codec; nullopt for invalid input.
std::optional<std::string> decode_base64(std::string_view text);
std::string encode_base64(std::string_view data);

}  // namespace gw::server
