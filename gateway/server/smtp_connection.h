// SmtpConnection: drives one accepted SMTP connection. It is the I/O half of
// the protocol; every decision is the smtp::Session's.
//
// The driver is one coroutine: read into the input buffer -> CommandParser ->
// Session::on_command() -> perform the returned Action (write a reply, ask the
// RecipientValidator, stream the body into the spool through DataParser,
// commit) -> feed the result back -> next command. PIPELINING (RFC 2920):
// replies are appended to an output buffer and written when the input buffer
// holds no further complete command (before every socket read) or before a
// close, so replies go out in command order and batched. The body is written to
// the spool in chunks of at most kSpoolChunk octets, prefixed by the Received
// header; "250 2.6.0" is sent only after Spool::commit() returned (contract
// 1, docs/architecture.md). Deadlines (Timeouts in virtual_server.h) are totals: one per
// command line from the moment the wait for it starts, one per DATA/BDAT
// transfer that grows with the octets received at the minimum data rate, one
// per write; on expiry the Session's on_timeout() reply (421 4.4.2) is sent
// and the connection closed. The driver tells the Session what only it can
// see: octets that arrived before the greeting (after waiting up to the
// greeting delay), and for each command whether it was pipelined behind an
// unwritten reply and whether input already follows it (RFC 2920). Closing:
// after the last reply the connection is half-closed and whatever the client
// still sends is read and dropped (at most kLinger / kMaxLingerOctets), so a
// closing 421 is not destroyed by a reset caused by unread input.
//
// Logs: one application log line at connect, per queued message and at
// disconnect, all prefixed "smtp: session=<id> peer=<ip:port>" and the queue id
// once there is one; one W3C protocol log line per reply when the virtual
// server logs. STARTTLS (RFC 3207): the 220 is flushed, every buffered
// plaintext octet is discarded, the handshake runs under the command deadline,
// then the Session starts over from the greeting state. Runs entirely on the
// executor of its socket. Not responsible for admission (ConnectionGate, done
// before) or the SASL mechanics: AUTH (RFC 4954) is run by the SaslAuthenticator
// set with set_authenticator(), through this connection's 334 challenges and raw
// response lines (at most kMaxAuthLine octets; a longer one is read to its end
// and answered 500 5.5.6, RFC 4954 4); without one, or when the
// metabase names no directory to check passwords against, AUTH is answered
// 454 4.7.0.
// Implicit TLS (RFC 8314, use_implicit_tls()): the TLS server handshake runs
// under the command deadline before anything is written; the greeting follows
// over TLS and the Session starts as after STARTTLS. A failed or timed-out
// handshake closes the connection without a reply (logged).
// ETRN (RFC 1985): ReleaseQueue is carried out by QueueAdmin::release_domain()
// for each domain, run on QueueAdmin::executor(). ATRN (RFC 2645): CheckTrnQueue
// borrows the held mail with QueueAdmin::take_for_turn(); on ReverseConnection
// the 250 goes out and this same connection is handed to
// QueueAdmin::deliver_turn() as a ByteStream (octets the client sent early come
// first): the queue manager's outbound client session runs over it -- the
// client's greeting first, then one transaction per message -- and gives every
// borrowed message back. When the 250 cannot be sent, or the session ends
// before the reversal, the borrowed mail goes back unattempted
// (QueueAdmin::return_turn()) before the connection closes. Without a
// QueueAdmin, ETRN is answered 458 and ATRN 451.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/common/log.h"
#include "gateway/queue/queue_admin.h"
#include "gateway/queue/spool.h"
#include "gateway/server/connection_gate.h"
#include "gateway/server/recipient_validator.h"
#include "gateway/server/sasl_authenticator.h"
#include "gateway/server/transport.h"
#include "gateway/server/virtual_server.h"
#include "gateway/smtp/command.h"
#include "gateway/smtp/data_parser.h"
#include "gateway/smtp/session.h"

namespace gw::server {

struct ConnectionServices {
  queue::Spool& spool;
  RecipientValidator& validator;
  // Called once a message is committed (the post-queue stages take it from there); may be empty.
  std::function<void(const QueueId&)> on_queued;
  // ETRN/ATRN; nullptr = ETRN answered 458, ATRN never "453 You have no mail".
  queue::QueueAdmin* queue_admin = nullptr;
};

class SmtpConnection : public std::enable_shared_from_this<SmtpConnection> {
 public:
  static constexpr std::size_t kReadChunk = 64 * 1024;
  // An idle session reads commands into a small buffer and gives a large one
  // back: 1,000 idle sessions must not pin 64 KiB each.
  static constexpr std::size_t kCommandReadChunk = 4 * 1024;
  static constexpr std::size_t kSpoolChunk = 64 * 1024;
  // RFC 4954 4: a server may limit a SASL response line to 12288 octets.
  static constexpr std::size_t kMaxAuthLine = 12288;
  // Messages one ATRN session takes; the client says ATRN again for more.
  static constexpr std::size_t kMaxTurnMessages = 1000;
  // After the last reply: how long, and how much, the client's remaining
  // input is read and dropped before the close (see linger()).
  static constexpr std::chrono::seconds kLinger{2};
  static constexpr std::size_t kMaxLingerOctets = 256 * 1024;

  SmtpConnection(asio::ip::tcp::socket socket, std::shared_ptr<VirtualServer> server,
                 ConnectionGate::Ticket ticket, ConnectionServices services, std::uint64_t session_id);

  // Runs the dialogue until the connection is closed. Never throws.
  asio::awaitable<void> run();
  // Thread-safe: the gateway is stopping. A session waiting for its next
  // command outside a transaction gets 421 4.3.2 now; one in a transaction
  // (MAIL accepted), or running an exchange, finishes it and then gets the 421.
  void shut_down();

  // The authenticator outlives the connection; nullptr = AUTH answered 454 4.7.0.
  void set_authenticator(SaslAuthenticator* authenticator) noexcept { authenticator_ = authenticator; }
  // The connection came in on an implicit-TLS binding: handshake before the greeting.
  void use_implicit_tls() noexcept { implicit_tls_ = true; }

  // Writes the refusal ("554 5.7.1 ..." / "421 4.7.0 ...") and closes the socket.
  // On an implicit-TLS binding the refusal goes out after the handshake with
  // `tls_context`; without a context the socket is closed without a reply.
  static asio::awaitable<void> refuse(asio::ip::tcp::socket socket, Refusal refusal, std::string fqdn,
                                      std::uint64_t session_id, bool implicit_tls = false,
                                      std::shared_ptr<asio::ssl::context> tls_context = nullptr);

 private:
  enum class Next { ReadCommand, Close };

  asio::awaitable<Next> perform(smtp::Action action);
  asio::awaitable<bool> next_command(smtp::Command& command);
  using Clock = std::chrono::steady_clock;
  // Reads what the peer sent next; false on EOF, error or when `deadline` passed (timed_out_).
  asio::awaitable<bool> read_more(Clock::time_point deadline);
  // True when the client sent octets before the greeting (waiting up to the
  // virtual server's greeting delay for them).
  asio::awaitable<bool> client_spoke_first();
  // Reads and drops the rest of an over-long line up to its LF; false when the
  // connection failed or the deadline passed first.
  asio::awaitable<bool> skip_line(Clock::time_point deadline);
  asio::awaitable<bool> flush();
  asio::awaitable<std::optional<smtp::Action>> receive_body(const smtp::ReceiveBody& request);
  asio::awaitable<bool> discard_body(std::uint64_t octets);
  // The deadline of the next read of a DATA/BDAT transfer begun at `start`
  // with `received` octets so far: `idle` from now, and no later than the
  // minimum data rate allows (Timeouts).
  Clock::time_point transfer_deadline(Clock::time_point start, std::uint64_t received,
                                      std::chrono::seconds idle) const;
  asio::awaitable<bool> start_tls(const smtp::StartTls& request);
  asio::awaitable<bool> handshake();
  asio::awaitable<smtp::Action> release_queue(const smtp::ReleaseQueue& request);
  asio::awaitable<smtp::Action> check_trn_queue(const smtp::CheckTrnQueue& request);
  asio::awaitable<void> reverse_roles(const smtp::ReverseConnection& request);
  asio::awaitable<void> return_turn();
  std::string atrn_client_name() const;
  asio::awaitable<AuthOutcome> authenticate(const smtp::Authenticate& request);
  friend class ConnectionAuthChannel;
  asio::awaitable<smtp::Action> commit(const smtp::CommitMessage& request);
  asio::awaitable<void> begin_message();
  asio::awaitable<void> write_to_spool(std::string& pending);
  asio::awaitable<void> watchdog();
  asio::awaitable<void> linger();

  void queue_reply(const smtp::Reply& reply);
  void arm_deadline(std::chrono::seconds timeout);
  void note_command(const smtp::Command& command);
  envelope::Envelope make_envelope() const;
  log::Context log_context() const;

  Transport transport_;
  std::shared_ptr<VirtualServer> server_;
  SettingsPtr settings_;
  std::shared_ptr<ProtocolLog> protocol_log_;
  ConnectionGate::Ticket ticket_;
  ConnectionServices services_;
  std::uint64_t session_id_;
  std::string peer_text_;
  std::string local_ip_;
  std::uint16_t local_port_ = 0;
  smtp::Session session_;
  smtp::CommandParser parser_;
  SaslAuthenticator* authenticator_ = nullptr;
  bool implicit_tls_ = false;

  std::string in_;
  std::size_t in_pos_ = 0;
  bool last_read_filled_ = false;  // the peer is streaming: read big chunks
  std::string out_;

  asio::steady_timer deadline_;
  bool timed_out_ = false;
  bool closed_ = false;
  bool awaiting_command_ = false;  // the read in progress is for the next command
  bool shutting_down_ = false;

  // The message being received.
  std::optional<queue::MessageWriter> writer_;
  std::optional<smtp::DataParser> body_parser_;
  std::optional<Error> spool_error_;
  std::string queue_id_;

  // ATRN: the messages borrowed from the queue manager, until given back.
  queue::Turn turn_;

  // Protocol log bookkeeping of the command being answered.
  std::string log_method_ = "+Connect";
  std::string log_query_;
  std::string rcpt_text_;  // the recipient of the last RCPT command, for its rejection event
  std::chrono::steady_clock::time_point command_started_ = std::chrono::steady_clock::now();
  std::uint64_t command_bytes_ = 0;
  std::uint32_t messages_ = 0;
  void emit_closed(std::string reason) const;
};

}  // namespace gw::server
