#include "gateway/server/transport.h"

#include <openssl/ssl.h>

namespace gw::server {

std::string Transport::tls_description() const {
  if (!tls_) return {};
  SSL* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
  const char* version = SSL_get_version(ssl);
  const char* cipher = SSL_get_cipher_name(ssl);
  return std::string(version ? version : "TLS") + " " + (cipher ? cipher : "unknown");
}

}  // namespace gw::server
