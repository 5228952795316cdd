#include "gateway/queue/spool.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "gateway/queue/envelope_codec.h"
#include "gateway/queue/faulty_fs.h"
#include "spool_test_support.h"

namespace gw::queue {
namespace {

using test::files_in;
using test::run;
using test::sample_body;
using test::sample_envelope;
using test::spool_message;

class SpoolTest : public ::testing::Test {
 protected:
  Spool& spool() {
    if (!spool_) spool_ = std::make_unique<Spool>(SpoolOptions{.root = dir_.path(), .threads = 4, .fs = fs_});
    return *spool_;
  }
  // Simulates a restart: the next spool() opens the same directory afresh.
  void restart(std::shared_ptr<FileSystem> fs = nullptr) {
    spool_.reset();
    fs_ = std::move(fs);
  }
  QueueId commit(const std::string& body, envelope::Envelope envelope = sample_envelope()) {
    auto id = run(io_, spool_message(spool(), std::move(envelope), body));
    EXPECT_TRUE(id.has_value()) << id.error().message();
    return id.value_or(QueueId{});
  }
  std::filesystem::path incoming() const { return dir_.path() / "incoming"; }
  std::filesystem::path queue() const { return dir_.path() / "queue"; }
  std::filesystem::path badmail() const { return dir_.path() / "badmail"; }

  test::TempDir dir_;
  asio::io_context io_;
  std::shared_ptr<FileSystem> fs_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(SpoolTest, CreatesIncomingQueueAndBadmailDirectories) {
  spool();
  EXPECT_TRUE(std::filesystem::is_directory(incoming()));
  EXPECT_TRUE(std::filesystem::is_directory(queue()));
  EXPECT_TRUE(std::filesystem::is_directory(badmail()));
}

TEST_F(SpoolTest, CommitRoundTripsBodyAndEnvelope) {
  const std::string body = sample_body(100'000);
  const QueueId id = commit(body);

  auto stored_body = run(io_, test::read_body(spool(), id));
  ASSERT_TRUE(stored_body.has_value()) << stored_body.error().message();
  EXPECT_EQ(*stored_body, body);

  auto envelope = run(io_, spool().load(id));
  ASSERT_TRUE(envelope.has_value()) << envelope.error().message();
  EXPECT_EQ(envelope->queue_id(), id.str());
  EXPECT_EQ(envelope->sender(), "alice@example.com");
  ASSERT_EQ(envelope->recipients_size(), 1);
  EXPECT_EQ(envelope->recipients(0).address(), "bob@example.com");
  EXPECT_EQ(envelope->body_size(), body.size());
  EXPECT_EQ(envelope->format_version(), 1u);
  EXPECT_GT(envelope->arrival_unix(), 0);
}

TEST_F(SpoolTest, CommittedMessageIsAwaitingDirectoryLookup) {
  const QueueId id = commit("x\r\n");
  EXPECT_EQ(run(io_, spool().load(id))->queue(), envelope::AWAITING_DIRECTORY_LOOKUP);
}

TEST_F(SpoolTest, CommitLeavesExactlyBodyAndEnvelopeInQueueAndNothingInIncoming) {
  const QueueId id = commit(sample_body(1000));
  EXPECT_EQ(files_in(queue()), (std::vector<std::string>{id.str() + ".body", id.str() + ".env"}));
  EXPECT_TRUE(files_in(incoming()).empty());
}

TEST_F(SpoolTest, EmptyBodyCommits) {
  const QueueId id = commit("");
  EXPECT_EQ(run(io_, test::read_body(spool(), id)).value(), "");
}

TEST_F(SpoolTest, AbandonedWriterRemovesItsIncomingFiles) {
  {
    auto writer = run(io_, spool().begin(sample_envelope()));
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(run(io_, writer->write("partial body\r\n")).has_value());
    EXPECT_EQ(files_in(incoming()).size(), 1u);
  }
  restart();  // joins the pool that runs the clean-up
  EXPECT_TRUE(files_in(incoming()).empty());
  EXPECT_TRUE(files_in(queue()).empty());
}

TEST_F(SpoolTest, CommitOfAnAbandonedWriterFails) {
  auto writer = run(io_, spool().begin(sample_envelope()));
  ASSERT_TRUE(writer.has_value());
  writer->abandon();
  auto id = run(io_, spool().commit(std::move(*writer)));
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, SpoolErrc::Abandoned);
}

TEST_F(SpoolTest, UpdateReplacesTheEnvelope) {
  const QueueId id = commit("body\r\n");
  auto envelope = run(io_, spool().load(id)).value();
  envelope.set_queue(envelope::REMOTE_DELIVERY);
  envelope.mutable_recipients(0)->set_state(envelope::DELIVERED);
  ASSERT_TRUE(run(io_, spool().update(id, envelope)).has_value());
  auto reloaded = run(io_, spool().load(id)).value();
  EXPECT_EQ(reloaded.queue(), envelope::REMOTE_DELIVERY);
  EXPECT_EQ(reloaded.recipients(0).state(), envelope::DELIVERED);
  EXPECT_TRUE(files_in(incoming()).empty());
}

TEST_F(SpoolTest, UpdateOfAMessageNotQueuedIsNotFound) {
  const QueueId id = commit("body\r\n");
  ASSERT_TRUE(run(io_, spool().remove(id)).has_value());
  auto updated = run(io_, spool().update(id, sample_envelope()));
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code, SpoolErrc::NotFound);
  EXPECT_TRUE(files_in(queue()).empty());
}

TEST_F(SpoolTest, FailedUpdateKeepsTheOldEnvelopeAndLeavesNoTemporaryFile) {
  auto faulty = std::make_shared<FaultyFs>();
  restart(faulty);
  const QueueId id = commit("body\r\n");
  auto envelope = run(io_, spool().load(id)).value();
  envelope.set_queue(envelope::REMOTE_DELIVERY);
  faulty->fail_nth(1, ENOSPC, {FsOp::Fsync});
  auto updated = run(io_, spool().update(id, envelope));
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code, SpoolErrc::NoSpace);
  EXPECT_EQ(run(io_, spool().load(id))->queue(), envelope::AWAITING_DIRECTORY_LOOKUP);
  EXPECT_TRUE(files_in(incoming()).empty());
}

TEST_F(SpoolTest, StateThatWasNeverWrittenIsNotFound) {
  auto state = spool().read_state("frozen-queues");
  ASSERT_FALSE(state.has_value());
  EXPECT_EQ(state.error().code, SpoolErrc::NotFound);
}

TEST_F(SpoolTest, WrittenStateIsReadBackAfterARestart) {
  ASSERT_TRUE(run(io_, spool().write_state("frozen-queues", "REMOTE_DELIVERY\tpartner.example\n")).has_value());
  ASSERT_TRUE(run(io_, spool().write_state("frozen-queues", "LOCAL_DELIVERY\t\n")).has_value());
  restart();
  EXPECT_EQ(spool().read_state("frozen-queues").value_or("?"), "LOCAL_DELIVERY\t\n");
  EXPECT_TRUE(files_in(incoming()).empty());
}

TEST_F(SpoolTest, FailedStateWriteKeepsTheOldStateAndLeavesNoTemporaryFile) {
  auto faulty = std::make_shared<FaultyFs>();
  restart(faulty);
  ASSERT_TRUE(run(io_, spool().write_state("frozen-queues", "old\n")).has_value());
  faulty->fail_nth(1, EIO, {FsOp::Fsync});
  auto written = run(io_, spool().write_state("frozen-queues", "new\n"));
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, SpoolErrc::Io);
  EXPECT_EQ(spool().read_state("frozen-queues").value_or("?"), "old\n");
  EXPECT_TRUE(files_in(incoming()).empty());
}

TEST_F(SpoolTest, LoadOfADamagedEnvelopeIsCorrupt) {
  const QueueId id = commit("body\r\n");
  std::filesystem::resize_file(queue() / (id.str() + ".env"), 10);
  auto loaded = run(io_, spool().load(id));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, SpoolErrc::Corrupt);
}

TEST_F(SpoolTest, OpenBodyOfUnknownIdIsNotFound) {
  auto reader = run(io_, spool().open_body(*QueueId::parse("000000000000000000000000")));
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().code, SpoolErrc::NotFound);
}

TEST_F(SpoolTest, RemoveDeletesBothFiles) {
  const QueueId id = commit("body\r\n");
  ASSERT_TRUE(run(io_, spool().remove(id)).has_value());
  EXPECT_TRUE(files_in(queue()).empty());
  auto loaded = run(io_, spool().load(id));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, SpoolErrc::NotFound);
}

TEST_F(SpoolTest, RemoveOfUnknownIdIsNotFound) {
  auto removed = run(io_, spool().remove(*QueueId::parse("000000000000000000000000")));
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, SpoolErrc::NotFound);
}

TEST_F(SpoolTest, RecoverReturnsEveryCompleteMessageInIdOrder) {
  std::vector<QueueId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(commit(sample_body(500, i)));
  restart();
  auto report = spool().recover();
  ASSERT_TRUE(report.has_value());
  ASSERT_EQ(report->messages.size(), 5u);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(report->messages[i].id, ids[i]);
    EXPECT_EQ(report->messages[i].envelope.queue_id(), ids[i].str());
  }
  EXPECT_EQ(report->incomplete_removed, 0u);
  EXPECT_EQ(report->moved_to_badmail, 0u);
}

TEST_F(SpoolTest, RecoveredMessageResumesInItsNamedQueue) {
  const QueueId id = commit("body\r\n");
  auto envelope = run(io_, spool().load(id)).value();
  envelope.set_queue(envelope::WAITING_TO_BE_ROUTED);
  ASSERT_TRUE(run(io_, spool().update(id, envelope)).has_value());
  restart();
  auto report = spool().recover();
  ASSERT_EQ(report->messages.size(), 1u);
  EXPECT_EQ(report->messages[0].envelope.queue(), envelope::WAITING_TO_BE_ROUTED);
}

TEST_F(SpoolTest, RecoverDeletesIncomingFiles) {
  auto writer = run(io_, spool().begin(sample_envelope()));
  ASSERT_TRUE(run(io_, writer->write("half a message")).has_value());
  // A crash: the writer's files stay behind, as if the process died here.
  std::ofstream(incoming() / (writer->id().str() + ".env")) << "torn";
  const auto leftover = files_in(incoming());
  ASSERT_EQ(leftover.size(), 2u);
  restart();
  auto report = spool().recover();
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->messages.empty());
  EXPECT_GE(report->incomplete_removed, 2u);
  EXPECT_TRUE(files_in(incoming()).empty());
  EXPECT_TRUE(files_in(badmail()).empty());
}

TEST_F(SpoolTest, RecoverDeletesABodyWithoutEnvelope) {
  const QueueId id = commit("body\r\n");
  restart();
  std::filesystem::remove(queue() / (id.str() + ".env"));
  auto report = spool().recover();
  EXPECT_TRUE(report->messages.empty());
  EXPECT_EQ(report->incomplete_removed, 1u);
  EXPECT_TRUE(files_in(queue()).empty());
  EXPECT_TRUE(files_in(badmail()).empty());
}

TEST_F(SpoolTest, RecoverCompletesACommitInterruptedBetweenItsRenames) {
  const std::string body = sample_body(5000);
  const QueueId id = commit(body);
  restart();
  // The state a crash leaves when the envelope's rename reached the disk and the
  // body's did not.
  std::filesystem::rename(queue() / (id.str() + ".body"), incoming() / (id.str() + ".body"));
  auto report = spool().recover();
  ASSERT_TRUE(report.has_value());
  ASSERT_EQ(report->messages.size(), 1u);
  EXPECT_EQ(report->messages[0].id, id);
  EXPECT_EQ(report->moved_to_badmail, 0u);
  EXPECT_TRUE(files_in(incoming()).empty());
  EXPECT_EQ(run(io_, test::read_body(spool(), id)).value(), body);
}

TEST_F(SpoolTest, RecoverMovesATornEnvelopeWithItsBodyToBadmail) {
  const QueueId id = commit("body\r\n");
  const QueueId good = commit("another\r\n");
  restart();
  const auto env_path = queue() / (id.str() + ".env");
  std::filesystem::resize_file(env_path, std::filesystem::file_size(env_path) - 3);
  auto report = spool().recover();
  ASSERT_TRUE(report.has_value());
  ASSERT_EQ(report->messages.size(), 1u);
  EXPECT_EQ(report->messages[0].id, good);
  EXPECT_EQ(report->moved_to_badmail, 1u);
  EXPECT_EQ(files_in(badmail()), (std::vector<std::string>{id.str() + ".body", id.str() + ".env"}));
  EXPECT_EQ(files_in(queue()), (std::vector<std::string>{good.str() + ".body", good.str() + ".env"}));
}

TEST_F(SpoolTest, RecoverMovesAnEnvelopeWithBadChecksumToBadmail) {
  const QueueId id = commit("body\r\n");
  restart();
  const auto env_path = queue() / (id.str() + ".env");
  std::fstream file(env_path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(kEnvelopeHeaderSize + 2));
  file.put('\x7F');
  file.close();
  auto report = spool().recover();
  EXPECT_TRUE(report->messages.empty());
  EXPECT_EQ(report->moved_to_badmail, 1u);
  EXPECT_EQ(files_in(badmail()).size(), 2u);
}

TEST_F(SpoolTest, RecoverMovesAnEnvelopeWithoutBodyToBadmail) {
  const QueueId id = commit("body\r\n");
  restart();
  std::filesystem::remove(queue() / (id.str() + ".body"));
  auto report = spool().recover();
  EXPECT_TRUE(report->messages.empty());
  EXPECT_EQ(report->moved_to_badmail, 1u);
  EXPECT_EQ(files_in(badmail()), (std::vector<std::string>{id.str() + ".env"}));
}

TEST_F(SpoolTest, RecoverMovesAnEnvelopeNamingAnotherIdToBadmail) {
  const QueueId id = commit("body\r\n");
  const QueueId other = commit("body\r\n");
  restart();
  std::filesystem::copy_file(queue() / (other.str() + ".env"), queue() / (id.str() + ".env"),
                             std::filesystem::copy_options::overwrite_existing);
  auto report = spool().recover();
  ASSERT_EQ(report->messages.size(), 1u);
  EXPECT_EQ(report->messages[0].id, other);
  EXPECT_EQ(report->moved_to_badmail, 1u);
}

TEST_F(SpoolTest, BadmailNeverOverwritesAnEarlierFile) {
  const QueueId id = commit("body\r\n");
  restart();
  std::filesystem::create_directories(badmail());
  std::ofstream(badmail() / (id.str() + ".env")) << "an older bad file";
  std::filesystem::resize_file(queue() / (id.str() + ".env"), 5);
  auto report = spool().recover();
  EXPECT_EQ(report->moved_to_badmail, 1u);
  EXPECT_EQ(files_in(badmail()),
            (std::vector<std::string>{id.str() + ".body", id.str() + ".env", id.str() + ".env.1"}));
}

TEST_F(SpoolTest, RecoverIgnoresForeignFiles) {
  spool();
  std::ofstream(queue() / "README") << "not a queue file";
  restart();
  auto report = spool().recover();
  EXPECT_TRUE(report->messages.empty());
  EXPECT_TRUE(std::filesystem::exists(queue() / "README"));
}

TEST_F(SpoolTest, DiskFullDuringBodyWriteIsNoSpaceAndLeavesNothing) {
  auto faulty = std::make_shared<FaultyFs>();
  faulty->fail_nth(1, ENOSPC, {FsOp::Write});
  restart(faulty);
  auto id = run(io_, spool_message(spool(), sample_envelope(), "body\r\n"));
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, SpoolErrc::NoSpace);
  restart();
  EXPECT_TRUE(files_in(incoming()).empty());
  EXPECT_TRUE(files_in(queue()).empty());
}

TEST_F(SpoolTest, DiskFullAtFsyncIsNoSpace) {
  auto faulty = std::make_shared<FaultyFs>();
  restart(faulty);
  spool();
  faulty->fail_nth(1, ENOSPC, {FsOp::Fsync});
  auto id = run(io_, spool_message(spool(), sample_envelope(), "body\r\n"));
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, SpoolErrc::NoSpace);
  EXPECT_NE(id.error().detail.find("No space left on device"), std::string::npos) << id.error().detail;
}

TEST_F(SpoolTest, QuotaExceededIsNoSpace) {
  auto faulty = std::make_shared<FaultyFs>();
  restart(faulty);
  spool();
  faulty->fail_nth(1, EDQUOT, {FsOp::Open});
  auto writer = run(io_, spool().begin(sample_envelope()));
  ASSERT_FALSE(writer.has_value());
  EXPECT_EQ(writer.error().code, SpoolErrc::NoSpace);
}

TEST_F(SpoolTest, IoErrorAtRenameIsIoAndLeavesNothing) {
  auto faulty = std::make_shared<FaultyFs>();
  restart(faulty);
  spool();
  faulty->fail_nth(1, EIO, {FsOp::Rename});
  auto id = run(io_, spool_message(spool(), sample_envelope(), "body\r\n"));
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, SpoolErrc::Io);
  restart();
  EXPECT_TRUE(files_in(incoming()).empty());
  EXPECT_TRUE(files_in(queue()).empty());
}

TEST_F(SpoolTest, ConstructorThrowsWhenTheSpoolCannotBeCreated) {
  auto faulty = std::make_shared<FaultyFs>();
  faulty->fail_nth(2, EACCES, {FsOp::Mkdir});
  EXPECT_THROW(Spool(SpoolOptions{.root = dir_.path() / "spool", .fs = faulty}), std::runtime_error);
}

}  // namespace
}  // namespace gw::queue
