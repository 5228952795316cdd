// IpNetwork matching for access lists: the relay IP list, the connection allow
// and deny lists and the ETRN host list of a virtual server are all lists of
// metabase IpNetwork (address + prefix length).
//
// Contract: parse_network() accepts IPv4 and IPv6 addresses with a prefix up to
// the address width; an IPv4-mapped IPv6 peer (::ffff:a.b.c.d, what a dual-stack
// socket reports) matches IPv4 networks. Pure value code, no I/O, no DNS: host
// names are not networks and are rejected.
#pragma once

#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"
#include "proto/metabase.pb.h"

namespace gw::server {

class IpNetwork {
 public:
  static Result<IpNetwork> parse(const metabase::IpNetwork& proto);
  static Result<IpNetwork> parse(std::string_view address, unsigned prefix_length);

  bool contains(const asio::ip::address& peer) const noexcept;
  std::string str() const;

 private:
  asio::ip::address network_;
  unsigned prefix_length_ = 0;
};

// Maps a v4-mapped IPv6 address back to IPv4; any other address unchanged.
asio::ip::address canonical(const asio::ip::address& address);

// A list of networks; contains() is true when any network matches.
class IpNetworkList {
 public:
  static Result<IpNetworkList> parse(const google::protobuf::RepeatedPtrField<metabase::IpNetwork>& list);

  bool contains(const asio::ip::address& peer) const noexcept;
  bool empty() const noexcept { return networks_.empty(); }

 private:
  std::vector<IpNetwork> networks_;
};

}  // namespace gw::server
