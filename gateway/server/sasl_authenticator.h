// SaslAuthenticator: runs one SMTP AUTH command (the session's Authenticate
// action) to its end -- throttle admission, the libsasl2 exchange with 334
// challenges, the asynchronous directory check, the failure delay -- and says
// what to report to the session (on_authenticated / on_auth_failed).
//
// Contract:
//  - A client address locked out by AuthThrottle gets Temporary (454 4.7.0)
//    before any exchange; the credentials are not read.
//  - Challenges and responses go through AuthChannel; a lost connection or a
//    timeout while waiting for a response ends with ConnectionLost (the driver
//    closes without a reply).
//  - Only credentials libsasl2 accepted reach the PasswordVerifier; Accepted
//    clears the address's failure record, Rejected/Disabled count as failures
//    and are answered after the throttle's delay (awaited on the executor, so
//    other connections carry on), Unavailable is Temporary and not counted (a
//    directory outage must not lock users out).
//  - Each outcome is logged once with the user name (printable()) and reason,
//    never the password.
// Not responsible for: reply codes (Session), line framing (the driver's
// AuthChannel), the mechanism list (offered_mechanisms()).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/server/auth_throttle.h"
#include "gateway/server/sasl_password_verifier.h"
#include "gateway/server/sasl_server.h"
#include "gateway/smtp/session.h"

namespace gw::server {

// The connection's side of an AUTH exchange.
struct AuthResponse {
  std::string line;
  bool too_long = false;
};

class AuthChannel {
 public:
  virtual ~AuthChannel() = default;
  // Writes "334 <base64>\r\n" and flushes; false when the connection failed.
  virtual asio::awaitable<bool> send_challenge(std::string_view base64) = 0;
  // The client's next line without CRLF; nullopt on EOF, error or timeout.
  // A line over the channel's limit is read to its end and comes back with
  // too_long set (and no text).
  virtual asio::awaitable<std::optional<AuthResponse>> read_response() = 0;
};

struct AuthOutcome {
  enum class Kind { Authenticated, Failed, ConnectionLost };
  Kind kind = Kind::Failed;
  smtp::AuthFailure failure = smtp::AuthFailure::InvalidCredentials;  // Failed
  std::string identity;                                               // Authenticated
  std::vector<std::string> own_addresses;                             // Authenticated
  bool throttled = false;  // refused because the address is locked out
};

class SaslAuthenticator {
 public:
  SaslAuthenticator(PasswordVerifier& verifier, AuthThrottle& throttle);

  asio::awaitable<AuthOutcome> authenticate(const smtp::Authenticate& request, const SaslSettings& settings,
                                            AuthChannel& channel);

 private:
  asio::awaitable<AuthOutcome> fail(const SaslSettings& settings, const std::string& user, const std::string& reason,
                                    smtp::AuthFailure failure, bool counts);

  PasswordVerifier& verifier_;
  AuthThrottle& throttle_;
};

}  // namespace gw::server
