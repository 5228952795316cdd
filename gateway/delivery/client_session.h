// ClientSession: the outbound SMTP/LMTP client state machine for one connection
// (RFC 5321, 2033 LMTP, 1870 SIZE, 2920 PIPELINING, 3030 CHUNKING, 3207 STARTTLS,
// 3461 DSN, 4954 AUTH, 6152 8BITMIME, 6531 SMTPUTF8).
//
// Sans-I/O: it never reads, writes, resolves or sleeps. The driver
// (gateway/delivery/smtp_client.h) performs the one Action each call returns and
// feeds the outcome back: a Write is written and followed by reading one reply
// (on_reply); ReadReply reads one more; StartTls runs the handshake
// (on_tls_result); SendBody streams the content, DATA dot-stuffed or as BDAT
// chunks (on_body_sent; BDAT when the peer offers CHUNKING and PIPELINING); Ready means the connection is idle and takes the next
// message (send) or quit(); Close ends the connection.
//
// Contract:
//   * every recipient of a message sent with send() gets exactly one
//     RecipientResult: delivered, transient or permanent, with the peer's reply
//     code and enhanced status code (x.0.0 when the peer gave none);
//   * with TlsPolicy::Required nothing but EHLO/STARTTLS/QUIT is sent in
//     plaintext: a peer without STARTTLS, a refused STARTTLS or a failed
//     handshake ends the connection with a transient 4.7.4 failure;
//   * a message larger than the peer's SIZE gets a permanent 5.3.4 for all
//     recipients and no MAIL command is sent;
//   * the AT-LEAST-ONCE WINDOW is from the moment the end of the content
//     (".<CRLF>" or BDAT LAST) has been written until its reply arrives: if the
//     connection is lost inside it, the peer may already have the message, yet
//     the recipients are reported transient (4.4.2) and the message is sent
//     again later (RFC 5321 6.1; Postfix's DOT state). in_at_least_once_window()
//     tells the driver so that it logs the possible duplicate.
// AUTH (RFC 4954) to a smart host is run by Cyrus SASL's client (SaslClient,
// no I/O): the session frames its responses and cancels ("*") a challenge the
// mechanism cannot answer.
// Not responsible for timeouts (the driver maps Stage to RFC 5321 4.5.3.2
// values), for TLS itself, for DNS, or for retry decisions (the queue's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/common/enhanced_status.h"
#include "gateway/common/failure_kind.h"
#include "gateway/delivery/capabilities.h"
#include "gateway/delivery/reply.h"
#include "gateway/delivery/sasl_client.h"

namespace gw::delivery {

enum class Protocol { Smtp, Lmtp };
enum class TlsPolicy {
  Never,          // the driver has no TLS context
  Opportunistic,  // STARTTLS when offered; plaintext otherwise
  Required,       // STARTTLS or nothing (gwSmtpOutboundRequireTls, TLS-required connectors)
};

struct Credentials {
  std::string user_name;
  std::string password;
};

struct SessionOptions {
  Protocol protocol = Protocol::Smtp;
  std::string helo_name = "localhost";   // our FQDN for EHLO/HELO/LHLO
  bool use_helo = false;                 // connector says HELO (gwConnectorUseHelo)
  TlsPolicy tls = TlsPolicy::Opportunistic;
  std::optional<Credentials> credentials;  // AUTH PLAIN/LOGIN to a smart host, run by Cyrus SASL
  std::string peer_name;                   // the host's name, for the SASL client
};

enum class BodyType { SevenBit, EightBitMime, BinaryMime };

struct OutboundRecipient {
  std::string address;   // forward-path without angle brackets
  std::string notify;    // DSN NOTIFY value ("SUCCESS,FAILURE", "NEVER"); empty = none
  std::string orcpt;     // original recipient address (sent as ORCPT=rfc822;<xtext>); empty = none
};

struct OutboundMessage {
  std::string sender;    // reverse-path without angle brackets; empty = null sender <>
  std::vector<OutboundRecipient> recipients;
  std::uint64_t size = 0;  // octets of the content as stored (CRLF line ends)
  BodyType body = BodyType::SevenBit;
  bool smtputf8 = false;   // addresses or headers need SMTPUTF8
  std::string ret;         // DSN RET: "FULL", "HDRS" or empty
  std::string envid;       // DSN ENVID; empty = none
  std::string queue_id;    // for log lines only
};

enum class Outcome { Delivered, Transient, Permanent };
std::string_view outcome_name(Outcome outcome) noexcept;

struct RecipientResult {
  std::string address;
  Outcome outcome = Outcome::Transient;
  int code = 0;            // reply code (ours for locally decided results)
  EnhancedStatus status;   // from the reply, x.0.0 when it had none
  std::string text;        // reply text, for the DSN's Diagnostic-Code and the log
};

struct MessageResult {
  std::vector<RecipientResult> recipients;   // in the order of OutboundMessage::recipients
  // False when the peer does not offer DSN: NOTIFY/RET were not passed on, and
  // RFC 3461 4.1 wants a "relayed" DSN for NOTIFY=SUCCESS recipients delivered.
  bool peer_offers_dsn = false;
};

// Why the connection could not be used (or stopped being usable).
struct ConnectionFailure {
  Outcome outcome = Outcome::Transient;
  int code = 0;
  EnhancedStatus status;
  std::string text;
  bool try_next_host = true;        // another MX/smart host may do better
  bool retry_without_tls = false;   // opportunistic TLS failed: plaintext on a new connection
};

// Results for every recipient of `message` from one connection-level failure.
MessageResult fail_all(const OutboundMessage& message, const ConnectionFailure& failure);
// A connection-level failure from the status table (4.4.1, 4.4.2, 4.7.4 ...).
ConnectionFailure failure_of(FailureKind kind, std::string detail = {});

// Which RFC 5321 4.5.3.2 timeout applies to the reply being awaited.
enum class Stage { Greeting, Hello, StartTls, Auth, Mail, Rcpt, DataInit, DataBlock, DataTerm, Rset, Quit };
std::string_view stage_name(Stage stage) noexcept;

enum class BodyEncoding { Data, Bdat };

struct Write {
  std::string bytes;
  Stage stage;              // the reply that follows is read with this stage's timeout
  bool sensitive = false;   // AUTH payload: never log it
};
struct ReadReply { Stage stage; };
struct StartTls {};
struct SendBody { BodyEncoding encoding; };
struct Ready {};
struct Close {};
using Action = std::variant<Write, ReadReply, StartTls, SendBody, Ready, Close>;

class ClientSession {
 public:
  explicit ClientSession(SessionOptions options);

  // The TCP connection is up: wait for the greeting.
  Action start();
  Action on_reply(const Reply& reply);
  Action on_tls_result(bool established, std::string_view detail = {});
  // The content went out; `bdat_chunks` is the number of BDAT commands written
  // (0 for DATA). Starts the at-least-once window.
  Action on_body_sent(std::size_t bdat_chunks);
  // Reading or writing failed (peer closed, reset, timeout, broken reply).
  Action on_connection_lost(std::string_view detail);

  // Only when idle (after Ready): deliver one message / end the connection.
  Action send(OutboundMessage message);
  Action quit();

  // The result of the message that just ended (set when Ready or Close follows
  // a send()); taking it clears it.
  std::optional<MessageResult> take_result();
  // Set once the connection cannot be used; every later send() fails with it.
  const std::optional<ConnectionFailure>& failure() const noexcept { return failure_; }

  const Capabilities& capabilities() const noexcept { return caps_; }
  bool tls_active() const noexcept { return tls_active_; }
  bool authenticated() const noexcept { return authenticated_; }
  bool idle() const noexcept { return phase_ == Phase::Ready; }
  bool closed() const noexcept { return phase_ == Phase::Closed; }
  bool in_at_least_once_window() const noexcept { return in_window_; }
  std::size_t messages_sent() const noexcept { return messages_sent_; }
  const std::string& greeting() const noexcept { return greeting_; }

 private:
  enum class Phase { Greeting, Hello, StartTls, TlsHandshake, Auth, Ready, Transaction, Quitting, Closed };
  enum class Expect { Rset, Mail, Rcpt, Data, DataEnd, BdatChunk, LmtpRecipient, EmptyDataEnd, Quit };
  struct Pending {
    Expect what;
    std::size_t index = 0;   // recipient index for Rcpt and LmtpRecipient
  };

  Action hello();
  Action after_hello();
  Action authenticate();
  Action fail_connection(ConnectionFailure failure, bool say_quit);
  Action on_transaction_reply(const Reply& reply);
  Action next_transaction_step();
  Action finish_message();
  Action next_read();
  // BDAT chunks are written back to back, which RFC 3030 4.2 allows only with PIPELINING.
  bool use_bdat() const noexcept { return caps_.chunking && caps_.pipelining; }
  std::string mail_command() const;
  std::string rcpt_command(const OutboundRecipient& recipient) const;
  void set_result(std::size_t index, const Reply& reply);
  void set_result(std::size_t index, Outcome outcome, int code, EnhancedStatus status, std::string text);

  SessionOptions options_;
  Phase phase_ = Phase::Greeting;
  Capabilities caps_;
  bool tls_active_ = false;
  bool authenticated_ = false;
  bool ehlo_refused_ = false;
  bool starttls_refused_ = false;   // opportunistic TLS the peer declined
  std::string greeting_;
  std::optional<ConnectionFailure> failure_;
  std::string auth_mechanism_;
  std::unique_ptr<SaslClient> sasl_;  // the AUTH exchange in progress

  // The message in flight.
  std::optional<OutboundMessage> message_;
  std::vector<std::optional<RecipientResult>> results_;
  std::vector<std::size_t> accepted_;        // recipients the peer accepted, in RCPT order
  std::deque<Pending> pending_;              // replies still to come, in order
  std::size_t next_rcpt_ = 0;                // without PIPELINING: next RCPT to send
  bool mail_sent_ = false;
  bool mail_accepted_ = false;
  bool data_sent_ = false;                   // DATA written, or BDAT chosen
  bool body_sent_ = false;                   // content written, or skipped for good
  bool data_completed_ = false;              // the peer answered the end of the content
  std::optional<Reply> transaction_failure_; // MAIL, DATA or BDAT refused
  bool needs_rset_ = false;
  bool in_window_ = false;
  std::optional<MessageResult> result_;
  std::size_t messages_sent_ = 0;
};

}  // namespace gw::delivery
