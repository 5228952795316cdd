#include "gateway/delivery/sasl_client.h"

#include <openssl/crypto.h>
#include <sasl/saslutil.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <system_error>

#include "gateway/common/ascii.h"

namespace gw::delivery {
namespace {

using SaslCallback = int (*)();

// libsasl2 stores every callback as int (*)(void); a detour through
// void (*)(void) is the conversion GCC documents as deliberate.
template <typename Function>
SaslCallback callback(Function* function) {
  return reinterpret_cast<SaslCallback>(reinterpret_cast<void (*)()>(function));
}

std::unexpected<Error> sasl_error(int rc, sasl_conn_t* conn, std::string_view what) {
  std::string detail = std::string(what) + ": " + sasl_errstring(rc, nullptr, nullptr);
  if (conn != nullptr) {
    if (const char* more = sasl_errdetail(conn); more != nullptr && *more != '\0') detail += std::string(" (") + more + ")";
  }
  return make_error(std::make_error_code(std::errc::protocol_error), std::move(detail));
}

std::string encode64(const char* data, unsigned length) {
  if (length == 0) return "=";  // RFC 4954 4: an empty initial response
  std::string out(4 * ((length + 2) / 3) + 1, '\0');
  unsigned written = 0;
  if (sasl_encode64(data, length, out.data(), static_cast<unsigned>(out.size()), &written) != SASL_OK) return {};
  out.resize(written);
  return out;
}

Result<void> initialize_client_library() {
  static std::once_flag once;
  static int rc = SASL_OK;
  std::call_once(once, [] { rc = sasl_client_init(nullptr); });
  if (rc != SASL_OK) return sasl_error(rc, nullptr, "sasl_client_init");
  return {};
}

}  // namespace

SaslClient::SaslClient(std::string user_name, std::string password)
    : user_name_(std::move(user_name)), password_(std::move(password)) {
  // sasl_secret_t is an unsigned long length followed by the octets.
  secret_.resize(sizeof(sasl_secret_t) + password_.size() + 1, 0);
  auto* secret = reinterpret_cast<sasl_secret_t*>(secret_.data());
  secret->len = password_.size();
  std::memcpy(secret->data, password_.data(), password_.size());
  callbacks_ = {{
      {SASL_CB_USER, callback(&SaslClient::user), this},
      {SASL_CB_AUTHNAME, callback(&SaslClient::user), this},
      {SASL_CB_PASS, callback(&SaslClient::secret), this},
      {SASL_CB_LIST_END, nullptr, nullptr},
  }};
}

SaslClient::~SaslClient() {
  if (conn_ != nullptr) sasl_dispose(&conn_);
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
  if (!password_.empty()) OPENSSL_cleanse(password_.data(), password_.size());
}

int SaslClient::user(void* context, int id, const char** result, unsigned* length) {
  const auto* self = static_cast<const SaslClient*>(context);
  // SASL_CB_USER is empty: no authorization identity apart from the
  // authentication identity.
  const bool authentication_name = id == SASL_CB_AUTHNAME;
  *result = authentication_name ? self->user_name_.c_str() : "";
  if (length != nullptr) *length = authentication_name ? static_cast<unsigned>(self->user_name_.size()) : 0;
  return SASL_OK;
}

int SaslClient::secret(sasl_conn_t*, void* context, int id, sasl_secret_t** result) {
  if (id != SASL_CB_PASS || result == nullptr) return SASL_BADPARAM;
  auto* self = static_cast<SaslClient*>(context);
  *result = reinterpret_cast<sasl_secret_t*>(self->secret_.data());
  return SASL_OK;
}

Result<std::unique_ptr<SaslClient>> SaslClient::create(const std::string& server_name, std::string user_name,
                                                       std::string password) {
  if (auto ready = initialize_client_library(); !ready) return std::unexpected(ready.error());
  std::unique_ptr<SaslClient> client(new SaslClient(std::move(user_name), std::move(password)));
  const int rc = sasl_client_new("smtp", server_name.c_str(), nullptr, nullptr, client->callbacks_.data(), 0,
                                 &client->conn_);
  if (rc != SASL_OK) return sasl_error(rc, client->conn_, "sasl_client_new");
  return client;
}

Result<SaslClient::Started> SaslClient::start(const std::vector<std::string>& offered) {
  // PLAIN costs one round trip; LOGIN only when the peer has nothing better.
  std::string mechanism;
  for (const char* wanted : {"PLAIN", "LOGIN"}) {
    const bool has = std::any_of(offered.begin(), offered.end(),
                                 [&](const std::string& name) { return iequals(name, wanted); });
    if (has) {
      mechanism = wanted;
      break;
    }
  }
  if (mechanism.empty())
    return make_error(std::make_error_code(std::errc::operation_not_supported),
                      "no common AUTH mechanism with the peer (PLAIN, LOGIN supported)");
  sasl_interact_t* interact = nullptr;
  const char* out = nullptr;
  unsigned out_length = 0;
  const char* chosen = nullptr;
  const int rc = sasl_client_start(conn_, mechanism.c_str(), &interact, &out, &out_length, &chosen);
  if (rc != SASL_OK && rc != SASL_CONTINUE) return sasl_error(rc, conn_, "AUTH " + mechanism);
  Started started;
  started.mechanism = mechanism;
  if (out != nullptr) started.initial_response = encode64(out, out_length);
  return started;
}

Result<std::string> SaslClient::step(std::string_view challenge) {
  std::string decoded(challenge.size() + 1, '\0');
  unsigned decoded_length = 0;
  if (!challenge.empty() && sasl_decode64(challenge.data(), static_cast<unsigned>(challenge.size()), decoded.data(),
                                          static_cast<unsigned>(decoded.size()), &decoded_length) != SASL_OK)
    return make_error(std::make_error_code(std::errc::bad_message), "AUTH challenge is not base64");
  sasl_interact_t* interact = nullptr;
  const char* out = nullptr;
  unsigned out_length = 0;
  const int rc = sasl_client_step(conn_, decoded.data(), decoded_length, &interact, &out, &out_length);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  if (rc != SASL_OK && rc != SASL_CONTINUE) return sasl_error(rc, conn_, "AUTH step");
  if (out == nullptr || out_length == 0) return std::string();
  return encode64(out, out_length);
}

}  // namespace gw::delivery
