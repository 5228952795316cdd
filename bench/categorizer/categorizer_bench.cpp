// Categorizer throughput against a private directory with the sample organization plus generated
// users: recipients per second and directory searches per recipient for messages of 1, 100 and
// 1000 recipients and for one large group, with a cold and a warm cache.
//
//   categorizer_bench [--directory openldap|ad] [--group-members N]
//
// --directory: a private slapd (default) or a private Samba AD DC (tests/integration/fixtures).
// --group-members: default 10000 on OpenLDAP, 3000 on AD (two member ranges); 0 skips the group.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "categorizer/categorizer.h"
#include "categorizer/ldap/ldap_directory_client.h"
#include "gateway/common/log.h"
#include "tests/integration/fixtures/directory.h"
#include "tests/unit/categorizer/test_metabase.h"

using namespace gw;
using namespace gw::categorizer;

namespace {

std::string users_ldif(const std::string& ou, const std::string& prefix, int count) {
  const std::string store = "CN=Mailbox Store (MBX1),CN=First Storage Group,CN=InformationStore,CN=MBX1," +
                            std::string(categorizer::test::kServers);
  std::string ldif = "dn: OU=" + ou + ",DC=example,DC=com\nobjectClass: top\nobjectClass: organizationalUnit\nou: " + ou + "\n\n";
  for (int i = 0; i < count; ++i) {
    const std::string n = prefix + std::to_string(i);
    ldif += "dn: CN=" + n + ",OU=" + ou + ",DC=example,DC=com\nobjectClass: top\nobjectClass: person\n"
            "objectClass: organizationalPerson\nobjectClass: user\ncn: " + n + "\nsn: " + n + "\nmail: " + n +
            "@example.com\nhomeMDB: " + store + "\n\n";
  }
  return ldif;
}

struct Figure {
  double seconds = 0;
  std::size_t recipients = 0;
  std::uint64_t searches = 0;
  std::uint64_t reads = 0;   // DN reads: DNs a batch did not return
  std::uint64_t ranges = 0;  // member;range=N-* continuations
};

Figure measure(asio::io_context& io, Categorizer& categorizer, const std::vector<std::string>& rcpts) {
  envelope::Envelope env;
  env.set_sender("carol@example.com");
  for (const auto& r : rcpts) env.add_recipients()->set_address(r);
  const auto searches_before = categorizer.stats().resolver.searches;
  const auto reads_before = categorizer.stats().resolver.dn_reads;
  const auto ranges_before = categorizer.stats().resolver.range_continuations;
  std::optional<Result<void>> done;
  const auto start = std::chrono::steady_clock::now();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { done.emplace(co_await categorizer.categorize(env)); },
                 asio::detached);
  io.restart();
  while (!done && io.run_one()) {
  }
  Figure f;
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!*done) std::fprintf(stderr, "categorize failed: %s\n", done->error().message().c_str());
  for (const auto& r : env.recipients())
    if (r.state() == envelope::RESOLVED) ++f.recipients;
  f.searches = categorizer.stats().resolver.searches - searches_before;
  f.reads = categorizer.stats().resolver.dn_reads - reads_before;
  f.ranges = categorizer.stats().resolver.range_continuations - ranges_before;
  return f;
}

void print(const char* what, const char* cache, const Figure& f) {
  std::printf("%-28s %-5s %8zu recipients %9.1f ms %10.0f rcpt/s %6llu searches %8.3f searches/rcpt"
              " (%llu DN reads, %llu range continuations)\n",
              what, cache, f.recipients, f.seconds * 1000, f.recipients / f.seconds,
              static_cast<unsigned long long>(f.searches),
              f.recipients ? static_cast<double>(f.searches) / f.recipients : 0.0,
              static_cast<unsigned long long>(f.reads), static_cast<unsigned long long>(f.ranges));
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  gw::log::init("warn");  // one info line per recipient would measure the logger, not the categorizer
  int group_members = -1;
  gw::DirectoryKind kind = gw::DirectoryKind::OpenLdap;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--group-members") == 0) group_members = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--directory") == 0 && std::strcmp(argv[i + 1], "ad") == 0)
      kind = gw::DirectoryKind::ActiveDirectory;
  }
  if (group_members < 0) group_members = kind == gw::DirectoryKind::ActiveDirectory ? 3000 : 10000;

  gw::test::Directory directory(kind, {});
  std::fprintf(stderr, "%s: loading 1000 users%s ...\n", std::string(gw::directory_kind_name(kind)).c_str(),
               group_members > 0 ? " and the group" : "");
  const auto load_start = std::chrono::steady_clock::now();
  directory.add(users_ldif("Bench", "bench", 1000));
  if (group_members > 0) {
    std::string ldif = users_ldif("BenchGroup", "member", group_members);
    ldif += "dn: CN=Bench Group,CN=Users,DC=example,DC=com\nobjectClass: top\nobjectClass: group\ncn: Bench Group\n"
            "groupType: 8\nmail: bench-group@example.com\n";
    for (int i = 0; i < group_members; ++i) ldif += "member: CN=member" + std::to_string(i) + ",OU=BenchGroup,DC=example,DC=com\n";
    directory.add(ldif);
  }
  std::fprintf(stderr, "loaded in %.0f s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());

  asio::io_context io;
  ldap::LdapClientOptions options;
  options.uris = {directory.uri()};
  options.bind_dn = directory.service_dn();
  options.bind_password = directory.service_password();
  ldap::LdapDirectoryClient client(io.get_executor(), options);

  for (int n : {1, 100, 1000}) {
    std::vector<std::string> rcpts;
    for (int i = 0; i < n; ++i) rcpts.push_back("bench" + std::to_string(i) + "@example.com");
    Categorizer categorizer(client, categorizer::test::sample_metabase());
    const std::string what = std::to_string(n) + " recipient(s)";
    print(what.c_str(), "cold", measure(io, categorizer, rcpts));
    print(what.c_str(), "warm", measure(io, categorizer, rcpts));
  }
  if (group_members > 0) {
    Categorizer categorizer(client, categorizer::test::sample_metabase());
    const std::string what = std::to_string(group_members) + "-member group";
    print(what.c_str(), "cold", measure(io, categorizer, {"bench-group@example.com"}));
    print(what.c_str(), "warm", measure(io, categorizer, {"bench-group@example.com"}));
  }
  client.close();
  return 0;
}
