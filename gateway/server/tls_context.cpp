#include "gateway/server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>

namespace gw::server {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    switch (static_cast<TlsErrc>(value)) {
      case TlsErrc::NotConfigured: return "no TLS certificate configured";
      case TlsErrc::CertificateUnreadable: return "TLS certificate chain cannot be loaded";
      case TlsErrc::KeyUnreadable: return "TLS private key cannot be loaded";
      case TlsErrc::KeyMismatch: return "TLS private key does not match the certificate";
      case TlsErrc::Setup: return "TLS context setup failed";
    }
    return "unknown TLS error";
  }
};

// OpenSSL's queued reasons, oldest first; clears the queue.
std::string openssl_errors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

Error tls_error(TlsErrc code, const std::string& file) {
  std::string detail = file;
  std::string reasons = openssl_errors();
  if (!reasons.empty()) detail += (detail.empty() ? "" : ": ") + reasons;
  return Error{make_error_code(code), std::move(detail)};
}

// Requests a client certificate but accepts any (or none): it is recorded, not trusted.
int accept_any_client_certificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

const std::error_category& tls_category() noexcept {
  static const TlsCategory category;
  return category;
}

TlsServerContext::TlsServerContext(std::string certificate_file)
    : context_(boost::asio::ssl::context::tls_server), certificate_file_(std::move(certificate_file)) {}

Result<std::shared_ptr<const TlsServerContext>> TlsServerContext::load(const metabase::Tls& tls) {
  if (tls.certificate_file().empty() || tls.key_file().empty())
    return make_error(TlsErrc::NotConfigured);
  ERR_clear_error();
  std::shared_ptr<TlsServerContext> result(new TlsServerContext(tls.certificate_file()));
  SSL_CTX* ctx = result->context_.native_handle();

  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
    return std::unexpected(tls_error(TlsErrc::Setup, "protocol versions"));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_TICKET | SSL_OP_SINGLE_DH_USE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx, kTls12CipherList) != 1)
    return std::unexpected(tls_error(TlsErrc::Setup, "cipher list"));
  // Ephemeral DH parameters sized to the certificate key (RFC 7919 groups).
  SSL_CTX_set_dh_auto(ctx, 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_client_certificate);

  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate_file().c_str()) != 1)
    return std::unexpected(tls_error(TlsErrc::CertificateUnreadable, tls.certificate_file()));
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file().c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate while loading it.
    const int reason = ERR_GET_REASON(ERR_peek_last_error());
    const bool mismatch = reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH;
    return std::unexpected(tls_error(mismatch ? TlsErrc::KeyMismatch : TlsErrc::KeyUnreadable, tls.key_file()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return std::unexpected(tls_error(TlsErrc::KeyMismatch, tls.key_file()));
  return std::shared_ptr<const TlsServerContext>(std::move(result));
}

std::string TlsDetails::description() const {
  std::string text = protocol + " with cipher " + cipher + " (" + std::to_string(bits) + "/" +
                     std::to_string(bits) + " bits)";
  if (client_certificate) text += " client certificate presented";
  return text;
}

std::string TlsDetails::log_form() const {
  return protocol + ":" + cipher + ":" + std::to_string(bits) + ":cert=" + (client_certificate ? "yes" : "no");
}

TlsDetails tls_details(const ssl_st* ssl) {
  TlsDetails details;
  if (ssl == nullptr) return details;
  const char* version = SSL_get_version(ssl);
  details.protocol = version ? version : "TLS";
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  if (cipher) {
    details.cipher = SSL_CIPHER_get_name(cipher);
    details.bits = SSL_CIPHER_get_bits(cipher, nullptr);
  }
  X509* peer = SSL_get1_peer_certificate(ssl);
  details.client_certificate = peer != nullptr;
  X509_free(peer);
  return details;
}

}  // namespace gw::server
