#include "tests/integration/delivery/peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/integration/fixtures/free_port.h"

namespace gw::test {
namespace fs = std::filesystem;
namespace {

bool tcp_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Starts argv (built for a port) until it listens; a lost race for the port
// makes the server exit, and then another port is tried.
template <typename MakeArgv>
std::uint16_t start_listening(Process& process, MakeArgv make_argv, const fs::path& log) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto port = free_port();
    process = Process::spawn(make_argv(port), SpawnOptions{.stdout_file = log, .stderr_file = log});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (tcp_accepts(port)) return port;
      if (!process.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    process.stop();
  }
  throw std::runtime_error("server did not start listening; see " + log.string() + ":\n" + read_file(log));
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

bool running_as_root() { return ::geteuid() == 0; }

// The account servers run as: "nobody" when the tests run as root (servers
// drop privileges), otherwise the test's own user.
std::pair<std::string, std::string> server_account() {
  if (running_as_root()) return {"nobody", "nogroup"};
  const passwd* pw = ::getpwuid(::geteuid());
  const group* gr = ::getgrgid(::getegid());
  return {pw ? pw->pw_name : "nobody", gr ? gr->gr_name : "nogroup"};
}

void run_checked(const std::vector<std::string>& argv) {
  const auto result = run(argv);
  if (result.exit_code != 0) throw std::runtime_error(argv[0] + " failed: " + result.err);
}

}  // namespace

void wait_for_tcp(std::uint16_t port) {
  for (int i = 0; i < 500; ++i) {
    if (tcp_accepts(port)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("nothing listens on port " + std::to_string(port));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TestPki TestPki::create(const fs::path& dir, const std::string& dns_name, const std::string& ip) {
  TestPki pki{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
  const auto ca_key = dir / "ca.key", csr = dir / "server.csr", ext = dir / "server.ext";
  run_checked({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key.string(), "-out",
               pki.ca_cert.string(), "-days", "2", "-subj", "/CN=Gateway Test CA"});
  run_checked({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.server_key.string(), "-out",
               csr.string(), "-subj", "/CN=" + dns_name});
  write_file(ext, "subjectAltName=DNS:" + dns_name + (ip.empty() ? "" : ",IP:" + ip) +
                      "\nextendedKeyUsage=serverAuth\n");
  run_checked({"openssl", "x509", "-req", "-in", csr.string(), "-CA", pki.ca_cert.string(), "-CAkey",
               ca_key.string(), "-CAcreateserial", "-out", pki.server_cert.string(), "-days", "2", "-extfile",
               ext.string()});
  return pki;
}

SmtpSink::SmtpSink(const fs::path& dir, std::vector<std::string> extra) : dump_dir_(dir / "sink") {
  fs::create_directories(dump_dir_);
  // smtp-sink drops root privileges to -u user, who must be able to write the dumps.
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(dump_dir_, fs::perms::all);
  port_ = start_listening(
      process_,
      [&](std::uint16_t port) {
        std::vector<std::string> argv{"smtp-sink", "-d", (dump_dir_ / "%M%S.").string()};
        if (running_as_root()) argv.insert(argv.begin() + 1, {"-u", "nobody"});  // required as root
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back("127.0.0.1:" + std::to_string(port));
        argv.push_back("16");
        return argv;
      },
      dir / "smtp-sink.log");
}

std::vector<std::string> SmtpSink::transactions() const {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dump_dir_)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const auto& file : files) out.push_back(read_file(file));
  return out;
}

DovecotLmtp::DovecotLmtp(const fs::path& dir, const std::vector<std::string>& users, const TestPki* pki)
    : dir_(dir / "dovecot") {
  const auto run_dir = dir_ / "run", mail = dir_ / "mail";
  fs::create_directories(run_dir);
  fs::create_directories(mail);
  // Dovecot delivers as an unprivileged user (never uid 0): it must reach the maildirs.
  for (const auto& d : {dir, dir_})
    fs::permissions(d, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const auto [user, group] = server_account();
  if (running_as_root()) run_checked({"chown", user + ":" + group, mail.string()});
  std::string passwd;
  for (const auto& user : users) passwd += user + ":{PLAIN}unused::::::\n";
  write_file(dir_ / "passwd", passwd);
  const auto log = dir_ / "dovecot.log";
  port_ = start_listening(
      process_,
      [&](std::uint16_t port) {
        std::ostringstream conf;
        conf << "base_dir = " << run_dir.string() << "\nstate_dir = " << (dir_ / "state").string()
             << "\nlog_path = " << log.string() << "\nprotocols = lmtp\nlisten = 127.0.0.1\n";
        if (!running_as_root())
          conf << "default_internal_user = " << user << "\ndefault_login_user = " << user
               << "\ndefault_internal_group = " << group << "\n";
        if (pki)
          conf << "ssl = yes\nssl_cert = <" << pki->server_cert.string() << "\nssl_key = <"
               << pki->server_key.string() << "\nssl_min_protocol = TLSv1.2\n";
        else
          conf << "ssl = no\n";
        conf << "mail_location = maildir:" << mail.string() << "/%n\nauth_username_format = %n\n"
             << "passdb {\n  driver = passwd-file\n  args = " << (dir_ / "passwd").string() << "\n}\n"
             << "userdb {\n  driver = passwd-file\n  args = " << (dir_ / "passwd").string()
             << "\n  default_fields = uid=" << user << " gid=" << group << " home=" << mail.string() << "/%n\n}\n"
             << "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = " << port
             << "\n  }\n}\n";
        write_file(dir_ / "dovecot.conf", conf.str());
        return std::vector<std::string>{"dovecot", "-F", "-c", (dir_ / "dovecot.conf").string()};
      },
      dir_ / "dovecot.out");
}

std::vector<std::string> DovecotLmtp::messages(const std::string& user) const {
  std::vector<std::string> out;
  const auto new_dir = dir_ / "mail" / user / "new";
  if (!fs::exists(new_dir)) return out;
  for (const auto& entry : fs::directory_iterator(new_dir)) out.push_back(read_file(entry.path()));
  return out;
}

Dnsmasq::Dnsmasq(const fs::path& dir, const std::vector<std::string>& records) {
  port_ = start_listening(
      process_,
      [&](std::uint16_t port) {
        std::vector<std::string> argv{"dnsmasq",       "--no-daemon", "--port=" + std::to_string(port),
                                      "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                                      "--no-hosts",    "--pid-file=" + (dir / "dnsmasq.pid").string()};
        if (running_as_root()) argv.push_back("--user=root");  // stay able to write the pid file
        argv.insert(argv.end(), records.begin(), records.end());
        return argv;
      },
      dir / "dnsmasq.log");
}

}  // namespace gw::test
