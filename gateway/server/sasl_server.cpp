#include "gateway/server/sasl_server.h"

#include <openssl/crypto.h>
#include <sasl/saslutil.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "gateway/common/log.h"

namespace gw::server {
namespace {

// The mechanisms whose plugins pass the plaintext password to libsasl2's
// checkpass, i.e. the only ones a bind-verified directory can serve.
constexpr std::string_view kPasswordMechanisms[] = {"PLAIN", "LOGIN"};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class SaslCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sasl"; }
  std::string message(int value) const override { return sasl_errstring(value, nullptr, nullptr); }
};
const std::error_category& sasl_category() {
  static const SaslCategory category;
  return category;
}

int log_global(void*, int level, const char* message) {
  if (message == nullptr) return SASL_OK;
  if (level <= SASL_LOG_ERR)
    log::warn({.subsystem = "sasl"}, "{}", message);
  else if (level <= SASL_LOG_NOTE)
    log::debug({.subsystem = "sasl"}, "{}", message);
  return SASL_OK;
}

// Options for libsasl2 itself: no auxprop store is consulted (the directory
// is the only password store), and only our mechanisms are loaded.
int global_option(void*, const char*, const char* option, const char** result, unsigned* length) {
  const std::string_view name(option);
  if (name == "mech_list") {
    *result = "PLAIN LOGIN";
  } else if (name == "auxprop_plugin") {
    *result = "gateway-directory-none";  // no such plugin: no sasldb lookups
  } else {
    return SASL_FAIL;
  }
  if (length) *length = static_cast<unsigned>(std::string_view(*result).size());
  return SASL_OK;
}

using SaslCallback = int (*)();

// libsasl2's table stores every callback as int (*)(void); a detour through
// void (*)(void) is the conversion GCC documents as deliberate.
template <typename Function>
SaslCallback callback(Function* function) {
  return reinterpret_cast<SaslCallback>(reinterpret_cast<void (*)()>(function));
}

// libsasl2 keeps this table for the life of the process.
sasl_callback_t global_callbacks[] = {
    {SASL_CB_LOG, callback(&log_global), nullptr},
    {SASL_CB_GETOPT, callback(&global_option), nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};

bool listed(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const std::size_t blank = list.find(' ');
    if (list.substr(0, blank) == name) return true;
    if (blank == std::string_view::npos) break;
    list.remove_prefix(blank + 1);
  }
  return false;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace

Result<void> initialize_sasl_library() {
  static std::once_flag once;
  static int rc = SASL_OK;
  std::call_once(once, [] { rc = sasl_server_init(global_callbacks, "gatewayd"); });
  if (rc != SASL_OK) return make_error(std::error_code(rc, sasl_category()), "sasl_server_init");
  return {};
}

std::vector<std::string> offered_mechanisms(const SaslSettings& settings, std::vector<std::string>* dropped) {
  std::vector<std::string> configured;
  for (const std::string& name : settings.mechanisms) configured.push_back(upper(name));
  if (configured.empty()) configured = {"PLAIN", "LOGIN"};

  // What libsasl2 has plugins for in this installation.
  std::string available;
  if (initialize_sasl_library()) {
    const char* const* mechs = sasl_global_listmech();
    for (; mechs && *mechs; ++mechs) available += std::string(" ") + *mechs + " ";
  }
  std::vector<std::string> offered;
  for (const std::string& name : configured) {
    const bool runnable = std::find(std::begin(kPasswordMechanisms), std::end(kPasswordMechanisms), name) !=
                              std::end(kPasswordMechanisms) &&
                          available.find(" " + name + " ") != std::string::npos;
    if (!runnable) {
      if (dropped) dropped->push_back(name);
      continue;
    }
    if (std::find(offered.begin(), offered.end(), name) == offered.end()) offered.push_back(name);
  }
  if (!settings.tls_active && !settings.allow_plaintext_without_tls) offered.clear();
  return offered;
}

Result<std::unique_ptr<SaslServerExchange>> SaslServerExchange::create(const SaslSettings& settings) {
  if (auto ready = initialize_sasl_library(); !ready) return std::unexpected(ready.error());
  std::unique_ptr<SaslServerExchange> exchange(new SaslServerExchange());
  for (const std::string& name : offered_mechanisms(settings)) {
    if (!exchange->mech_list_.empty()) exchange->mech_list_ += ' ';
    exchange->mech_list_ += name;
  }
  exchange->client_ip_ = settings.client_ip;
  void* self = exchange.get();
  exchange->callbacks_ = {
      {SASL_CB_GETOPT, callback(&SaslServerExchange::get_option), self},
      {SASL_CB_LOG, callback(&SaslServerExchange::log_message), self},
      {SASL_CB_SERVER_USERDB_CHECKPASS, callback(&SaslServerExchange::capture_password), self},
      {SASL_CB_LIST_END, nullptr, nullptr},
  };
  const int rc = sasl_server_new(settings.service.c_str(), settings.server_fqdn.c_str(), nullptr, nullptr,
                                 nullptr, exchange->callbacks_.data(), 0, &exchange->conn_);
  if (rc != SASL_OK) return make_error(std::error_code(rc, sasl_category()), "sasl_server_new");

  sasl_security_properties_t properties{};
  properties.min_ssf = 0;
  properties.max_ssf = 0;  // no SASL security layer: TLS protects the session
  properties.maxbufsize = 0;
  properties.security_flags = SASL_SEC_NOANONYMOUS;
  if (!settings.tls_active && !settings.allow_plaintext_without_tls) properties.security_flags |= SASL_SEC_NOPLAINTEXT;
  if (sasl_setprop(exchange->conn_, SASL_SEC_PROPS, &properties) != SASL_OK)
    return make_error(std::error_code(SASL_FAIL, sasl_category()), "sasl_setprop(SASL_SEC_PROPS)");
  return exchange;
}

SaslServerExchange::~SaslServerExchange() {
  if (captured_) wipe(captured_->password);
  if (conn_) sasl_dispose(&conn_);
}

int SaslServerExchange::get_option(void* context, const char*, const char* option, const char** result,
                                   unsigned* length) {
  auto* self = static_cast<SaslServerExchange*>(context);
  const std::string_view name(option);
  if (name == "mech_list") {
    *result = self->mech_list_.c_str();
  } else if (name == "auxprop_plugin") {
    *result = "gateway-directory-none";
  } else {
    return SASL_FAIL;
  }
  if (length) *length = static_cast<unsigned>(std::string_view(*result).size());
  return SASL_OK;
}

int SaslServerExchange::log_message(void* context, int level, const char* message) {
  auto* self = static_cast<SaslServerExchange*>(context);
  if (message == nullptr) return SASL_OK;
  if (level <= SASL_LOG_ERR)
    log::warn({.subsystem = "sasl", .peer = self->client_ip_}, "{}", message);
  else if (level <= SASL_LOG_NOTE)
    log::debug({.subsystem = "sasl", .peer = self->client_ip_}, "{}", message);
  return SASL_OK;
}

int SaslServerExchange::capture_password(sasl_conn_t*, void* context, const char* user, const char* pass,
                                         unsigned pass_length, propctx*) {
  auto* self = static_cast<SaslServerExchange*>(context);
  if (user == nullptr || pass == nullptr) return SASL_BADPARAM;
  if (self->captured_) wipe(self->captured_->password);
  self->captured_ = SaslCredentials{user, std::string(pass, pass_length)};
  // Provisional: the directory decides after the exchange.
  return SASL_OK;
}

SaslStep SaslServerExchange::start(std::string_view mechanism, std::optional<std::string_view> initial_response) {
  if (done_) return SaslFailure{smtp::AuthFailure::Malformed, "exchange already finished"};
  const std::string name = upper(mechanism);
  if (!listed(mech_list_, name)) {
    done_ = true;
    return SaslFailure{smtp::AuthFailure::WeakMechanism, "mechanism " + name + " not available here"};
  }
  std::optional<std::string> decoded;
  if (initial_response) {
    if (*initial_response == "=") {
      decoded = std::string();
    } else {
      decoded = decode_base64(*initial_response);
      if (!decoded) {
        done_ = true;
        return SaslFailure{smtp::AuthFailure::Malformed, "initial response is not base64"};
      }
    }
  }
  mechanism_ = name;
  if (decoded && name == "PLAIN") {
    if (auto refused = refuse_plain(*decoded)) {
      OPENSSL_cleanse(decoded->data(), decoded->size());
      return std::move(*refused);
    }
  }
  const char* out = nullptr;
  unsigned out_length = 0;
  const int rc = sasl_server_start(conn_, name.c_str(), decoded ? decoded->data() : nullptr,
                                   decoded ? static_cast<unsigned>(decoded->size()) : 0, &out, &out_length);
  if (decoded) OPENSSL_cleanse(decoded->data(), decoded->size());
  return outcome(rc, out, out_length);
}

SaslStep SaslServerExchange::step(std::string_view line) {
  if (done_) return SaslFailure{smtp::AuthFailure::Malformed, "exchange already finished"};
  if (line == "*") {
    done_ = true;
    return SaslFailure{smtp::AuthFailure::Cancelled, "cancelled by the client"};
  }
  std::optional<std::string> decoded = decode_base64(line);
  if (!decoded) {
    done_ = true;
    return SaslFailure{smtp::AuthFailure::Malformed, "response is not base64"};
  }
  if (mechanism_ == "PLAIN") {
    if (auto refused = refuse_plain(*decoded)) {
      OPENSSL_cleanse(decoded->data(), decoded->size());
      return std::move(*refused);
    }
  }
  const char* out = nullptr;
  unsigned out_length = 0;
  const int rc = sasl_server_step(conn_, decoded->data(), static_cast<unsigned>(decoded->size()), &out, &out_length);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return outcome(rc, out, out_length);
}

std::optional<SaslFailure> SaslServerExchange::refuse_plain(std::string_view message) {
  // RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
  const std::size_t first = message.find('\0');
  const std::size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos) {
    done_ = true;
    return SaslFailure{smtp::AuthFailure::Malformed, "PLAIN response is not authzid NUL authcid NUL password"};
  }
  if (second == first + 1 || second + 1 == message.size()) {
    done_ = true;
    return SaslFailure{smtp::AuthFailure::InvalidCredentials, "PLAIN response with an empty user or password"};
  }
  return std::nullopt;
}

SaslStep SaslServerExchange::outcome(int rc, const char* out, unsigned out_length) {
  if (rc == SASL_CONTINUE) return SaslChallenge{encode_base64(std::string_view(out ? out : "", out ? out_length : 0))};
  done_ = true;
  if (rc == SASL_OK) {
    if (!captured_) return SaslFailure{smtp::AuthFailure::InvalidCredentials, "mechanism completed without a password"};
    SaslCredentials credentials = std::move(*captured_);
    captured_.reset();
    return credentials;
  }
  if (captured_) {
    wipe(captured_->password);
    captured_.reset();
  }
  const char* detail = sasl_errdetail(conn_);
  std::string reason = detail ? detail : sasl_errstring(rc, nullptr, nullptr);
  switch (rc) {
    case SASL_TOOWEAK:
    case SASL_ENCRYPT:
      return SaslFailure{smtp::AuthFailure::WeakMechanism, std::move(reason)};
    case SASL_BADPROT:
    case SASL_BADPARAM:
      return SaslFailure{smtp::AuthFailure::Malformed, std::move(reason)};
    case SASL_TRYAGAIN:
    case SASL_UNAVAIL:
    case SASL_NOMEM:
      return SaslFailure{smtp::AuthFailure::Temporary, std::move(reason)};
    default:
      return SaslFailure{smtp::AuthFailure::InvalidCredentials, std::move(reason)};
  }
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.empty()) return std::string();
  // Strict: no whitespace, padding only at the end (sasl_decode64 checks the alphabet and length).
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return std::nullopt;
  std::string out(text.size() / 4 * 3 + 4, '\0');
  unsigned length = 0;
  if (sasl_decode64(text.data(), static_cast<unsigned>(text.size()), out.data(), static_cast<unsigned>(out.size()),
                    &length) != SASL_OK)
    return std::nullopt;
  out.resize(length);
  return out;
}

std::string encode_base64(std::string_view data) {
  std::string out((data.size() + 2) / 3 * 4 + 1, '\0');
  unsigned length = 0;
  if (sasl_encode64(data.data(), static_cast<unsigned>(data.size()), out.data(), static_cast<unsigned>(out.size()),
                    &length) != SASL_OK)
    return {};
  out.resize(length);
  return out;
}

}  // namespace gw::server
