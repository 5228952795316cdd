// gatewayd: runs the SMTP virtual servers of a metabase file and queues the
// mail they accept into a durable spool. See gateway/main/README.md.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <exception>
#include <iostream>
#include <string>

#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include "gateway/common/log.h"
#include "gateway/common/version.h"
#include "gateway/main/gateway_server.h"

int main(int argc, char** argv) {
  CLI::App app{"gatewayd: directory-integrated SMTP gateway"};
  gw::daemon::GatewayOptions options;
  std::string metabase;
  std::string spool;
  std::string log_level = "info";
  std::string log_file;
  app.add_option("--metabase", metabase, "metabase file written by metabase-sync")->required();
  app.add_option("--spool", spool, "spool directory (created when missing)")->required();
  app.add_option("--log-level", log_level, "trace, debug, info, warning, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warning", "warn", "error", "critical", "off"}));
  app.add_option("--log-file", log_file, "application log file (default: stderr)");
  app.add_option("--threads", options.threads, "event loops (default: one per core)")->check(CLI::Range(0u, 256u));
  unsigned auth_lockout_seconds = static_cast<unsigned>(options.auth_throttle.lockout.count());
  app.add_option("--auth-delay-after", options.auth_throttle.delay_after,
                 "AUTH failures from one address before each further 535 is delayed")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--auth-lockout-after", options.auth_throttle.lockout_after,
                 "AUTH failures from one address that lock it out (454 4.7.0)")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--auth-lockout-seconds", auth_lockout_seconds, "how long an AUTH lockout lasts")
      ->check(CLI::Range(1u, 86400u));
  std::string control_socket;
  app.add_option("--control-socket", control_socket, "gatewayctl's Unix socket (default: <spool>/control.sock)");
  app.add_option("--http", options.http_listen,
                 "ADDRESS:PORT of the read-only HTTP endpoint: /metrics, /healthz, status page (default: none)");
  app.add_option("--tracking-dir", options.tracking_directory,
                 "message tracking files, one per day (default: <spool>/tracking)");
  app.add_option("--tls-ca-file", options.delivery.network.tls_ca_file,
                 "CA certificates (PEM) that verify peers of TLS-required connectors (default: system store)")
      ->check(CLI::ExistingFile);
  app.set_version_flag("--version", std::string("gatewayd ") + gw::kVersion);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 1 (CLI11's own codes
    // go up to 106) after one message.
    return app.exit(e) == 0 ? 0 : 1;
  }
  options.auth_throttle.lockout = std::chrono::seconds(auth_lockout_seconds);

  // libldap writes with write(2): a directory server that closed the connection must not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  // Every session is a descriptor: take the hard limit, not the usual soft 1,024.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, rlim_t{1} << 20);
    if (::setrlimit(RLIMIT_NOFILE, &files) != 0) std::cerr << "gatewayd: cannot raise the open-files limit\n";
  }
  try {
    gw::log::init(log_level == "warning" ? "warn" : log_level, log_file);
    options.metabase_file = metabase;
    options.spool_directory = spool;
    options.control_socket = control_socket;
    gw::daemon::GatewayServer server(std::move(options));
    server.run();
    // The loops have stopped and with them the signal handling; a further
    // SIGTERM/SIGINT must not kill the tear-down, which lets the spool's pool
    // finish its commits.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    gw::log::info({"gateway"}, "stopped");
    return 0;
  } catch (const std::exception& error) {
    // Once on stderr; once more in the log file only when there is one (the
    // stderr logger would print it a second time).
    std::cerr << "gatewayd: " << error.what() << "\n";
    if (!log_file.empty()) spdlog::critical("gatewayd: {}", error.what());
    return 1;
  }
}
