#include "gateway/delivery/client_session.h"

#include <utility>

#include "gateway/dsn/status_table.h"

namespace gw::delivery {
namespace {

// RFC 3461 4: xtext for ENVID and ORCPT values.
std::string xtext(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

Outcome outcome_of_code(int code) {
  switch (code / 100) {
    case 2: return Outcome::Delivered;
    case 5: return Outcome::Permanent;
    default: return Outcome::Transient;
  }
}

EnhancedStatus status_of_reply(const Reply& reply) {
  if (reply.enhanced) return *reply.enhanced;
  const int klass = reply.code / 100;
  if (klass == 2 || klass == 4 || klass == 5) return EnhancedStatus{static_cast<std::uint8_t>(klass), 0, 0};
  return EnhancedStatus{4, 5, 0};  // a reply code that makes no sense here: protocol error, try again
}

// A failure of the whole connection taken from a peer reply; connection-level
// refusals (greeting, EHLO, AUTH) are never final for the message because
// another host or a later attempt may succeed.
ConnectionFailure transient_from_reply(const Reply& reply, std::string_view what) {
  ConnectionFailure failure;
  failure.outcome = Outcome::Transient;
  failure.code = reply.code / 100 == 4 ? reply.code : 451;
  failure.status = status_of_reply(reply);
  failure.status.klass = 4;
  failure.text = std::string(what) + ": " + reply.str();
  return failure;
}

Stage stage_of(int expect) noexcept;

}  // namespace

std::string_view outcome_name(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Delivered: return "delivered";
    case Outcome::Transient: return "transient";
    case Outcome::Permanent: return "permanent";
  }
  return "unknown";
}

std::string_view stage_name(Stage stage) noexcept {
  switch (stage) {
    case Stage::Greeting: return "greeting";
    case Stage::Hello: return "EHLO";
    case Stage::StartTls: return "STARTTLS";
    case Stage::Auth: return "AUTH";
    case Stage::Mail: return "MAIL FROM";
    case Stage::Rcpt: return "RCPT TO";
    case Stage::DataInit: return "DATA";
    case Stage::DataBlock: return "data block";
    case Stage::DataTerm: return "end of data";
    case Stage::Rset: return "RSET";
    case Stage::Quit: return "QUIT";
  }
  return "unknown";
}

MessageResult fail_all(const OutboundMessage& message, const ConnectionFailure& failure) {
  MessageResult result;
  for (const auto& rcpt : message.recipients)
    result.recipients.push_back({rcpt.address, failure.outcome, failure.code, failure.status, failure.text});
  return result;
}

ConnectionFailure failure_of(FailureKind kind, std::string detail) {
  const auto& row = dsn::status_of(kind);
  ConnectionFailure failure;
  failure.outcome = row.status.permanent() ? Outcome::Permanent : Outcome::Transient;
  failure.code = row.reply_code;
  failure.status = row.status;
  failure.text = std::string(row.text);
  if (!detail.empty()) failure.text += ": " + detail;
  return failure;
}

ClientSession::ClientSession(SessionOptions options) : options_(std::move(options)) {}

Action ClientSession::start() {
  phase_ = Phase::Greeting;
  return ReadReply{Stage::Greeting};
}

Action ClientSession::hello() {
  phase_ = Phase::Hello;
  if (options_.protocol == Protocol::Lmtp) return Write{"LHLO " + options_.helo_name + "\r\n", Stage::Hello};
  if (options_.use_helo || ehlo_refused_) return Write{"HELO " + options_.helo_name + "\r\n", Stage::Hello};
  return Write{"EHLO " + options_.helo_name + "\r\n", Stage::Hello};
}

Action ClientSession::after_hello() {
  if (!tls_active_ && options_.tls != TlsPolicy::Never && caps_.starttls && !starttls_refused_) {
    phase_ = Phase::StartTls;
    return Write{"STARTTLS\r\n", Stage::StartTls};
  }
  if (!tls_active_ && options_.tls == TlsPolicy::Required)
    return fail_connection(failure_of(FailureKind::TlsNotAvailable, "TLS required but not offered by the peer"), true);
  if (options_.credentials && !authenticated_) return authenticate();
  phase_ = Phase::Ready;
  return Ready{};
}

Action ClientSession::authenticate() {
  phase_ = Phase::Auth;
  auto auth_failure = [](std::string text) {
    ConnectionFailure failure;
    failure.code = 454;
    failure.status = EnhancedStatus{4, 7, 0};
    failure.text = std::move(text);
    return failure;
  };
  if (caps_.auth_mechanisms.empty())
    return fail_connection(auth_failure("credentials configured but the peer offers no AUTH"), true);
  const auto& credentials = *options_.credentials;
  auto client = SaslClient::create(options_.peer_name.empty() ? "localhost" : options_.peer_name,
                                   credentials.user_name, credentials.password);
  if (!client) return fail_connection(auth_failure(client.error().message()), true);
  auto started = (*client)->start(caps_.auth_mechanisms);
  if (!started) return fail_connection(auth_failure(started.error().message()), true);
  sasl_ = std::move(*client);
  auth_mechanism_ = started->mechanism;
  if (!started->initial_response) return Write{"AUTH " + auth_mechanism_ + "\r\n", Stage::Auth};
  return Write{"AUTH " + auth_mechanism_ + " " + *started->initial_response + "\r\n", Stage::Auth, true};
}

Action ClientSession::fail_connection(ConnectionFailure failure, bool say_quit) {
  failure_ = std::move(failure);
  if (message_) {
    for (std::size_t i = 0; i < results_.size(); ++i)
      if (!results_[i]) set_result(i, failure_->outcome, failure_->code, failure_->status, failure_->text);
    finish_message();
  }
  if (say_quit) {
    phase_ = Phase::Quitting;
    return Write{"QUIT\r\n", Stage::Quit};
  }
  phase_ = Phase::Closed;
  return Close{};
}

Action ClientSession::on_reply(const Reply& reply) {
  switch (phase_) {
    case Phase::Greeting:
      if (!reply.positive_completion()) return fail_connection(transient_from_reply(reply, "greeting"), true);
      greeting_ = reply.str();
      return hello();

    case Phase::Hello:
      if (reply.positive_completion()) {
        const bool extended = options_.protocol == Protocol::Lmtp || !(options_.use_helo || ehlo_refused_);
        caps_ = extended ? Capabilities::from_ehlo(reply) : Capabilities{};
        return after_hello();
      }
      // RFC 5321 4.1.4: a server that does not know EHLO answers 5xx; HELO then.
      if (reply.permanent() && options_.protocol == Protocol::Smtp && !options_.use_helo && !ehlo_refused_) {
        ehlo_refused_ = true;
        return hello();
      }
      return fail_connection(transient_from_reply(reply, "EHLO"), true);

    case Phase::StartTls:
      if (reply.code == 220) {
        phase_ = Phase::TlsHandshake;
        return StartTls{};
      }
      if (options_.tls == TlsPolicy::Required)
        return fail_connection(failure_of(FailureKind::TlsNotAvailable, "STARTTLS refused: " + reply.str()), true);
      starttls_refused_ = true;
      return after_hello();

    case Phase::Auth:
      // RFC 4954 6 says 235; some servers (smtp-sink among them) say 250.
      if (reply.positive_completion()) {
        authenticated_ = true;
        sasl_.reset();
        phase_ = Phase::Ready;
        return Ready{};
      }
      if (reply.code == 334 && sasl_) {
        auto answer = sasl_->step(reply.lines.empty() ? std::string_view() : std::string_view(reply.lines.front()));
        if (answer) return Write{*answer + "\r\n", Stage::Auth, true};
        sasl_.reset();  // a challenge the mechanism cannot answer: cancel (RFC 4954 4)
      }
      if (reply.code == 334) return Write{"*\r\n", Stage::Auth};
      sasl_.reset();
      return fail_connection(transient_from_reply(reply, "AUTH " + auth_mechanism_), true);

    case Phase::Transaction:
      return on_transaction_reply(reply);

    case Phase::Quitting:
      phase_ = Phase::Closed;
      return Close{};

    case Phase::TlsHandshake:
    case Phase::Ready:
    case Phase::Closed:
      break;
  }
  return fail_connection(failure_of(FailureKind::ConnectionDropped, "unexpected reply " + reply.str()), false);
}

Action ClientSession::on_tls_result(bool established, std::string_view detail) {
  if (phase_ != Phase::TlsHandshake)
    return fail_connection(failure_of(FailureKind::ConnectionDropped, "TLS result outside STARTTLS"), false);
  if (!established) {
    auto failure = failure_of(FailureKind::TlsNotAvailable, "TLS handshake failed: " + std::string(detail));
    failure.retry_without_tls = options_.tls == TlsPolicy::Opportunistic;
    return fail_connection(std::move(failure), false);
  }
  // RFC 3207 4.2: forget everything learned before TLS and say EHLO again.
  tls_active_ = true;
  caps_ = Capabilities{};
  ehlo_refused_ = false;
  return hello();
}

std::string ClientSession::mail_command() const {
  const auto& message = *message_;
  std::string command = "MAIL FROM:<" + message.sender + ">";
  if (caps_.size) command += " SIZE=" + std::to_string(message.size);
  if (message.body == BodyType::EightBitMime && caps_.eight_bit_mime) command += " BODY=8BITMIME";
  if (message.body == BodyType::BinaryMime) command += " BODY=BINARYMIME";
  if (message.smtputf8) command += " SMTPUTF8";
  if (caps_.dsn) {
    if (!message.ret.empty()) command += " RET=" + message.ret;
    if (!message.envid.empty()) command += " ENVID=" + xtext(message.envid);
  }
  return command + "\r\n";
}

std::string ClientSession::rcpt_command(const OutboundRecipient& recipient) const {
  std::string command = "RCPT TO:<" + recipient.address + ">";
  if (caps_.dsn) {
    if (!recipient.notify.empty()) command += " NOTIFY=" + recipient.notify;
    if (!recipient.orcpt.empty()) command += " ORCPT=rfc822;" + xtext(recipient.orcpt);
  }
  return command + "\r\n";
}

Action ClientSession::send(OutboundMessage message) {
  if (phase_ != Phase::Ready) {
    result_ = fail_all(message, failure_ ? *failure_ : failure_of(FailureKind::ConnectionDropped, "connection not ready"));
    return Close{};
  }
  const std::size_t count = message.recipients.size();
  message_ = std::move(message);
  results_.assign(count, std::nullopt);
  accepted_.clear();
  pending_.clear();
  next_rcpt_ = 0;
  mail_sent_ = mail_accepted_ = data_sent_ = body_sent_ = data_completed_ = false;
  transaction_failure_.reset();
  if (count == 0) return finish_message();

  auto refuse_all = [&](int code, EnhancedStatus status, std::string text) {
    for (std::size_t i = 0; i < count; ++i) set_result(i, Outcome::Permanent, code, status, text);
    return finish_message();
  };
  // RFC 1870 6: never send what the peer already said it will not take.
  if (caps_.size && *caps_.size > 0 && message_->size > *caps_.size)
    return refuse_all(552, {5, 3, 4},
                      "message size " + std::to_string(message_->size) + " exceeds the peer's fixed maximum " +
                          std::to_string(*caps_.size));
  if (message_->smtputf8 && !caps_.smtputf8)
    return refuse_all(553, {5, 6, 7}, "the message needs SMTPUTF8 and the peer does not support it");
  if (message_->body == BodyType::BinaryMime && !(caps_.binary_mime && use_bdat()))
    return refuse_all(554, {5, 6, 3}, "the message is BINARYMIME and the peer does not support it");

  phase_ = Phase::Transaction;
  std::string out;
  if (needs_rset_) {
    out += "RSET\r\n";
    pending_.push_back({Expect::Rset});
    needs_rset_ = false;
    if (!caps_.pipelining) return Write{std::move(out), Stage::Rset};
  }
  if (!caps_.pipelining) return next_transaction_step();
  // RFC 2920 3.1: MAIL, every RCPT and DATA go out in one group.
  out += mail_command();
  pending_.push_back({Expect::Mail});
  mail_sent_ = true;
  for (; next_rcpt_ < count; ++next_rcpt_) {
    out += rcpt_command(message_->recipients[next_rcpt_]);
    pending_.push_back({Expect::Rcpt, next_rcpt_});
  }
  if (!use_bdat()) {
    out += "DATA\r\n";
    pending_.push_back({Expect::Data});
    data_sent_ = true;
  }
  const Stage first = pending_.front().what == Expect::Rset ? Stage::Rset : Stage::Mail;
  return Write{std::move(out), first};
}

Action ClientSession::next_read() { return ReadReply{stage_of(static_cast<int>(pending_.front().what))}; }

Action ClientSession::next_transaction_step() {
  if (!pending_.empty()) return next_read();
  const auto& recipients = message_->recipients;
  if (!mail_sent_) {
    mail_sent_ = true;
    pending_.push_back({Expect::Mail});
    return Write{mail_command(), Stage::Mail};
  }
  if (!mail_accepted_) return finish_message();
  if (next_rcpt_ < recipients.size()) {
    pending_.push_back({Expect::Rcpt, next_rcpt_});
    return Write{rcpt_command(recipients[next_rcpt_++]), Stage::Rcpt};
  }
  if (accepted_.empty() || transaction_failure_ || body_sent_) return finish_message();
  if (!data_sent_) {
    data_sent_ = true;
    if (use_bdat()) return SendBody{BodyEncoding::Bdat};
    pending_.push_back({Expect::Data});
    return Write{"DATA\r\n", Stage::DataInit};
  }
  return SendBody{BodyEncoding::Data};
}

Action ClientSession::on_body_sent(std::size_t bdat_chunks) {
  if (phase_ != Phase::Transaction || !message_ || body_sent_)
    return fail_connection(failure_of(FailureKind::ConnectionDropped, "content sent outside a transaction"), false);
  body_sent_ = true;
  in_window_ = true;
  for (std::size_t i = 1; i < bdat_chunks; ++i) pending_.push_back({Expect::BdatChunk});
  if (options_.protocol == Protocol::Lmtp) {
    // RFC 2033 4.2: one reply per recipient that RCPT accepted, in that order.
    for (const auto index : accepted_) pending_.push_back({Expect::LmtpRecipient, index});
  } else {
    pending_.push_back({Expect::DataEnd});
  }
  return next_read();
}

Action ClientSession::on_transaction_reply(const Reply& reply) {
  if (pending_.empty())
    return fail_connection(failure_of(FailureKind::ConnectionDropped, "unexpected reply " + reply.str()), false);
  const Pending expected = pending_.front();
  pending_.pop_front();
  switch (expected.what) {
    case Expect::Rset:
      break;
    case Expect::Mail:
      if (reply.positive_completion())
        mail_accepted_ = true;
      else
        transaction_failure_ = reply;
      break;
    case Expect::Rcpt:
      // After a refused MAIL the RCPT replies ("503 need MAIL") say nothing
      // about the recipient: the MAIL reply is the reason they all fail.
      if (!mail_accepted_) break;
      if (reply.positive_completion())
        accepted_.push_back(expected.index);
      else
        set_result(expected.index, reply);
      break;
    case Expect::Data:
      if (reply.code == 354) {
        if (accepted_.empty() || !mail_accepted_) {
          // RFC 2920 3.1: DATA was accepted although no recipient was; end the
          // empty message and discard the reply.
          body_sent_ = true;
          pending_.push_back({Expect::EmptyDataEnd});
          return Write{".\r\n", Stage::DataTerm};
        }
      } else {
        if (!transaction_failure_) transaction_failure_ = reply;
        body_sent_ = true;  // nothing will be sent
      }
      break;
    case Expect::BdatChunk:
      if (!reply.positive_completion() && !transaction_failure_) transaction_failure_ = reply;
      break;
    case Expect::DataEnd:
      in_window_ = false;
      data_completed_ = true;
      for (const auto index : accepted_) set_result(index, transaction_failure_ ? *transaction_failure_ : reply);
      break;
    case Expect::LmtpRecipient:
      set_result(expected.index, transaction_failure_ ? *transaction_failure_ : reply);
      in_window_ = !pending_.empty();
      data_completed_ = pending_.empty();
      break;
    case Expect::EmptyDataEnd:
    case Expect::Quit:
      break;
  }
  return next_transaction_step();
}

Action ClientSession::finish_message() {
  if (!message_) {
    result_ = MessageResult{};
    phase_ = Phase::Ready;
    return Ready{};
  }
  MessageResult result;
  for (std::size_t i = 0; i < results_.size(); ++i) {
    if (!results_[i]) {
      if (transaction_failure_)
        set_result(i, *transaction_failure_);
      else
        set_result(i, Outcome::Transient, 451, {4, 3, 0}, "no reply was received for this recipient");
    }
    result.recipients.push_back(std::move(*results_[i]));
  }
  result.peer_offers_dsn = caps_.dsn;
  result_ = std::move(result);
  // A transaction the peer did not complete must be reset before the next one.
  needs_rset_ = mail_accepted_ && !data_completed_;
  message_.reset();
  results_.clear();
  pending_.clear();
  in_window_ = false;
  ++messages_sent_;
  phase_ = Phase::Ready;
  return Ready{};
}

Action ClientSession::on_connection_lost(std::string_view detail) {
  const auto kind = phase_ == Phase::Greeting ? FailureKind::HostNotResponding : FailureKind::ConnectionDropped;
  auto failure = failure_of(kind, std::string(detail));
  if (phase_ == Phase::Quitting || phase_ == Phase::Closed) {
    phase_ = Phase::Closed;
    return Close{};
  }
  // A lost connection during an opportunistic TLS handshake is a TLS failure.
  if (phase_ == Phase::TlsHandshake) failure.retry_without_tls = options_.tls == TlsPolicy::Opportunistic;
  return fail_connection(std::move(failure), false);
}

Action ClientSession::quit() {
  if (phase_ != Phase::Ready) {
    phase_ = Phase::Closed;
    return Close{};
  }
  phase_ = Phase::Quitting;
  return Write{"QUIT\r\n", Stage::Quit};
}

std::optional<MessageResult> ClientSession::take_result() { return std::exchange(result_, std::nullopt); }

void ClientSession::set_result(std::size_t index, const Reply& reply) {
  set_result(index, outcome_of_code(reply.code), reply.code, status_of_reply(reply), reply.str());
}

void ClientSession::set_result(std::size_t index, Outcome outcome, int code, EnhancedStatus status, std::string text) {
  if (index >= results_.size() || results_[index]) return;
  if (outcome == Outcome::Delivered && code / 100 != 2) outcome = Outcome::Transient;
  results_[index] = RecipientResult{message_->recipients[index].address, outcome, code, status, std::move(text)};
}

namespace {
Stage stage_of(int expect) noexcept {
  // Mirrors ClientSession::Expect.
  static constexpr Stage kStages[] = {Stage::Rset,     Stage::Mail,     Stage::Rcpt,
                                      Stage::DataInit, Stage::DataTerm, Stage::DataBlock,
                                      Stage::DataTerm, Stage::DataTerm, Stage::Quit};
  return kStages[expect];
}
}  // namespace

}  // namespace gw::delivery
