// TLS to the directory: a private slapd (slapd-up.sh --tls) with a server certificate issued at
// test time by a test CA (openssl). Lookups work over ldaps:// and over StartTLS when the client
// trusts that CA; a certificate the client cannot verify makes the directory unavailable
// (RCPT -> TryLater, 451 4.4.3), never "user unknown".
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "categorizer/categorizer.h"
#include "categorizer/ldap/ldap_directory_client.h"
#include "tests/integration/fixtures/process.h"
#include "tests/integration/fixtures/temp_dir.h"
#include "tests/support/ignore_sigpipe.h"
#include "tests/support/run_to_completion.h"
#include "tests/unit/categorizer/test_metabase.h"

namespace gw::categorizer {
namespace {

using gw::test::run_to_completion;

using namespace std::chrono_literals;

void run_or_throw(const std::vector<std::string>& argv) {
  const auto result = gw::test::run(argv);
  if (result.exit_code != 0) throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + result.err + result.out);
}

// A CA and, optionally, a server certificate for 127.0.0.1 it signs.
void make_ca(const std::filesystem::path& dir, const std::string& name) {
  run_or_throw({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + name,
                "-keyout", (dir / (name + ".key")).string(), "-out", (dir / (name + ".pem")).string()});
}

void make_server_certificate(const std::filesystem::path& dir, const std::string& ca) {
  run_or_throw({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
                (dir / "server.key").string(), "-out", (dir / "server.csr").string()});
  std::ofstream(dir / "server.ext") << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                       "extendedKeyUsage=serverAuth\n";
  run_or_throw({"openssl", "x509", "-req", "-days", "2", "-in", (dir / "server.csr").string(), "-CA",
                (dir / (ca + ".pem")).string(), "-CAkey", (dir / (ca + ".key")).string(), "-CAcreateserial",
                "-extfile", (dir / "server.ext").string(), "-out", (dir / "server.pem").string()});
}

// One slapd with TLS for the whole suite (starting one takes about a second).
class TlsDirectory {
 public:
  TlsDirectory() {
    make_ca(dir_.path(), "directory-ca");
    make_ca(dir_.path(), "other-ca");
    make_server_certificate(dir_.path(), "directory-ca");
    const auto slapd_dir = dir_ / "slapd";
    run_or_throw({std::string(GW_SOURCE_DIR) + "/directory-schema/scripts/slapd-up.sh", slapd_dir.string(), "--tls",
                  (dir_ / "server.pem").string(), (dir_ / "server.key").string()});
    std::ifstream env(slapd_dir / "env");
    for (std::string line; std::getline(env, line);)
      if (const auto eq = line.find('='); eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  ~TlsDirectory() {
    gw::test::run({std::string(GW_SOURCE_DIR) + "/directory-schema/scripts/slapd-down.sh", (dir_ / "slapd").string()});
  }

  std::string get(const std::string& key) const { return env_.at(key); }
  std::string ca(const std::string& name) const { return (dir_ / (name + ".pem")).string(); }

 private:
  gw::test::TempDir dir_{"gw-ldap-tls"};
  std::map<std::string, std::string> env_;
};

class LdapTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { directory_ = new TlsDirectory(); }
  static void TearDownTestSuite() {
    delete directory_;
    directory_ = nullptr;
  }

  ldap::LdapClientOptions options(const std::string& uri, const std::string& ca, bool start_tls = false) {
    ldap::LdapClientOptions o;
    o.uris = {uri};
    o.bind_dn = directory_->get("LDAP_SERVICE_DN");
    o.bind_password = directory_->get("LDAP_SERVICE_PW");
    o.start_tls = start_tls;
    o.tls_ca_file = directory_->ca(ca);
    o.connect_timeout = 3000ms;
    o.search_timeout = 5000ms;
    o.backoff_initial = 50ms;
    o.backoff_max = 200ms;
    return o;
  }

  RecipientVerdict check(ldap::LdapDirectoryClient& client, const std::string& address) {
    auto categorizer_options = CategorizerOptions::from_metabase(test::sample_metabase());
    categorizer_options.use_cache = false;
    Categorizer categorizer(client, test::sample_metabase(), categorizer_options);
    return run_to_completion(io_, categorizer.check_recipient(address, {}));
  }

  static TlsDirectory* directory_;
  asio::io_context io_;
};

TlsDirectory* LdapTlsTest::directory_ = nullptr;

TEST_F(LdapTlsTest, LookupSucceedsOverLdapsWithTheDirectoryCaTrusted) {
  ldap::LdapDirectoryClient client(io_.get_executor(), options(directory_->get("LDAPS_URI"), "directory-ca"));
  EXPECT_TRUE(std::holds_alternative<Accept>(check(client, "alice@example.com")));
  EXPECT_EQ(client.connected_uri(), directory_->get("LDAPS_URI"));
  const auto unknown = check(client, "nobody@example.com");
  ASSERT_TRUE(std::holds_alternative<Reject>(unknown));
  EXPECT_EQ(std::get<Reject>(unknown).kind, FailureKind::UnknownRecipient);
}

TEST_F(LdapTlsTest, LookupSucceedsOverStartTlsWithTheDirectoryCaTrusted) {
  ldap::LdapDirectoryClient client(io_.get_executor(),
                                   options(directory_->get("LDAP_URI"), "directory-ca", /*start_tls=*/true));
  EXPECT_TRUE(std::holds_alternative<Accept>(check(client, "alice@example.com")));
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(LdapTlsTest, UntrustedCertificateOverLdapsIsDirectoryUnavailableNotUserUnknown) {
  ldap::LdapDirectoryClient client(io_.get_executor(), options(directory_->get("LDAPS_URI"), "other-ca"));
  EXPECT_TRUE(std::holds_alternative<TryLater>(check(client, "nobody@example.com")));
  EXPECT_TRUE(std::holds_alternative<TryLater>(check(client, "alice@example.com")));
  EXPECT_EQ(client.stats().connects, 0u);
  SearchRequest request{"DC=example,DC=com", SearchScope::Subtree, ldap::FilterBuilder::equals("mail", "alice@example.com"),
                        {"mail"}, 0};
  auto entries = run_to_completion(io_, client.search(request));
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code, make_error_code(DirectoryErrc::Unavailable));
}

TEST_F(LdapTlsTest, UntrustedCertificateOverStartTlsIsDirectoryUnavailableNotUserUnknown) {
  ldap::LdapDirectoryClient client(io_.get_executor(),
                                   options(directory_->get("LDAP_URI"), "other-ca", /*start_tls=*/true));
  EXPECT_TRUE(std::holds_alternative<TryLater>(check(client, "nobody@example.com")));
  EXPECT_EQ(client.stats().connects, 0u);
}

TEST_F(LdapTlsTest, FailoverSkipsAnEndpointWhoseCertificateDoesNotVerify) {
  // The same server under a name its certificate does not carry (localhost), then by address.
  auto o = options(directory_->get("LDAPS_URI"), "directory-ca");
  o.uris = {"ldaps://localhost:" + directory_->get("LDAPS_PORT"), directory_->get("LDAPS_URI")};
  ldap::LdapDirectoryClient client(io_.get_executor(), o);
  EXPECT_TRUE(std::holds_alternative<Accept>(check(client, "alice@example.com")));
  EXPECT_EQ(client.connected_uri(), directory_->get("LDAPS_URI"));
}

}  // namespace
}  // namespace gw::categorizer
