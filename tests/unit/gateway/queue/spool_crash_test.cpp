// Crash test with a real process: a child commits messages in a loop and reports
// each id over a pipe only after commit() returned it (the moment the session
// would send "250"); the parent SIGKILLs it at a random point, restarts the spool
// on the same directory and checks that every reported id was recovered exactly
// once, intact, and that nothing torn turned up.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "gateway/queue/spool.h"
#include "spool_test_support.h"

namespace gw::queue {
namespace {

constexpr std::size_t kBodySize = 6000;
constexpr int kWritersPerChild = 4;

// Runs in the forked child; never returns.
[[noreturn]] void commit_forever(const std::filesystem::path& root, int report_fd, unsigned first_seed) {
  asio::io_context io;
  Spool spool(SpoolOptions{.root = root, .threads = 2});
  unsigned next_seed = first_seed;
  for (int w = 0; w < kWritersPerChild; ++w) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (;;) {
            const unsigned seed = next_seed++;
            auto envelope = test::sample_envelope();
            envelope.set_message_id(std::to_string(seed));
            auto id = co_await test::spool_message(spool, envelope, test::sample_body(kBodySize, seed), 1500);
            if (!id) _exit(3);
            // One write() of less than PIPE_BUF octets: atomic, never torn.
            const std::string line = id->str() + "\n";
            if (::write(report_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
          }
        },
        asio::detached);
  }
  io.run();
  _exit(5);
}

std::vector<QueueId> parse_ids(const std::string& text) {
  std::vector<QueueId> ids;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    auto id = QueueId::parse(std::string_view(text).substr(start, end - start));
    EXPECT_TRUE(id.has_value()) << "bad report line";
    if (id) ids.push_back(*id);
  }
  return ids;
}

TEST(SpoolCrash, EveryAcknowledgedMessageSurvivesSigkillExactlyOnce) {
  test::TempDir dir;
  std::mt19937 random(std::random_device{}());
  std::set<QueueId> acknowledged;
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      commit_forever(dir.path(), pipe_fds[1], static_cast<unsigned>(round) * 1'000'000u);
    }
    ::close(pipe_fds[1]);

    // Let it acknowledge a random number of messages, then kill it mid-flight.
    const std::size_t kill_after = std::uniform_int_distribution<std::size_t>(1, 40)(random);
    std::string reported;
    char buffer[4096];
    while (static_cast<std::size_t>(std::count(reported.begin(), reported.end(), '\n')) < kill_after) {
      const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
      ASSERT_GT(n, 0) << "the child stopped committing";
      reported.append(buffer, static_cast<std::size_t>(n));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(random)));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself with " << WEXITSTATUS(status);
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) reported.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    for (const auto& id : parse_ids(reported)) EXPECT_TRUE(acknowledged.insert(id).second) << "id reused";

    asio::io_context io;
    Spool spool(SpoolOptions{.root = dir.path()});
    auto report = spool.recover();
    ASSERT_TRUE(report.has_value());
    EXPECT_EQ(report->moved_to_badmail, 0u) << "a crash left a torn message";
    EXPECT_TRUE(test::files_in(dir.path() / "badmail").empty());
    std::multiset<QueueId> recovered;
    for (const auto& message : report->messages) {
      recovered.insert(message.id);
      const auto body = test::run(io, test::read_body(spool, message.id));
      ASSERT_TRUE(body.has_value());
      EXPECT_EQ(*body, test::sample_body(kBodySize, static_cast<unsigned>(std::stoul(message.envelope.message_id()))))
          << message.id.str() << " is not intact";
      EXPECT_EQ(message.envelope.body_size(), kBodySize);
    }
    for (const auto& id : acknowledged) {
      EXPECT_EQ(recovered.count(id), 1u) << "acknowledged " << id.str() << " recovered " << recovered.count(id)
                                         << " times";
    }
  }
}

}  // namespace
}  // namespace gw::queue
