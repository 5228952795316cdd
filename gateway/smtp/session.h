// Session: the ESMTP server state machine for one connection (RFC 5321, 1870,
// 2034, 2920, 3030, 3207, 3461, 4954, 6152, 6531).
//
// It never reads, writes, sleeps or looks anything up. The connection driver
// (gateway/server) feeds it parsed commands (CommandParser) and the results of
// work it asked for, and performs the one Action each call returns. Every reply
// code, enhanced status code, limit and relay decision is made here, so all of
// them are unit-tested here, without sockets.
//
// Driver contract, per Action:
//  - SendReply: write reply.wire() (then farewell, if any); when close_after,
//    flush and close. Every closing reply is a 221 or 421, or has a 421
//    farewell (RFC 5321 3.8). When
//    discard_message, drop the spool file of the current transaction if one was
//    begun. With PIPELINING (RFC 2920) the driver may keep feeding buffered
//    commands before flushing; replies come out in command order.
//  - StartTls: write the 220 reply, flush, discard every buffered plaintext octet
//    (CommandParser::reset() and the read buffer, RFC 3207 4.2), handshake, then
//    call on_tls_established(); on handshake failure close without a reply.
//  - Authenticate: run the SASL exchange (334 challenges, reading raw lines via
//    Command::line; a line "*" cancels) and report on_authenticated() or
//    on_auth_failed().
//  - CheckRecipient: look the recipient up (categorizer) and call
//    on_recipient_checked(). No other event is fed meanwhile.
//  - ReceiveBody: send the reply if any (354 for DATA); on `first_chunk` begin a
//    spool file and a DataParser(limits); then begin_data() or
//    begin_chunk(chunk_size, last_chunk), stream the output into the spool, and
//    call on_body_complete(parser.summary()) when parser.done().
//  - DiscardBody: read and throw away exactly `octets` octets (a BDAT chunk that
//    cannot be accepted), then write the reply.
//  - CommitMessage: commit the spool file with envelope() (the Received header is
//    built by received_header()); then on_committed(id) or on_commit_failed().
//  - ReleaseQueue (ETRN, RFC 1985): make the mail held for `domains` due now and
//    call on_queue_released() with what that did. No other event is fed meanwhile.
//  - CheckTrnQueue (ATRN, RFC 2645): take the mail held for `connectors` whose
//    recipients are in `domains` (it stays taken until the connection ends) and
//    call on_trn_queue_checked() with how many messages that is.
//  - ReverseConnection (ATRN accepted): write the 250, then act as the SMTP
//    client on this connection (RFC 2645 4.2), delivering the mail taken, and
//    close. The session is over.
// Timeouts are the driver's clock: on expiry call on_timeout(); when the gateway
// stops, the driver calls on_shutdown() instead of reading the next command.
// Implicit TLS (RFC 8314): the driver handshakes first, then calls
// on_tls_established() and on_connect(); the session behaves as after STARTTLS.
//
// Not responsible for: I/O, TLS, SASL mechanics, directory lookups, spooling,
// IP network matching (PeerInfo::relay_allowed, PeerInfo::etrn_allowed), the
// connection allow/deny list, the queues themselves.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/common/address.h"
#include "gateway/smtp/command.h"
#include "gateway/smtp/data_parser.h"
#include "gateway/smtp/policy.h"
#include "gateway/smtp/reply.h"

namespace gw::smtp {

enum class Phase {
  Greeting,      // connected, no HELO/EHLO yet (also after STARTTLS)
  Ready,         // HELO/EHLO done, no transaction
  Mail,          // MAIL accepted, no recipient yet
  Rcpt,          // at least one recipient accepted
  Data,          // receiving DATA content or between BDAT chunks
  TlsHandshake,  // STARTTLS accepted, driver is handshaking
  Auth,          // AUTH accepted, driver runs the SASL exchange
  Closing,       // a closing reply was returned; nothing more is accepted
};

struct SendReply {
  Reply reply;
  bool close_after = false;
  bool discard_message = false;
  // Written right after `reply`, before the close (RFC 5321 3.8: the server
  // closes only after 221 or 421; a 5xx that ends the session is followed by
  // this 421).
  std::optional<Reply> farewell;
};
struct StartTls {
  Reply reply;  // 220 2.0.0 Ready to start TLS
};
struct Authenticate {
  std::string mechanism;                        // upper case, one of policy.auth_mechanisms
  std::optional<std::string> initial_response;  // base64 as sent; "=" is an empty response
};
struct CheckRecipient {
  Address recipient;
  DomainClass domain_class = DomainClass::Remote;
  bool vrfy = false;  // asked by VRFY, not RCPT
};
enum class BodyMode { Data, Bdat };
struct ReceiveBody {
  std::optional<Reply> reply;  // 354 for DATA, none for BDAT
  BodyMode mode = BodyMode::Data;
  bool first_chunk = true;     // begin the spool file and a new DataParser
  std::uint64_t chunk_size = 0;
  bool last_chunk = true;
  BodyLimits limits;
};
struct DiscardBody {
  std::uint64_t octets = 0;
  Reply reply;
  bool close_after = false;
};
struct CommitMessage {
  BodySummary body;
};

struct ReleaseQueue {
  // Domains in connector address-space form: "partner.example" (that domain),
  // "*.partner.example" (its subdomains).
  std::vector<std::string> domains;
  std::string node;  // as the client named it, for the log
};
struct CheckTrnQueue {
  std::vector<std::string> domains;     // same form as ReleaseQueue::domains
  std::vector<std::string> connectors;  // the remote-triggered connectors the account may empty (names)
};
struct ReverseConnection {
  Reply reply;  // 250 2.0.0 OK, now reversing the connection
};

using Action = std::variant<SendReply, StartTls, Authenticate, CheckRecipient, ReceiveBody,
                            DiscardBody, CommitMessage, ReleaseQueue, CheckTrnQueue, ReverseConnection>;

// The driver's answer to ReleaseQueue.
struct ReleaseOutcome {
  bool available = true;     // false: no queue manager to ask (458)
  bool known_node = false;   // some domain is held here for remote-triggered delivery
  std::size_t messages = 0;  // messages made due
};

// The driver's answer to CheckRecipient.
struct RecipientVerdict {
  enum class Kind { Accept, Reject, TryLater };
  Kind kind = Kind::Accept;
  Reply reply;  // Reject: the refusal, e.g. 550 5.1.1; TryLater: 451 4.4.3 unless set

  static RecipientVerdict accept() { return {}; }
  static RecipientVerdict reject(int code, EnhancedStatus status, std::string text) {
    return {Kind::Reject, Reply(code, status, std::move(text))};
  }
  static RecipientVerdict try_later(std::string text = "Directory unavailable, try again later") {
    return {Kind::TryLater, Reply(451, EnhancedStatus{4, 4, 3}, std::move(text))};
  }
};

enum class CommitFailure {
  InsufficientStorage,  // disk full, quota: 452 4.3.1
  LocalError,           // any other spool I/O error: 451 4.3.0
};

enum class AuthFailure {
  InvalidCredentials,  // 535 5.7.8
  Cancelled,           // client sent "*": 501 5.0.0
  Malformed,           // bad base64 / protocol: 501 5.5.2
  Temporary,           // SASL back end down: 454 4.7.0
  WeakMechanism,       // mechanism not allowed for this account: 534 5.7.9
  LineTooLong,         // a response line over the driver's limit: 500 5.5.6 (RFC 4954 4)
};

struct AcceptedRecipient {
  Address address;
  DomainClass domain_class = DomainClass::Remote;
  Notify notify;
  std::string orcpt_type;
  std::string orcpt;
};

// What the driver writes into the queued envelope (proto/envelope.proto).
struct MessageEnvelope {
  Path sender;
  std::vector<AcceptedRecipient> recipients;
  MailParameters mail;  // SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH=
  std::string helo;
  bool esmtp = false;
  std::string tls;            // TLS description once active, empty for plaintext
  std::string auth_identity;  // empty = anonymous
  bool chunking = false;      // content came by BDAT
};

class Session {
 public:
  Session(ListenerPolicy policy, PeerInfo peer);

  // `client_spoke_first`: octets had arrived before the greeting was written
  // (an early talker, RFC 5321 3.1/4.3.1: the client waits for the greeting).
  Action on_connect(bool client_spoke_first = false);
  Action on_command(const Command& command);
  Action on_recipient_checked(const RecipientVerdict& verdict);
  Action on_body_complete(const BodySummary& body);
  Action on_committed(std::string_view queue_id);
  Action on_commit_failed(CommitFailure failure);
  Action on_timeout();
  // The gateway is stopping: 421 4.3.2 and close. The driver calls it between
  // commands, once no transaction is in progress (a transaction may finish).
  Action on_shutdown();

  // TLS is up: the session goes back to Greeting (RFC 3207 4.2: forget HELO and
  // everything learned before) and records `description` for Received/envelope.
  void on_tls_established(std::string description);
  // `own_addresses`: the account's SMTP addresses (any case), checked against
  // MAIL FROM when policy().require_sender_is_own_address.
  Action on_authenticated(std::string identity, std::vector<std::string> own_addresses = {});
  Action on_auth_failed(AuthFailure failure);
  Action on_queue_released(const ReleaseOutcome& outcome);
  // `messages`: how many messages were taken for the ATRN client; nullopt when
  // the driver has no queue manager to take them from.
  Action on_trn_queue_checked(std::optional<std::size_t> messages);

  Phase phase() const noexcept { return phase_; }
  // MAIL accepted and the message not yet committed or reset.
  bool in_transaction() const;
  bool tls_active() const noexcept { return tls_active_; }
  const std::string& auth_identity() const noexcept { return auth_identity_; }
  const MessageEnvelope& envelope() const noexcept { return envelope_; }
  const PeerInfo& peer() const noexcept { return peer_; }
  const ListenerPolicy& policy() const noexcept { return policy_; }
  std::uint32_t messages_accepted() const noexcept { return messages_accepted_; }

 private:
  Action handle_helo(const Command& command, bool extended);
  Action handle_mail(const Command& command);
  Action handle_rcpt(const Command& command);
  Action handle_data(const Command& command);
  Action handle_bdat(const Command& command);
  Action handle_vrfy(const Command& command);
  Action handle_starttls(const Command& command);
  Action handle_auth(const Command& command);
  Action handle_etrn(const Command& command);
  Action handle_atrn(const Command& command);
  bool trn_account_authorized(const TrnConnector& connector) const;
  bool atrn_offered() const;
  // A refused command or recipient that counts towards hard_error_limit.
  Action error_reply(Reply reply);
  // A junk command (NOOP, RSET, VRFY, HELP, unknown, BDAT 0) that counts
  // towards junk_command_limit; nullopt while under the limit.
  std::optional<Action> count_junk();
  // `reply`, then 421 4.7.0 and close (RFC 5321 3.8).
  Action closing_after(Reply reply, std::string farewell_text);
  bool unsynchronized(const Command& command) const;
  Action send(Reply reply, bool close_after = false);
  Action closing(Reply reply);
  std::vector<std::string> ehlo_lines() const;
  bool auth_offered() const;
  bool may_relay() const;
  bool sender_filtered(const Path& sender) const;
  // Ends the current transaction; true when a spool file was begun for it (the
  // reply then carries discard_message).
  bool reset_transaction();
  BodyLimits body_limits() const;

  ListenerPolicy policy_;
  PeerInfo peer_;
  Phase phase_ = Phase::Greeting;
  Phase phase_before_auth_ = Phase::Ready;
  bool tls_active_ = false;
  std::string auth_identity_;
  std::vector<std::string> own_addresses_;  // lower case
  MessageEnvelope envelope_;
  std::optional<AcceptedRecipient> pending_recipient_;
  bool awaiting_check_ = false;
  bool pending_vrfy_ = false;
  Address pending_vrfy_address_;
  bool receiving_ = false;        // the driver is reading DATA content or a BDAT chunk
  bool receiving_last_ = false;   // ... and it ends the content
  std::uint64_t chunk_size_ = 0;
  bool body_started_ = false;     // a spool file is open for this transaction
  bool awaiting_commit_ = false;
  bool awaiting_release_ = false;  // ETRN: ReleaseQueue returned
  std::string release_node_;
  bool awaiting_trn_check_ = false;  // ATRN: CheckTrnQueue returned
  std::uint32_t messages_accepted_ = 0;
  std::uint32_t errors_ = 0;
  std::uint32_t junk_ = 0;
  // The last command must be the last of its group (RFC 2920 3.1): the next
  // one may not be pipelined behind it.
  bool must_wait_ = false;
  std::uint64_t session_octets_ = 0;
};

// The Received: header line (RFC 5321 4.4, RFC 5322 3.6.7) the driver puts in front
// of the content, folded, CRLF-terminated:
//   Received: from <helo> (<hostname> [<ip>])
//   	by <fqdn> with <ESMTP|ESMTPS|ESMTPA|ESMTPSA|SMTP|UTF8SMTP...> id <queue_id>
//   	(using <tls>) (authenticated) for <rcpt>; <RFC 5322 date>
// "for" only with exactly one recipient; the authenticated identity is not
// disclosed (the header travels to third parties).
std::string received_header(const MessageEnvelope& envelope, const PeerInfo& peer,
                            std::string_view by_fqdn, std::string_view queue_id,
                            std::chrono::system_clock::time_point when);

// RFC 5322 3.3 date-time in UTC: "Sun, 29 Nov 2026 02:45:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point when);

}  // namespace gw::smtp
