// Real mail servers for the delivery integration tests, each a private
// instance on a free 127.0.0.1 port in the test's temp dir, stopped by pid:
//   SmtpSink    Postfix's smtp-sink(1): an ESMTP server (PIPELINING, DSN,
//               8BITMIME, no STARTTLS) that dumps every transaction to a file
//               with the MAIL/RCPT arguments it received;
//   DovecotLmtp Dovecot's LMTP service (CHUNKING, PIPELINING, STARTTLS with a
//               certificate from a CA made at test time) delivering into
//               maildirs of a passwd-file userdb;
//   Dnsmasq     a DNS server answering MX, A and AAAA records from its command line.
// Not responsible for the client under test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/fixtures/process.h"

namespace gw::test {

// Blocks until something accepts TCP connections on 127.0.0.1:port (or throws).
void wait_for_tcp(std::uint16_t port);

std::string read_file(const std::filesystem::path& path);

// A test CA and a server certificate signed by it, made with the openssl binary.
struct TestPki {
  std::filesystem::path ca_cert, server_cert, server_key;
  // `dns_name` (and `ip`, when given) go into the certificate's subjectAltName.
  static TestPki create(const std::filesystem::path& dir, const std::string& dns_name, const std::string& ip = {});
};

class SmtpSink {
 public:
  // `extra` are smtp-sink options (e.g. {"-q", "RCPT"} to soft-reject).
  SmtpSink(const std::filesystem::path& dir, std::vector<std::string> extra = {});
  std::uint16_t port() const noexcept { return port_; }
  // The dumped transactions (header lines X-Mail-Args/X-Rcpt-Args, then the content).
  std::vector<std::string> transactions() const;

 private:
  std::filesystem::path dump_dir_;
  std::uint16_t port_ = 0;
  Process process_;
};

class DovecotLmtp {
 public:
  // Users get maildirs under dir/mail/<user>; with `pki` STARTTLS is offered.
  DovecotLmtp(const std::filesystem::path& dir, const std::vector<std::string>& users, const TestPki* pki = nullptr);
  std::uint16_t port() const noexcept { return port_; }
  // Contents of the messages in <user>'s INBOX (new/).
  std::vector<std::string> messages(const std::string& user) const;

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  Process process_;
};

class Dnsmasq {
 public:
  // `records` are dnsmasq options such as "--mx-host=example.org,mx1.example.org,10"
  // and "--host-record=mx1.example.org,127.0.0.1".
  Dnsmasq(const std::filesystem::path& dir, const std::vector<std::string>& records);
  std::uint16_t port() const noexcept { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::uint16_t port_ = 0;
  Process process_;
};

}  // namespace gw::test
