#include "gateway/server/smtp_connection.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "gateway/common/byte_stream.h"
#include "gateway/common/log.h"
#include "gateway/events/bus.h"
#include "gateway/queue/spool_error.h"

namespace gw::server {
namespace {

constexpr std::size_t kMaxLoggedQuery = 256;

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  const auto address = canonical(endpoint.address());
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

envelope::Ret to_proto(smtp::Ret ret) {
  switch (ret) {
    case smtp::Ret::Full: return envelope::RET_FULL;
    case smtp::Ret::Headers: return envelope::RET_HDRS;
    case smtp::Ret::Unspecified: break;
  }
  return envelope::RET_UNSPECIFIED;
}

envelope::BodyType to_proto(smtp::BodyType body) {
  switch (body) {
    case smtp::BodyType::EightBitMime: return envelope::BODY_8BITMIME;
    case smtp::BodyType::BinaryMime: return envelope::BODY_BINARYMIME;
    case smtp::BodyType::SevenBit: break;
  }
  return envelope::BODY_7BIT;
}

smtp::CommitFailure commit_failure(const Error& error) {
  return error.code == queue::SpoolErrc::NoSpace ? smtp::CommitFailure::InsufficientStorage
                                                 : smtp::CommitFailure::LocalError;
}

smtp::PeerInfo peer_info(const asio::ip::tcp::socket& socket, const VirtualServerSettings& settings) {
  smtp::PeerInfo peer;
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (!ec) {
    const auto address = canonical(remote.address());
    peer.ip = address.to_string();
    peer.port = remote.port();
    peer.relay_allowed = settings.relay_networks.contains(address);
    peer.etrn_allowed = settings.etrn_hosts.empty() || settings.etrn_hosts.contains(address);
  }
  return peer;
}

}  // namespace

SmtpConnection::SmtpConnection(asio::ip::tcp::socket socket, std::shared_ptr<VirtualServer> server,
                               ConnectionGate::Ticket ticket, ConnectionServices services,
                               std::uint64_t session_id)
    : transport_(std::move(socket)),
      server_(std::move(server)),
      settings_(server_->settings()),
      protocol_log_(server_->protocol_log()),
      ticket_(std::move(ticket)),
      services_(services),
      session_id_(session_id),
      session_(settings_->policy, peer_info(transport_.socket(), *settings_)),
      deadline_(transport_.socket().get_executor()) {
  boost::system::error_code ec;
  const auto remote = transport_.socket().remote_endpoint(ec);
  peer_text_ = ec ? "unknown" : endpoint_text(remote);
  const auto local = transport_.socket().local_endpoint(ec);
  if (!ec) {
    local_ip_ = canonical(local.address()).to_string();
    local_port_ = local.port();
  }
}

log::Context SmtpConnection::log_context() const {
  return log::Context{"smtp", session_id_, peer_text_, queue_id_};
}

asio::awaitable<void> SmtpConnection::refuse(asio::ip::tcp::socket socket, Refusal refusal, std::string fqdn,
                                             std::uint64_t session_id, bool implicit_tls,
                                             std::shared_ptr<asio::ssl::context> tls_context) {
  Transport transport(std::move(socket));
  boost::system::error_code ec;
  const auto remote = transport.socket().remote_endpoint(ec);
  const std::string peer = ec ? "unknown" : endpoint_text(remote);
  static_cast<void>(session_id);  // no session is opened: the refusal is reported with the peer
  events::ConnectionRefused refused;
  refused.peer = peer;
  refused.reply_code = static_cast<unsigned>(refusal.code);
  refused.status = refusal.status.str();
  refused.reason = refusal.text;
  events::emit(std::move(refused));
  const smtp::Reply reply(refusal.code, refusal.status, fqdn + " " + refusal.text);
  std::string wire = reply.wire();
  // RFC 5321 3.8: the server closes only after a 421. A 554 in place of the
  // greeting (3.1) would oblige it to wait for QUIT; the 421 ends it here.
  if (refusal.code != 421)
    wire += smtp::Reply(421, smtp::status(4, 7, 0), fqdn + " Closing connection").wire();
  // The peer may never read (or never finish a handshake); do not let it hold the socket open.
  asio::steady_timer guard(transport.socket().get_executor());
  guard.expires_after(std::chrono::seconds(10));
  guard.async_wait([&transport](boost::system::error_code wait_ec) {
    if (!wait_ec) transport.cancel();
  });
  if (implicit_tls) {
    // A plaintext reply would only be a TLS protocol error to this client.
    if (tls_context) co_await transport.start_tls(*tls_context, ec);
    if (!tls_context || ec) {
      guard.cancel();
      transport.close();
      co_return;
    }
  }
  co_await transport.write(asio::buffer(wire), ec);
  guard.cancel();
  transport.close();
}

asio::awaitable<void> SmtpConnection::run() {
  auto self = shared_from_this();
  events::emit(events::SessionOpened{{}, session_id_, peer_text_, settings_->id,
                                     local_ip_ + ":" + std::to_string(local_port_)});
  asio::co_spawn(deadline_.get_executor(), [self]() { return self->watchdog(); }, asio::detached);

  if (implicit_tls_ && !co_await handshake()) {
    closed_ = true;
    deadline_.cancel();
    transport_.close();
    emit_closed("tls-failed");
    co_return;
  }
  // On an implicit-TLS binding the client speaks first by design (the
  // handshake); early talking is judged on plaintext bindings only.
  const bool spoke_first = !implicit_tls_ && co_await client_spoke_first();
  if (spoke_first) log::info(log_context(), "client talked before the greeting");
  smtp::Action action = session_.on_connect(spoke_first);
  for (;;) {
    if (co_await perform(std::move(action)) == Next::Close) break;
    smtp::Command command;
    if (!co_await next_command(command)) {
      if (shutting_down_) {
        log::info(log_context(), "gateway stopping: closing the session");
        log_method_ = "+Shutdown";
        log_query_.clear();
        co_await perform(session_.on_shutdown());
      } else if (timed_out_) {
        log::info(log_context(), "timeout in phase {}", static_cast<int>(session_.phase()));
        log_method_ = "+Timeout";
        log_query_.clear();
        timed_out_ = false;
        co_await perform(session_.on_timeout());
      }
      break;
    }
    note_command(command);
    action = session_.on_command(command);
  }
  if (!out_.empty()) co_await flush();
  // Borrowed ATRN mail goes back even when the session ended unexpectedly.
  if (!turn_.messages.empty()) co_await return_turn();
  writer_.reset();  // an uncommitted message is abandoned: its files are removed
  co_await linger();
  closed_ = true;
  deadline_.cancel();
  transport_.close();
  emit_closed(shutting_down_ ? "stopping" : session_.phase() == smtp::Phase::Closing ? "quit" : "closed");
}

void SmtpConnection::emit_closed(std::string reason) const {
  events::emit(events::SessionClosed{{}, session_id_, peer_text_, settings_->id, messages_, std::move(reason)});
}

asio::awaitable<void> SmtpConnection::linger() {
  // Closing a socket that still holds unread input makes the kernel send a
  // reset, which can destroy the last reply (a 421 to a client that pipelined
  // or talked early) before the client reads it. So: half-close, read and
  // drop what the client still sends until it closes, for a bounded time.
  boost::system::error_code ec;
  transport_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  std::array<char, 4096> scratch;
  std::size_t drained = 0;
  deadline_.expires_after(kLinger);
  while (drained < kMaxLingerOctets) {
    const std::size_t n = co_await transport_.socket().async_read_some(
        asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    drained += n;
  }
  deadline_.expires_at(asio::steady_timer::time_point::max());
  timed_out_ = false;
}

void SmtpConnection::note_command(const smtp::Command& command) {
  const std::string_view line = command.line;
  const auto space = line.find(' ');
  std::string method(line.substr(0, std::min<std::size_t>(space, 16)));
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  log_method_ = std::move(method);
  if (command.verb == smtp::Verb::Rcpt)
    rcpt_text_ = command.error || command.path.null ? command.argument : command.path.mailbox.str();
  // AUTH arguments may carry credentials (initial response): never logged.
  if (command.verb == smtp::Verb::Auth || space == std::string_view::npos)
    log_query_.clear();
  else
    log_query_ = std::string(line.substr(space + 1, kMaxLoggedQuery));
  command_started_ = std::chrono::steady_clock::now();
}

void SmtpConnection::queue_reply(const smtp::Reply& reply) {
  const std::string wire = reply.wire();
  out_.append(wire);
  // Every refusal of a recipient is an event (application log, tracking, metrics).
  if (log_method_ == "RCPT" && reply.code >= 400) {
    events::RecipientRejected rejected;
    const auto& sender = session_.envelope().sender;
    rejected.subject.sender = sender.null ? std::string() : sender.mailbox.str();
    rejected.subject.recipient = rcpt_text_;
    rejected.session = session_id_;
    rejected.peer = peer_text_;
    rejected.virtual_server = settings_->id;
    rejected.status = reply.status ? reply.status->str() : std::string();
    for (const auto& line : reply.lines) rejected.reason += (rejected.reason.empty() ? "" : " ") + line;
    rejected.reply_code = static_cast<unsigned>(reply.code);
    events::emit(std::move(rejected));
  }
  if (protocol_log_) {
    ProtocolLogRecord record;
    record.when = std::chrono::system_clock::now();
    record.client_ip = peer_text_.substr(0, peer_text_.rfind(':'));
    record.username = !session_.auth_identity().empty() ? session_.auth_identity() : session_.envelope().helo;
    record.server_name = settings_->fqdn;
    record.server_ip = local_ip_;
    record.server_port = local_port_;
    record.method = log_method_;
    record.query = log_query_;
    record.status = reply.code;
    record.time_taken_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                          std::chrono::steady_clock::now() - command_started_)
                                                          .count());
    record.bytes_sent = wire.size();
    record.bytes_received = command_bytes_;
    protocol_log_->write(record);
  }
  command_bytes_ = 0;
}

void SmtpConnection::arm_deadline(std::chrono::seconds timeout) { deadline_.expires_after(timeout); }

asio::awaitable<void> SmtpConnection::watchdog() {
  auto self = shared_from_this();
  while (!closed_) {
    boost::system::error_code ec;
    co_await deadline_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    // A re-armed deadline aborts the wait; only a passed expiry is a timeout.
    if (deadline_.expiry() <= asio::steady_timer::clock_type::now()) {
      timed_out_ = true;
      deadline_.expires_at(asio::steady_timer::time_point::max());
      transport_.cancel();
    }
  }
}

asio::awaitable<bool> SmtpConnection::flush() {
  if (out_.empty()) co_return true;
  arm_deadline(settings_->timeouts.command);
  boost::system::error_code ec;
  co_await transport_.write(asio::buffer(out_), ec);
  out_.clear();
  deadline_.expires_at(asio::steady_timer::time_point::max());
  co_return !ec;
}

asio::awaitable<bool> SmtpConnection::client_spoke_first() {
  auto& socket = transport_.socket();
  boost::system::error_code ec;
  if (settings_->greeting_delay.count() > 0 && socket.available(ec) == 0 && !ec) {
    // Wait for the socket to turn readable, or for the delay to pass.
    auto waiting = std::make_shared<bool>(true);
    asio::steady_timer pause(socket.get_executor());
    pause.expires_after(settings_->greeting_delay);
    pause.async_wait([waiting, &socket](boost::system::error_code wait_ec) {
      if (!wait_ec && *waiting) socket.cancel();
    });
    co_await socket.async_wait(asio::ip::tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    *waiting = false;
    pause.cancel();
  }
  const std::size_t waiting_octets = socket.available(ec);
  co_return !ec && waiting_octets > 0;
}

asio::awaitable<bool> SmtpConnection::read_more(Clock::time_point deadline) {
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
    if (!last_read_filled_ && in_.capacity() > 2 * kCommandReadChunk) std::string().swap(in_);
  } else if (in_pos_ > kReadChunk) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  // Replies to everything answered so far go out before we wait for the peer.
  if (!co_await flush()) co_return false;
  const std::size_t old_size = in_.size();
  const std::size_t chunk = last_read_filled_ ? kReadChunk : kCommandReadChunk;
  in_.resize(old_size + chunk);
  deadline_.expires_at(deadline);
  boost::system::error_code ec;
  const std::size_t n = co_await transport_.read_some(asio::buffer(in_.data() + old_size, chunk), ec);
  deadline_.expires_at(asio::steady_timer::time_point::max());
  in_.resize(old_size + n);
  last_read_filled_ = n == chunk;
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted && ec != asio::error::connection_reset)
      log::info(log_context(), "read: {}", ec.message());
    co_return false;
  }
  co_return true;
}

void SmtpConnection::shut_down() {
  asio::post(deadline_.get_executor(), [self = shared_from_this()] {
    self->shutting_down_ = true;
    // A client in the middle of a transaction may finish it first.
    if (self->awaiting_command_ && !self->session_.in_transaction()) self->transport_.cancel();
  });
}

asio::awaitable<bool> SmtpConnection::next_command(smtp::Command& command) {
  // One deadline for the whole line, however it trickles in.
  const auto deadline = Clock::now() + settings_->timeouts.command;
  for (;;) {
    if (shutting_down_ && !session_.in_transaction()) co_return false;
    if (in_pos_ < in_.size()) {
      const std::size_t used = parser_.put(std::string_view(in_).substr(in_pos_));
      in_pos_ += used;
      command_bytes_ += used;
      if (parser_.ready()) {
        command = parser_.take();
        // Replies are written before every read, so an unwritten reply means
        // the client sent this command without waiting for it (RFC 2920).
        command.pipelined = !out_.empty();
        command.input_follows = in_pos_ < in_.size();
        co_return true;
      }
    }
    awaiting_command_ = true;
    const bool more = co_await read_more(deadline);
    awaiting_command_ = false;
    if (!more) co_return false;
  }
}

asio::awaitable<SmtpConnection::Next> SmtpConnection::perform(smtp::Action action) {
  for (;;) {
    if (auto* send = std::get_if<smtp::SendReply>(&action)) {
      queue_reply(send->reply);
      if (send->farewell) queue_reply(*send->farewell);
      if (send->discard_message) {
        writer_.reset();
        body_parser_.reset();
        spool_error_.reset();
      }
      co_return send->close_after ? Next::Close : Next::ReadCommand;
    }
    if (auto* check = std::get_if<smtp::CheckRecipient>(&action)) {
      RecipientQuery query{check->recipient, check->domain_class, check->vrfy, settings_->id};
      const auto& transaction = session_.envelope();
      query.sender = transaction.sender.null ? std::string() : transaction.sender.mailbox.str();
      query.authenticated = !session_.auth_identity().empty();
      query.accepted_so_far = transaction.recipients.size();
      query.declared_size = transaction.mail.size.value_or(0);
      const auto verdict = co_await services_.validator.check(std::move(query));
      action = session_.on_recipient_checked(verdict);
      continue;
    }
    if (auto* body = std::get_if<smtp::ReceiveBody>(&action)) {
      auto next = co_await receive_body(*body);
      if (!next) co_return Next::Close;  // peer gone or timed out (reply already queued)
      action = std::move(*next);
      continue;
    }
    if (auto* discard = std::get_if<smtp::DiscardBody>(&action)) {
      if (!co_await discard_body(discard->octets)) {
        if (!timed_out_) co_return Next::Close;
        timed_out_ = false;
        action = session_.on_timeout();
        continue;
      }
      queue_reply(discard->reply);
      co_return discard->close_after ? Next::Close : Next::ReadCommand;
    }
    if (auto* commit_request = std::get_if<smtp::CommitMessage>(&action)) {
      action = co_await commit(*commit_request);
      continue;
    }
    if (auto* tls = std::get_if<smtp::StartTls>(&action)) {
      if (!co_await start_tls(*tls)) co_return Next::Close;
      co_return Next::ReadCommand;
    }
    if (auto* release = std::get_if<smtp::ReleaseQueue>(&action)) {
      const smtp::ReleaseQueue request = *release;
      action = co_await release_queue(request);
      continue;
    }
    if (auto* trn = std::get_if<smtp::CheckTrnQueue>(&action)) {
      const smtp::CheckTrnQueue request = *trn;
      action = co_await check_trn_queue(request);
      continue;
    }
    if (auto* reverse = std::get_if<smtp::ReverseConnection>(&action)) {
      const smtp::ReverseConnection request = *reverse;
      co_await reverse_roles(request);
      co_return Next::Close;
    }
    if (auto* auth = std::get_if<smtp::Authenticate>(&action)) {
      const smtp::Authenticate request = *auth;
      AuthOutcome outcome = co_await authenticate(request);
      if (outcome.kind == AuthOutcome::Kind::ConnectionLost) {
        if (!timed_out_) co_return Next::Close;
        timed_out_ = false;
        action = session_.on_timeout();
        continue;
      }
      if (outcome.kind == AuthOutcome::Kind::Authenticated)
        action = session_.on_authenticated(std::move(outcome.identity), std::move(outcome.own_addresses));
      else
        action = session_.on_auth_failed(outcome.failure);
      continue;
    }
    co_return Next::Close;
  }
}

// The connection's side of a SASL exchange: 334 challenges out, raw lines in.
class ConnectionAuthChannel final : public AuthChannel {
 public:
  explicit ConnectionAuthChannel(SmtpConnection& connection) : connection_(connection) {}

  asio::awaitable<bool> send_challenge(std::string_view base64) override {
    // Not through queue_reply(): challenges are not protocol-log replies.
    connection_.out_.append("334 ").append(base64).append("\r\n");
    co_return co_await connection_.flush();
  }

  asio::awaitable<std::optional<AuthResponse>> read_response() override {
    const auto deadline = SmtpConnection::Clock::now() + connection_.settings_->timeouts.command;
    for (;;) {
      const std::string_view pending = std::string_view(connection_.in_).substr(connection_.in_pos_);
      const std::size_t end = pending.find("\r\n");
      if (end != std::string_view::npos && end <= SmtpConnection::kMaxAuthLine) {
        AuthResponse response{std::string(pending.substr(0, end))};
        connection_.in_pos_ += end + 2;
        co_return response;
      }
      if (end != std::string_view::npos || pending.size() > SmtpConnection::kMaxAuthLine) {
        // RFC 4954 4: 500 5.5.6 and the session goes on, once the line is read to its end.
        log::info(connection_.log_context(), "AUTH response line too long");
        if (!co_await connection_.skip_line(deadline)) co_return std::nullopt;
        co_return AuthResponse{{}, true};
      }
      if (!co_await connection_.read_more(deadline)) co_return std::nullopt;
    }
  }

 private:
  SmtpConnection& connection_;
};

asio::awaitable<AuthOutcome> SmtpConnection::authenticate(const smtp::Authenticate& request) {
  if (authenticator_ == nullptr) {
    log::warn(log_context(), "AUTH {}: no directory to check passwords against", request.mechanism);
    AuthOutcome unavailable;
    unavailable.failure = smtp::AuthFailure::Temporary;
    co_return unavailable;
  }
  if (!settings_->auth_directory_configured) {
    // Answered before any challenge: no credentials are asked for that could not be checked.
    log::warn(log_context(), "AUTH {}: the metabase names no directory to check passwords against",
              request.mechanism);
    AuthOutcome unavailable;
    unavailable.failure = smtp::AuthFailure::Temporary;
    co_return unavailable;
  }
  SaslSettings sasl;
  sasl.server_fqdn = settings_->fqdn;
  sasl.mechanisms = settings_->policy.auth_mechanisms;
  sasl.tls_active = transport_.tls_active();
  sasl.allow_plaintext_without_tls = settings_->policy.auth_without_tls;
  sasl.client_ip = session_.peer().ip;
  ConnectionAuthChannel channel(*this);
  AuthOutcome outcome = co_await authenticator_->authenticate(request, sasl, channel);
  co_return outcome;
}

asio::awaitable<bool> SmtpConnection::start_tls(const smtp::StartTls& request) {
  queue_reply(request.reply);
  if (!co_await flush()) co_return false;
  // RFC 3207 4.2: whatever the client sent after STARTTLS in plaintext is
  // discarded, never interpreted as commands of the protected session.
  if (in_pos_ < in_.size() || parser_.buffered() > 0)
    log::info(log_context(), "discarding {} octet(s) pipelined after STARTTLS", in_.size() - in_pos_ + parser_.buffered());
  in_.clear();
  in_pos_ = 0;
  parser_.reset();
  // g++ 12 miscompiles `co_return co_await ...` here (SIGILL): the value is named first.
  const bool established = co_await handshake();
  co_return established;
}

asio::awaitable<bool> SmtpConnection::handshake() {
  if (!settings_->tls_context) {
    // STARTTLS is offered only with a context; an implicit-TLS binding without
    // one is not opened, but a reload may have removed the certificate since.
    log::warn(log_context(), "TLS handshake: virtual server {} has no usable certificate", settings_->id);
    co_return false;
  }
  arm_deadline(settings_->timeouts.command);
  boost::system::error_code ec;
  co_await transport_.start_tls(*settings_->tls_context, ec);
  deadline_.expires_at(asio::steady_timer::time_point::max());
  if (ec) {
    log::info(log_context(), "TLS handshake failed: {}", timed_out_ ? std::string("timeout") : ec.message());
    timed_out_ = false;
    co_return false;
  }
  const auto description = transport_.tls_description();
  const auto blank = description.find(' ');
  events::emit(events::TlsEstablished{{}, session_id_, peer_text_, settings_->id, description.substr(0, blank),
                                      blank == std::string::npos ? std::string() : description.substr(blank + 1)});
  session_.on_tls_established(description);
  co_return true;
}

asio::awaitable<smtp::Action> SmtpConnection::release_queue(const smtp::ReleaseQueue& request) {
  smtp::ReleaseOutcome outcome;
  queue::QueueAdmin* admin = services_.queue_admin;
  if (admin == nullptr) {
    outcome.available = false;
    log::info(log_context(), "ETRN {}: no queue manager", log::printable(request.node));
    co_return session_.on_queue_released(outcome);
  }
  // The queues live on the admin executor; the result comes back here.
  auto release = [admin, domains = request.domains]() -> asio::awaitable<queue::ReleaseResult> {
    queue::ReleaseResult total;
    for (const std::string& domain : domains) {
      std::string name = domain;
      const queue::ReleaseResult one = co_await admin->release_domain(std::move(name));
      total.known_domain = total.known_domain || one.known_domain;
      total.messages += one.messages;
    }
    co_return total;
  };
  auto spawned = asio::co_spawn(admin->executor(), std::move(release), asio::use_awaitable);
  const queue::ReleaseResult result = co_await std::move(spawned);
  outcome.known_node = result.known_domain;
  outcome.messages = result.messages;
  log::info(log_context(), "ETRN {}: known={} released={}", log::printable(request.node), result.known_domain,
            result.messages);
  co_return session_.on_queue_released(outcome);
}

asio::awaitable<smtp::Action> SmtpConnection::check_trn_queue(const smtp::CheckTrnQueue& request) {
  queue::QueueAdmin* admin = services_.queue_admin;
  if (admin == nullptr) co_return session_.on_trn_queue_checked(std::nullopt);
  // The queue manager routes each held recipient and lends out only those of
  // the account's connectors in the requested domains.
  auto take = [admin, connectors = request.connectors,
               domains = request.domains]() -> asio::awaitable<queue::Turn> {
    co_return co_await admin->take_for_turn(connectors, domains, kMaxTurnMessages);
  };
  auto spawned = asio::co_spawn(admin->executor(), std::move(take), asio::use_awaitable);
  turn_ = co_await std::move(spawned);
  log::info(log_context(), "ATRN by {} for {} domain(s): {} message(s) taken", session_.auth_identity(),
            request.domains.size(), turn_.messages.size());
  co_return session_.on_trn_queue_checked(turn_.messages.size());
}

namespace {

// The accepted connection as the byte stream of the outbound client after
// ATRN; octets the client sent before it read our 250 come first.
class ReversedTransport final : public ByteStream {
 public:
  ReversedTransport(Transport& transport, std::string early) : transport_(transport), early_(std::move(early)) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, boost::system::error_code& ec) override {
    if (early_.empty()) co_return co_await transport_.read_some(buffer, ec);
    const std::size_t n = std::min(buffer.size(), early_.size());
    std::copy_n(early_.data(), n, static_cast<char*>(buffer.data()));
    early_.erase(0, n);
    ec = {};
    co_return n;
  }
  asio::awaitable<void> write(asio::const_buffer buffer, boost::system::error_code& ec) override {
    co_await transport_.write(buffer, ec);
  }
  void cancel() noexcept override { transport_.cancel(); }
  void close() noexcept override { transport_.close(); }

 private:
  Transport& transport_;
  std::string early_;
};

}  // namespace

asio::awaitable<void> SmtpConnection::reverse_roles(const smtp::ReverseConnection& request) {
  queue_reply(request.reply);
  if (!co_await flush()) {
    co_await return_turn();
    co_return;
  }
  // RFC 2645 4.2: we are the client now; the queue manager runs the session.
  boost::system::error_code ec;
  queue::TurnPeer peer;
  peer.name = atrn_client_name();
  peer.address = transport_.socket().remote_endpoint(ec);
  peer.helo_name = settings_->fqdn;
  peer.reply_timeout = settings_->timeouts.command;
  ReversedTransport stream(transport_, in_.substr(in_pos_));
  in_.clear();
  in_pos_ = 0;
  queue::Turn turn = std::move(turn_);
  turn_.messages.clear();
  const std::size_t attempted = co_await services_.queue_admin->deliver_turn(std::move(turn), stream, std::move(peer));
  log::info(log_context(), "ATRN: {} message(s) attempted over the reversed connection", attempted);
}

// The ATRN client by the name it gave in EHLO: the remote MTA of the mail it
// took, in logs and reports.
std::string SmtpConnection::atrn_client_name() const {
  return session_.envelope().helo.empty() ? session_.peer().ip : session_.envelope().helo;
}

asio::awaitable<void> SmtpConnection::return_turn() {
  queue::QueueAdmin* admin = services_.queue_admin;
  queue::Turn turn = std::move(turn_);
  turn_.messages.clear();
  if (admin == nullptr || turn.messages.empty()) co_return;
  auto give_back = [admin, turn = std::move(turn)]() mutable -> asio::awaitable<void> {
    co_await admin->return_turn(std::move(turn));
  };
  auto spawned = asio::co_spawn(admin->executor(), std::move(give_back), asio::use_awaitable);
  co_await std::move(spawned);
}

envelope::Envelope SmtpConnection::make_envelope() const {
  const auto& source = session_.envelope();
  envelope::Envelope out;
  out.set_format_version(1);
  out.set_sender(source.sender.null ? std::string() : source.sender.mailbox.str());
  for (const auto& accepted : source.recipients) {
    auto* recipient = out.add_recipients();
    recipient->set_address(accepted.address.str());
    if (!accepted.orcpt.empty())
      recipient->set_orcpt((accepted.orcpt_type.empty() ? std::string("rfc822") : accepted.orcpt_type) + ";" +
                           accepted.orcpt);
    if (accepted.notify.given) {
      auto* notify = recipient->mutable_notify();
      notify->set_never(accepted.notify.never);
      notify->set_success(accepted.notify.success);
      notify->set_failure(accepted.notify.failure);
      notify->set_delay(accepted.notify.delay);
    }
    recipient->set_state(envelope::PENDING);
  }
  out.set_ret(to_proto(source.mail.ret));
  out.set_envid(source.mail.envid);
  out.set_body_type(to_proto(source.mail.body));
  out.set_smtputf8(source.mail.smtputf8);
  out.set_declared_size(source.mail.size.value_or(0));
  out.set_arrival_unix(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
  out.set_virtual_server_id(settings_->id);
  out.set_client_ip(session_.peer().ip);
  out.set_client_port(session_.peer().port);
  out.set_helo(source.helo);
  out.set_auth_identity(source.auth_identity);
  out.set_tls(source.tls);
  out.set_queue(envelope::AWAITING_DIRECTORY_LOOKUP);
  out.set_received_by(settings_->fqdn);
  return out;
}

asio::awaitable<void> SmtpConnection::begin_message() {
  spool_error_.reset();
  auto writer = co_await services_.spool.begin(make_envelope());
  if (!writer) {
    log::error(log_context(), "spool begin: {}", writer.error().message());
    spool_error_ = writer.error();
    co_return;
  }
  writer_.emplace(std::move(*writer));
  queue_id_ = writer_->id().str();
  std::string header = smtp::received_header(session_.envelope(), session_.peer(), settings_->fqdn, queue_id_,
                                             std::chrono::system_clock::now());
  co_await write_to_spool(header);
}

asio::awaitable<void> SmtpConnection::write_to_spool(std::string& pending) {
  if (pending.empty()) co_return;
  if (writer_ && !spool_error_) {
    auto written = co_await writer_->write(pending);
    if (!written) {
      log::error(log_context(), "spool write: {}", written.error().message());
      spool_error_ = written.error();
      writer_.reset();
    }
  }
  pending.clear();
}

asio::awaitable<std::optional<smtp::Action>> SmtpConnection::receive_body(const smtp::ReceiveBody& request) {
  if (request.reply) queue_reply(*request.reply);
  if (request.first_chunk) {
    writer_.reset();
    queue_id_.clear();
    body_parser_.emplace(request.limits);
    co_await begin_message();
  }
  if (!body_parser_) body_parser_.emplace(request.limits);
  if (request.mode == smtp::BodyMode::Data)
    body_parser_->begin_data();
  else
    body_parser_->begin_chunk(request.chunk_size);

  std::string pending;
  bool first_read = request.mode == smtp::BodyMode::Data;
  const auto start = Clock::now();
  std::uint64_t received = 0;
  while (!body_parser_->done()) {
    if (in_pos_ < in_.size()) {
      const std::size_t used = body_parser_->put(std::string_view(in_).substr(in_pos_), pending);
      in_pos_ += used;
      command_bytes_ += used;
      received += used;
      if (pending.size() >= kSpoolChunk) co_await write_to_spool(pending);
      continue;
    }
    const auto idle = first_read ? settings_->timeouts.data_init : settings_->timeouts.data_block;
    first_read = false;
    if (!co_await read_more(transfer_deadline(start, received, idle))) {
      if (!timed_out_) co_return std::nullopt;
      timed_out_ = false;
      log::info(log_context(), "timeout while receiving the message body");
      co_return session_.on_timeout();
    }
  }
  co_await write_to_spool(pending);
  co_return session_.on_body_complete(body_parser_->summary());
}

asio::awaitable<bool> SmtpConnection::discard_body(std::uint64_t octets) {
  const auto start = Clock::now();
  std::uint64_t received = 0;
  while (octets > 0) {
    if (in_pos_ < in_.size()) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(octets, in_.size() - in_pos_));
      in_pos_ += take;
      command_bytes_ += take;
      octets -= take;
      received += take;
      continue;
    }
    if (!co_await read_more(transfer_deadline(start, received, settings_->timeouts.data_block))) co_return false;
  }
  co_return true;
}

SmtpConnection::Clock::time_point SmtpConnection::transfer_deadline(Clock::time_point start, std::uint64_t received,
                                                                    std::chrono::seconds idle) const {
  const auto& timeouts = settings_->timeouts;
  auto deadline = Clock::now() + idle;
  if (timeouts.min_data_rate != 0) {
    // The transfer as a whole must keep up the minimum average rate.
    const auto credit = std::chrono::milliseconds(received * 1000 / timeouts.min_data_rate);
    deadline = std::min(deadline, start + timeouts.data_block + credit);
  }
  return deadline;
}

asio::awaitable<bool> SmtpConnection::skip_line(Clock::time_point deadline) {
  for (;;) {
    const std::size_t lf = in_.find('\n', in_pos_);
    if (lf != std::string::npos) {
      command_bytes_ += lf + 1 - in_pos_;
      in_pos_ = lf + 1;
      co_return true;
    }
    command_bytes_ += in_.size() - in_pos_;
    in_pos_ = in_.size();
    if (!co_await read_more(deadline)) co_return false;
  }
}

asio::awaitable<smtp::Action> SmtpConnection::commit(const smtp::CommitMessage& request) {
  body_parser_.reset();
  if (spool_error_ || !writer_) {
    const auto failure = spool_error_ ? commit_failure(*spool_error_) : smtp::CommitFailure::LocalError;
    writer_.reset();
    spool_error_.reset();
    co_return session_.on_commit_failed(failure);
  }
  // Our own Received header is one more hop in the stored body.
  writer_->envelope().set_hop_count(request.body.received_headers + 1);
  writer_->envelope().set_message_id(request.body.message_id);
  const envelope::Envelope stored = writer_->envelope();
  auto writer = std::move(*writer_);
  writer_.reset();
  const auto committed = co_await services_.spool.commit(std::move(writer));
  if (!committed) {
    log::error(log_context(), "spool commit: {}", committed.error().message());
    co_return session_.on_commit_failed(commit_failure(committed.error()));
  }
  ++messages_;
  events::Received received;
  received.subject = {{}, committed->str(), stored.message_id(), stored.sender(), ""};
  for (const auto& recipient : stored.recipients()) received.recipients.push_back(recipient.address());
  received.size = request.body.octets;
  received.session = session_id_;
  received.peer = peer_text_;
  received.virtual_server = settings_->id;
  received.helo = stored.helo();
  received.auth = stored.auth_identity();
  received.tls = stored.tls();
  events::emit(std::move(received));
  if (services_.on_queued) services_.on_queued(*committed);
  auto next = session_.on_committed(committed->str());
  queue_id_.clear();
  co_return next;
}

}  // namespace gw::server
