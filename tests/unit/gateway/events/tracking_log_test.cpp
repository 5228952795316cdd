#include "gateway/events/tracking_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gateway/events/record.h"

namespace gw::events {
namespace {

namespace fs = std::filesystem;

class TrackingLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tracking-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

TEST_F(TrackingLogTest, WritesOneFilePerDayStartingWithTheDirectives) {
  TrackingLog log(dir_);
  const Time day1 = std::chrono::system_clock::from_time_t(1795930200);
  const Time day2 = day1 + std::chrono::hours(24);
  log.consume(Completed{{.time = day1, .queue_id = "A"}});
  log.consume(Completed{{.time = day1, .queue_id = "B"}});
  log.consume(Completed{{.time = day2, .queue_id = "C"}});
  const auto first = read(tracking_file(dir_, day1));
  EXPECT_EQ(first.rfind(tracking_header(), 0), 0u);
  EXPECT_NE(first.find("\tA\t"), std::string::npos);
  EXPECT_NE(first.find("\tB\t"), std::string::npos);
  EXPECT_EQ(first.find("\tC\t"), std::string::npos);
  EXPECT_NE(read(tracking_file(dir_, day2)).find("\tC\t"), std::string::npos);
}

TEST_F(TrackingLogTest, LeavesOutSessionAndDirectoryEvents) {
  TrackingLog log(dir_);
  const Time now = std::chrono::system_clock::now();
  log.consume(SessionOpened{{.time = now}, 1, "127.0.0.1:1", "1", "127.0.0.1:25"});
  log.consume(DirectorySearch{{.time = now}});
  EXPECT_FALSE(fs::exists(tracking_file(dir_, now)));
}

TEST_F(TrackingLogTest, ReopenStartsANewFileAfterARotation) {
  TrackingLog log(dir_);
  const Time now = std::chrono::system_clock::now();
  log.consume(Completed{{.time = now, .queue_id = "BEFORE"}});
  fs::rename(tracking_file(dir_, now), dir_ / "rotated.log");
  std::string error;
  EXPECT_TRUE(log.reopen(&error));
  log.consume(Completed{{.time = now, .queue_id = "AFTER"}});
  EXPECT_NE(read(dir_ / "rotated.log").find("BEFORE"), std::string::npos);
  const auto fresh = read(tracking_file(dir_, now));
  EXPECT_EQ(fresh.rfind(tracking_header(), 0), 0u);
  EXPECT_NE(fresh.find("AFTER"), std::string::npos);
}

}  // namespace
}  // namespace gw::events
