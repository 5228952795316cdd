// Harness for metabase-sync integration tests: a private directory (the one
// under test: OpenLDAP or Samba AD, tests/integration/fixtures/directory.h)
// with the sample organization, a temp dir for the metabase and the password
// file, and helpers to run the real metabase-sync binary (one-shot or
// following) against it. Everything is per test: tests run in parallel
// without sharing state.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "metabase-sync/metabase_file.h"
#include "tests/integration/fixtures/process.h"
#include "tests/integration/fixtures/directory.h"
#include "tests/integration/fixtures/temp_dir.h"

namespace msync::test {

inline const std::string kOrg = "CN=Example,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=example,DC=com";
inline const std::string kAg = "CN=First Administrative Group,CN=Administrative Groups," + kOrg;
inline const std::string kRg = "CN=First Routing Group,CN=Routing Groups," + kAg;
inline const std::string kConnections = "CN=Connections," + kRg;
inline const std::string kBh1 = "CN=BH1,CN=Servers," + kAg;
inline const std::string kVs1 = "CN=1,CN=SMTP,CN=Protocols," + kBh1;
inline const std::string kVs2 = "CN=2,CN=SMTP,CN=Protocols," + kBh1;
inline const std::string kPolicies = "CN=Recipient Policies," + kOrg;

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Polls `condition` every 10 ms; returns the time it took, or nullopt after `limit`.
inline std::optional<std::chrono::milliseconds> wait_for(const std::function<bool()>& condition,
                                                         std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (condition()) return elapsed;
    if (elapsed > limit) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// DNs as the two directories spell them compare equal after this: slapd
// writes attribute types in lower case (cn=BH1,cn=Servers), AD as stored
// (CN=BH1,CN=Servers). Only RDN types after a start, blank, quote or comma
// change; legacyExchangeDN's "/o=.../ou=..." does not.
inline std::string lower_dn_types(const std::string& text) {
  static const std::regex types(R"((^|[ ,"\n])(CN|OU|DC)=)", std::regex::icase);
  std::string out;
  std::sregex_iterator it(text.begin(), text.end(), types), end;
  std::size_t last = 0;
  for (; it != end; ++it) {
    const auto& match = *it;
    out.append(text, last, static_cast<std::size_t>(match.position(2)) - last);
    std::string type = match.str(2);
    for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += type;
    last = static_cast<std::size_t>(match.position(2) + match.length(2));
  }
  out.append(text, last, std::string::npos);
  return out;
}

// How quickly --follow must bring a change into the file: OpenLDAP pushes
// changes (RFC 4533), AD is asked every second (highestCommittedUSN).
inline std::chrono::milliseconds pick_up_limit(const gw::test::Directory& directory) {
  return directory.is_ad() ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(2000);
}

// The point in the directory's history a followed read came from, as each
// kind records it in the provenance: OpenLDAP the RFC 4533 cookie (csn=...)
// and contextCSN, AD the DC's highestCommittedUSN.
inline bool records_the_change_point(const gw::test::Directory& directory,
                                     const gw::metabase::Provenance& provenance) {
  if (directory.is_ad()) return provenance.sync_cookie().rfind("highestCommittedUSN=", 0) == 0;
  return provenance.sync_cookie().find("csn=") != std::string::npos && !provenance.context_csn().empty();
}

class Harness {
 public:
  Harness() : dir_("msync-it") {
    std::ofstream(password_file()) << directory_.service_password() << "\n";
  }

  gw::test::Directory& directory() { return directory_; }
  std::filesystem::path out() const { return dir_ / "metabase.pb"; }
  std::filesystem::path password_file() const { return dir_ / "ldap.secret"; }
  std::filesystem::path path(std::string_view name) const { return dir_ / name; }

  std::vector<std::string> argv(const std::vector<std::string>& mode, const std::string& server = "BH1") const {
    std::vector<std::string> args{METABASE_SYNC_BIN, "--uri", directory_.uri(), "--bind-dn", directory_.service_dn(),
                                  "--password-file", password_file().string(), "--server", server,
                                  "--out", out().string()};
    args.insert(args.end(), mode.begin(), mode.end());
    return args;
  }

  gw::test::RunResult once() { return gw::test::run(argv({"--once"})); }
  gw::test::RunResult check() { return gw::test::run(argv({"--check"})); }

  gw::test::Process follow(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> mode{"--follow", "--max-backoff", "0.5"};
    mode.insert(mode.end(), extra.begin(), extra.end());
    gw::test::SpawnOptions options;
    options.stderr_file = follow_log();
    return gw::test::Process::spawn(argv(mode), options);
  }
  std::filesystem::path follow_log() const { return dir_ / "follow.log"; }

  std::optional<gw::metabase::Metabase> metabase() const {
    auto read = read_metabase(out());
    if (!read || !*read) return std::nullopt;
    return **read;
  }

  // Waits until the metabase file satisfies `condition`.
  std::optional<std::chrono::milliseconds> wait_for_metabase(
      const std::function<bool(const gw::metabase::Metabase&)>& condition,
      std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    return wait_for(
        [&] {
          auto m = metabase();
          return m && condition(*m);
        },
        limit);
  }

 private:
  gw::test::Directory directory_;
  gw::test::TempDir dir_;
};

}  // namespace msync::test
