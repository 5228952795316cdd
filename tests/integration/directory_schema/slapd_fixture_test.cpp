// The integration-test fixtures themselves: the Slapd fixture's outage
// simulations (pause/resume/kill/restart) work on the real server, and the
// generic helpers (Process, run, TempDir, free_port) keep their contracts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "tests/integration/fixtures/free_port.h"
#include "tests/integration/fixtures/process.h"
#include "tests/integration/fixtures/slapd.h"
#include "tests/integration/fixtures/temp_dir.h"

namespace gw::test {
namespace {

using ::testing::HasSubstr;

// Root DSE read as the service account with a hard 2 s wall-clock limit, so a
// hung server shows up as exit 124 from timeout(1) instead of blocking.
RunResult probe(const Slapd& slapd) {
  return run({"timeout", "2", "ldapsearch", "-x", "-LLL", "-H", slapd.uri(), "-D", slapd.service_dn(), "-w",
              slapd.service_password(), "-b", "", "-s", "base", "namingContexts"});
}

TEST(SlapdFixtureTest, StartsAnsweringOnLoopbackWithTheDocumentedIdentities) {
  Slapd slapd({.empty = true});
  EXPECT_EQ(slapd.uri(), "ldap://127.0.0.1:" + std::to_string(slapd.port()));
  EXPECT_EQ(slapd.base_dn(), "dc=example,dc=com");
  EXPECT_EQ(slapd.admin_dn(), "cn=admin,dc=example,dc=com");
  EXPECT_EQ(slapd.service_dn(), "CN=svc-gateway,CN=Users,DC=example,DC=com");
  EXPECT_TRUE(slapd.running());
  RunResult answer = probe(slapd);
  EXPECT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_THAT(answer.out, HasSubstr("namingContexts: dc=example,dc=com"));
}

TEST(SlapdFixtureTest, ParallelStartsGetDistinctPorts) {
  constexpr int kInstances = 4;
  std::vector<std::unique_ptr<Slapd>> instances(kInstances);
  std::vector<std::string> errors(kInstances);
  std::vector<std::thread> starters;
  for (int i = 0; i < kInstances; ++i) {
    starters.emplace_back([&, i] {
      try {
        instances[i] = std::make_unique<Slapd>(SlapdOptions{.empty = true});
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    });
  }
  for (auto& starter : starters) starter.join();
  std::set<std::uint16_t> ports;
  for (int i = 0; i < kInstances; ++i) {
    ASSERT_TRUE(instances[i]) << errors[i];
    ports.insert(instances[i]->port());
    EXPECT_EQ(probe(*instances[i]).exit_code, 0);
  }
  EXPECT_EQ(ports.size(), static_cast<std::size_t>(kInstances));
}

TEST(SlapdFixtureTest, EmptyInstanceHoldsOnlyTheBaseEntries) {
  Slapd slapd({.empty = true});
  EXPECT_EQ(slapd.search(slapd.base_dn(), "(objectClass=msExchOrganizationContainer)", {"1.1"}), "");
  EXPECT_THAT(slapd.search(slapd.base_dn(), "(cn=svc-gateway)", {"1.1"}), HasSubstr("dn: cn=svc-gateway"));
}

TEST(SlapdFixtureTest, PausedServerDoesNotAnswerUntilResumed) {
  Slapd slapd({.empty = true});
  slapd.pause();
  EXPECT_EQ(probe(slapd).exit_code, 124);  // timeout(1): no answer within 2 s
  slapd.resume();
  EXPECT_EQ(probe(slapd).exit_code, 0);
}

TEST(SlapdFixtureTest, KilledServerRefusesConnections) {
  Slapd slapd({.empty = true});
  pid_t pid = slapd.pid();
  slapd.kill();
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(slapd.running());
  EXPECT_EQ(probe(slapd).exit_code, 255);  // LDAP_SERVER_DOWN: cannot contact
}

TEST(SlapdFixtureTest, RestartAfterKillKeepsPortAndData) {
  Slapd slapd({.empty = true});
  const auto port = slapd.port();
  slapd.add("dn: CN=Survivor,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: container\ncn: Survivor\n");
  slapd.kill();
  slapd.restart();
  EXPECT_EQ(slapd.port(), port);
  EXPECT_TRUE(slapd.running());
  EXPECT_THAT(slapd.search(slapd.base_dn(), "(cn=Survivor)", {"1.1"}), HasSubstr("dn: cn=Survivor"));
}

TEST(SlapdFixtureTest, RestartOfARunningServerKeepsPortAndData) {
  Slapd slapd({.empty = true});
  const auto port = slapd.port();
  const auto old_pid = slapd.pid();
  slapd.add("dn: CN=Kept,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: container\ncn: Kept\n");
  slapd.restart();
  EXPECT_EQ(slapd.port(), port);
  EXPECT_NE(slapd.pid(), old_pid);
  EXPECT_FALSE(process_alive(old_pid));
  EXPECT_THAT(slapd.search(slapd.base_dn(), "(cn=Kept)", {"1.1"}), HasSubstr("dn: cn=Kept"));
}

TEST(SlapdFixtureTest, StopWorksOnAPausedServer) {
  Slapd slapd({.empty = true});
  pid_t pid = slapd.pid();
  slapd.pause();
  slapd.stop();
  EXPECT_FALSE(process_alive(pid));
}

TEST(SlapdFixtureTest, ExplicitPortInUseIsReportedWithTheReason) {
  Slapd first({.empty = true});
  try {
    Slapd second({.empty = true, .port = first.port()});
    FAIL() << "a second slapd started on a port already in use";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
  }
}

TEST(SlapdFixtureTest, FailedModifyThrowsWithTheServerMessage) {
  Slapd slapd({.empty = true});
  try {
    slapd.modify("dn: CN=Missing,DC=example,DC=com\nchangetype: modify\nreplace: description\ndescription: x\n");
    FAIL() << "modify of a missing entry succeeded";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("No such object"));
  }
}

TEST(SlapdFixtureTest, DestructorStopsTheServer) {
  pid_t pid;
  std::filesystem::path dir;
  {
    Slapd slapd({.empty = true});
    pid = slapd.pid();
    dir = slapd.directory();
  }
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
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
