// metabase-sync --follow: changes reach the metabase promptly (within 2 s on
// OpenLDAP, which pushes them; within 5 s on AD, which is asked every second),
// bad changes never do, and directory outages neither damage nor stall it.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/metabase_sync/harness.h"

namespace msync::test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace mb = gw::metabase;

class MetabaseSyncFollow : public ::testing::Test {
 protected:
  void SetUp() override {
    follower_ = h_.follow(extra_args());
    ASSERT_TRUE(h_.wait_for_metabase([](const mb::Metabase& m) { return m.virtual_servers_size() == 2; }))
        << log();
  }
  void TearDown() override {
    if (follower_.pid() > 0 && follower_.running()) {
      EXPECT_EQ(follower_.stop(), 0) << "SIGTERM must end --follow cleanly\n" << log();
    }
  }
  virtual std::vector<std::string> extra_args() const { return {}; }

  std::string log() const { return read_bytes(h_.follow_log()); }
  std::chrono::milliseconds limit() { return pick_up_limit(h_.directory()); }

  // Applies `ldif` and returns how long it took for `condition` to hold.
  std::optional<std::chrono::milliseconds> change_and_wait(const std::string& ldif,
                                                           const std::function<bool(const mb::Metabase&)>& condition) {
    const auto start = std::chrono::steady_clock::now();
    h_.directory().modify(ldif);
    if (!h_.wait_for_metabase(condition, 10s)) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }

  Harness h_;
  gw::test::Process follower_;
};

TEST_F(MetabaseSyncFollow, PicksUpAnAddedConnectorPromptly) {
  const auto took = change_and_wait(
      "dn: CN=Partner," + kConnections +
          "\nchangetype: add\nobjectClass: top\nobjectClass: msExchConnector\nobjectClass: mailGateway\n"
          "objectClass: msExchRoutingSMTPConnector\ncn: Partner\nroutingList: SMTP:partner.example;5\n"
          "msExchSmtpSmartHost: [192.0.2.80]\nmsExchSourceBridgeheadServersDN: " + kVs1 + "\n"
          "deliveryMechanism: 2\n",
      [](const mb::Metabase& m) { return m.connectors_size() == 4; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
  const auto m = h_.metabase();
  const auto partner = std::find_if(m->connectors().begin(), m->connectors().end(),
                                    [](const mb::Connector& c) { return c.name() == "Partner"; });
  ASSERT_NE(partner, m->connectors().end());
  EXPECT_EQ(partner->address_spaces(0).pattern(), "partner.example");
  EXPECT_TRUE(partner->local_bridgehead());
}

TEST_F(MetabaseSyncFollow, PicksUpAChangedVirtualServerLimitPromptly) {
  const auto took = change_and_wait(
      "dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchSmtpMaxRecipients\nmsExchSmtpMaxRecipients: 250\n",
      [](const mb::Metabase& m) { return m.virtual_servers(0).limits().max_recipients_per_message() == 250; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
  const auto provenance = h_.metabase()->provenance();
  EXPECT_EQ(provenance.serial(), 2u);
  EXPECT_EQ(provenance.source_uri(), h_.directory().uri());
  EXPECT_TRUE(records_the_change_point(h_.directory(), provenance)) << provenance.ShortDebugString();
  EXPECT_GT(provenance.synced_at_unix(), 0);
}

TEST_F(MetabaseSyncFollow, PicksUpADomainMadeNonAuthoritativePromptly) {
  const auto policy = "CN=Example Net Policy," + kPolicies;
  const auto net_is_non_authoritative = [](const mb::Metabase& m) {
    return std::any_of(m.domains().begin(), m.domains().end(), [](const mb::SmtpDomain& d) {
      return d.name() == "example.net" && !d.authoritative();
    });
  };
  ASSERT_FALSE(net_is_non_authoritative(*h_.metabase()));
  const auto took = change_and_wait(
      "dn: " + policy + "\nchangetype: modify\nadd: msExchNonAuthoritativeDomains\n"
      "msExchNonAuthoritativeDomains: SMTP:@example.net\n",
      net_is_non_authoritative);
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
}

TEST_F(MetabaseSyncFollow, PicksUpADeletedVirtualServerPromptly) {
  const auto took = change_and_wait("dn: " + kVs2 + "\nchangetype: delete\n",
                                    [](const mb::Metabase& m) { return m.virtual_servers_size() == 1; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
  EXPECT_EQ(h_.metabase()->virtual_servers(0).name(), "Default SMTP Virtual Server");
}

TEST_F(MetabaseSyncFollow, InvalidChangeKeepsTheLastGoodFileByteIdentical) {
  const auto before = read_bytes(h_.out());
  h_.directory().modify("dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchServerBindings\nmsExchServerBindings: abc\n");
  ASSERT_TRUE(wait_for([&] { return log().find("msExchServerBindings") != std::string::npos; }, 5s)) << log();
  EXPECT_THAT(log(), HasSubstr("msExchServerBindings: \"abc\" is not IP:port:; keeping the last good metabase"));
  EXPECT_THAT(lower_dn_types(log()), HasSubstr("cn=1,cn=SMTP,cn=Protocols,cn=BH1"));
  EXPECT_EQ(read_bytes(h_.out()), before);
  // Fixing the value is picked up as usual.
  const auto took = change_and_wait(
      "dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchServerBindings\nmsExchServerBindings: 127.0.0.1:2526:\n",
      [](const mb::Metabase& m) { return m.virtual_servers(0).bindings(0).port() == 2526; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
}

TEST_F(MetabaseSyncFollow, DirectoryKilledAndRestartedKeepsTheFileAndCatchesUp) {
  const auto before = read_bytes(h_.out());
  h_.directory().kill();
  ASSERT_TRUE(wait_for([&] { return log().find("connection lost") != std::string::npos ||
                                    log().find("cannot reach") != std::string::npos; },
                       5s))
      << log();
  std::this_thread::sleep_for(300ms);  // a few failed reconnects
  EXPECT_TRUE(follower_.running());
  EXPECT_EQ(read_bytes(h_.out()), before) << "an outage must not touch the metabase";
  h_.directory().restart();
  // The directory changed while metabase-sync was reconnecting: it must catch up.
  h_.directory().modify("dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchSmtpMaxHopCount\nmsExchSmtpMaxHopCount: 25\n");
  EXPECT_TRUE(h_.wait_for_metabase(
      [](const mb::Metabase& m) { return m.virtual_servers(0).limits().max_hop_count() == 25; }, 10s))
      << log();
  // And it follows live changes again.
  const auto took = change_and_wait(
      "dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchSmtpMaxHopCount\nmsExchSmtpMaxHopCount: 26\n",
      [](const mb::Metabase& m) { return m.virtual_servers(0).limits().max_hop_count() == 26; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
}

TEST_F(MetabaseSyncFollow, SigintStopsCleanly) {
  follower_.signal(SIGINT);
  EXPECT_EQ(follower_.wait(), 0) << log();
  EXPECT_THAT(log(), HasSubstr("stopping"));
}

// Short reconciliation interval and search timeout, so that a server that
// hangs (SIGSTOP) without closing the connection is noticed quickly.
class MetabaseSyncHungDirectory : public MetabaseSyncFollow {
 protected:
  std::vector<std::string> extra_args() const override {
    return {"--poll-interval", "0.3", "--search-timeout", "1"};
  }
};

TEST_F(MetabaseSyncHungDirectory, HungDirectoryIsDetectedAndFollowedAfterResume) {
  const auto before = read_bytes(h_.out());
  h_.directory().pause();
  EXPECT_TRUE(wait_for([&] { return log().find("Timed out") != std::string::npos; }, 5s)) << log();
  EXPECT_TRUE(follower_.running());
  EXPECT_EQ(read_bytes(h_.out()), before) << "a hung directory must not touch the metabase";
  h_.directory().resume();
  const auto took = change_and_wait(
      "dn: " + kVs1 + "\nchangetype: modify\nreplace: msExchSmtpMaxHopCount\nmsExchSmtpMaxHopCount: 20\n",
      [](const mb::Metabase& m) { return m.virtual_servers(0).limits().max_hop_count() == 20; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, 5000ms) << "reconnect after the outage plus the change itself";
}

class MetabaseSyncPolling : public MetabaseSyncFollow {
 protected:
  std::vector<std::string> extra_args() const override { return {"--no-syncrepl", "--poll-interval", "0.2"}; }
};

TEST_F(MetabaseSyncPolling, PollingPicksUpChangesWithoutContentSynchronization) {
  EXPECT_THAT(log(), ::testing::Not(HasSubstr("refreshAndPersist")));
  const auto took = change_and_wait(
      "dn: " + kVs2 + "\nchangetype: modify\nreplace: msExchSmtpMaxRecipients\nmsExchSmtpMaxRecipients: 42\n",
      [](const mb::Metabase& m) { return m.virtual_servers(1).limits().max_recipients_per_message() == 42; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
}

// A server without the syncprov overlay: metabase-sync must notice the refused
// Content Synchronization control and poll instead. slapd-up.sh gives cn=config
// the administrator's password, which is what removes the overlay at run time.
class MetabaseSyncWithoutSyncprov : public MetabaseSyncFollow {
 protected:
  void SetUp() override {
    if (h_.directory().is_ad()) GTEST_SKIP() << "OpenLDAP only: AD has no RFC 4533 to refuse";
    auto removed = gw::test::run({"ldapmodify", "-x", "-H", h_.directory().uri(), "-D", "cn=config", "-w",
                                  h_.directory().admin_password()},
                                 "dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config\nchangetype: delete\n");
    ASSERT_EQ(removed.exit_code, 0) << removed.err;
    MetabaseSyncFollow::SetUp();
  }
  std::vector<std::string> extra_args() const override { return {"--poll-interval", "0.2"}; }
};

TEST_F(MetabaseSyncWithoutSyncprov, FallsBackToPollingAndStillPicksUpChanges) {
  EXPECT_THAT(log(), HasSubstr("content synchronization refused (Critical extension is unavailable); polling instead"));
  const auto took = change_and_wait(
      "dn: " + kVs2 + "\nchangetype: modify\nreplace: msExchSmtpMaxRecipients\nmsExchSmtpMaxRecipients: 43\n",
      [](const mb::Metabase& m) { return m.virtual_servers(1).limits().max_recipients_per_message() == 43; });
  ASSERT_TRUE(took) << log();
  EXPECT_LT(*took, limit());
}

TEST_F(MetabaseSyncFollow, FollowsTheWayTheDirectoryOffers) {
  if (h_.directory().is_ad())
    EXPECT_THAT(log(), HasSubstr("(Active Directory: uSNChanged every 1000 ms)"));
  else
    EXPECT_THAT(log(), HasSubstr("(RFC 4533 refreshAndPersist)"));
}

TEST(MetabaseSyncFollowStart, WaitsForADirectoryThatIsDownAtStart) {
  Harness h;
  h.directory().stop();
  auto follower = h.follow();
  ASSERT_TRUE(wait_for([&] { return read_bytes(h.follow_log()).find("cannot reach the directory") != std::string::npos; },
                       5s))
      << read_bytes(h.follow_log());
  EXPECT_TRUE(follower.running()) << "an unreachable directory is retried, not fatal";
  EXPECT_FALSE(std::filesystem::exists(h.out()));
  h.directory().restart();
  EXPECT_TRUE(h.wait_for_metabase([](const mb::Metabase& m) { return m.virtual_servers_size() == 2; }, 10s))
      << read_bytes(h.follow_log());
  EXPECT_EQ(follower.stop(), 0);
}

TEST(MetabaseSyncFollowStart, BindRefusedAtStartIsFatalWithExitCode4) {
  Harness h;
  std::ofstream(h.password_file()) << "not-the-password\n";
  auto follower = h.follow();
  EXPECT_EQ(follower.wait(), 4);
  EXPECT_THAT(read_bytes(h.follow_log()), HasSubstr("failed: Invalid credentials"));
}

TEST(MetabaseSyncFollowStart, MissingMetabaseDirectoryIsFatalWithExitCode8) {
  Harness h;
  auto args = h.argv({"--follow"});
  args[10] = (h.path("missing") / "metabase.pb").string();  // the --out value
  gw::test::SpawnOptions options;
  options.stderr_file = h.follow_log();
  auto follower = gw::test::Process::spawn(args, options);
  EXPECT_EQ(follower.wait(), 8);
  EXPECT_THAT(read_bytes(h.follow_log()), HasSubstr("missing"));
}

}  // namespace
}  // namespace msync::test
