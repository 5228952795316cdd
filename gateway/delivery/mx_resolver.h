// MxResolver: which hosts take mail for a domain, and the addresses of a host,
// asked asynchronously with c-ares on the caller's Asio executor.
//
// mail_hosts() follows RFC 5321 5.1: MX records in preference order, hosts of
// equal preference in random order (load spreading), each with its A and AAAA
// addresses; a domain without MX records is its own mail host (implicit MX,
// its A/AAAA records). A null MX (RFC 7505) or a domain that does not exist
// (NXDOMAIN) is permanent: DnsErrc::NoSuchDomain / NoMailService -> 5.4.0 / 5.1.10 in
// the DSN. Server failures, refusals and timeouts are DnsErrc::TemporaryFailure
// (4.4.3, the message waits). MX hosts whose address lookup fails are left out;
// if none is left the worst transient or permanent reason is returned.
// Servers are the virtual server's external DNS servers ("ip", "ip:port",
// "[ipv6]:port"); empty = the system's resolv.conf. /etc/hosts is never read:
// mail routing follows DNS only.
// Executor: one resolver per event loop. c-ares tells which sockets to watch;
// Asio waits for them (non-owning stream_descriptors) and a timer drives
// c-ares' retransmissions, so nothing blocks and nothing polls. The resolver
// must outlive the lookups started on it.
// Not responsible for choosing among hosts after connecting (deliver_to_hosts)
// or for caching beyond what the DNS servers do.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/result.h"

namespace gw::delivery {

enum class DnsErrc {
  NoSuchDomain = 1,   // NXDOMAIN: permanent
  NoMailService,      // null MX, or no MX and no address records: permanent
  TemporaryFailure,   // SERVFAIL, REFUSED, timeout, no server reachable: transient
  BadName,            // not a resolvable name: permanent
};

const std::error_category& dns_category() noexcept;
std::error_code make_error_code(DnsErrc e) noexcept;

struct MxRecord {
  std::string host;
  std::uint16_t preference = 0;
};

struct MailHost {
  std::string name;
  std::uint16_t preference = 0;
  std::vector<asio::ip::address> addresses;
};

// RFC 5321 5.1 ordering: ascending preference, equal preferences shuffled with `random`.
std::vector<MxRecord> order_mx_records(std::vector<MxRecord> records, std::mt19937_64& random);

struct DnsOptions {
  std::vector<std::string> servers;                      // "ip" or "ip:port"; empty = resolv.conf
  std::chrono::milliseconds timeout = std::chrono::seconds(5);   // per try
  int tries = 2;
};

class MxResolver {
 public:
  // Throws std::runtime_error for unusable options (start-up / configuration).
  MxResolver(asio::any_io_executor executor, DnsOptions options);
  ~MxResolver();
  MxResolver(const MxResolver&) = delete;
  MxResolver& operator=(const MxResolver&) = delete;

  asio::awaitable<Result<std::vector<MailHost>>> mail_hosts(std::string domain);
  // A and AAAA records of `host` (IPv4 first).
  asio::awaitable<Result<std::vector<asio::ip::address>>> addresses(std::string host);

 private:
  struct Channel;
  void track_queries();  // after starting a query: keep c-ares' timeout timer running

  asio::any_io_executor executor_;
  std::shared_ptr<Channel> channel_;
  std::mt19937_64 random_;
};

}  // namespace gw::delivery

namespace std {
template <>
struct is_error_code_enum<gw::delivery::DnsErrc> : true_type {};
}  // namespace std
