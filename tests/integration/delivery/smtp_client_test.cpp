// The outbound client against real servers: Postfix's smtp-sink (ESMTP) and
// Dovecot LMTP (CHUNKING, STARTTLS), each private to the test.
#include "gateway/delivery/smtp_client.h"
#include "gateway/delivery/connection_pool.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>

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

Endpoint local(std::uint16_t port, std::string name = "peer.example.net") {
  return Endpoint{std::move(name), {asio::ip::make_address("127.0.0.1"), port}};
}

ClientOptions client_options(Protocol protocol = Protocol::Smtp) {
  ClientOptions options;
  options.session.protocol = protocol;
  options.session.helo_name = "bh1.example.com";
  options.session.tls = TlsPolicy::Never;
  options.timeouts.connect = options.timeouts.command = options.timeouts.data_term = std::chrono::seconds(10);
  return options;
}

OutboundMessage message(std::vector<std::string> recipients, const std::string& content) {
  OutboundMessage m;
  m.sender = "alice@example.com";
  m.size = content.size();
  for (auto& r : recipients) m.recipients.push_back({r, "", ""});
  return m;
}

const std::string kContent =
    "From: alice@example.com\r\nTo: b@partner.example\r\nSubject: quarterly report\r\n\r\n"
    "first line\r\n.a line starting with a dot\r\n.\r\nlast line\r\n";

MessageResult deliver_once(const Endpoint& endpoint, const ClientOptions& options, const OutboundMessage& m,
                           const std::string& content) {
  return run_io<MessageResult>([&](asio::any_io_executor ex) -> asio::awaitable<MessageResult> {
    auto connection = co_await OutboundConnection::open(ex, endpoint, options);
    StringBodySource body(content);
    if (!connection->usable()) co_return fail_all(m, *connection->failure());
    auto result = co_await connection->deliver(m, body);
    co_await connection->quit();
    co_return result;
  });
}

TEST(SmtpClientWithSmtpSink, PipelinedMessageArrivesWithDsnParametersAndItsDotLines) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  auto m = message({"b@partner.example"}, kContent);
  m.ret = "HDRS";
  m.envid = "Q1234";
  m.recipients[0].notify = "SUCCESS,FAILURE";
  m.recipients[0].orcpt = "b@partner.example";
  const auto result = deliver_once(local(sink.port()), client_options(), m, kContent);
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].outcome, Outcome::Delivered) << result.recipients[0].text;
  EXPECT_EQ(result.recipients[0].code, 250);
  EXPECT_EQ(result.recipients[0].status.str(), "2.0.0");
  const auto dumps = sink.transactions();
  ASSERT_EQ(dumps.size(), 1u);
  // smtp-sink announces DSN but not SIZE: no SIZE parameter.
  EXPECT_NE(dumps[0].find("X-Mail-Args: <alice@example.com> RET=HDRS ENVID=Q1234\n"), std::string::npos) << dumps[0];
  EXPECT_NE(dumps[0].find("X-Rcpt-Args: <b@partner.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@partner.example"),
            std::string::npos)
      << dumps[0];
  EXPECT_NE(dumps[0].find("\n.a line starting with a dot\n.\nlast line\n"), std::string::npos) << dumps[0];
}

TEST(SmtpClientWithSmtpSink, TwoMessagesShareOneConnection) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  using Outcomes = std::vector<Outcome>;
  std::size_t sent = 0;
  const auto m = message({"b@partner.example"}, kContent);
  const auto outcomes = run_io<Outcomes>([&](asio::any_io_executor ex) -> asio::awaitable<Outcomes> {
    auto connection = co_await OutboundConnection::open(ex, local(sink.port()), client_options());
    Outcomes out;
    for (int i = 0; i < 2; ++i) {
      StringBodySource body(kContent);
      auto result = co_await connection->deliver(m, body);
      out.push_back(result.recipients.at(0).outcome);
    }
    sent = connection->session().messages_sent();
    co_await connection->quit();
    co_return out;
  });
  EXPECT_EQ(outcomes, (Outcomes{Outcome::Delivered, Outcome::Delivered}));
  EXPECT_EQ(sent, 2u);
  EXPECT_EQ(sink.transactions().size(), 2u);
}

TEST(SmtpClientWithSmtpSink, RequiredTlsWithoutStarttlsIsTransient474AndNothingIsSent) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  auto options = client_options();
  options.session.tls = TlsPolicy::Required;
  options.tls = make_client_tls_context({});
  const auto result = deliver_once(local(sink.port()), options, message({"b@army.mil"}, kContent), kContent);
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].outcome, Outcome::Transient);
  EXPECT_EQ(result.recipients[0].status.str(), "4.7.4");
  EXPECT_TRUE(sink.transactions().empty());
}

TEST(SmtpClientWithSmtpSink, RefusedConnectionFallsBackToTheNextHost) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  const auto dead = local(gw::test::free_port(), "mx1.partner.example");
  const auto live = local(sink.port(), "mx2.partner.example");
  const std::vector<Endpoint> hosts{dead, live};
  const auto m = message({"b@partner.example"}, kContent);
  const auto report = run_io<DeliveryReport>([&](asio::any_io_executor ex) -> asio::awaitable<DeliveryReport> {
    StringBodySource body(kContent);
    co_return co_await deliver_to_hosts(ex, hosts, client_options(), m, body);
  });
  ASSERT_TRUE(report.delivered_via);
  EXPECT_EQ(report.delivered_via->host_name, "mx2.partner.example");
  EXPECT_EQ(report.attempts.size(), 2u);
  EXPECT_EQ(report.result.recipients.at(0).outcome, Outcome::Delivered);
  EXPECT_EQ(sink.transactions().size(), 1u);
}

TEST(SmtpClientWithSmtpSink, SoftAndHardRecipientRefusalsAreTransientAndPermanent) {
  TempDir soft_dir("gw-delivery"), hard_dir("gw-delivery");
  gw::test::SmtpSink soft(soft_dir.path(), {"-r", "RCPT"});
  gw::test::SmtpSink hard(hard_dir.path(), {"-f", "RCPT"});
  const auto m = message({"b@partner.example"}, kContent);
  const auto transient = deliver_once(local(soft.port()), client_options(), m, kContent);
  const auto permanent = deliver_once(local(hard.port()), client_options(), m, kContent);
  EXPECT_EQ(transient.recipients.at(0).outcome, Outcome::Transient);
  EXPECT_EQ(transient.recipients.at(0).code / 100, 4);
  EXPECT_EQ(permanent.recipients.at(0).outcome, Outcome::Permanent);
  EXPECT_EQ(permanent.recipients.at(0).code / 100, 5);
  // smtp-sink answers 354 to a pipelined DATA even with every RCPT refused; the
  // client then ends an empty message (RFC 2920 3.1), which the sink may dump.
  // What matters is that the content never reached either peer.
  for (const auto* sink : {&soft, &hard})
    for (const auto& transaction : sink->transactions())
      EXPECT_EQ(transaction.find("quarterly report"), std::string::npos) << transaction;
}

TEST(SmtpClientWithSmtpSink, DisconnectAfterTheDotIsTransient442InTheAtLeastOnceWindow) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path(), {"-q", "."});
  const auto result =
      deliver_once(local(sink.port()), client_options(), message({"b@partner.example"}, kContent), kContent);
  EXPECT_EQ(result.recipients.at(0).outcome, Outcome::Transient);
  EXPECT_EQ(result.recipients.at(0).status.str(), "4.4.2");
}

TEST(SmtpClientWithSmtpSink, GreetingThatNeverComesIsHostNotResponding441) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path(), {"-W", "CONNECT:5"});
  auto options = client_options();
  options.timeouts.greeting = std::chrono::milliseconds(300);
  const auto result = deliver_once(local(sink.port()), options, message({"b@partner.example"}, kContent), kContent);
  EXPECT_EQ(result.recipients.at(0).outcome, Outcome::Transient);
  EXPECT_EQ(result.recipients.at(0).status.str(), "4.4.1");
  EXPECT_NE(result.recipients.at(0).text.find("timeout waiting for the greeting"), std::string::npos)
      << result.recipients.at(0).text;
}

TEST(SmtpClientWithSmtpSink, SmartHostAuthenticationWithPlain) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  auto options = client_options();
  options.session.credentials = Credentials{"relay-user", "relay-secret"};
  bool authenticated = false;
  const auto m = message({"b@partner.example"}, kContent);
  const auto result = run_io<MessageResult>([&](asio::any_io_executor ex) -> asio::awaitable<MessageResult> {
    auto connection = co_await OutboundConnection::open(ex, local(sink.port()), options);
    authenticated = connection->session().authenticated();
    StringBodySource body(kContent);
    auto delivered = co_await connection->deliver(m, body);
    co_await connection->quit();
    co_return delivered;
  });
  EXPECT_TRUE(authenticated);
  EXPECT_EQ(result.recipients.at(0).outcome, Outcome::Delivered);
}

struct PoolRun {
  std::vector<DeliveryReport> reports;
  std::size_t reused = 0;
};

PoolRun deliver_twice_with_pool(std::uint16_t port, std::uint32_t max_messages_per_connection) {
  const std::vector<Endpoint> hosts{local(port)};
  const auto m = message({"b@partner.example"}, kContent);
  return run_io<PoolRun>([&](asio::any_io_executor ex) -> asio::awaitable<PoolRun> {
    PoolLimits limits;
    limits.max_messages_per_connection = max_messages_per_connection;
    ConnectionPool pool(ex, limits);
    PoolRun run;
    for (int i = 0; i < 2; ++i) {
      StringBodySource body(kContent);
      run.reports.push_back(co_await deliver_with_pool(pool, "Remote delivery [partner.example]", hosts,
                                                       client_options(), m, body));
    }
    run.reused = pool.reused();
    co_return run;
  });
}

TEST(SmtpClientWithSmtpSink, PoolReusesTheIdleConnectionForTheNextMessageToTheSameHop) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  const auto run = deliver_twice_with_pool(sink.port(), 0);
  EXPECT_EQ(run.reused, 1u);
  ASSERT_EQ(run.reports.size(), 2u);
  EXPECT_NE(run.reports[1].attempts.at(0).find("reusing the connection"), std::string::npos);
  for (const auto& report : run.reports)
    EXPECT_EQ(report.result.recipients.at(0).outcome, Outcome::Delivered) << report.result.recipients.at(0).text;
  EXPECT_EQ(sink.transactions().size(), 2u);
}

TEST(SmtpClientWithSmtpSink, PoolOpensANewConnectionAfterTheMessageLimit) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  const auto run = deliver_twice_with_pool(sink.port(), 1);
  EXPECT_EQ(run.reused, 0u);
  EXPECT_EQ(sink.transactions().size(), 2u);
}

TEST(SmtpClient, NoHostAcceptingConnectionsIsTransient441) {
  const std::vector<Endpoint> hosts{local(gw::test::free_port())};
  const auto m = message({"b@partner.example"}, kContent);
  const auto report = run_io<DeliveryReport>([&](asio::any_io_executor ex) -> asio::awaitable<DeliveryReport> {
    StringBodySource body(kContent);
    co_return co_await deliver_to_hosts(ex, hosts, client_options(), m, body);
  });
  EXPECT_FALSE(report.delivered_via);
  EXPECT_EQ(report.result.recipients.at(0).outcome, Outcome::Transient);
  EXPECT_EQ(report.result.recipients.at(0).status.str(), "4.4.1");
}

TEST(SmtpClientWithDovecotLmtp, EachRecipientGetsItsOwnReplyAndTheMailLandsInTheMaildirs) {
  TempDir dir("gw-delivery");
  gw::test::DovecotLmtp lmtp(dir.path(), {"alice", "bob"});
  // Larger than one BDAT chunk, so the content goes out in several chunks.
  std::string content = "From: carol@partner.example\r\nTo: alice@example.com\r\nSubject: lmtp delivery\r\n\r\n";
  while (content.size() < 200 * 1024) content += "a line of text that fills the message up to a few chunks\r\n";
  const auto m = message({"alice@example.com", "nobody@example.com", "bob@example.com"}, content);
  const auto result = deliver_once(local(lmtp.port(), "mbx1.example.com"), client_options(Protocol::Lmtp), m, content);
  ASSERT_EQ(result.recipients.size(), 3u);
  EXPECT_EQ(result.recipients[0].outcome, Outcome::Delivered) << result.recipients[0].text;
  EXPECT_EQ(result.recipients[1].outcome, Outcome::Permanent);
  EXPECT_EQ(result.recipients[1].code, 550);
  EXPECT_EQ(result.recipients[1].status.str(), "5.1.1");
  EXPECT_EQ(result.recipients[2].outcome, Outcome::Delivered) << result.recipients[2].text;
  for (const char* user : {"alice", "bob"}) {
    const auto inbox = lmtp.messages(user);
    ASSERT_EQ(inbox.size(), 1u) << user;
    EXPECT_NE(inbox[0].find("Subject: lmtp delivery"), std::string::npos);
    EXPECT_NE(inbox[0].find("Return-Path: <alice@example.com>"), std::string::npos);
    // The maildir stores LF line ends; every line of every BDAT chunk arrived.
    const auto count_lines = [](const std::string& text) {
      std::size_t n = 0;
      for (auto pos = text.find("fills the message"); pos != std::string::npos; pos = text.find("fills the message", pos + 1)) ++n;
      return n;
    };
    EXPECT_EQ(count_lines(inbox[0]), count_lines(content));
  }
}

class SmtpClientWithTls : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = gw::test::TestPki::create(dir_.path(), "mbx1.example.com", "127.0.0.1");
    lmtp_.emplace(dir_.path(), std::vector<std::string>{"alice"}, &pki_);
  }
  ClientOptions required_tls() {
    auto options = client_options(Protocol::Lmtp);
    options.session.tls = TlsPolicy::Required;
    options.tls = make_client_tls_context({pki_.ca_cert.string()});
    return options;
  }
  TempDir dir_{"gw-delivery"};
  gw::test::TestPki pki_;
  std::optional<gw::test::DovecotLmtp> lmtp_;
};

TEST_F(SmtpClientWithTls, RequiredTlsVerifiesTheChainAndHostNameAndDelivers) {
  const auto result = deliver_once(local(lmtp_->port(), "mbx1.example.com"), required_tls(),
                                   message({"alice@example.com"}, kContent), kContent);
  EXPECT_EQ(result.recipients.at(0).outcome, Outcome::Delivered) << result.recipients.at(0).text;
  EXPECT_EQ(lmtp_->messages("alice").size(), 1u);
}

TEST_F(SmtpClientWithTls, AddressLiteralSmartHostIsVerifiedAgainstTheCertificateIpAddress) {
  const auto result = deliver_once(local(lmtp_->port(), "127.0.0.1"), required_tls(),
                                   message({"alice@example.com"}, kContent), kContent);
  EXPECT_EQ(result.recipients.at(0).outcome, Outcome::Delivered) << result.recipients.at(0).text;
}

TEST_F(SmtpClientWithTls, CertificateForAnotherHostNameIsTransient474AndNothingIsSent) {
  const auto result = deliver_once(local(lmtp_->port(), "mx.other.example"), required_tls(),
                                   message({"alice@example.com"}, kContent), kContent);
  EXPECT_EQ(result.recipients.at(0).outcome, Outcome::Transient);
  EXPECT_EQ(result.recipients.at(0).status.str(), "4.7.4");
  EXPECT_NE(result.recipients.at(0).text.find("certificate"), std::string::npos) << result.recipients.at(0).text;
  EXPECT_TRUE(lmtp_->messages("alice").empty());
}

TEST_F(SmtpClientWithTls, UntrustedCaIsTransient474) {
  TempDir other("gw-delivery-ca");
  const auto foreign = gw::test::TestPki::create(other.path(), "mbx1.example.com");
  auto options = required_tls();
  options.tls = make_client_tls_context({foreign.ca_cert.string()});
  const auto result = deliver_once(local(lmtp_->port(), "mbx1.example.com"), options,
                                   message({"alice@example.com"}, kContent), kContent);
  EXPECT_EQ(result.recipients.at(0).status.str(), "4.7.4");
  EXPECT_TRUE(lmtp_->messages("alice").empty());
}

TEST_F(SmtpClientWithTls, OpportunisticTlsEncryptsWithoutVerifying) {
  auto options = client_options(Protocol::Lmtp);
  options.session.tls = TlsPolicy::Opportunistic;
  options.tls = make_client_tls_context({});
  bool encrypted = false;
  const auto m = message({"alice@example.com"}, kContent);
  const auto result = run_io<MessageResult>([&](asio::any_io_executor ex) -> asio::awaitable<MessageResult> {
    auto connection = co_await OutboundConnection::open(ex, local(lmtp_->port(), "unverified.example"), options);
    encrypted = connection->session().tls_active();
    StringBodySource body(kContent);
    auto delivered = co_await connection->deliver(m, body);
    co_await connection->quit();
    co_return delivered;
  });
  EXPECT_TRUE(encrypted);
  EXPECT_EQ(result.recipients.at(0).outcome, Outcome::Delivered);
  EXPECT_EQ(lmtp_->messages("alice").size(), 1u);
}

// ---- Role reversal (ATRN): the client session over a connection we accepted ----

// The accepted socket as the adopted stream.
class AcceptedSocket final : public ByteStream {
 public:
  explicit AcceptedSocket(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, boost::system::error_code& ec) override {
    co_return co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> write(asio::const_buffer buffer, boost::system::error_code& ec) override {
    co_await asio::async_write(socket_, buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  void cancel() noexcept override {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  void close() noexcept override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  asio::ip::tcp::socket socket_;
};

// Copies octets one way until the sender closes, as an ODMR client (fetchmail)
// splices the reversed connection to its local MTA. The pumps share the
// sockets: they end after the test's coroutine that closed them.
using SharedSocket = std::shared_ptr<asio::ip::tcp::socket>;
asio::awaitable<void> pump(SharedSocket from, SharedSocket to) {
  std::array<char, 4096> buffer;
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = co_await from->async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(*to, asio::buffer(buffer.data(), n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  boost::system::error_code ignored;
  to->shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

// A connection the test accepted, whose other end is spliced to `mta_port`
// (or left silent when 0); runs `work` over it.
template <typename T>
T over_reversed_connection(std::uint16_t mta_port, std::function<asio::awaitable<T>(asio::any_io_executor, ByteStream&)> work) {
  return run_io<T>([&](asio::any_io_executor ex) -> asio::awaitable<T> {
    asio::ip::tcp::acceptor acceptor(ex, {asio::ip::make_address("127.0.0.1"), 0});
    auto customer = std::make_shared<asio::ip::tcp::socket>(ex);
    auto mta = std::make_shared<asio::ip::tcp::socket>(ex);
    co_await customer->async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    AcceptedSocket accepted(co_await acceptor.async_accept(asio::use_awaitable));
    if (mta_port != 0) {
      const asio::ip::tcp::endpoint mta_endpoint{asio::ip::make_address("127.0.0.1"), mta_port};
      co_await mta->async_connect(mta_endpoint, asio::use_awaitable);
      asio::co_spawn(ex, pump(customer, mta), asio::detached);
      asio::co_spawn(ex, pump(mta, customer), asio::detached);
    }
    T out = co_await work(ex, accepted);
    boost::system::error_code ignored;
    customer->close(ignored);
    mta->close(ignored);
    co_return out;
  });
}

TEST(SmtpClientReversed, AnAdoptedConnectionDeliversToThePeerThatGreetsOverIt) {
  TempDir dir("gw-delivery");
  gw::test::SmtpSink sink(dir.path());
  const auto m = message({"office@branch.example"}, kContent);
  const auto result = over_reversed_connection<MessageResult>(
      sink.port(), [&](asio::any_io_executor ex, ByteStream& stream) -> asio::awaitable<MessageResult> {
        Endpoint peer = local(0, "branch-gw.example");
        const ClientOptions options = client_options();
        auto connection = co_await OutboundConnection::adopt(ex, stream, std::move(peer), options);
        if (!connection->usable()) co_return fail_all(m, *connection->failure());
        StringBodySource body(kContent);
        auto delivered = co_await connection->deliver(m, body);
        co_await connection->quit();
        co_return delivered;
      });
  ASSERT_EQ(result.recipients.size(), 1u);
  EXPECT_EQ(result.recipients[0].outcome, Outcome::Delivered) << result.recipients[0].text;
  EXPECT_EQ(result.recipients[0].code, 250);
  const auto dumps = sink.transactions();
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("Subject: quarterly report"), std::string::npos) << dumps[0];
}

TEST(SmtpClientReversed, APeerThatNeverGreetsLeavesTheConnectionUnusedWith4_4_1) {
  auto options = client_options();
  options.timeouts.greeting = options.timeouts.command = std::chrono::milliseconds(300);
  const auto failure = over_reversed_connection<ConnectionFailure>(
      0, [&](asio::any_io_executor ex, ByteStream& stream) -> asio::awaitable<ConnectionFailure> {
        Endpoint peer = local(0, "branch-gw.example");
        auto connection = co_await OutboundConnection::adopt(ex, stream, std::move(peer), options);
        co_return connection->failure().value_or(ConnectionFailure{});
      });
  EXPECT_EQ(failure.outcome, Outcome::Transient);
  EXPECT_EQ(failure.status.str(), "4.4.1") << failure.text;
}

}  // namespace
}  // namespace gw::delivery
