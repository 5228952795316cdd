// CategorizeStage without a reachable directory: a queued message keeps waiting in "awaiting
// directory lookup" with its attempts recorded, and no recipient ever fails (contract 3, docs/architecture.md).
// Successful categorization against a real slapd is covered by tests/integration/directory.
#include "gateway/qmgr/categorize_stage.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "gateway/queue/named_queues.h"
#include "gateway/queue/spool.h"
#include "categorizer/directory_service.h"

namespace gw::qmgr {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gw-qmgr-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); }, asio::detached);
  io.restart();
  io.run();
  if (!out) throw std::logic_error("operation did not complete");
  return std::move(*out);
}

asio::awaitable<Result<QueueId>> queue_message(queue::Spool& spool, envelope::Envelope envelope) {
  auto writer = co_await spool.begin(std::move(envelope));
  if (!writer) co_return std::unexpected(writer.error());
  const std::string body = "Subject: test\r\n\r\nhello\r\n";
  if (auto written = co_await writer->write(body); !written) co_return std::unexpected(written.error());
  co_return co_await spool.commit(std::move(*writer));
}

envelope::Envelope local_envelope() {
  envelope::Envelope envelope;
  envelope.set_sender("outsider@remote.example");
  envelope.add_recipients()->set_address("alice@example.com");
  envelope.add_recipients()->set_address("bob@example.com");
  return envelope;
}

std::shared_ptr<const metabase::Metabase> metabase_with_directory(std::string uri) {
  auto metabase = std::make_shared<metabase::Metabase>();
  metabase->set_format_version(1);
  auto* domain = metabase->add_domains();
  domain->set_name("example.com");
  domain->set_authoritative(true);
  if (!uri.empty()) {
    metabase->mutable_directory()->add_uris(std::move(uri));
    metabase->mutable_directory()->set_recipient_base_dn("DC=example,DC=com");
    metabase->mutable_directory()->set_search_timeout_ms(500);
  }
  return metabase;
}

class CategorizeStageTest : public ::testing::Test {
 protected:
  // libldap writes with write(2); gatewayd ignores SIGPIPE the same way.
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }

  // Submits one message, lets the stage work for `duration`, stops it and returns the stored envelope.
  envelope::Envelope categorize_for(const std::string& directory_uri, std::chrono::milliseconds duration,
                                    envelope::Envelope envelope = local_envelope()) {
    queue::Spool spool(queue::SpoolOptions{dir_.path() / "spool"});
    auto id = run(io_, queue_message(spool, std::move(envelope)));
    if (!id) throw std::runtime_error(id.error().message());
    id_ = *id;
    categorizer::DirectoryServiceOptions directory_options;
    directory_options.connect_timeout = 200ms;
    categorizer::DirectoryService directory(io_.get_executor(), directory_options);
    directory.configure(metabase_with_directory(directory_uri));
    CategorizeStageOptions options;
    options.backoff = {20ms, 40ms};
    CategorizeStage stage(spool, queues_, directory, options);
    stage.submit(id_);
    io_.restart();
    io_.run_for(duration);
    stage.stop();
    io_.restart();
    io_.run_for(50ms);
    stats_ = stage.stats();
    auto stored = run(io_, spool.load(id_));
    if (!stored) throw std::runtime_error(stored.error().message());
    return *stored;
  }

  TempDir dir_;
  asio::io_context io_{1};
  queue::NamedQueues queues_;
  QueueId id_;
  CategorizeStageStats stats_;
};

TEST(CategorizeStageBackoff, FollowsTheStepsAndRepeatsTheLastOne) {
  const std::vector<std::chrono::milliseconds> steps{5s, 10s, 30s, 60s};
  EXPECT_EQ(CategorizeStage::backoff_for(steps, 1), 5s);
  EXPECT_EQ(CategorizeStage::backoff_for(steps, 2), 10s);
  EXPECT_EQ(CategorizeStage::backoff_for(steps, 4), 60s);
  EXPECT_EQ(CategorizeStage::backoff_for(steps, 40), 60s);
}

TEST_F(CategorizeStageTest, MessageWaitsForDirectoryLookupWhenTheMetabaseNamesNoDirectory) {
  const auto stored = categorize_for("", 300ms);
  EXPECT_EQ(stored.queue(), envelope::AWAITING_DIRECTORY_LOOKUP);
  EXPECT_GE(stored.categorizer_attempts(), 2u) << "retried with back-off";
  for (const auto& recipient : stored.recipients()) EXPECT_EQ(recipient.state(), envelope::PENDING);
  EXPECT_EQ(stats_.categorized, 0u);
  EXPECT_GE(stats_.deferred, 2u);
}

TEST_F(CategorizeStageTest, UnreachableDirectoryNeverFailsARecipient) {
  // Port 1 on loopback refuses connections: the directory is down.
  const auto stored = categorize_for("ldap://127.0.0.1:1", 600ms);
  EXPECT_EQ(stored.queue(), envelope::AWAITING_DIRECTORY_LOOKUP);
  EXPECT_GE(stored.categorizer_attempts(), 1u);
  EXPECT_GT(stored.next_attempt_unix(), 0);
  for (const auto& recipient : stored.recipients()) {
    EXPECT_EQ(recipient.state(), envelope::PENDING);
    EXPECT_TRUE(recipient.status().empty());
  }
  const auto indexed = queues_.find(id_);
  ASSERT_TRUE(indexed.has_value());
  EXPECT_EQ(indexed->queue, envelope::AWAITING_DIRECTORY_LOOKUP);
}

TEST_F(CategorizeStageTest, MessageOutsideAwaitingDirectoryLookupIsLeftAlone) {
  auto envelope = local_envelope();
  envelope.set_queue(envelope::WAITING_TO_BE_ROUTED);
  const auto stored = categorize_for("", 100ms, envelope);
  EXPECT_EQ(stored.queue(), envelope::WAITING_TO_BE_ROUTED);
  EXPECT_EQ(stored.categorizer_attempts(), 0u);
  EXPECT_EQ(stats_.deferred, 0u);
}

}  // namespace
}  // namespace gw::qmgr
