// OutboundConnection: the Asio driver of one outbound SMTP/LMTP connection.
//
// It connects (with a timeout), drives a ClientSession, performs its actions on
// the socket (STARTTLS through asio::ssl::stream, TLS 1.2 or later) and returns
// per-recipient results. Timeouts are RFC 5321 4.5.3.2's client timeouts, one
// per Stage, configurable; an expired timeout closes the socket and the
// recipients get 4.4.1 (no greeting) or 4.4.2 (dropped). When TLS is required
// the peer's certificate chain is verified against the configured CA file and
// its name against the host name we connected to; opportunistic TLS encrypts
// without verifying, like Postfix's "may" level. The at-least-once window
// (ClientSession) is logged when a connection is lost inside it.
// Executor: every operation runs on the executor given to open(); one coroutine
// at a time per connection. Not responsible for choosing hosts (deliver_to_hosts
// below tries a list in order), for DNS (MxResolver) or for connection limits
// (ConnectionPool).
// Role reversal (ATRN, RFC 2645 4.2): adopt() runs the same client session over
// a ByteStream the server side accepted; the peer's greeting starts it, and no
// STARTTLS or AUTH is negotiated inside it (the inbound connection's own TLS and
// authentication already apply).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>

#include "gateway/common/asio.h"
#include "gateway/delivery/body_source.h"
#include "gateway/common/byte_stream.h"
#include "gateway/delivery/client_session.h"

namespace gw::delivery {

// RFC 5321 4.5.3.2 defaults.
struct Timeouts {
  std::chrono::milliseconds connect = std::chrono::seconds(30);
  std::chrono::milliseconds greeting = std::chrono::minutes(5);
  std::chrono::milliseconds command = std::chrono::minutes(5);     // EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET
  std::chrono::milliseconds data_init = std::chrono::minutes(2);
  std::chrono::milliseconds data_block = std::chrono::minutes(3);
  std::chrono::milliseconds data_term = std::chrono::minutes(10);
  std::chrono::milliseconds quit = std::chrono::seconds(30);

  std::chrono::milliseconds of(Stage stage) const noexcept;
};

struct TlsSettings {
  // CA certificates (PEM) that verify peers when TLS is required; empty = the
  // system's default verify paths.
  std::string ca_file;
};

// A client TLS context: TLS 1.2 or later, CA file (or system paths) loaded.
// Throws on a CA file that cannot be read (configuration time).
std::shared_ptr<asio::ssl::context> make_client_tls_context(const TlsSettings& settings);

struct ClientOptions {
  SessionOptions session;
  Timeouts timeouts;
  std::shared_ptr<asio::ssl::context> tls;   // null: no opportunistic STARTTLS; required TLS uses system CAs
};

struct Endpoint {
  std::string host_name;                      // for certificate checks and logs; the IP when a literal
  asio::ip::tcp::endpoint address;
  std::string str() const;                    // "mx1.example.com[192.0.2.1]:25"
};

class OutboundConnection {
 public:
  // Connects and runs the session up to Ready; check failure() afterwards.
  static asio::awaitable<std::unique_ptr<OutboundConnection>> open(asio::any_io_executor executor, Endpoint endpoint,
                                                                  ClientOptions options);
  // Runs the session over `stream` (which must outlive the connection), from
  // the peer's greeting up to Ready; check failure() afterwards. `peer` names
  // the other side in logs and results.
  static asio::awaitable<std::unique_ptr<OutboundConnection>> adopt(asio::any_io_executor executor,
                                                                   ByteStream& stream, Endpoint peer,
                                                                   ClientOptions options);
  ~OutboundConnection();

  // Sends one message; the connection stays open for the next when usable().
  asio::awaitable<MessageResult> deliver(OutboundMessage message, BodySource& body);
  // Says QUIT (when usable) and closes.
  asio::awaitable<void> quit();

  bool usable() const noexcept { return session_.idle(); }
  const std::optional<ConnectionFailure>& failure() const noexcept { return session_.failure(); }
  const ClientSession& session() const noexcept { return session_; }
  const Endpoint& endpoint() const noexcept { return endpoint_; }

 private:
  OutboundConnection(asio::any_io_executor executor, Endpoint endpoint, ClientOptions options);

  // Performs actions until the session is Ready or closed; returns the last action.
  asio::awaitable<Action> drive(Action action, BodySource* body);
  asio::awaitable<bool> write(std::string_view bytes, std::chrono::milliseconds timeout);
  asio::awaitable<std::optional<Reply>> read_reply(Stage stage);
  asio::awaitable<std::optional<std::size_t>> send_body(BodyEncoding encoding, BodySource& body);
  asio::awaitable<bool> handshake();
  void arm(std::chrono::milliseconds timeout);
  void disarm();
  void close();

  Endpoint endpoint_;
  ClientOptions options_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  // The connection open() makes: TCP, then TLS after STARTTLS. Null when adopted.
  class SocketStream;
  std::unique_ptr<SocketStream> socket_;
  ByteStream* io_ = nullptr;  // what the session runs over: *socket_, or the adopted stream
  asio::steady_timer timer_;
  std::shared_ptr<bool> timed_out_ = std::make_shared<bool>(false);
  ClientSession session_;
  ReplyParser parser_;
  std::string last_error_;
};

// Tries `hosts` in order: a host that cannot be reached or refuses the session
// (connection refused, no greeting, 4xx/5xx greeting or EHLO, TLS failure)
// gives way to the next; the first host that takes the transaction decides the
// per-recipient results. With no host left, the last failure applies to all.
struct DeliveryReport {
  MessageResult result;
  std::optional<Endpoint> delivered_via;   // the host that held the transaction
  std::vector<std::string> attempts;       // one line per host tried, for the log
};
// The first host of `hosts` that takes a session (same fallback rules); null
// when none does, with `failure` saying why the last one did not.
asio::awaitable<std::unique_ptr<OutboundConnection>> connect_first(asio::any_io_executor executor,
                                                                  const std::vector<Endpoint>& hosts,
                                                                  const ClientOptions& options,
                                                                  std::vector<std::string>& attempts,
                                                                  ConnectionFailure& failure);
asio::awaitable<DeliveryReport> deliver_to_hosts(asio::any_io_executor executor, const std::vector<Endpoint>& hosts,
                                                 const ClientOptions& options, const OutboundMessage& message,
                                                 BodySource& body);

}  // namespace gw::delivery
