// The metabase file is never torn: metabase-sync is SIGKILLed at random points
// of its read-build-write cycle, over and over, while a reader parses every
// version of the file it can see.
#include <signal.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/metabase_sync/harness.h"

namespace msync::test {
namespace {

using namespace std::chrono_literals;

TEST(MetabaseSyncCrash, ReaderNeverSeesATornFileWhileTheWriterIsKilled) {
  Harness h;
  ASSERT_EQ(h.once().exit_code, 0);

  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  std::set<std::uint32_t> seen_hop_counts;
  std::thread reader([&] {
    while (!done.load()) {
      // Each read opens the path afresh, as gatewayd does on reload.
      auto metabase = read_metabase(h.out());
      if (!metabase || !*metabase || (*metabase)->virtual_servers_size() != 2 ||
          (*metabase)->this_server().name() != "BH1") {
        ++torn;
      } else {
        seen_hop_counts.insert((*metabase)->virtual_servers(0).limits().max_hop_count());
      }
      ++reads;
    }
  });

  // Kill points spread over a whole run, a little beyond its usual length, so
  // that some writers die while connecting, some while writing and some finish.
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(h.once().exit_code, 0);
  const auto run_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<long> delay_us(0, run_us.count() * 5 / 4);
  int killed = 0;
  int completed = 0;
  for (int round = 0; round < 30; ++round) {
    // Every round changes the content, so every surviving writer writes.
    h.directory().modify("dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchSmtpMaxHopCount\nmsExchSmtpMaxHopCount: " +
                     std::to_string(16 + round) + "\n");
    auto writer = gw::test::Process::spawn(h.argv({"--once"}));
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    if (writer.running()) {
      writer.signal(SIGKILL);
      ++killed;
    } else {
      ++completed;
    }
    writer.wait();
  }
  // A final clean run after all the kills: the file is current and complete.
  ASSERT_EQ(h.once().exit_code, 0);
  done.store(true);
  reader.join();

  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 100);
  EXPECT_GT(killed, 0);
  EXPECT_EQ(h.metabase()->virtual_servers(0).limits().max_hop_count(), 16u + 29u);
  RecordProperty("writers_killed", killed);
  RecordProperty("writers_completed", completed);
  RecordProperty("versions_seen", static_cast<int>(seen_hop_counts.size()));
  // No temporary file of a killed writer survives the next successful run.
  int leftovers = 0;
  for (const auto& item : std::filesystem::directory_iterator(h.out().parent_path()))
    if (item.path().filename().string().starts_with(".metabase.pb.tmp.")) ++leftovers;
  EXPECT_EQ(leftovers, 0);
}

}  // namespace
}  // namespace msync::test
