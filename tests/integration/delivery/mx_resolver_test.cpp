// MX and address resolution against a private dnsmasq, and delivery to the
// hosts it names (fallback from an MX that refuses connections).
#include "gateway/delivery/mx_resolver.h"

#include <gtest/gtest.h>

#include <functional>

#include "gateway/delivery/next_hop_hosts.h"
#include "gateway/delivery/smtp_client.h"
#include "tests/integration/delivery/peers.h"
#include "tests/integration/fixtures/free_port.h"
#include "tests/integration/fixtures/temp_dir.h"

namespace gw::delivery {
namespace {

using gw::test::TempDir;

template <typename T>
T run_io(std::function<asio::awaitable<T>(asio::any_io_executor)> work) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, work(io.get_executor()), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) out = std::move(value);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

class MxResolverWithDnsmasq : public ::testing::Test {
 protected:
  MxResolverWithDnsmasq()
      : dns_(dir_.path(), {"--local=/test/",
                           "--mx-host=partner.test,mx-backup.partner.test,20",
                           "--mx-host=partner.test,mx-main.partner.test,10",
                           "--host-record=mx-main.partner.test,127.0.0.2",
                           "--host-record=mx-backup.partner.test,127.0.0.1",
                           "--host-record=plain.test,127.0.0.1,::1",
                           "--mx-host=broken.test,nowhere.broken.test,10",
                           "--host-record=relay.test,127.0.0.1"}) {}

  DnsOptions options() const { return DnsOptions{{dns_.server()}, std::chrono::milliseconds(1000), 2}; }

  Result<std::vector<MailHost>> mail_hosts(const std::string& domain) {
    return run_io<Result<std::vector<MailHost>>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<Result<std::vector<MailHost>>> {
          MxResolver resolver(ex, options());
          co_return co_await resolver.mail_hosts(domain);
        });
  }

  TempDir dir_{"gw-delivery-dns"};
  gw::test::Dnsmasq dns_;
};

TEST_F(MxResolverWithDnsmasq, MailHostsComeInPreferenceOrderWithTheirAddresses) {
  const auto hosts = mail_hosts("partner.test");
  ASSERT_TRUE(hosts) << hosts.error().message();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].name, "mx-main.partner.test");
  EXPECT_EQ((*hosts)[0].preference, 10);
  ASSERT_EQ((*hosts)[0].addresses.size(), 1u);
  EXPECT_EQ((*hosts)[0].addresses[0].to_string(), "127.0.0.2");
  EXPECT_EQ((*hosts)[1].name, "mx-backup.partner.test");
  EXPECT_EQ((*hosts)[1].addresses.at(0).to_string(), "127.0.0.1");
}

TEST_F(MxResolverWithDnsmasq, DomainWithoutMxIsItsOwnMailHostByAddressRecords) {
  const auto hosts = mail_hosts("plain.test");
  ASSERT_TRUE(hosts) << hosts.error().message();
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].name, "plain.test");
  ASSERT_EQ((*hosts)[0].addresses.size(), 2u);
  EXPECT_EQ((*hosts)[0].addresses[0].to_string(), "127.0.0.1");  // IPv4 first
  EXPECT_EQ((*hosts)[0].addresses[1].to_string(), "::1");
}

TEST_F(MxResolverWithDnsmasq, NonexistentDomainIsPermanentNoSuchDomain) {
  const auto hosts = mail_hosts("nonexistent.test");
  ASSERT_FALSE(hosts);
  EXPECT_EQ(hosts.error().code, DnsErrc::NoSuchDomain);
  EXPECT_EQ(failure_kind_of(hosts.error(), false), FailureKind::NoMailExchanger);
}

TEST_F(MxResolverWithDnsmasq, MxWhoseHostHasNoAddressIsNoMailService) {
  const auto hosts = mail_hosts("broken.test");
  ASSERT_FALSE(hosts);
  EXPECT_EQ(hosts.error().code, DnsErrc::NoMailService);
}

TEST_F(MxResolverWithDnsmasq, RefusedQueryIsTransient) {
  // dnsmasq has no upstream servers: it refuses names outside its local zone.
  const auto hosts = mail_hosts("example.org");
  ASSERT_FALSE(hosts);
  EXPECT_EQ(hosts.error().code, DnsErrc::TemporaryFailure) << hosts.error().message();
  EXPECT_EQ(failure_kind_of(hosts.error(), false), FailureKind::DnsTemporaryFailure);
}

TEST_F(MxResolverWithDnsmasq, SmartHostLiteralsSkipDnsAndNamesUseAddressRecords) {
  const auto hosts = run_io<Result<std::vector<Endpoint>>>(
      [&](asio::any_io_executor ex) -> asio::awaitable<Result<std::vector<Endpoint>>> {
        MxResolver resolver(ex, options());
        co_return co_await hosts_for_smart_hosts(resolver, *routing::parse_smart_hosts("[192.0.2.7]:2525; relay.test"),
                                                 25);
      });
  ASSERT_TRUE(hosts) << hosts.error().message();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].address.address().to_string(), "192.0.2.7");
  EXPECT_EQ((*hosts)[0].address.port(), 2525);
  EXPECT_EQ((*hosts)[1].host_name, "relay.test");
  EXPECT_EQ((*hosts)[1].address.address().to_string(), "127.0.0.1");
  EXPECT_EQ((*hosts)[1].address.port(), 25);
}

TEST_F(MxResolverWithDnsmasq, UnresolvableSmartHostIsBadSmartHost) {
  const auto hosts = run_io<Result<std::vector<Endpoint>>>(
      [&](asio::any_io_executor ex) -> asio::awaitable<Result<std::vector<Endpoint>>> {
        MxResolver resolver(ex, options());
        co_return co_await hosts_for_smart_hosts(resolver, *routing::parse_smart_hosts("gone.test"), 25);
      });
  ASSERT_FALSE(hosts);
  EXPECT_EQ(failure_kind_of(hosts.error(), true), FailureKind::BadSmartHost);
}

TEST_F(MxResolverWithDnsmasq, FirstMxRefusingConnectionsGivesWayToTheSecond) {
  gw::test::SmtpSink sink(dir_.path());  // listens on 127.0.0.1 only: mx-main (127.0.0.2) refuses
  const std::string content = "Subject: via backup MX\r\n\r\nhello\r\n";
  OutboundMessage message;
  message.sender = "alice@example.com";
  message.recipients.push_back({"bob@partner.test", "", ""});
  message.size = content.size();
  ClientOptions client;
  client.session.helo_name = "bh1.example.com";
  client.session.tls = TlsPolicy::Never;
  const auto report = run_io<DeliveryReport>([&](asio::any_io_executor ex) -> asio::awaitable<DeliveryReport> {
    MxResolver resolver(ex, options());
    auto hosts = co_await hosts_for_domain(resolver, "partner.test", sink.port());
    StringBodySource body(content);
    co_return co_await deliver_to_hosts(ex, hosts.value(), client, message, body);
  });
  ASSERT_TRUE(report.delivered_via);
  EXPECT_EQ(report.delivered_via->host_name, "mx-backup.partner.test");
  ASSERT_EQ(report.attempts.size(), 2u);
  EXPECT_NE(report.attempts[0].find("mx-main.partner.test"), std::string::npos);
  EXPECT_EQ(report.result.recipients.at(0).outcome, Outcome::Delivered);
  EXPECT_EQ(sink.transactions().size(), 1u);
}

TEST(MxResolver, UnreachableDnsServerIsTransient) {
  const auto port = gw::test::free_port();
  const auto hosts = run_io<Result<std::vector<MailHost>>>(
      [&](asio::any_io_executor ex) -> asio::awaitable<Result<std::vector<MailHost>>> {
        MxResolver resolver(ex, DnsOptions{{"127.0.0.1:" + std::to_string(port)}, std::chrono::milliseconds(300), 1});
        co_return co_await resolver.mail_hosts("partner.test");
      });
  ASSERT_FALSE(hosts);
  EXPECT_EQ(hosts.error().code, DnsErrc::TemporaryFailure);
}

}  // namespace
}  // namespace gw::delivery
