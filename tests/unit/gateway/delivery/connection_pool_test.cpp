// Connection limits of the pool, on a real event loop but without sockets:
// leases are taken and given back without connections.
#include "gateway/delivery/connection_pool.h"

#include <gtest/gtest.h>

#include "proto/metabase.pb.h"

namespace gw::delivery {
namespace {

PoolLimits limits(std::uint32_t total, std::uint32_t per_key) {
  PoolLimits l;
  l.max_connections = total;
  l.max_connections_per_key = per_key;
  l.idle_time = std::chrono::seconds(5);
  return l;
}

// Takes a lease, records when it got it, holds it for `hold`, then releases it.
asio::awaitable<void> use(ConnectionPool& pool, std::string key, std::chrono::milliseconds hold,
                          std::vector<std::string>& log) {
  auto lease = co_await pool.acquire(key);
  log.push_back("+" + key);
  asio::steady_timer timer(co_await asio::this_coro::executor, hold);
  co_await timer.async_wait(asio::use_awaitable);
  log.push_back("-" + key);
}

TEST(ConnectionPool, PerDestinationLimitMakesTheSecondConnectionWait) {
  asio::io_context io;
  ConnectionPool pool(io.get_executor(), limits(10, 1));
  std::vector<std::string> log;
  asio::co_spawn(io, use(pool, "a", std::chrono::milliseconds(30), log), asio::detached);
  asio::co_spawn(io, use(pool, "a", std::chrono::milliseconds(1), log), asio::detached);
  asio::co_spawn(io, use(pool, "b", std::chrono::milliseconds(1), log), asio::detached);
  io.run();
  // "b" is not held up by "a"'s limit; the second "a" starts only after the first ended.
  EXPECT_EQ(log, (std::vector<std::string>{"+a", "+b", "-b", "-a", "+a", "-a"}));
  EXPECT_EQ(pool.connections(), 0u);
}

TEST(ConnectionPool, TotalLimitHoldsEveryDestination) {
  asio::io_context io;
  ConnectionPool pool(io.get_executor(), limits(1, 0));
  std::vector<std::string> log;
  asio::co_spawn(io, use(pool, "a", std::chrono::milliseconds(20), log), asio::detached);
  asio::co_spawn(io, use(pool, "b", std::chrono::milliseconds(1), log), asio::detached);
  io.run();
  EXPECT_EQ(log, (std::vector<std::string>{"+a", "-a", "+b", "-b"}));
}

TEST(ConnectionPool, CountsFollowLeases) {
  asio::io_context io;
  ConnectionPool pool(io.get_executor(), limits(0, 0));
  std::size_t total = 0, for_a = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto first = co_await pool.acquire("a");
        auto second = co_await pool.acquire("a");
        auto third = co_await pool.acquire("b");
        total = pool.connections();
        for_a = pool.connections("a");
      },
      asio::detached);
  io.run();
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(for_a, 2u);
  EXPECT_EQ(pool.connections(), 0u);
}

TEST(ConnectionPool, MetabaseZeroMeansTheExchangeDefaults) {
  gw::metabase::Outbound outbound;
  auto defaults = pool_limits(outbound);
  EXPECT_EQ(defaults.max_connections, 1000u);
  EXPECT_EQ(defaults.max_connections_per_key, 100u);
  outbound.set_max_connections(7);
  outbound.set_max_connections_per_domain(2);
  outbound.set_max_messages_per_connection(3);
  const auto configured = pool_limits(outbound);
  EXPECT_EQ(configured.max_connections, 7u);
  EXPECT_EQ(configured.max_connections_per_key, 2u);
  EXPECT_EQ(configured.max_messages_per_connection, 3u);
}

}  // namespace
}  // namespace gw::delivery
