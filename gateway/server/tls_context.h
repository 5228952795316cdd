// TlsServerContext: the OpenSSL server configuration of one virtual server, built
// from its metabase Tls entry (PEM certificate chain + PEM private key).
//
// Contract:
// - load() builds a complete, immutable context or returns an error naming the
//   file and OpenSSL's reason; it never throws and never exits, so a virtual
//   server with a missing or unreadable certificate simply offers no STARTTLS /
//   implicit TLS while the others keep running.
// - Protocols: TLS 1.2 and TLS 1.3 only. TLS 1.2 suites are restricted to
//   ECDHE/DHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305): no
//   static RSA key exchange (no forward secrecy), no CBC (Lucky13-style padding
//   oracles), no SHA-1 MACs, no RC4/3DES/export. TLS 1.3 keeps OpenSSL's default
//   suites (all AEAD). The server's suite order wins. Renegotiation, compression
//   (CRIME) and session tickets with a never-rotated key are off; sessions are
//   not resumed across connections (each mail connection is long-lived enough).
//   Mail servers sometimes talk to old peers; anything older than TLS 1.2 then
//   falls back to plaintext SMTP, which opportunistic TLS tolerates.
// - Client certificates are requested but not required and not verified
//   (SSL_VERIFY_PEER with an accept-all callback): the gateway records whether
//   one was presented, it does not authenticate with it.
// - Reload: each metabase load builds a new context; connections keep the
//   shared_ptr of the one they started with, so nothing is swapped under a live
//   session.
// - tls_details() extracts protocol, cipher, key bits and whether a client
//   certificate was presented, for the Received header, the envelope and the
//   protocol log.
// Not responsible for: the handshake itself (Transport), certificate rotation
// policy, client-side TLS (gateway/delivery).
#pragma once

#include <memory>
#include <string>
#include <system_error>

#include <boost/asio/ssl/context.hpp>

#include "gateway/common/result.h"
#include "proto/metabase.pb.h"

struct ssl_st;

namespace gw::server {

enum class TlsErrc {
  NotConfigured = 1,      // no certificate or key file in the metabase
  CertificateUnreadable,  // missing, unreadable or not a PEM certificate chain
  KeyUnreadable,          // missing, unreadable or not a PEM private key
  KeyMismatch,            // the key does not belong to the certificate
  Setup,                  // any other OpenSSL failure while building the context
};

const std::error_category& tls_category() noexcept;
inline std::error_code make_error_code(TlsErrc e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

// The TLS 1.2 cipher list used by every server context (OpenSSL syntax).
inline constexpr const char* kTls12CipherList =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256";

class TlsServerContext {
 public:
  static Result<std::shared_ptr<const TlsServerContext>> load(const metabase::Tls& tls);

  // For asio::ssl::stream. Non-const because Asio takes it by reference; the
  // context is not modified after load().
  boost::asio::ssl::context& native() const noexcept { return context_; }
  const std::string& certificate_file() const noexcept { return certificate_file_; }

 private:
  explicit TlsServerContext(std::string certificate_file);

  mutable boost::asio::ssl::context context_;
  std::string certificate_file_;
};

struct TlsDetails {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  int bits = 0;          // symmetric key bits
  bool client_certificate = false;

  // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" plus
  // " client certificate presented" -- the form Postfix-style Received headers use.
  std::string description() const;
  // Compact form for the protocol log: "TLSv1.3:TLS_AES_256_GCM_SHA384:256:cert=no".
  std::string log_form() const;
};

// Details of an established connection.
TlsDetails tls_details(const ssl_st* ssl);

}  // namespace gw::server

template <>
struct std::is_error_code_enum<gw::server::TlsErrc> : std::true_type {};
