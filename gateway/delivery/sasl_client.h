// SaslClient: the client side of SMTP AUTH (RFC 4954) to a smart host, run by
// Cyrus SASL (libsasl2: sasl_client_new / sasl_client_start / sasl_client_step).
//
// One object per AUTH exchange. start() lets libsasl2 run the mechanism chosen
// among those the peer offers and returns its initial response (if the
// mechanism sends one); step() answers each 334 challenge. Responses and
// challenges are in RFC 4954's base64 form ("=" for an empty initial
// response); the command framing belongs to the caller (ClientSession).
// The connector's credentials reach libsasl2 through its callbacks
// (SASL_CB_AUTHNAME, SASL_CB_PASS; SASL_CB_USER empty: no separate
// authorization identity) and are wiped when the object is destroyed.
// Mechanisms: PLAIN, else LOGIN -- what a smart host's user name and password
// are for (msExchSmtpOutboundSecurityFlag "basic"). No I/O, so the pure
// ClientSession can own one. Errors are values naming libsasl2's reason.
// Lifetime: non-movable (libsasl2 keeps pointers into it).
#pragma once

#include <sasl/sasl.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"

namespace gw::delivery {

class SaslClient {
 public:
  struct Started {
    std::string mechanism;                     // upper case, as sent after AUTH
    std::optional<std::string> initial_response;  // base64; none: the mechanism waits for a challenge
  };

  // `server_name`: the smart host's name, for libsasl2 (service "smtp").
  static Result<std::unique_ptr<SaslClient>> create(const std::string& server_name, std::string user_name,
                                                    std::string password);
  ~SaslClient();
  SaslClient(const SaslClient&) = delete;
  SaslClient& operator=(const SaslClient&) = delete;

  // `offered`: the peer's AUTH mechanisms (any case). Fails when none of
  // PLAIN/LOGIN is offered or libsasl2 cannot run them.
  Result<Started> start(const std::vector<std::string>& offered);
  // The answer (base64) to one challenge (base64, as after "334 ").
  Result<std::string> step(std::string_view challenge);

 private:
  SaslClient(std::string user_name, std::string password);
  static int user(void* context, int id, const char** result, unsigned* length);
  static int secret(sasl_conn_t* conn, void* context, int id, sasl_secret_t** result);

  std::string user_name_;
  std::string password_;
  std::vector<unsigned char> secret_;  // sasl_secret_t: length, then the octets
  std::array<sasl_callback_t, 4> callbacks_{};
  sasl_conn_t* conn_ = nullptr;
};

}  // namespace gw::delivery
