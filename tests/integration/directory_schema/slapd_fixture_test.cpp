// The generic integration-test helpers (Process, run, TempDir, free_port) keep
// their contracts, and slapd-up.sh reports a port it cannot have. The
// Directory fixture itself is tested on both kinds by directory_fixture_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/fixtures/free_port.h"
#include "tests/integration/fixtures/process.h"
#include "tests/integration/fixtures/directory.h"
#include "tests/integration/fixtures/temp_dir.h"

namespace gw::test {
namespace {

using ::testing::HasSubstr;

TEST(SlapdFixtureTest, ExplicitPortInUseIsReportedWithTheReason) {
  Slapd first({.empty = true});
  try {
    Slapd second({.empty = true, .port = first.port()});
    FAIL() << "a second slapd started on a port already in use";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
  }
}

TEST(ProcessTest, RunCollectsExitCodeStdoutAndStderr) {
  RunResult result = run({"sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "hello\n");
  EXPECT_EQ(result.err, "oops\n");
}

TEST(ProcessTest, RunPassesExtraEnvironment) {
  RunResult result = run({"sh", "-c", "printf %s \"$GW_FIXTURE_PROBE\""}, {}, {"GW_FIXTURE_PROBE=42"});
  EXPECT_EQ(result.out, "42");
}

TEST(ProcessTest, RunOfAMissingProgramThrows) {
  EXPECT_THROW(run({"/nonexistent/program"}), std::runtime_error);
}

TEST(ProcessTest, SpawnOfAMissingProgramThrows) {
  EXPECT_THROW(Process::spawn({"/nonexistent/program"}), std::runtime_error);
}

TEST(ProcessTest, StopEndsAProgramThatHonoursSigterm) {
  Process sleeper = Process::spawn({"sleep", "30"});
  EXPECT_TRUE(sleeper.running());
  EXPECT_EQ(sleeper.stop(), 128 + SIGTERM);
  EXPECT_FALSE(process_alive(sleeper.pid()));
}

TEST(ProcessTest, StopFallsBackToSigkillAfterTheGracePeriod) {
  Process stubborn = Process::spawn({"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the shell install its trap
  EXPECT_EQ(stubborn.stop(std::chrono::milliseconds(200)), 128 + SIGKILL);
}

TEST(ProcessTest, SpawnWritesOutputFilesInTheWorkingDirectory) {
  TempDir dir;
  Process writer = Process::spawn({"sh", "-c", "pwd; echo err >&2"},
                                  {.working_dir = dir.path(), .stdout_file = dir / "out", .stderr_file = dir / "err"});
  EXPECT_EQ(writer.wait(), 0);
  std::ifstream out(dir / "out"), err(dir / "err");
  std::string out_line, err_line;
  std::getline(out, out_line);
  std::getline(err, err_line);
  EXPECT_EQ(std::filesystem::canonical(out_line), std::filesystem::canonical(dir.path()));
  EXPECT_EQ(err_line, "err");
}

TEST(TempDirTest, IsCreatedPrivateAndRemovedWithItsContents) {
  std::filesystem::path path;
  {
    TempDir dir("gw-fixture");
    path = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
    std::ofstream(dir / "file") << "x";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(FreePortTest, ReturnsAPortThatCanBeBoundOnLoopback) {
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
}

}  // namespace
}  // namespace gw::test
