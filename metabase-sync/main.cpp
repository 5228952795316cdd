// metabase-sync: replicates this server's part of the directory configuration
// into the local metabase file. See metabase-sync/README.md for usage and exit
// codes; this file only parses arguments, installs signal handlers and prints.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <google/protobuf/text_format.h>

#include "gateway/common/log.h"
#include "metabase-sync/errors.h"
#include "metabase-sync/lint.h"
#include "metabase-sync/metabase_file.h"
#include "metabase-sync/sync_service.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

int report(const gw::Error& error) {
  std::cerr << "metabase-sync: " << msync::describe(error) << "\n";
  return static_cast<int>(msync::exit_code_for(error));
}

int report_text(msync::ExitCode code, const std::string& text) {
  std::cerr << "metabase-sync: " << text << "\n";
  return static_cast<int>(code);
}

bool read_password_file(const std::string& path, std::string& password) {
  std::ifstream in(path);
  if (!in) return false;
  std::getline(in, password);
  while (!password.empty() && (password.back() == '\r' || password.back() == '\n')) password.pop_back();
  return true;
}

int dump(const std::string& path) {
  auto metabase = msync::read_metabase(path);
  if (!metabase) return report(metabase.error());
  if (!*metabase) return report_text(msync::ExitCode::LocalIo, path + ": No such file or directory");
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  printer.PrintToString(**metabase, &text);
  std::cout << text;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"metabase-sync: replicate this server's configuration from the directory into the metabase"};
  std::string uri;
  std::string bind_dn;
  std::string password;
  std::string password_file;
  std::string server;
  std::string out;
  std::string dump_file;
  std::string config_nc;
  std::string base_dn;
  std::string log_level = "info";
  bool once = false;
  bool follow = false;
  bool check = false;
  bool no_syncrepl = false;
  bool start_tls = false;
  double poll_interval = 30;
  double change_interval = 1;
  double network_timeout = 5;
  double search_timeout = 10;
  double max_backoff = 10;

  app.add_option("--uri", uri, "directory URI(s), e.g. \"ldap://dc1.example.com ldap://dc2.example.com\"");
  app.add_option("--bind-dn", bind_dn, "DN to bind as (empty = anonymous)");
  auto* password_opt = app.add_option("--password", password, "bind password (prefer --password-file)");
  app.add_option("--password-file", password_file, "file whose first line is the bind password")
      ->excludes(password_opt);
  app.add_flag("--start-tls", start_tls, "StartTLS before binding (CA: ldap.conf TLS_CACERT or LDAPTLS_CACERT)");
  app.add_option("--server", server, "cn of this server's msExchExchangeServer object (e.g. BH1)");
  app.add_option("--out", out, "metabase file to write");
  app.add_option("--config-nc", config_nc, "configuration naming context (default: discovered)");
  app.add_option("--base", base_dn, "domain naming context for recipients (default: discovered)");
  auto* once_opt = app.add_flag("--once", once, "read the directory once, write the metabase, exit");
  auto* follow_opt = app.add_flag("--follow", follow, "keep the metabase in sync until SIGTERM/SIGINT");
  auto* check_opt = app.add_flag("--check", check, "lint the directory configuration, write nothing");
  auto* dump_opt = app.add_option("--dump", dump_file, "print a metabase file as protobuf text");
  once_opt->excludes(follow_opt, check_opt, dump_opt);
  follow_opt->excludes(check_opt, dump_opt);
  check_opt->excludes(dump_opt);
  app.add_flag("--no-syncrepl", no_syncrepl,
               "--follow: only poll, even when the server offers RFC 4533 (OpenLDAP) or is Active Directory");
  app.add_option("--poll-interval", poll_interval, "--follow: seconds between reads when polling")
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--change-interval", change_interval,
                 "--follow on Active Directory: seconds between checks for a change (highestCommittedUSN)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--network-timeout", network_timeout, "seconds allowed for the TCP connect")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--search-timeout", search_timeout, "seconds allowed for each bind or search")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--max-backoff", max_backoff, "--follow: longest wait between reconnects, seconds")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(msync::ExitCode::Usage);
  }

  if (!dump_file.empty()) return dump(dump_file);
  if (!once && !follow && !check)
    return report_text(msync::ExitCode::Usage, "choose one of --once, --follow, --check or --dump FILE");
  if (uri.empty() || server.empty())
    return report_text(msync::ExitCode::Usage, "--uri and --server are required");
  if ((once || follow) && out.empty()) return report_text(msync::ExitCode::Usage, "--out is required");
  if (!password_file.empty() && !read_password_file(password_file, password))
    return report_text(msync::ExitCode::LocalIo, password_file + ": cannot read the password file");

  gw::log::init(log_level);

  msync::SyncOptions options;
  options.connect.uri = uri;
  options.connect.bind_dn = bind_dn;
  options.connect.password = password;
  options.connect.start_tls = start_tls;
  options.connect.network_timeout = std::chrono::milliseconds(static_cast<long>(network_timeout * 1000));
  options.connect.operation_timeout = std::chrono::milliseconds(static_cast<long>(search_timeout * 1000));
  options.read.server_name = server;
  options.read.config_nc = config_nc;
  options.read.default_nc = base_dn;
  options.read.bind_password_file = password_file;
  options.out = out;
  options.poll_interval = std::chrono::milliseconds(static_cast<long>(poll_interval * 1000));
  options.change_poll_interval = std::chrono::milliseconds(static_cast<long>(change_interval * 1000));
  options.force_polling = no_syncrepl;
  options.max_backoff = std::chrono::milliseconds(static_cast<long>(max_backoff * 1000));

  if (check) {
    auto metabase = msync::read_metabase_from_directory(options);
    if (!metabase && metabase.error().code == msync::make_error_code(msync::SyncErrc::InvalidConfiguration)) {
      // A value that does not even parse is the first finding; the rules need a
      // built metabase, so it is the only one.
      std::cout << "error: " << msync::describe(metabase.error()) << "\n";
      return static_cast<int>(msync::ExitCode::LintErrors);
    }
    if (!metabase) return report(metabase.error());
    const auto findings = msync::lint(*metabase);
    for (const auto& finding : findings) std::cout << msync::format_finding(finding) << "\n";
    return static_cast<int>(msync::has_errors(findings) ? msync::ExitCode::LintErrors : msync::ExitCode::Ok);
  }
  if (once) {
    auto written = msync::run_once(options);
    if (!written) return report(written.error());
    return 0;
  }

  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto followed = msync::follow(options, g_stop);
  if (!followed) return report(followed.error());
  return 0;
}
