#include "gateway/delivery/mx_resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <limits>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace gw::delivery {
namespace {

class DnsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "delivery.dns"; }
  std::string message(int ev) const override {
    switch (static_cast<DnsErrc>(ev)) {
      case DnsErrc::NoSuchDomain: return "domain does not exist (NXDOMAIN)";
      case DnsErrc::NoMailService: return "domain accepts no mail (null MX or no address records)";
      case DnsErrc::TemporaryFailure: return "temporary DNS failure";
      case DnsErrc::BadName: return "not a valid DNS name";
    }
    return "unknown DNS error";
  }
};

void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
      throw std::runtime_error(std::string("c-ares: library init: ") + ares_strerror(rc));
  });
}

// The one outstanding query; the c-ares callback fills it and wakes the waiter.
struct Query {
  int status = ARES_SUCCESS;
  bool done = false;
  std::vector<MxRecord> records;
  std::vector<asio::ip::address> addresses;
  asio::steady_timer* waiter = nullptr;
};

Error dns_error(DnsErrc errc, const std::string& name, int status) {
  return Error{make_error_code(errc), "dns: " + name + ": " + ares_strerror(status)};
}

Result<void> check_status(const std::string& name, int status) {
  switch (status) {
    case ARES_SUCCESS: return {};
    case ARES_ENOTFOUND: return std::unexpected(dns_error(DnsErrc::NoSuchDomain, name, status));
    case ARES_ENODATA: return std::unexpected(dns_error(DnsErrc::NoMailService, name, status));
    case ARES_EBADNAME: return std::unexpected(dns_error(DnsErrc::BadName, name, status));
    default: return std::unexpected(dns_error(DnsErrc::TemporaryFailure, name, status));
  }
}

}  // namespace

const std::error_category& dns_category() noexcept {
  static const DnsCategory category;
  return category;
}

std::error_code make_error_code(DnsErrc e) noexcept { return {static_cast<int>(e), dns_category()}; }

std::vector<MxRecord> order_mx_records(std::vector<MxRecord> records, std::mt19937_64& random) {
  std::shuffle(records.begin(), records.end(), random);
  std::stable_sort(records.begin(), records.end(),
                   [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  return records;
}

struct MxResolver::Channel {
  explicit Channel(asio::any_io_executor ex) : executor(std::move(ex)) {}
  ~Channel() {
    if (channel) ares_destroy(channel);
  }
  asio::any_io_executor executor;
  ares_channel channel = nullptr;
  int pending = 0;
  bool pumping = false;
};

MxResolver::MxResolver(asio::any_io_executor executor, DnsOptions options)
    : executor_(executor), channel_(std::make_shared<Channel>(executor)), random_(std::random_device{}()) {
  init_library_once();
  ares_options opts{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_NDOTS;
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = std::max(1, options.tries);
  char lookups[] = "b";  // DNS only, never /etc/hosts
  opts.lookups = lookups;
  opts.ndots = 1;
  if (const int rc = ares_init_options(&channel_->channel, &opts, mask); rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("c-ares: init: ") + ares_strerror(rc));
  if (!options.servers.empty()) {
    std::string csv;
    for (const auto& server : options.servers) csv += (csv.empty() ? "" : ",") + server;
    if (const int rc = ares_set_servers_ports_csv(channel_->channel, csv.c_str()); rc != ARES_SUCCESS)
      throw std::runtime_error("c-ares: DNS servers \"" + csv + "\": " + ares_strerror(rc));
  }
}

MxResolver::~MxResolver() = default;

void MxResolver::start_pump() {
  if (channel_->pumping) return;
  channel_->pumping = true;
  asio::co_spawn(executor_, pump(channel_), asio::detached);
}

asio::awaitable<void> MxResolver::pump(std::shared_ptr<Channel> channel) {
  asio::steady_timer timer(channel->executor);
  while (channel->pending > 0) {
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel->channel, sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events) fds[count++] = pollfd{sockets[i], events, 0};
    }
    // A zero timeout: this only asks which sockets are ready, it never waits.
    if (count > 0 && ::poll(fds, count, 0) > 0) {
      for (nfds_t i = 0; i < count; ++i) {
        const bool readable = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
        const bool writable = fds[i].revents & POLLOUT;
        if (readable || writable)
          ares_process_fd(channel->channel, readable ? fds[i].fd : ARES_SOCKET_BAD,
                          writable ? fds[i].fd : ARES_SOCKET_BAD);
      }
    }
    ares_process_fd(channel->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retransmissions and timeouts
    if (channel->pending == 0) break;
    timeval max_wait{0, 2000};
    timeval wait{};
    ares_timeout(channel->channel, &max_wait, &wait);
    timer.expires_after(std::chrono::seconds(wait.tv_sec) + std::chrono::microseconds(wait.tv_usec));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  channel->pumping = false;
}

namespace {

void finish(Query& query, int status) {
  query.status = status;
  query.done = true;
  if (query.waiter) query.waiter->cancel();
}

asio::awaitable<void> wait_for(asio::any_io_executor executor, Query& query) {
  asio::steady_timer waiter(executor, asio::steady_timer::time_point::max());
  query.waiter = &waiter;
  while (!query.done) {
    boost::system::error_code ec;
    co_await waiter.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  query.waiter = nullptr;
}

struct Callback {
  Query* query;
  int* pending;
};

}  // namespace

asio::awaitable<Result<std::vector<asio::ip::address>>> MxResolver::addresses(std::string host) {
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty()) co_return make_error(DnsErrc::BadName, "dns: empty host name");
  Query query;
  Callback callback{&query, &channel_->pending};
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  ++channel_->pending;
  ares_getaddrinfo(
      channel_->channel, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* info) {
        auto* cb = static_cast<Callback*>(arg);
        --*cb->pending;
        if (status == ARES_SUCCESS && info) {
          for (auto* node = info->nodes; node; node = node->ai_next) {
            if (node->ai_family == AF_INET) {
              const auto* sin = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
              asio::ip::address_v4::bytes_type bytes;
              std::memcpy(bytes.data(), &sin->sin_addr, 4);
              cb->query->addresses.emplace_back(asio::ip::address_v4(bytes));
            } else if (node->ai_family == AF_INET6) {
              const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
              asio::ip::address_v6::bytes_type bytes;
              std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
              cb->query->addresses.emplace_back(asio::ip::address_v6(bytes));
            }
          }
        }
        if (info) ares_freeaddrinfo(info);
        finish(*cb->query, status);
      },
      &callback);
  start_pump();
  co_await wait_for(executor_, query);
  if (auto ok = check_status(host, query.status); !ok) co_return std::unexpected(ok.error());
  if (query.addresses.empty()) co_return make_error(DnsErrc::NoMailService, "dns: " + host + ": no address records");
  std::stable_partition(query.addresses.begin(), query.addresses.end(),
                        [](const asio::ip::address& a) { return a.is_v4(); });
  query.addresses.erase(std::unique(query.addresses.begin(), query.addresses.end()), query.addresses.end());
  co_return std::move(query.addresses);
}

asio::awaitable<Result<std::vector<MailHost>>> MxResolver::mail_hosts(std::string domain) {
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domain.empty()) co_return make_error(DnsErrc::BadName, "dns: empty domain");
  Query query;
  Callback callback{&query, &channel_->pending};
  ++channel_->pending;
  ares_query(
      channel_->channel, domain.c_str(), ns_c_in, ns_t_mx,
      [](void* arg, int status, int, unsigned char* answer, int length) {
        auto* cb = static_cast<Callback*>(arg);
        --*cb->pending;
        if (status == ARES_SUCCESS) {
          ares_mx_reply* replies = nullptr;
          status = ares_parse_mx_reply(answer, length, &replies);
          for (auto* mx = replies; mx; mx = mx->next)
            cb->query->records.push_back({mx->host ? mx->host : "", mx->priority});
          if (replies) ares_free_data(replies);
        }
        finish(*cb->query, status);
      },
      &callback);
  start_pump();
  co_await wait_for(executor_, query);

  if (query.status == ARES_ENODATA || (query.status == ARES_SUCCESS && query.records.empty())) {
    // RFC 5321 5.1: no MX records, the domain itself is the implicit MX.
    auto addresses = co_await this->addresses(domain);
    if (!addresses) {
      if (addresses.error().code == DnsErrc::TemporaryFailure) co_return std::unexpected(addresses.error());
      co_return make_error(DnsErrc::NoMailService, "dns: " + domain + ": no MX and no address records");
    }
    co_return std::vector<MailHost>{MailHost{domain, 0, std::move(*addresses)}};
  }
  if (auto ok = check_status(domain, query.status); !ok) co_return std::unexpected(ok.error());
  // RFC 7505: a single MX with the root as host ("." -> "") says "no mail here".
  if (query.records.size() == 1 && (query.records[0].host.empty() || query.records[0].host == "."))
    co_return make_error(DnsErrc::NoMailService, "dns: " + domain + ": null MX (RFC 7505)");

  std::vector<MailHost> hosts;
  std::optional<Error> worst;
  for (const auto& record : order_mx_records(std::move(query.records), random_)) {
    auto addresses = co_await this->addresses(record.host);
    if (!addresses) {
      if (!worst || addresses.error().code == DnsErrc::TemporaryFailure) worst = addresses.error();
      continue;
    }
    hosts.push_back(MailHost{record.host, record.preference, std::move(*addresses)});
  }
  if (hosts.empty()) {
    if (worst && worst->code == DnsErrc::TemporaryFailure) co_return std::unexpected(*worst);
    co_return make_error(DnsErrc::NoMailService, "dns: " + domain + ": no MX host has an address");
  }
  co_return hosts;
}

}  // namespace gw::delivery
