#include "gateway/delivery/mx_resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <algorithm>
#include <limits>
#include <cstring>
#include <map>
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

// One outstanding query; the c-ares callback fills it and wakes the waiter.
// It is shared: c-ares holds a reference until its callback has run, which may
// be after the waiting coroutine is gone (at shutdown ares_destroy() calls
// every pending callback with ARES_EDESTRUCTION).
struct Query {
  int status = ARES_SUCCESS;
  bool done = false;
  std::vector<MxRecord> records;
  std::vector<asio::ip::address> addresses;
  asio::steady_timer* waiter = nullptr;  // set only while a coroutine waits
};
using QueryRef = std::shared_ptr<Query>;

// The reference c-ares keeps as its callback argument.
void* hand_to_cares(const QueryRef& query) { return new QueryRef(query); }
QueryRef take_from_cares(void* arg) {
  std::unique_ptr<QueryRef> held(static_cast<QueryRef*>(arg));
  return std::move(*held);
}

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

// The c-ares channel and the Asio objects that wait for its sockets. c-ares
// reports which sockets it wants watched (ARES_OPT_SOCK_STATE_CB); each gets a
// non-owning stream_descriptor (released before c-ares closes the socket) that
// waits for readiness, and a timer covers retransmissions and timeouts.
struct MxResolver::Channel : std::enable_shared_from_this<Channel> {
  struct Watch {
    asio::posix::stream_descriptor descriptor;
    std::uint64_t id = 0;
    bool want_read = false, want_write = false, reading = false, writing = false;
  };

  explicit Channel(asio::any_io_executor ex) : executor(ex), timer(ex) {}
  ~Channel() {
    for (auto& [fd, watch] : watches) watch->descriptor.release();  // c-ares owns and closes the sockets
    watches.clear();
    if (channel) ares_destroy(channel);
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Channel*>(data);
    auto it = self->watches.find(fd);
    if (!readable && !writable) {
      if (it != self->watches.end()) {
        boost::system::error_code ignored;
        it->second->descriptor.cancel(ignored);
        it->second->descriptor.release();
        self->watches.erase(it);
      }
      return;
    }
    if (it == self->watches.end()) {
      auto watch = std::unique_ptr<Watch>(new Watch{asio::posix::stream_descriptor(self->executor, fd), ++self->next_id});
      it = self->watches.emplace(fd, std::move(watch)).first;
    }
    it->second->want_read = readable;
    it->second->want_write = writable;
    if (!self->stopped) self->arm(fd);
  }

  void arm(ares_socket_t fd) {
    auto it = watches.find(fd);
    if (it == watches.end()) return;
    Watch& watch = *it->second;
    if (watch.want_read && !watch.reading) {
      watch.reading = true;
      watch.descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                  [self = shared_from_this(), fd, id = watch.id](const boost::system::error_code& ec) {
                                    self->on_ready(fd, id, true, ec);
                                  });
    }
    if (watch.want_write && !watch.writing) {
      watch.writing = true;
      watch.descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                  [self = shared_from_this(), fd, id = watch.id](const boost::system::error_code& ec) {
                                    self->on_ready(fd, id, false, ec);
                                  });
    }
  }

  void on_ready(ares_socket_t fd, std::uint64_t id, bool read, const boost::system::error_code& ec) {
    auto it = watches.find(fd);
    // The socket may be gone, or its number reused by a newer one.
    if (it == watches.end() || it->second->id != id) return;
    (read ? it->second->reading : it->second->writing) = false;
    if (ec || stopped) return;
    ares_process_fd(channel, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
    arm(fd);
    schedule_timeout();
  }

  void schedule_timeout() {
    if (stopped) return;
    timeval wait{};
    if (!ares_timeout(channel, nullptr, &wait)) {
      timer.cancel();
      return;  // nothing outstanding
    }
    timer.expires_after(std::chrono::seconds(wait.tv_sec) + std::chrono::microseconds(wait.tv_usec));
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retransmissions, timeouts
      self->schedule_timeout();
    });
  }

  void stop() {
    stopped = true;
    timer.cancel();
    for (auto& [fd, watch] : watches) {
      boost::system::error_code ignored;
      watch->descriptor.cancel(ignored);
    }
  }

  asio::any_io_executor executor;
  asio::steady_timer timer;
  ares_channel channel = nullptr;
  std::map<ares_socket_t, std::unique_ptr<Watch>> watches;
  std::uint64_t next_id = 0;
  bool stopped = false;
};

MxResolver::MxResolver(asio::any_io_executor executor, DnsOptions options)
    : executor_(executor), channel_(std::make_shared<Channel>(executor)), random_(std::random_device{}()) {
  init_library_once();
  ares_options opts{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_NDOTS | ARES_OPT_SOCK_STATE_CB;
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = std::max(1, options.tries);
  char lookups[] = "b";  // DNS only, never /etc/hosts
  opts.lookups = lookups;
  opts.ndots = 1;
  opts.sock_state_cb = &Channel::on_socket_state;
  opts.sock_state_cb_data = channel_.get();
  if (const int rc = ares_init_options(&channel_->channel, &opts, mask); rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("c-ares: init: ") + ares_strerror(rc));
  if (!options.servers.empty()) {
    std::string csv;
    for (const auto& server : options.servers) csv += (csv.empty() ? "" : ",") + server;
    if (const int rc = ares_set_servers_ports_csv(channel_->channel, csv.c_str()); rc != ARES_SUCCESS)
      throw std::runtime_error("c-ares: DNS servers \"" + csv + "\": " + ares_strerror(rc));
  }
}

MxResolver::~MxResolver() { channel_->stop(); }

void MxResolver::track_queries() { channel_->schedule_timeout(); }

namespace {

void finish(Query& query, int status) {
  query.status = status;
  query.done = true;
  if (query.waiter) query.waiter->cancel();
}

asio::awaitable<void> wait_for(asio::any_io_executor executor, Query& query) {
  asio::steady_timer waiter(executor, asio::steady_timer::time_point::max());
  query.waiter = &waiter;
  // Also when this frame is destroyed while it waits (shutdown): a later
  // callback must not wake a timer that no longer exists.
  struct Detach {
    Query& query;
    ~Detach() { query.waiter = nullptr; }
  } detach{query};
  while (!query.done) {
    boost::system::error_code ec;
    co_await waiter.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

asio::awaitable<Result<std::vector<asio::ip::address>>> MxResolver::addresses(std::string host) {
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty()) co_return make_error(DnsErrc::BadName, "dns: empty host name");
  const QueryRef query = std::make_shared<Query>();
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(
      channel_->channel, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* info) {
        const QueryRef query = take_from_cares(arg);
        if (status == ARES_SUCCESS && info) {
          for (auto* node = info->nodes; node; node = node->ai_next) {
            if (node->ai_family == AF_INET) {
              const auto* sin = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
              asio::ip::address_v4::bytes_type bytes;
              std::memcpy(bytes.data(), &sin->sin_addr, 4);
              query->addresses.emplace_back(asio::ip::address_v4(bytes));
            } else if (node->ai_family == AF_INET6) {
              const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
              asio::ip::address_v6::bytes_type bytes;
              std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
              query->addresses.emplace_back(asio::ip::address_v6(bytes));
            }
          }
        }
        if (info) ares_freeaddrinfo(info);
        finish(*query, status);
      },
      hand_to_cares(query));
  track_queries();
  co_await wait_for(executor_, *query);
  if (auto ok = check_status(host, query->status); !ok) co_return std::unexpected(ok.error());
  auto& found = query->addresses;
  if (found.empty()) co_return make_error(DnsErrc::NoMailService, "dns: " + host + ": no address records");
  std::stable_partition(found.begin(), found.end(), [](const asio::ip::address& a) { return a.is_v4(); });
  found.erase(std::unique(found.begin(), found.end()), found.end());
  co_return std::move(found);
}

asio::awaitable<Result<std::vector<MailHost>>> MxResolver::mail_hosts(std::string domain) {
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domain.empty()) co_return make_error(DnsErrc::BadName, "dns: empty domain");
  const QueryRef pending = std::make_shared<Query>();
  ares_query(
      channel_->channel, domain.c_str(), ns_c_in, ns_t_mx,
      [](void* arg, int status, int, unsigned char* answer, int length) {
        const QueryRef query = take_from_cares(arg);
        if (status == ARES_SUCCESS) {
          ares_mx_reply* replies = nullptr;
          status = ares_parse_mx_reply(answer, length, &replies);
          for (auto* mx = replies; mx; mx = mx->next)
            query->records.push_back({mx->host ? mx->host : "", mx->priority});
          if (replies) ares_free_data(replies);
        }
        finish(*query, status);
      },
      hand_to_cares(pending));
  track_queries();
  co_await wait_for(executor_, *pending);
  Query& query = *pending;

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
