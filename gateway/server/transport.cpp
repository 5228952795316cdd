#include "gateway/server/transport.h"

#include "gateway/server/tls_context.h"

namespace gw::server {

std::string Transport::tls_description() const {
  if (!tls_) return {};
  auto& stream = const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_);
  return tls_details(stream.native_handle()).description();
}

}  // namespace gw::server
