#include "categorizer/ldap/ldap_directory_client.h"

#include <fcntl.h>
#include <ldap.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "gateway/common/log.h"
#include "gateway/events/bus.h"

namespace gw::categorizer::ldap {
namespace {

using Clock = std::chrono::steady_clock;
using WaitType = asio::posix::descriptor_base::wait_type;

const gw::log::Context kLog{"categorizer"};

struct MessageFree {
  void operator()(LDAPMessage* m) const noexcept {
    if (m != nullptr) ldap_msgfree(m);
  }
};
using MessagePtr = std::unique_ptr<LDAPMessage, MessageFree>;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

gw::Error directory_error(DirectoryErrc errc, std::string detail) {
  return gw::Error{make_error_code(errc), std::move(detail)};
}

int to_ldap_scope(SearchScope scope) {
  switch (scope) {
    case SearchScope::Base: return LDAP_SCOPE_BASE;
    case SearchScope::OneLevel: return LDAP_SCOPE_ONELEVEL;
    case SearchScope::Subtree: return LDAP_SCOPE_SUBTREE;
  }
  return LDAP_SCOPE_SUBTREE;
}

Entry parse_entry(LDAP* ld, LDAPMessage* msg) {
  Entry entry;
  if (char* dn = ldap_get_dn(ld, msg); dn != nullptr) {
    entry.dn = dn;
    ldap_memfree(dn);
  }
  BerElement* ber = nullptr;
  for (char* attr = ldap_first_attribute(ld, msg, &ber); attr != nullptr;
       attr = ldap_next_attribute(ld, msg, ber)) {
    auto& values = entry.attributes[attr];
    if (berval** vals = ldap_get_values_len(ld, msg, attr); vals != nullptr) {
      for (int i = 0; vals[i] != nullptr; ++i) values.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
      ldap_value_free_len(vals);
    }
    ldap_memfree(attr);
  }
  if (ber != nullptr) ber_free(ber, 0);
  return entry;
}

}  // namespace

// One libldap handle and its socket. Owned jointly by the client, the reader coroutine and every
// request in flight, so it lives until the last of them lets go.
struct LdapDirectoryClient::Connection {
  struct Waiter {
    explicit Waiter(const asio::any_io_executor& ex) : signal(ex) {}
    asio::steady_timer signal;  // cancelled by the reader when a message arrives
    std::deque<MessagePtr> messages;
    bool lost = false;
  };

  Connection(asio::any_io_executor ex, LDAP* handle, std::string endpoint)
      : executor(std::move(ex)), ld(handle), uri(std::move(endpoint)) {}

  ~Connection() {
    // libldap owns the descriptor: give it back before ldap_unbind_ext closes it.
    if (socket) (void)socket->release();
    if (ld != nullptr) ldap_unbind_ext(ld, nullptr, nullptr);
  }

  Result<void> attach_socket() {
    if (socket) return {};
    int fd = -1;
    // LDAP_OPT_DESC is marked "historic" in ldap.h but is what libldap 2.5 implements for
    // reading the connection's descriptor; the integration tests prove it against slapd.
    if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0)
      return std::unexpected(directory_error(DirectoryErrc::Unavailable, uri + ": no socket descriptor"));
    socket.emplace(executor, fd);
    return {};
  }

  // Reads every message libldap can give without waiting and hands each to its waiter.
  // Returns false when the connection is gone.
  bool drain() {
    for (;;) {
      LDAPMessage* raw = nullptr;
      timeval zero{0, 0};
      const int rc = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &raw);
      if (rc == 0) return true;
      if (rc < 0) return false;
      MessagePtr msg(raw);
      const int msgid = ldap_msgid(raw);
      if (msgid == 0) return false;  // unsolicited notice of disconnection (RFC 4511 4.4.1)
      auto it = waiters.find(msgid);
      if (it == waiters.end()) continue;  // reply to an abandoned request
      it->second->messages.push_back(std::move(msg));
      it->second->signal.cancel();
    }
  }

  void shutdown() {
    if (broken) return;
    broken = true;
    for (auto& [id, waiter] : waiters) {
      waiter->lost = true;
      waiter->signal.cancel();
    }
    if (socket) {
      boost::system::error_code ignored;
      socket->cancel(ignored);
    }
  }

  asio::any_io_executor executor;
  LDAP* ld = nullptr;
  std::string uri;
  std::optional<asio::posix::stream_descriptor> socket;
  std::unordered_map<int, std::shared_ptr<Waiter>> waiters;
  bool broken = false;
  DirectoryKind kind = DirectoryKind::OpenLdap;
};

struct LdapDirectoryClient::PageResult {
  bool ok = false;
  bool lost = false;
  bool no_such_object = false;  // the search base does not exist (ok is set too)
  gw::Error error;
  std::string cookie;
};

namespace {

using Connection = LdapDirectoryClient::Connection;

// Waits until the connection's socket is ready for `type` or the deadline passes.
// Returns true when ready.
asio::awaitable<bool> wait_socket(std::shared_ptr<Connection> conn, WaitType type,
                                  Clock::time_point deadline) {
  asio::steady_timer timer(conn->executor);
  timer.expires_at(deadline);
  auto settled = std::make_shared<bool>(false);
  timer.async_wait([conn, settled](const boost::system::error_code& ec) {
    if (!ec && !*settled && conn->socket) {
      boost::system::error_code ignored;
      conn->socket->cancel(ignored);
    }
  });
  boost::system::error_code ec;
  co_await conn->socket->async_wait(type, asio::redirect_error(asio::use_awaitable, ec));
  *settled = true;
  timer.cancel();
  co_return !ec;
}

// Sends the first operation(s) of a connection. With LDAP_OPT_CONNECT_ASYNC libldap starts a
// non-blocking connect and answers LDAP_X_CONNECTING; the call is repeated once the socket is
// writable (libldap then sees the connect completed and sends the request).
template <typename Send>
asio::awaitable<Result<int>> send_when_connected(std::shared_ptr<Connection> conn,
                                                 Clock::time_point deadline, Send send) {
  for (;;) {
    int msgid = -1;
    const int rc = send(&msgid);
    if (rc == LDAP_SUCCESS) co_return msgid;
    if (rc != LDAP_X_CONNECTING)
      co_return std::unexpected(
          directory_error(DirectoryErrc::Unavailable, conn->uri + ": " + ldap_err2string(rc)));
    if (auto attached = conn->attach_socket(); !attached) co_return std::unexpected(attached.error());
    if (!co_await wait_socket(conn, WaitType::wait_write, deadline))
      co_return std::unexpected(directory_error(DirectoryErrc::Timeout, conn->uri + ": connect timed out"));
  }
}

// Waits for the complete reply to `msgid` while no reader coroutine runs (connection set-up).
asio::awaitable<Result<MessagePtr>> await_reply_directly(std::shared_ptr<Connection> conn, int msgid,
                                                         Clock::time_point deadline) {
  for (;;) {
    LDAPMessage* raw = nullptr;
    timeval zero{0, 0};
    const int rc = ldap_result(conn->ld, msgid, LDAP_MSG_ALL, &zero, &raw);
    if (rc > 0) co_return MessagePtr(raw);
    if (rc < 0)
      co_return std::unexpected(directory_error(DirectoryErrc::Unavailable, conn->uri + ": connection lost"));
    if (auto attached = conn->attach_socket(); !attached) co_return std::unexpected(attached.error());
    if (!co_await wait_socket(conn, WaitType::wait_read, deadline)) {
      ldap_abandon_ext(conn->ld, msgid, nullptr, nullptr);
      co_return std::unexpected(directory_error(DirectoryErrc::Timeout, conn->uri + ": no reply before deadline"));
    }
  }
}

asio::awaitable<void> read_loop(std::shared_ptr<Connection> conn) {
  while (!conn->broken) {
    boost::system::error_code ec;
    co_await conn->socket->async_wait(WaitType::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (conn->broken) break;
    if (ec || !conn->drain()) {
      gw::log::warn(kLog, "directory connection to {} lost", conn->uri);
      conn->shutdown();
    }
  }
}

}  // namespace

LdapClientOptions LdapClientOptions::from_metabase(const metabase::DirectoryEndpoints& endpoints) {
  LdapClientOptions options;
  options.uris.assign(endpoints.uris().begin(), endpoints.uris().end());
  if (options.uris.empty()) throw std::runtime_error("directory: no gwDirectoryUri in the metabase");
  options.bind_dn = endpoints.bind_dn();
  options.start_tls = endpoints.start_tls();
  if (endpoints.search_timeout_ms() != 0)
    options.search_timeout = std::chrono::milliseconds(endpoints.search_timeout_ms());
  if (!endpoints.bind_password_file().empty()) {
    std::ifstream in(endpoints.bind_password_file());
    if (!in) throw std::runtime_error("directory: cannot read " + endpoints.bind_password_file());
    std::getline(in, options.bind_password);
    while (!options.bind_password.empty() &&
           (options.bind_password.back() == '\r' || options.bind_password.back() == '\n'))
      options.bind_password.pop_back();
  }
  return options;
}

LdapDirectoryClient::LdapDirectoryClient(asio::any_io_executor executor, LdapClientOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

LdapDirectoryClient::~LdapDirectoryClient() { close(); }

void LdapDirectoryClient::close() {
  if (current_) drop(current_);
}

std::string LdapDirectoryClient::connected_uri() const {
  return current_ && !current_->broken ? current_->uri : std::string{};
}

void LdapDirectoryClient::drop(const std::shared_ptr<Connection>& conn) {
  if (!conn) return;
  auto keep = conn;
  if (current_ == keep) current_.reset();
  keep->shutdown();
}

asio::awaitable<Result<std::shared_ptr<LdapDirectoryClient::Connection>>> LdapDirectoryClient::open(
    const std::string& uri, const std::string& dn, const std::string& password, bool start_reader,
    int* bind_rc, std::string* bind_diagnostic) {
  LDAP* ld = nullptr;
  if (const int rc = ldap_initialize(&ld, uri.c_str()); rc != LDAP_SUCCESS)
    co_return std::unexpected(
        directory_error(DirectoryErrc::Unavailable, "ldap_initialize " + uri + ": " + ldap_err2string(rc)));
  auto conn = std::make_shared<Connection>(executor_, ld, uri);

  const int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON);
  // libldap only connects asynchronously when a network timeout is set.
  const timeval network_timeout = to_timeval(options_.connect_timeout);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &network_timeout);

  const auto deadline = Clock::now() + options_.connect_timeout;
  const bool ldaps = uri.rfind("ldaps://", 0) == 0;
  if (ldaps || options_.start_tls) {
    // Per-connection TLS settings take effect in a context created for this handle.
    const int demand = LDAP_OPT_X_TLS_DEMAND;
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    if (!options_.tls_ca_file.empty()) ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, options_.tls_ca_file.c_str());
    const int server_context = 0;
    if (const int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &server_context); rc != LDAP_OPT_SUCCESS)
      co_return std::unexpected(
          directory_error(DirectoryErrc::Unavailable, uri + ": TLS setup (CA file " + options_.tls_ca_file +
                                                          "): " + ldap_err2string(rc)));
  }
  if (options_.start_tls && !ldaps) {
    auto sent = co_await send_when_connected(
        conn, deadline, [ld](int* msgid) { return ldap_start_tls(ld, nullptr, nullptr, msgid); });
    if (!sent) co_return std::unexpected(sent.error());
    auto reply = co_await await_reply_directly(conn, *sent, deadline);
    if (!reply) co_return std::unexpected(reply.error());
    int err = LDAP_OTHER;
    ldap_parse_result(ld, reply->get(), &err, nullptr, nullptr, nullptr, nullptr, 0);
    if (err != LDAP_SUCCESS)
      co_return std::unexpected(
          directory_error(DirectoryErrc::Unavailable, uri + ": StartTLS refused: " + ldap_err2string(err)));
    // The TLS handshake is the one step libldap performs synchronously; it is bounded by
    // LDAP_OPT_NETWORK_TIMEOUT (see the header).
    if (const int rc = ldap_install_tls(ld); rc != LDAP_SUCCESS)
      co_return std::unexpected(
          directory_error(DirectoryErrc::Unavailable, uri + ": TLS handshake: " + ldap_err2string(rc)));
  }

  berval credentials{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
  auto sent = co_await send_when_connected(conn, deadline, [&](int* msgid) {
    return ldap_sasl_bind(ld, dn.empty() ? nullptr : dn.c_str(), LDAP_SASL_SIMPLE, &credentials, nullptr,
                          nullptr, msgid);
  });
  if (!sent) co_return std::unexpected(sent.error());
  auto reply = co_await await_reply_directly(conn, *sent, deadline);
  if (!reply) co_return std::unexpected(reply.error());
  int err = LDAP_OTHER;
  char* diagnostic = nullptr;
  ldap_parse_result(ld, reply->get(), &err, nullptr, &diagnostic, nullptr, nullptr, 0);
  if (bind_rc != nullptr) *bind_rc = err;
  if (bind_diagnostic != nullptr && diagnostic != nullptr) *bind_diagnostic = diagnostic;
  if (diagnostic != nullptr) ldap_memfree(diagnostic);
  if (err != LDAP_SUCCESS)
    co_return std::unexpected(directory_error(
        DirectoryErrc::Unavailable, uri + ": bind as " + (dn.empty() ? "anonymous" : dn) + ": " + ldap_err2string(err)));

  if (auto attached = conn->attach_socket(); !attached) co_return std::unexpected(attached.error());
  // libldap puts the socket back into blocking mode once the connect completes. Non-blocking
  // reads make a half-arrived reply return "keep looking" instead of stalling the loop.
  const int fd = conn->socket->native_handle();
  if (const int flags = ::fcntl(fd, F_GETFL, 0); flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);

  if (start_reader) asio::co_spawn(executor_, read_loop(conn), asio::detached);
  co_return conn;
}

asio::awaitable<Result<std::shared_ptr<LdapDirectoryClient::Connection>>> LdapDirectoryClient::connection() {
  for (;;) {
    if (current_ && !current_->broken) co_return current_;
    if (current_) {
      ++stats_.connections_lost;
      current_.reset();
    }
    if (connecting_) {
      auto wake = std::make_shared<asio::steady_timer>(executor_, Clock::time_point::max());
      connect_waiters_.push_back(wake);
      boost::system::error_code ec;
      co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!current_ && !connecting_ && Clock::now() < next_attempt_)
        co_return std::unexpected(directory_error(DirectoryErrc::Unavailable, "no directory server answers"));
      continue;
    }
    if (Clock::now() < next_attempt_)
      co_return std::unexpected(
          directory_error(DirectoryErrc::Unavailable, "no directory server answers (waiting to reconnect)"));

    connecting_ = true;
    gw::Error last = directory_error(DirectoryErrc::Unavailable, "no directory URI configured");
    for (const auto& uri : options_.uris) {
      auto opened = co_await open(uri, options_.bind_dn, options_.bind_password, true, nullptr);
      if (opened) {
        (*opened)->kind = co_await read_kind(*opened);
        if ((*opened)->broken) {  // lost while reading the root DSE
          ++stats_.connect_failures;
          last = directory_error(DirectoryErrc::Unavailable, uri + ": connection lost after the bind");
          continue;
        }
        current_ = *opened;
        ++stats_.connects;
        consecutive_timeouts_ = 0;
        backoff_ = std::chrono::milliseconds{0};
        next_attempt_ = {};
        gw::log::info(kLog, "directory: connected to {} ({})", uri, directory_kind_name(current_->kind));
        break;
      }
      ++stats_.connect_failures;
      gw::log::warn(kLog, "directory: {}", opened.error().message());
      last = opened.error();
    }
    connecting_ = false;
    for (auto& waiter : connect_waiters_) waiter->cancel();
    connect_waiters_.clear();
    if (current_) co_return current_;
    backoff_ = backoff_.count() == 0 ? options_.backoff_initial : std::min(backoff_ * 2, options_.backoff_max);
    next_attempt_ = Clock::now() + backoff_;
    co_return std::unexpected(directory_error(DirectoryErrc::Unavailable, last.detail));
  }
}

asio::awaitable<LdapDirectoryClient::PageResult> LdapDirectoryClient::search_page(
    std::shared_ptr<Connection> conn, const SearchRequest& request, const std::string& cookie,
    std::vector<Entry>& out, std::size_t cap) {
  PageResult result;
  LDAP* ld = conn->ld;
  if (conn->broken) {  // dropped while this request waited for its turn: nobody reads it any more
    result.lost = true;
    result.error = directory_error(DirectoryErrc::Unavailable, conn->uri + ": connection lost");
    co_return result;
  }

  LDAPControl* page_control = nullptr;
  berval cookie_value{static_cast<ber_len_t>(cookie.size()), const_cast<char*>(cookie.data())};
  // Not critical: a server without RFC 2696 support answers with everything in one page. A base
  // search returns one entry at most, and the root DSE is not in any database to page.
  if (request.scope != SearchScope::Base &&
      ldap_create_page_control(ld, options_.page_size, cookie.empty() ? nullptr : &cookie_value, 0,
                               &page_control) != LDAP_SUCCESS) {
    result.error = directory_error(DirectoryErrc::Protocol, "cannot encode paged results control");
    co_return result;
  }
  LDAPControl* server_controls[] = {page_control, nullptr};

  std::vector<char*> attributes;
  for (const auto& a : request.attributes) attributes.push_back(const_cast<char*>(a.c_str()));
  attributes.push_back(nullptr);

  int msgid = -1;
  const int rc = ldap_search_ext(ld, request.base.c_str(), to_ldap_scope(request.scope),
                                 request.filter.str().c_str(),
                                 request.attributes.empty() ? nullptr : attributes.data(), 0,
                                 page_control != nullptr ? server_controls : nullptr, nullptr, nullptr, 0, &msgid);
  if (page_control != nullptr) ldap_control_free(page_control);
  ++stats_.requests;
  if (rc != LDAP_SUCCESS) {
    result.lost = rc == LDAP_SERVER_DOWN;
    result.error = directory_error(rc == LDAP_FILTER_ERROR ? DirectoryErrc::Protocol : DirectoryErrc::Unavailable,
                                   conn->uri + ": search: " + ldap_err2string(rc));
    co_return result;
  }

  auto waiter = std::make_shared<Connection::Waiter>(executor_);
  conn->waiters.emplace(msgid, waiter);
  const auto deadline = Clock::now() + options_.search_timeout;
  waiter->signal.expires_at(deadline);
  struct Unregister {
    std::shared_ptr<Connection> conn;
    int msgid;
    ~Unregister() { conn->waiters.erase(msgid); }
  } unregister{conn, msgid};

  for (;;) {
    while (!waiter->messages.empty()) {
      MessagePtr msg = std::move(waiter->messages.front());
      waiter->messages.pop_front();
      switch (ldap_msgtype(msg.get())) {
        case LDAP_RES_SEARCH_ENTRY:
          if (out.size() >= cap) {
            ldap_abandon_ext(ld, msgid, nullptr, nullptr);
            result.error = directory_error(DirectoryErrc::SizeLimit,
                                           "more than " + std::to_string(cap) + " entries under " + request.base);
            co_return result;
          }
          out.push_back(parse_entry(ld, msg.get()));
          break;
        case LDAP_RES_SEARCH_RESULT: {
          int err = LDAP_OTHER;
          char* text = nullptr;
          LDAPControl** controls = nullptr;
          if (ldap_parse_result(ld, msg.get(), &err, nullptr, &text, nullptr, &controls, 0) != LDAP_SUCCESS)
            err = LDAP_DECODING_ERROR;
          const std::string detail = conn->uri + ": search " + request.filter.str().substr(0, 200) + ": " +
                                     ldap_err2string(err) + (text && *text ? std::string(" (") + text + ")" : "");
          if (text != nullptr) ldap_memfree(text);
          switch (err) {
            case LDAP_SUCCESS:
            case LDAP_NO_SUCH_OBJECT:  // the base does not exist: nothing matches
              result.ok = true;
              result.no_such_object = err == LDAP_NO_SUCH_OBJECT;
              if (LDAPControl* page = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, controls, nullptr)) {
                ber_int_t estimate = 0;
                berval next{0, nullptr};
                if (ldap_parse_pageresponse_control(ld, page, &estimate, &next) == LDAP_SUCCESS &&
                    next.bv_val != nullptr) {
                  result.cookie.assign(next.bv_val, next.bv_len);
                  ber_memfree(next.bv_val);
                }
              }
              break;
            case LDAP_SIZELIMIT_EXCEEDED:
            case LDAP_ADMINLIMIT_EXCEEDED:
              result.error = directory_error(DirectoryErrc::SizeLimit, detail);
              break;
            case LDAP_TIMELIMIT_EXCEEDED:
              result.error = directory_error(DirectoryErrc::Timeout, detail);
              break;
            case LDAP_BUSY:
            case LDAP_UNAVAILABLE:
            case LDAP_UNWILLING_TO_PERFORM:
              result.error = directory_error(DirectoryErrc::Unavailable, detail);
              break;
            default:
              result.error = directory_error(DirectoryErrc::Protocol, detail);
              break;
          }
          if (controls != nullptr) ldap_controls_free(controls);
          co_return result;
        }
        default:  // search references (continuations): never chased
          break;
      }
    }
    if (waiter->lost) {
      result.lost = true;
      result.error = directory_error(DirectoryErrc::Unavailable, conn->uri + ": connection lost");
      co_return result;
    }
    if (Clock::now() >= deadline) {
      ldap_abandon_ext(ld, msgid, nullptr, nullptr);
      ++stats_.timeouts;
      result.error = directory_error(DirectoryErrc::Timeout, conn->uri + ": search abandoned after " +
                                                                 std::to_string(options_.search_timeout.count()) + " ms");
      if (++consecutive_timeouts_ >= options_.timeouts_before_reconnect) {
        gw::log::warn(kLog, "directory: {} timed out {} times in a row, reconnecting", conn->uri,
                      consecutive_timeouts_);
        consecutive_timeouts_ = 0;
        drop(conn);
      }
      co_return result;
    }
    boost::system::error_code ec;
    co_await waiter->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

namespace {

// Reports one search to the event stream (metrics: searches, latency, the
// server's health) when the search coroutine ends, whichever way it ends.
struct SearchObserver {
  events::DirectorySearch event;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  ~SearchObserver() {
    event.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    if (event.result.empty()) event.result = "abandoned";
    events::emit(std::move(event));
  }
  void failed(const gw::Error& error) {
    event.result = error.code == make_error_code(DirectoryErrc::Timeout)       ? "timeout"
                   : error.code == make_error_code(DirectoryErrc::Unavailable) ? "unavailable"
                                                                               : "error";
  }
};

}  // namespace

asio::awaitable<Result<std::vector<Entry>>> LdapDirectoryClient::search(SearchRequest request) {
  co_return co_await run(request, nullptr);
}

asio::awaitable<Result<std::vector<Entry>>> LdapDirectoryClient::run(const SearchRequest& request,
                                                                     bool* no_such_object) {
  const std::size_t cap = request.max_entries != 0 ? request.max_entries : options_.max_entries;
  SearchObserver observer;
  observer.event.server = options_.uris.empty() ? std::string() : options_.uris.front();
  observer.event.base = request.base;
  observer.event.filter = request.filter.str();
  for (int attempt = 0;; ++attempt) {
    auto conn = co_await connection();
    if (!conn) {
      observer.failed(conn.error());
      co_return std::unexpected(conn.error());
    }
    observer.event.server = (*conn)->uri;
    std::vector<Entry> entries;
    std::string cookie;
    PageResult page;
    do {
      page = co_await search_page(*conn, request, cookie, entries, cap);
      cookie = page.cookie;
    } while (page.ok && !cookie.empty());
    if (page.ok) {
      consecutive_timeouts_ = 0;
      if (no_such_object != nullptr) *no_such_object = page.no_such_object;
      observer.event.result = "ok";
      observer.event.entries = entries.size();
      co_return entries;
    }
    if (page.lost) {
      drop(*conn);
      if (attempt == 0) continue;  // reconnect and retry once
    }
    observer.failed(page.error);
    co_return std::unexpected(page.error);
  }
}

asio::awaitable<Result<std::optional<Entry>>> LdapDirectoryClient::read(std::string dn,
                                                                        std::vector<std::string> attributes) {
  SearchRequest request{dn, SearchScope::Base, FilterBuilder::present("objectClass"), std::move(attributes), 1};
  bool no_such_object = false;
  auto entries = co_await run(request, &no_such_object);
  if (!entries) co_return std::unexpected(entries.error());
  if (!entries->empty()) co_return std::optional<Entry>(std::move(entries->front()));
  if (no_such_object) co_return std::optional<Entry>();
  // (objectClass=*) matches every entry: an empty answer that is not noSuchObject hides the entry.
  co_return std::unexpected(directory_error(DirectoryErrc::Protocol, "reading " + dn + ": no entry and no noSuchObject"));
}

asio::awaitable<Result<DirectoryKind>> LdapDirectoryClient::kind() {
  auto conn = co_await connection();
  if (!conn) co_return std::unexpected(conn.error());
  co_return (*conn)->kind;
}

asio::awaitable<DirectoryKind> LdapDirectoryClient::read_kind(std::shared_ptr<Connection> conn) {
  const SearchRequest request{"", SearchScope::Base, FilterBuilder::present("objectClass"),
                              {std::string(kRootDseCapabilitiesAttribute)}, 1};
  std::vector<Entry> entries;
  const std::string no_cookie;
  const PageResult page = co_await search_page(conn, request, no_cookie, entries, 1);
  if (!page.ok) {
    gw::log::warn(kLog, "directory: cannot read the root DSE of {} ({}); treating it as an RFC directory", conn->uri,
                  page.error.message());
    co_return DirectoryKind::OpenLdap;
  }
  std::vector<std::string> capabilities;
  if (!entries.empty()) capabilities = entries.front().values(kRootDseCapabilitiesAttribute);
  co_return directory_kind_from_capabilities(capabilities);
}

asio::awaitable<Result<BindCheck>> LdapDirectoryClient::simple_bind_check(
    std::string dn, std::string password) {
  if (dn.empty() || password.empty()) co_return BindCheck{};
  gw::Error last = directory_error(DirectoryErrc::Unavailable, "no directory URI configured");
  for (const auto& uri : options_.uris) {
    int bind_rc = -1;
    std::string diagnostic;
    auto opened = co_await open(uri, dn, password, false, &bind_rc, &diagnostic);
    if (opened) co_return BindCheck{.accepted = true, .diagnostic = {}};
    switch (bind_rc) {
      case LDAP_INVALID_CREDENTIALS:
      case LDAP_INAPPROPRIATE_AUTH:
      case LDAP_INVALID_DN_SYNTAX:
        co_return BindCheck{.accepted = false, .diagnostic = std::move(diagnostic)};
      default:
        break;
    }
    last = opened.error();
  }
  co_return std::unexpected(last);
}

}  // namespace gw::categorizer::ldap
