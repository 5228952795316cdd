#include "gateway/delivery/connection_pool.h"

#include <algorithm>

#include "proto/metabase.pb.h"

namespace gw::delivery {
namespace {

asio::awaitable<void> quit_and_drop(std::unique_ptr<OutboundConnection> connection) {
  co_await connection->quit();
}

bool below(std::size_t count, std::uint32_t limit) { return limit == 0 || count < limit; }

}  // namespace

PoolLimits pool_limits(const gw::metabase::Outbound& outbound) {
  PoolLimits limits;
  if (outbound.max_connections() != 0) limits.max_connections = outbound.max_connections();
  if (outbound.max_connections_per_domain() != 0) limits.max_connections_per_key = outbound.max_connections_per_domain();
  if (outbound.max_messages_per_connection() != 0)
    limits.max_messages_per_connection = outbound.max_messages_per_connection();
  return limits;
}

Lease::Lease(ConnectionPool* pool, std::string key, std::unique_ptr<OutboundConnection> reused)
    : connection(std::move(reused)), pool_(pool), key_(std::move(key)) {}

Lease::Lease(Lease&& other) noexcept
    : connection(std::move(other.connection)), pool_(std::exchange(other.pool_, nullptr)), key_(std::move(other.key_)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    reset();
    connection = std::move(other.connection);
    pool_ = std::exchange(other.pool_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

Lease::~Lease() { reset(); }

void Lease::reset() noexcept {
  if (pool_) {
    if (connection) pool_->close_idle(std::move(connection));
    pool_->free_slot(key_);
  }
  pool_ = nullptr;
}

ConnectionPool::ConnectionPool(asio::any_io_executor executor, PoolLimits limits)
    : executor_(std::move(executor)), limits_(limits) {}

ConnectionPool::~ConnectionPool() {
  for (auto& [key, list] : idle_) list.clear();  // sockets close; no QUIT at shutdown
}

std::size_t ConnectionPool::connections(const std::string& key) const {
  const auto it = per_key_.find(key);
  return it == per_key_.end() ? 0 : it->second;
}

std::size_t ConnectionPool::idle(const std::string& key) const {
  const auto it = idle_.find(key);
  return it == idle_.end() ? 0 : it->second.size();
}

void ConnectionPool::close_idle(std::unique_ptr<OutboundConnection> connection) {
  asio::co_spawn(executor_, quit_and_drop(std::move(connection)), asio::detached);
}

void ConnectionPool::free_slot(const std::string& key) {
  if (total_ > 0) --total_;
  if (auto it = per_key_.find(key); it != per_key_.end() && it->second > 0 && --it->second == 0) per_key_.erase(it);
  wake_waiters();
}

void ConnectionPool::wake_waiters() {
  for (auto* timer : waiters_) timer->cancel();
}

void ConnectionPool::drop_expired() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    const std::string key = it->first;
    for (auto idle = list.begin(); idle != list.end();) {
      if (now - idle->since >= limits_.idle_time || !idle->connection->usable()) {
        close_idle(std::move(idle->connection));
        idle = list.erase(idle);
        if (total_ > 0) --total_;
        if (auto count = per_key_.find(key); count != per_key_.end() && count->second > 0 && --count->second == 0)
          per_key_.erase(count);
      } else {
        ++idle;
      }
    }
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

bool ConnectionPool::close_one_idle_except(const std::string& key) {
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (it->first == key || it->second.empty()) continue;
    const std::string other = it->first;
    close_idle(std::move(it->second.front().connection));
    it->second.erase(it->second.begin());
    if (it->second.empty()) idle_.erase(it);
    if (total_ > 0) --total_;
    if (auto count = per_key_.find(other); count != per_key_.end() && count->second > 0 && --count->second == 0)
      per_key_.erase(count);
    return true;
  }
  return false;
}

asio::awaitable<Lease> ConnectionPool::acquire(std::string key) {
  for (;;) {
    drop_expired();
    if (auto it = idle_.find(key); it != idle_.end() && !it->second.empty()) {
      auto connection = std::move(it->second.back().connection);
      it->second.pop_back();
      if (it->second.empty()) idle_.erase(it);
      ++reused_;
      co_return Lease(this, std::move(key), std::move(connection));  // the idle connection's slot moves along
    }
    if (below(total_, limits_.max_connections) && below(connections(key), limits_.max_connections_per_key)) {
      ++total_;
      ++per_key_[key];
      co_return Lease(this, std::move(key), nullptr);
    }
    // The total is used up partly by idle connections elsewhere: take one of their slots.
    if (!below(total_, limits_.max_connections) && below(connections(key), limits_.max_connections_per_key) &&
        close_one_idle_except(key))
      continue;
    asio::steady_timer timer(executor_, asio::steady_timer::time_point::max());
    // Wake up by idle_time at the latest: idle connections expire without an event.
    timer.expires_after(limits_.idle_time);
    waiters_.push_back(&timer);
    const auto self = std::prev(waiters_.end());
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiters_.erase(self);
  }
}

void ConnectionPool::release(Lease lease, std::unique_ptr<OutboundConnection> connection) {
  if (lease.pool_ != this) return;
  const bool reusable = connection && connection->usable() &&
                        below(connection->session().messages_sent(), limits_.max_messages_per_connection);
  if (!reusable) {
    lease.connection = std::move(connection);  // closed (QUIT) by the lease with its slot
    return;
  }
  idle_[lease.key_].push_back(Idle{std::move(connection), std::chrono::steady_clock::now()});
  lease.pool_ = nullptr;  // the slot stays taken by the idle connection
  wake_waiters();
}

asio::awaitable<DeliveryReport> deliver_with_pool(ConnectionPool& pool, std::string key,
                                                  const std::vector<Endpoint>& hosts, const ClientOptions& options,
                                                  const OutboundMessage& message, BodySource& body) {
  DeliveryReport report;
  auto lease = co_await pool.acquire(std::move(key));
  auto connection = std::move(lease.connection);
  const bool reused = connection && connection->usable();
  if (reused) {
    report.attempts.push_back(connection->endpoint().str() + ": reusing the connection");
  } else {
    ConnectionFailure failure;
    connection = co_await connect_first(co_await asio::this_coro::executor, hosts, options, report.attempts, failure);
    if (!connection) {
      report.result = fail_all(message, failure);
      co_return report;  // the lease frees the slot
    }
  }
  report.result = co_await connection->deliver(message, body);
  const bool dropped_on_reuse =
      reused && !connection->usable() &&
      std::all_of(report.result.recipients.begin(), report.result.recipients.end(),
                  [](const RecipientResult& r) { return r.status == EnhancedStatus{4, 4, 2}; });
  if (dropped_on_reuse) {
    // The peer closed the idle connection meanwhile (its idle timeout): one
    // more try on a fresh connection, as a new attempt would do anyway.
    report.attempts.push_back(connection->endpoint().str() + ": cached connection was closed by the peer");
    ConnectionFailure failure;
    connection = co_await connect_first(co_await asio::this_coro::executor, hosts, options, report.attempts, failure);
    if (!connection) {
      report.result = fail_all(message, failure);
      co_return report;
    }
    report.result = co_await connection->deliver(message, body);
  }
  report.delivered_via = connection->endpoint();
  pool.release(std::move(lease), std::move(connection));
  co_return report;
}

}  // namespace gw::delivery
