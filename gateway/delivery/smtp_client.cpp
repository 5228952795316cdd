#include "gateway/delivery/smtp_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>

#include "gateway/common/log.h"
#include "gateway/delivery/body_encoder.h"

namespace gw::delivery {
namespace {

constexpr std::size_t kBodyChunk = 64 * 1024;

std::shared_ptr<asio::ssl::context> default_tls_context() {
  static const auto context = make_client_tls_context({});
  return context;
}

std::string status_word(Outcome outcome) {
  switch (outcome) {
    case Outcome::Delivered: return "sent";
    case Outcome::Transient: return "deferred";
    case Outcome::Permanent: return "bounced";
  }
  return "unknown";
}

}  // namespace

std::chrono::milliseconds Timeouts::of(Stage stage) const noexcept {
  switch (stage) {
    case Stage::Greeting: return greeting;
    case Stage::DataInit: return data_init;
    case Stage::DataBlock: return data_block;
    case Stage::DataTerm: return data_term;
    case Stage::Quit: return quit;
    default: return command;
  }
}

std::shared_ptr<asio::ssl::context> make_client_tls_context(const TlsSettings& settings) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  if (settings.ca_file.empty())
    context->set_default_verify_paths();
  else
    context->load_verify_file(settings.ca_file);  // throws: configuration error
  return context;
}

std::string Endpoint::str() const {
  const auto ip = address.address().to_string();
  return host_name + "[" + ip + "]:" + std::to_string(address.port());
}

class OutboundConnection::SocketStream final : public ByteStream {
 public:
  SocketStream(asio::any_io_executor executor, asio::ssl::context& context) : stream(executor, context) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, boost::system::error_code& ec) override {
    if (tls) co_return co_await stream.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    co_return co_await stream.next_layer().async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> write(asio::const_buffer buffer, boost::system::error_code& ec) override {
    if (tls)
      co_await asio::async_write(stream, buffer, asio::redirect_error(asio::use_awaitable, ec));
    else
      co_await asio::async_write(stream.next_layer(), buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  void cancel() noexcept override {
    boost::system::error_code ignored;
    stream.next_layer().cancel(ignored);
  }
  void close() noexcept override {
    boost::system::error_code ignored;
    stream.next_layer().close(ignored);
  }

  asio::ssl::stream<asio::ip::tcp::socket> stream;
  bool tls = false;  // the handshake after STARTTLS succeeded
};

OutboundConnection::OutboundConnection(asio::any_io_executor executor, Endpoint endpoint, ClientOptions options)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      tls_context_(options_.tls ? options_.tls : default_tls_context()),
      timer_(executor),
      session_(options_.session) {
  // Without a context opportunistic TLS is off; required TLS is never
  // downgraded: it uses the system's trust store instead.
  if (!options_.tls && options_.session.tls == TlsPolicy::Opportunistic) options_.session.tls = TlsPolicy::Never;
  options_.session.peer_name = endpoint_.host_name;
  session_ = ClientSession(options_.session);
}

OutboundConnection::~OutboundConnection() { close(); }

void OutboundConnection::arm(std::chrono::milliseconds timeout) {
  *timed_out_ = false;
  timer_.expires_after(timeout);
  timer_.async_wait([flag = timed_out_, this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the operation finished in time (or we are gone)
    *flag = true;
    if (io_) io_->cancel();
  });
}

void OutboundConnection::disarm() { timer_.cancel(); }

void OutboundConnection::close() {
  timer_.cancel();
  if (io_) io_->close();
}

asio::awaitable<std::unique_ptr<OutboundConnection>> OutboundConnection::open(asio::any_io_executor executor,
                                                                             Endpoint endpoint,
                                                                             ClientOptions options) {
  std::unique_ptr<OutboundConnection> connection(
      new OutboundConnection(executor, std::move(endpoint), std::move(options)));
  auto& self = *connection;
  self.socket_ = std::make_unique<SocketStream>(executor, *self.tls_context_);
  self.io_ = self.socket_.get();
  auto& socket = self.socket_->stream.next_layer();
  boost::system::error_code ec;
  self.arm(self.options_.timeouts.connect);
  co_await socket.async_connect(self.endpoint_.address, asio::redirect_error(asio::use_awaitable, ec));
  self.disarm();
  if (ec) {
    const std::string detail = *self.timed_out_ ? "connect timed out" : "connect: " + ec.message();
    self.session_.start();
    self.session_.on_connection_lost(self.endpoint_.str() + ": " + detail);
    log::info({"delivery", 0, self.endpoint_.str()}, "delivery: {}: {}", self.endpoint_.str(), detail);
    co_return connection;
  }
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  co_await self.drive(self.session_.start(), nullptr);
  co_return connection;
}

asio::awaitable<std::unique_ptr<OutboundConnection>> OutboundConnection::adopt(asio::any_io_executor executor,
                                                                              ByteStream& stream, Endpoint peer,
                                                                              ClientOptions options) {
  options.session.tls = TlsPolicy::Never;
  options.session.credentials.reset();
  options.tls.reset();
  std::unique_ptr<OutboundConnection> connection(new OutboundConnection(executor, std::move(peer), std::move(options)));
  connection->io_ = &stream;
  co_await connection->drive(connection->session_.start(), nullptr);
  co_return connection;
}

asio::awaitable<bool> OutboundConnection::write(std::string_view bytes, std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  arm(timeout);
  co_await io_->write(asio::buffer(bytes.data(), bytes.size()), ec);
  disarm();
  if (ec) last_error_ = *timed_out_ ? "write timed out" : "write: " + ec.message();
  co_return !ec;
}

asio::awaitable<std::optional<Reply>> OutboundConnection::read_reply(Stage stage) {
  std::array<char, 4096> buffer;
  for (;;) {
    if (auto next = parser_.next()) {
      if (next->has_value()) co_return std::move(**next);
      last_error_ = "bad reply: " + next->error().message();
      co_return std::nullopt;
    }
    boost::system::error_code ec;
    arm(options_.timeouts.of(stage));
    const std::size_t n = co_await io_->read_some(asio::buffer(buffer), ec);
    disarm();
    if (ec) {
      last_error_ = *timed_out_ ? "timeout waiting for the " + std::string(stage_name(stage)) + " reply"
                                : "lost connection waiting for the " + std::string(stage_name(stage)) +
                                      " reply: " + ec.message();
      co_return std::nullopt;
    }
    parser_.put(std::string_view(buffer.data(), n));
  }
}

asio::awaitable<bool> OutboundConnection::handshake() {
  // RFC 3207 5: anything the peer sent after its 220 was not protected; a peer
  // that does that is broken or under attack.
  if (parser_.buffered() > 0) {
    last_error_ = "plaintext received after the STARTTLS reply";
    co_return false;
  }
  if (!socket_) {
    last_error_ = "no TLS on an adopted connection";
    co_return false;
  }
  auto& stream = socket_->stream;
  SSL* ssl = stream.native_handle();
  const bool verify = options_.session.tls == TlsPolicy::Required;
  // An address literal smart host is checked against the certificate's IP
  // addresses, and is never sent as SNI (RFC 6066 3).
  boost::system::error_code not_ip;
  asio::ip::make_address(endpoint_.host_name, not_ip);
  const bool literal = !not_ip;
  if (!literal) SSL_set_tlsext_host_name(ssl, endpoint_.host_name.c_str());
  if (verify) {
    stream.set_verify_mode(asio::ssl::verify_peer);
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint_.host_name.c_str())
                            : SSL_set1_host(ssl, endpoint_.host_name.c_str());
    if (set != 1) {
      last_error_ = "cannot set the peer identity to verify";
      co_return false;
    }
  } else {
    stream.set_verify_mode(asio::ssl::verify_none);
  }
  boost::system::error_code ec;
  arm(options_.timeouts.command);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  if (ec) {
    const long verify_result = SSL_get_verify_result(ssl);
    last_error_ = *timed_out_ ? "TLS handshake timed out" : ec.message();
    if (verify && verify_result != X509_V_OK)
      last_error_ += std::string(" (certificate: ") + X509_verify_cert_error_string(verify_result) + ")";
    co_return false;
  }
  socket_->tls = true;
  log::info({"delivery", 0, endpoint_.str()}, "delivery: {}: TLS {} {}{}", endpoint_.str(), SSL_get_version(ssl),
            SSL_get_cipher_name(ssl), verify ? ", certificate and host name verified" : ", not verified");
  co_return true;
}

asio::awaitable<std::optional<std::size_t>> OutboundConnection::send_body(BodyEncoding encoding, BodySource& body) {
  if (auto rewound = co_await body.rewind(); !rewound) {
    last_error_ = rewound.error().message();
    co_return std::nullopt;
  }
  std::string chunk(kBodyChunk, '\0');
  std::string next(kBodyChunk, '\0');
  const std::span<char> chunk_buffer(chunk.data(), chunk.size());
  const std::span<char> next_buffer(next.data(), next.size());
  std::string out;
  if (encoding == BodyEncoding::Data) {
    DotStuffer stuffer;
    for (;;) {
      auto n = co_await body.read(chunk_buffer);
      if (!n) {
        last_error_ = n.error().message();
        co_return std::nullopt;
      }
      out.clear();
      if (*n == 0) {
        stuffer.finish(out);
        if (!co_await write(out, options_.timeouts.data_block)) co_return std::nullopt;
        co_return 0;
      }
      stuffer.put(std::string_view(chunk.data(), *n), out);
      if (!co_await write(out, options_.timeouts.data_block)) co_return std::nullopt;
    }
  }
  // BDAT: read one chunk ahead so the last one carries LAST (RFC 3030 2). The
  // two buffers swap roles after each chunk.
  std::span<char> current = chunk_buffer;
  std::span<char> ahead_buffer = next_buffer;
  auto filled = co_await body.read(current);
  std::size_t chunks = 0;
  for (;;) {
    if (!filled) {
      last_error_ = filled.error().message();
      co_return std::nullopt;
    }
    const std::size_t size = *filled;
    Result<std::size_t> ahead = std::size_t{0};
    if (size > 0) ahead = co_await body.read(ahead_buffer);
    if (!ahead) {
      last_error_ = ahead.error().message();
      co_return std::nullopt;
    }
    const bool last = size == 0 || *ahead == 0;
    out = "BDAT " + std::to_string(size) + (last ? " LAST\r\n" : "\r\n");
    out.append(current.data(), size);
    if (!co_await write(out, options_.timeouts.data_block)) co_return std::nullopt;
    ++chunks;
    if (last) co_return chunks;
    std::swap(current, ahead_buffer);
    filled = ahead;
  }
}

asio::awaitable<Action> OutboundConnection::drive(Action action, BodySource* body) {
  const std::string peer = endpoint_.str();  // the context only views it
  const log::Context context{"delivery", 0, peer};
  for (;;) {
    if (std::holds_alternative<Ready>(action)) co_return action;
    if (std::holds_alternative<Close>(action)) {
      close();
      co_return action;
    }
    if (auto* write_action = std::get_if<Write>(&action)) {
      log::debug(context, "delivery: > {}",
                 write_action->sensitive ? std::string("<authentication data>") : log::printable(write_action->bytes));
      if (!co_await write(write_action->bytes, options_.timeouts.command)) {
        action = session_.on_connection_lost(last_error_);
        continue;
      }
      action = ReadReply{write_action->stage};
    }
    if (auto* read = std::get_if<ReadReply>(&action)) {
      auto reply = co_await read_reply(read->stage);
      if (!reply) {
        if (session_.in_at_least_once_window())
          log::warn(context,
                    "delivery: {}: connection lost after the end of data was sent and before its reply "
                    "(at-least-once window): the message may have been delivered and will be sent again",
                    endpoint_.str());
        action = session_.on_connection_lost(last_error_);
        continue;
      }
      log::debug(context, "delivery: < {}", log::printable(reply->str()));
      action = session_.on_reply(*reply);
      continue;
    }
    if (std::holds_alternative<StartTls>(action)) {
      const bool established = co_await handshake();
      action = session_.on_tls_result(established, last_error_);
      continue;
    }
    if (auto* send = std::get_if<SendBody>(&action)) {
      std::optional<std::size_t> chunks;
      if (body) chunks = co_await send_body(send->encoding, *body);
      if (!chunks) {
        action = session_.on_connection_lost(body ? last_error_ : "no content to send");
        continue;
      }
      log::debug(context, "delivery: {}: content sent, in the at-least-once window until the reply arrives",
                 endpoint_.str());
      action = session_.on_body_sent(*chunks);
      continue;
    }
  }
}

asio::awaitable<MessageResult> OutboundConnection::deliver(OutboundMessage message, BodySource& body) {
  const std::string queue_id = message.queue_id;
  const auto start = std::chrono::steady_clock::now();
  co_await drive(session_.send(std::move(message)), &body);
  auto result = session_.take_result().value_or(MessageResult{});
  const double delay = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& r : result.recipients)
    log::info({"delivery", 0, {}, queue_id}, "to=<{}>, relay={}, delay={:.2f}, dsn={}, status={} ({})",
              log::printable(r.address), endpoint_.str(), delay, r.status.str(), status_word(r.outcome),
              log::printable(r.text));
  co_return result;
}

asio::awaitable<void> OutboundConnection::quit() {
  if (session_.idle()) co_await drive(session_.quit(), nullptr);
  close();
}

asio::awaitable<std::unique_ptr<OutboundConnection>> connect_first(asio::any_io_executor executor,
                                                                  const std::vector<Endpoint>& hosts,
                                                                  const ClientOptions& options,
                                                                  std::vector<std::string>& attempts,
                                                                  ConnectionFailure& failure) {
  failure = failure_of(FailureKind::NoMailExchanger, "no host to try");
  for (const auto& host : hosts) {
    auto connection = co_await OutboundConnection::open(executor, host, options);
    if (!connection->usable() && connection->failure() && connection->failure()->retry_without_tls) {
      // Opportunistic TLS that fails is not a reason to keep mail waiting.
      attempts.push_back(host.str() + ": " + connection->failure()->text + "; retrying without TLS");
      auto plaintext = options;
      plaintext.tls.reset();
      connection = co_await OutboundConnection::open(executor, host, plaintext);
    }
    if (connection->usable()) {
      attempts.push_back(host.str() + ": session established");
      co_return connection;
    }
    failure = connection->failure().value_or(failure_of(FailureKind::HostNotResponding, host.str()));
    attempts.push_back(host.str() + ": " + failure.text);
    if (!failure.try_next_host) break;
  }
  co_return nullptr;
}

asio::awaitable<DeliveryReport> deliver_to_hosts(asio::any_io_executor executor, const std::vector<Endpoint>& hosts,
                                                 const ClientOptions& options, const OutboundMessage& message,
                                                 BodySource& body) {
  DeliveryReport report;
  ConnectionFailure failure;
  auto connection = co_await connect_first(executor, hosts, options, report.attempts, failure);
  if (!connection) {
    report.result = fail_all(message, failure);
    co_return report;
  }
  report.result = co_await connection->deliver(message, body);
  report.delivered_via = connection->endpoint();
  co_await connection->quit();
  co_return report;
}

}  // namespace gw::delivery
