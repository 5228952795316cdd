#include "gateway/server/ip_network.h"

#include <cstring>

namespace gw::server {
namespace {

// Compares the first prefix_length bits of two equally long byte arrays.
template <std::size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  unsigned prefix_length) {
  const unsigned full_bytes = prefix_length / 8;
  if (std::memcmp(a.data(), b.data(), full_bytes) != 0) return false;
  const unsigned rest_bits = prefix_length % 8;
  if (rest_bits == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFFu << (8 - rest_bits));
  return (a[full_bytes] & mask) == (b[full_bytes] & mask);
}

}  // namespace

asio::ip::address canonical(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

Result<IpNetwork> IpNetwork::parse(const metabase::IpNetwork& proto) {
  return parse(proto.address(), proto.prefix_length());
}

Result<IpNetwork> IpNetwork::parse(std::string_view address, unsigned prefix_length) {
  boost::system::error_code ec;
  auto parsed = asio::ip::make_address(std::string(address), ec);
  if (ec)
    return make_error(std::make_error_code(std::errc::invalid_argument),
                      "not an IP address: '" + std::string(address) + "'");
  parsed = canonical(parsed);
  const unsigned width = parsed.is_v4() ? 32 : 128;
  if (prefix_length > width)
    return make_error(std::make_error_code(std::errc::invalid_argument),
                      "prefix length " + std::to_string(prefix_length) + " too long for " +
                          std::string(address));
  IpNetwork network;
  network.network_ = parsed;
  network.prefix_length_ = prefix_length;
  return network;
}

bool IpNetwork::contains(const asio::ip::address& peer) const noexcept {
  const auto candidate = canonical(peer);
  if (candidate.is_v4() != network_.is_v4()) return false;
  if (candidate.is_v4())
    return prefix_equal(candidate.to_v4().to_bytes(), network_.to_v4().to_bytes(), prefix_length_);
  return prefix_equal(candidate.to_v6().to_bytes(), network_.to_v6().to_bytes(), prefix_length_);
}

std::string IpNetwork::str() const {
  return network_.to_string() + "/" + std::to_string(prefix_length_);
}

Result<IpNetworkList> IpNetworkList::parse(
    const google::protobuf::RepeatedPtrField<metabase::IpNetwork>& list) {
  IpNetworkList out;
  for (const auto& entry : list) {
    auto network = IpNetwork::parse(entry);
    if (!network) return std::unexpected(network.error());
    out.networks_.push_back(*network);
  }
  return out;
}

bool IpNetworkList::contains(const asio::ip::address& peer) const noexcept {
  for (const auto& network : networks_)
    if (network.contains(peer)) return true;
  return false;
}

}  // namespace gw::server
