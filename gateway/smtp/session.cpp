#include "gateway/smtp/session.h"
#include "gateway/common/ascii.h"

#include <algorithm>
#include <ctime>
#include <utility>

namespace gw::smtp {
namespace {

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

// Peer text that ends up in a header: printable ASCII without blanks or
// parentheses, so it cannot fold the header or open a comment.
std::string printable(std::string_view text, std::size_t max_len = 255) {
  std::string out;
  for (const unsigned char c : text.substr(0, max_len))
    out += (c >= 33 && c <= 126 && c != '(' && c != ')') ? static_cast<char>(c) : '?';
  return out;
}

// Text the driver produced (TLS description): printable ASCII and blanks.
std::string comment_text(std::string_view text, std::size_t max_len = 128) {
  std::string out;
  for (const unsigned char c : text.substr(0, max_len))
    out += (c >= 32 && c <= 126 && c != '(' && c != ')' && c != '\\') ? static_cast<char>(c) : '?';
  return out;
}

Reply sequence(std::string text) { return Reply(503, status(5, 5, 1), std::move(text)); }

// A command that must be the last of a pipelined group (RFC 2920 3.1, RFC 1985,
// RFC 2645): the client waits for its reply before sending anything else.
bool ends_group(Verb verb) {
  switch (verb) {
    case Verb::Helo:
    case Verb::Ehlo:
    case Verb::Vrfy:
    case Verb::Expn:
    case Verb::Noop:
    case Verb::Etrn:
    case Verb::Atrn:
    case Verb::Turn:
    case Verb::Quit:
      return true;
    default:
      return false;
  }
}

// An HTTP request or proxy handshake sent to the SMTP port (a browser, a proxy
// probe, a cross-protocol attack): the request line's method, or a header
// field ("Host: ...", "User-Agent: ...").
bool http_request(const Command& command) {
  const std::string_view line = command.line;
  const std::string_view word = line.substr(0, line.find(' '));
  static constexpr std::string_view kMethods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
                                                  "CONNECT", "TRACE", "PATCH"};
  for (const std::string_view method : kMethods)
    if (iequals(word, method)) return true;
  return word.size() > 1 && word.back() == ':' &&
         std::all_of(word.begin(), word.end() - 1, [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

}  // namespace

Session::Session(ListenerPolicy policy, PeerInfo peer) : policy_(std::move(policy)), peer_(std::move(peer)) {}

Action Session::send(Reply reply, bool close_after) {
  if (close_after) phase_ = Phase::Closing;
  return SendReply{std::move(reply), close_after, false};
}

Action Session::closing(Reply reply) {
  const bool discard = reset_transaction();
  phase_ = Phase::Closing;
  return SendReply{std::move(reply), true, discard};
}

Action Session::closing_after(Reply reply, std::string farewell_text) {
  const bool discard = reset_transaction();
  phase_ = Phase::Closing;
  return SendReply{std::move(reply), true, discard, Reply(421, status(4, 7, 0), policy_.fqdn + " " + farewell_text)};
}

Action Session::error_reply(Reply reply) {
  ++errors_;
  // Answered, then closed (as Postfix's hard error limit does): the client
  // learns why its last command failed and why the session ends.
  if (policy_.hard_error_limit != 0 && errors_ >= policy_.hard_error_limit)
    return closing_after(std::move(reply), "Error: too many errors, closing connection");
  return send(std::move(reply));
}

std::optional<Action> Session::count_junk() {
  ++junk_;
  if (policy_.junk_command_limit != 0 && junk_ >= policy_.junk_command_limit)
    return closing(Reply(421, status(4, 7, 0), policy_.fqdn + " Error: too many junk commands, closing connection"));
  return std::nullopt;
}

bool Session::unsynchronized(const Command& command) const {
  // RFC 2920: pipelining only after EHLO advertised it, and never behind a
  // command that ends a group. QUIT is let through: refusing it would only keep
  // the client longer (".<CRLF>QUIT" in one write is common).
  return command.pipelined && command.verb != Verb::Quit && !policy_.allow_unsynchronized_clients &&
         (must_wait_ || !envelope_.esmtp);
}

bool Session::in_transaction() const {
  return phase_ == Phase::Mail || phase_ == Phase::Rcpt || phase_ == Phase::Data;
}

bool Session::reset_transaction() {
  const bool discard = body_started_;
  envelope_.sender = Path{};
  envelope_.recipients.clear();
  envelope_.mail = MailParameters{};
  envelope_.chunking = false;
  pending_recipient_.reset();
  receiving_ = false;
  receiving_last_ = false;
  body_started_ = false;
  awaiting_commit_ = false;
  if (phase_ == Phase::Mail || phase_ == Phase::Rcpt || phase_ == Phase::Data)
    phase_ = envelope_.helo.empty() ? Phase::Greeting : Phase::Ready;
  return discard;
}

bool Session::auth_offered() const {
  return !policy_.auth_mechanisms.empty() && auth_identity_.empty() &&
         (tls_active_ || policy_.auth_without_tls);
}

bool Session::atrn_offered() const {
  // RFC 2645: only for authenticated accounts, so only where AUTH exists at all.
  return !policy_.auth_mechanisms.empty() &&
         std::any_of(policy_.trn_connectors.begin(), policy_.trn_connectors.end(),
                     [](const TrnConnector& connector) { return !connector.authorized_accounts.empty(); });
}

bool Session::may_relay() const {
  return peer_.relay_allowed || (!auth_identity_.empty() && policy_.allow_authenticated_relay);
}

BodyLimits Session::body_limits() const {
  BodyLimits limits;
  limits.max_message_size = policy_.max_message_size;
  if (policy_.max_session_size != 0) {
    const std::uint64_t left =
        policy_.max_session_size > session_octets_ ? policy_.max_session_size - session_octets_ : 0;
    // 0 would mean "unlimited": at least one octet over the limit is detected.
    const std::uint64_t cap = std::max<std::uint64_t>(left, 1);
    if (limits.max_message_size == 0 || cap < limits.max_message_size) limits.max_message_size = cap;
  }
  limits.binary = envelope_.mail.body == BodyType::BinaryMime;
  return limits;
}

bool Session::sender_filtered(const Path& sender) const {
  const std::string address = ascii_lower(sender.mailbox.str());
  const std::string& domain = sender.mailbox.domain();
  for (const std::string& raw : policy_.sender_filter) {
    const std::string entry = ascii_lower(raw);
    if (entry == "<>") {
      if (sender.null) return true;
      continue;
    }
    if (sender.null) continue;
    if (entry.starts_with("@") || entry.starts_with("*@")) {
      if (normalize_domain(entry.substr(entry.find('@') + 1)) == domain) return true;
    } else {
      const std::size_t at = entry.rfind('@');
      if (at != std::string::npos &&
          entry.substr(0, at) + "@" + normalize_domain(entry.substr(at + 1)) == address)
        return true;
    }
  }
  return false;
}

std::vector<std::string> Session::ehlo_lines() const {
  std::vector<std::string> lines;
  lines.push_back(policy_.fqdn + " Hello [" + peer_.ip + "]");
  lines.push_back("PIPELINING");
  lines.push_back(policy_.max_message_size == 0 ? "SIZE" : "SIZE " + std::to_string(policy_.max_message_size));
  lines.push_back("8BITMIME");
  lines.push_back("BINARYMIME");
  lines.push_back("CHUNKING");
  lines.push_back("ENHANCEDSTATUSCODES");
  lines.push_back("DSN");
  lines.push_back("SMTPUTF8");
  if (policy_.starttls_available && !tls_active_) lines.push_back("STARTTLS");
  if (auth_offered()) {
    std::string auth = "AUTH";
    for (const auto& mechanism : policy_.auth_mechanisms) auth += " " + ascii_upper(mechanism);
    lines.push_back(auth);
  }
  if (policy_.enable_vrfy) lines.push_back("VRFY");
  if (policy_.enable_etrn) lines.push_back("ETRN");
  if (atrn_offered()) lines.push_back("ATRN");
  lines.push_back("HELP");
  return lines;
}

Action Session::on_connect(bool client_spoke_first) {
  phase_ = Phase::Greeting;
  if (client_spoke_first && !policy_.allow_unsynchronized_clients) {
    // RFC 5321 3.1 allows 554 in place of the 220; the 421 that follows
    // closes the session (3.8) instead of waiting for a QUIT from a client
    // that does not wait for replies.
    phase_ = Phase::Closing;
    return SendReply{Reply(554, status(5, 5, 0), policy_.fqdn + " Error: SMTP protocol synchronization"), true,
                     false, Reply(421, status(4, 7, 0), policy_.fqdn + " Closing connection")};
  }
  // RFC 2034 3: no enhanced status in the greeting.
  return send(Reply(220, std::nullopt, policy_.fqdn + " ESMTP"));
}

Action Session::on_command(const Command& command) {
  if (phase_ == Phase::Closing) return send(Reply(421, status(4, 3, 0), "Connection closing"), true);
  if (awaiting_check_ || awaiting_commit_ || awaiting_release_ || awaiting_trn_check_ || receiving_ ||
      phase_ == Phase::TlsHandshake || phase_ == Phase::Auth)
    return send(sequence("Command out of sequence"));
  if (http_request(command))
    return closing(Reply(421, status(4, 7, 0), policy_.fqdn + " Error: not an SMTP client, closing connection"));
  const bool out_of_step = unsynchronized(command);
  // A group ends where the client waited for our reply.
  must_wait_ = (must_wait_ && command.pipelined) || ends_group(command.verb);
  if (out_of_step) return error_reply(Reply(503, status(5, 5, 0), "Improper use of SMTP command pipelining"));
  if (command.line_error) {
    if (command.verb == Verb::Unknown)
      if (auto junk = count_junk()) return std::move(*junk);
    return error_reply(*command.error);
  }
  switch (command.verb) {
    case Verb::Noop:
    case Verb::Rset:
    case Verb::Vrfy:
    case Verb::Help:
    case Verb::Unknown:
      if (auto junk = count_junk()) return std::move(*junk);
      break;
    default:
      break;
  }

  switch (command.verb) {
    case Verb::Helo: return handle_helo(command, false);
    case Verb::Ehlo: return handle_helo(command, true);
    case Verb::Mail: return handle_mail(command);
    case Verb::Rcpt: return handle_rcpt(command);
    case Verb::Data: return handle_data(command);
    case Verb::Bdat: return handle_bdat(command);
    case Verb::Vrfy: return handle_vrfy(command);
    case Verb::StartTls: return handle_starttls(command);
    case Verb::Auth: return handle_auth(command);
    case Verb::Rset: {
      if (command.error) return error_reply(*command.error);
      const bool discard = reset_transaction();
      return SendReply{Reply(250, status(2, 0, 0), "OK"), false, discard};
    }
    case Verb::Noop:
      return send(Reply(250, status(2, 0, 0), "OK"));
    case Verb::Quit:
      return closing(Reply(221, status(2, 0, 0), policy_.fqdn + " closing connection"));
    case Verb::Help:
      return send(Reply(214, status(2, 0, 0),
                        std::vector<std::string>{
                            "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH",
                            "See RFC 5321"}));
    case Verb::Expn:
      return send(Reply(502, status(5, 5, 1), "EXPN not supported"));
    case Verb::Etrn: return handle_etrn(command);
    case Verb::Atrn: return handle_atrn(command);
    case Verb::Turn:
      // RFC 2645 1: TURN reverses roles without knowing who the client is, so
      // anyone could collect another site's mail.
      return send(Reply(502, status(5, 5, 1), "TURN is insecure; use ATRN"));
    case Verb::Unknown:
      return error_reply(Reply(500, status(5, 5, 1), "Command unrecognized"));
  }
  return error_reply(Reply(500, status(5, 5, 1), "Command unrecognized"));
}

Action Session::handle_helo(const Command& command, bool extended) {
  if (command.error) return error_reply(*command.error);
  // RFC 5321 4.1.4: HELO/EHLO in the middle of a transaction resets it.
  const bool discard = reset_transaction();
  envelope_.helo = printable(command.argument);
  envelope_.esmtp = extended;
  phase_ = Phase::Ready;
  // RFC 2034 3: no enhanced status in the HELO/EHLO reply.
  Reply reply = extended ? Reply(250, std::nullopt, ehlo_lines())
                         : Reply(250, std::nullopt, policy_.fqdn + " Hello [" + peer_.ip + "]");
  return SendReply{std::move(reply), false, discard};
}

Action Session::handle_mail(const Command& command) {
  if (phase_ == Phase::Greeting) return error_reply(sequence("Send HELO/EHLO first"));
  if (in_transaction()) return error_reply(sequence("Sender already specified"));
  if (policy_.require_tls && !tls_active_)
    return send(Reply(530, status(5, 7, 0), "Must issue a STARTTLS command first"));
  if (policy_.require_auth && auth_identity_.empty())
    return send(Reply(530, status(5, 7, 0), "Authentication required"));
  if (command.error) return error_reply(*command.error);
  if (command.has_parameters && !envelope_.esmtp)
    return error_reply(Reply(555, status(5, 5, 4), "ESMTP parameters require EHLO"));
  if (policy_.max_messages_per_connection != 0 && messages_accepted_ >= policy_.max_messages_per_connection)
    return closing(Reply(421, status(4, 7, 0), policy_.fqdn + " Too many messages for this connection"));

  const MailParameters& mail = command.mail;
  if (mail.size && policy_.max_message_size != 0 && *mail.size > policy_.max_message_size)
    return send(Reply(552, status(5, 3, 4), "Message size exceeds fixed maximum message size"));
  if (mail.size && policy_.max_session_size != 0 && *mail.size + session_octets_ > policy_.max_session_size)
    return send(Reply(552, status(5, 3, 4), "Message size exceeds the session size limit"));
  if (sender_filtered(command.path)) return send(Reply(550, status(5, 7, 1), "Sender denied"));
  // Anti-spoofing: an anonymous client from outside the relay list may not use
  // a sender address in an authoritative domain of this organization.
  if (policy_.reject_spoofed_local_senders && auth_identity_.empty() && !peer_.relay_allowed &&
      !command.path.null && policy_.domains.classify(command.path.mailbox.domain()) == DomainClass::Authoritative)
    return send(Reply(550, status(5, 7, 1), "Not authorized to send as this sender"));

  // Submission: an authenticated user sends only as one of the account's own
  // addresses. The null sender (MDNs, RFC 8098) impersonates no one.
  if (policy_.require_sender_is_own_address && !auth_identity_.empty() && !command.path.null &&
      std::find(own_addresses_.begin(), own_addresses_.end(), ascii_lower(command.path.mailbox.str())) ==
          own_addresses_.end())
    // 553: "mailbox name not allowed" (RFC 5321 4.2.2), as Postfix's
    // reject_sender_login_mismatch answers.
    return send(Reply(553, status(5, 7, 1), "Sender address not owned by the authenticated user"));

  envelope_.sender = command.path;
  envelope_.sender.source_route.clear();  // RFC 5321 4.1.1.3: ignored
  envelope_.mail = mail;
  // RFC 4954 5: AUTH= from a client that has not authenticated is not trusted.
  if (envelope_.mail.auth && auth_identity_.empty()) envelope_.mail.auth = "<>";
  envelope_.recipients.clear();
  phase_ = Phase::Mail;
  return send(Reply(250, status(2, 1, 0), "Sender OK"));
}

Action Session::handle_rcpt(const Command& command) {
  if (phase_ == Phase::Greeting) return error_reply(sequence("Send HELO/EHLO first"));
  if (phase_ == Phase::Ready) return error_reply(sequence("Need MAIL command"));
  if (phase_ == Phase::Data) return error_reply(sequence("RCPT not allowed during BDAT transfer"));
  if (policy_.require_tls && !tls_active_)
    return send(Reply(530, status(5, 7, 0), "Must issue a STARTTLS command first"));
  if (command.error) return error_reply(*command.error);
  if (command.has_parameters && !envelope_.esmtp)
    return error_reply(Reply(555, status(5, 5, 4), "ESMTP parameters require EHLO"));
  if (!command.path.mailbox.is_ascii() && !envelope_.mail.smtputf8)
    return error_reply(Reply(553, status(5, 6, 7), "Non-ASCII addresses require SMTPUTF8"));
  // A bounce goes to one sender: a null reverse-path with several recipients
  // is mail that no MTA generates (Postfix's reject_multi_recipient_bounce).
  if (envelope_.sender.null && !envelope_.recipients.empty())
    return error_reply(Reply(550, status(5, 5, 3), "Multi-recipient bounce: a null sender takes one recipient"));
  if (policy_.max_recipients != 0 && envelope_.recipients.size() >= policy_.max_recipients)
    return send(Reply(452, status(4, 5, 3), "Too many recipients"));

  Address recipient = command.path.mailbox;
  if (recipient.domain().empty()) {
    // RCPT TO:<Postmaster> (RFC 5321 4.1.1.3).
    std::string domain = policy_.postmaster_domain;
    if (domain.empty() && !policy_.domains.authoritative.empty()) domain = policy_.domains.authoritative.front();
    if (domain.empty()) domain = policy_.fqdn;
    recipient = Address("postmaster", normalize_domain(domain));
  }
  // The relay decision is made on the final domain; a source route is ignored
  // (RFC 5321 4.1.1.3), so <@local:user@remote> is relaying to remote.
  const DomainClass domain_class = policy_.domains.classify(recipient.domain());
  const bool relay_ok = may_relay();
  if (domain_class == DomainClass::Remote && !relay_ok)
    return error_reply(Reply(550, status(5, 7, 1), "Unable to relay"));
  if (local_part_routing(recipient) != LocalPartRouting::None && !relay_ok)
    return error_reply(Reply(550, status(5, 7, 1), "Unable to relay: routing in the local part is not accepted"));

  AcceptedRecipient accepted;
  accepted.address = std::move(recipient);
  accepted.domain_class = domain_class;
  accepted.notify = command.rcpt.notify;
  accepted.orcpt_type = command.rcpt.orcpt_type;
  accepted.orcpt = command.rcpt.orcpt;
  pending_recipient_ = accepted;
  pending_vrfy_ = false;
  awaiting_check_ = true;
  return CheckRecipient{accepted.address, domain_class, false};
}

Action Session::on_recipient_checked(const RecipientVerdict& verdict) {
  if (!awaiting_check_) return send(sequence("No recipient check pending"));
  awaiting_check_ = false;
  Reply refusal = verdict.reply;
  if (verdict.kind == RecipientVerdict::Kind::Reject && refusal.code < 500)
    refusal = Reply(550, status(5, 1, 1), "Recipient rejected");
  if (verdict.kind == RecipientVerdict::Kind::TryLater && (refusal.code < 400 || refusal.code >= 500))
    refusal = RecipientVerdict::try_later().reply;

  if (pending_vrfy_) {
    pending_vrfy_ = false;
    if (verdict.kind == RecipientVerdict::Kind::Accept)
      return send(Reply(250, status(2, 1, 5), "<" + pending_vrfy_address_.str() + ">"));
    if (verdict.kind == RecipientVerdict::Kind::Reject) return error_reply(std::move(refusal));
    return send(std::move(refusal));
  }
  AcceptedRecipient accepted = std::move(*pending_recipient_);
  pending_recipient_.reset();
  // Refused recipients count as errors (a dictionary attack is one refusal after another).
  if (verdict.kind == RecipientVerdict::Kind::Reject) return error_reply(std::move(refusal));
  if (verdict.kind != RecipientVerdict::Kind::Accept) return send(std::move(refusal));
  const bool duplicate = std::any_of(envelope_.recipients.begin(), envelope_.recipients.end(),
                                     [&](const AcceptedRecipient& r) { return r.address == accepted.address; });
  if (!duplicate) envelope_.recipients.push_back(std::move(accepted));
  phase_ = Phase::Rcpt;
  return send(Reply(250, status(2, 1, 5), "Recipient OK"));
}

Action Session::handle_data(const Command& command) {
  if (phase_ == Phase::Greeting) return error_reply(sequence("Send HELO/EHLO first"));
  if (phase_ == Phase::Ready) return error_reply(sequence("Need MAIL command"));
  if (phase_ == Phase::Data) return error_reply(sequence("DATA not allowed during BDAT transfer"));
  if (policy_.require_tls && !tls_active_)
    return send(Reply(530, status(5, 7, 0), "Must issue a STARTTLS command first"));
  if (phase_ == Phase::Mail) return send(Reply(554, status(5, 5, 1), "No valid recipients"));
  if (command.error) return error_reply(*command.error);
  // RFC 3030 3: BINARYMIME content can only be sent with BDAT.
  if (envelope_.mail.body == BodyType::BinaryMime)
    return error_reply(sequence("BODY=BINARYMIME requires BDAT"));
  // Content sent before the 354 (RFC 2920 3.1: DATA ends a group). Refusing
  // DATA would leave the content to be read as commands, so the session ends.
  if (command.input_follows && !policy_.allow_unsynchronized_clients)
    return closing_after(Reply(554, status(5, 5, 0), "Error: SMTP protocol synchronization (content before 354)"),
                         "Closing connection");
  phase_ = Phase::Data;
  receiving_ = true;
  receiving_last_ = true;
  body_started_ = true;
  envelope_.chunking = false;
  ReceiveBody action;
  action.reply = Reply(354, std::nullopt, "End data with <CR><LF>.<CR><LF>");
  action.mode = BodyMode::Data;
  action.first_chunk = true;
  action.last_chunk = true;
  action.limits = body_limits();
  return action;
}

Action Session::handle_bdat(const Command& command) {
  // Without a valid chunk size the octets that follow cannot be told apart from
  // commands: the stream is lost, so the connection is closed.
  if (command.error)
    return closing(Reply(421, status(4, 5, 4), policy_.fqdn + " " + command.error->lines.front() +
                                                   "; the chunk cannot be told from commands, closing connection"));
  const std::uint64_t octets = command.chunk_size;
  // An empty chunk that does not end the message moves nothing forward.
  if (octets == 0 && !command.last_chunk)
    if (auto junk = count_junk()) return std::move(*junk);
  if (phase_ == Phase::Greeting) return DiscardBody{octets, sequence("Send HELO/EHLO first"), false};
  if (phase_ == Phase::Ready) return DiscardBody{octets, sequence("Need MAIL command"), false};
  if (policy_.require_tls && !tls_active_)
    return DiscardBody{octets, Reply(530, status(5, 7, 0), "Must issue a STARTTLS command first"), false};
  if (phase_ == Phase::Mail) return DiscardBody{octets, Reply(554, status(5, 5, 1), "No valid recipients"), false};

  ReceiveBody action;
  action.mode = BodyMode::Bdat;
  action.first_chunk = phase_ == Phase::Rcpt;
  action.chunk_size = octets;
  action.last_chunk = command.last_chunk;
  phase_ = Phase::Data;
  envelope_.chunking = true;
  receiving_ = true;
  receiving_last_ = command.last_chunk;
  chunk_size_ = octets;
  body_started_ = true;
  action.limits = body_limits();
  return action;
}

Action Session::on_body_complete(const BodySummary& body) {
  if (!receiving_) return send(sequence("No message content expected"));
  receiving_ = false;
  // The session size limit counts every octet received, accepted or not.
  if (receiving_last_ || body.size_exceeded) session_octets_ += body.octets;
  const bool per_message_limit =
      policy_.max_message_size != 0 && body.octets > policy_.max_message_size;
  if (body.size_exceeded) {
    const bool discard = reset_transaction();
    Reply reply = per_message_limit
                      ? Reply(552, status(5, 3, 4), "Message size exceeds fixed maximum message size")
                      : Reply(552, status(5, 3, 4), "Message size exceeds the session size limit");
    return SendReply{std::move(reply), false, discard};
  }
  if (!receiving_last_) {
    return send(Reply(250, status(2, 0, 0), std::to_string(chunk_size_) + " octets received"));
  }

  std::optional<Reply> refusal;
  if (body.bare_lf || body.bare_cr) {
    // RFC 5321 2.3.8: CR and LF only as CRLF. See gateway/smtp/README.md.
    refusal = Reply(554, status(5, 6, 0), "Message contains bare CR or LF characters");
  } else if (body.line_too_long) {
    refusal = Reply(554, status(5, 6, 0), "Message contains a line longer than 1000 octets");
  } else if (policy_.max_hop_count != 0 && body.received_headers >= policy_.max_hop_count) {
    refusal = Reply(554, status(5, 4, 6), "Too many hops: routing loop detected");
  }
  if (refusal) {
    const bool discard = reset_transaction();
    return SendReply{std::move(*refusal), false, discard};
  }
  awaiting_commit_ = true;
  return CommitMessage{body};
}

Action Session::on_committed(std::string_view queue_id) {
  if (!awaiting_commit_) return send(sequence("No message awaiting commit"));
  awaiting_commit_ = false;
  body_started_ = false;
  ++messages_accepted_;
  junk_ = 0;  // a client that delivers mail is not wasting the session
  // session_octets_ is the volume the session size limit applies to.
  reset_transaction();
  return send(Reply(250, status(2, 6, 0), "<" + std::string(queue_id) + "> queued"));
}

Action Session::on_commit_failed(CommitFailure failure) {
  if (!awaiting_commit_) return send(sequence("No message awaiting commit"));
  const bool discard = reset_transaction();
  Reply reply = failure == CommitFailure::InsufficientStorage
                    ? Reply(452, status(4, 3, 1), "Insufficient system storage")
                    : Reply(451, status(4, 3, 0), "Local error in processing, try again later");
  return SendReply{std::move(reply), false, discard};
}

Action Session::on_timeout() {
  return closing(Reply(421, status(4, 4, 2), policy_.fqdn + " Error: timeout exceeded"));
}

Action Session::on_shutdown() {
  return closing(Reply(421, status(4, 3, 2), policy_.fqdn + " Service shutting down, closing transmission channel"));
}

Action Session::handle_vrfy(const Command& command) {
  if (!policy_.enable_vrfy)
    return send(Reply(252, status(2, 5, 2), "Cannot VRFY user, but will accept message and attempt delivery"));
  if (command.error) return error_reply(*command.error);
  std::string_view text = command.argument;
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  AddressOptions options;
  options.allow_utf8 = true;
  auto address = parse_mailbox(text, options);
  if (!address) return error_reply(Reply(501, status(5, 1, 3), "Bad address syntax"));
  const DomainClass domain_class = policy_.domains.classify(address->domain());
  if (domain_class != DomainClass::Authoritative && domain_class != DomainClass::NonAuthoritative)
    return send(Reply(252, status(2, 5, 2), "Cannot VRFY user, but will accept message and attempt delivery"));
  pending_vrfy_ = true;
  pending_vrfy_address_ = *address;
  awaiting_check_ = true;
  return CheckRecipient{*address, domain_class, true};
}

Action Session::handle_starttls(const Command& command) {
  if (!policy_.starttls_available) return send(Reply(502, status(5, 5, 1), "STARTTLS not available"));
  if (tls_active_) return error_reply(sequence("TLS already active"));
  if (in_transaction()) return error_reply(sequence("STARTTLS not allowed during a mail transaction"));
  if (command.error) return error_reply(*command.error);
  phase_ = Phase::TlsHandshake;
  return StartTls{Reply(220, status(2, 0, 0), "Ready to start TLS")};
}

void Session::on_tls_established(std::string description) {
  // RFC 3207 4.2: discard all knowledge obtained from the client before TLS.
  reset_transaction();
  tls_active_ = true;
  auth_identity_.clear();
  own_addresses_.clear();
  envelope_ = MessageEnvelope{};
  envelope_.tls = std::move(description);
  phase_ = Phase::Greeting;
}

Action Session::handle_auth(const Command& command) {
  if (phase_ == Phase::Greeting || !envelope_.esmtp) return error_reply(sequence("Send EHLO first"));
  if (in_transaction()) return error_reply(sequence("AUTH not allowed during a mail transaction"));
  if (!auth_identity_.empty()) return error_reply(sequence("Already authenticated"));
  if (policy_.auth_mechanisms.empty()) return send(Reply(502, status(5, 5, 1), "AUTH not available"));
  if (policy_.require_tls && !tls_active_)
    return send(Reply(530, status(5, 7, 0), "Must issue a STARTTLS command first"));
  if (!tls_active_ && !policy_.auth_without_tls)
    return send(Reply(538, status(5, 7, 11), "Encryption required for requested authentication mechanism"));
  if (command.error) return error_reply(*command.error);
  const std::string_view argument = command.argument;
  const std::size_t blank = argument.find(' ');
  const std::string mechanism = ascii_upper(argument.substr(0, blank));
  const bool offered = std::any_of(policy_.auth_mechanisms.begin(), policy_.auth_mechanisms.end(),
                                   [&](const std::string& m) { return ascii_upper(m) == mechanism; });
  if (!offered) return error_reply(Reply(504, status(5, 5, 4), "Unrecognized authentication type"));
  Authenticate action;
  action.mechanism = mechanism;
  if (blank != std::string_view::npos) {
    std::string_view initial = argument.substr(blank + 1);
    while (!initial.empty() && initial.front() == ' ') initial.remove_prefix(1);
    if (initial.empty() || initial.find(' ') != std::string_view::npos)
      return error_reply(Reply(501, status(5, 5, 4), "Syntax: AUTH mechanism [initial-response]"));
    action.initial_response = std::string(initial);
  }
  phase_before_auth_ = phase_;
  phase_ = Phase::Auth;
  return action;
}

Action Session::on_authenticated(std::string identity, std::vector<std::string> own_addresses) {
  if (phase_ != Phase::Auth) return send(sequence("No authentication in progress"));
  phase_ = phase_before_auth_;
  auth_identity_ = std::move(identity);
  own_addresses_.clear();
  for (std::string& address : own_addresses) own_addresses_.push_back(ascii_lower(address));
  envelope_.auth_identity = auth_identity_;
  return send(Reply(235, status(2, 7, 0), "Authentication successful"));
}

Action Session::on_auth_failed(AuthFailure failure) {
  if (phase_ != Phase::Auth) return send(sequence("No authentication in progress"));
  phase_ = phase_before_auth_;
  switch (failure) {
    case AuthFailure::InvalidCredentials:
      return error_reply(Reply(535, status(5, 7, 8), "Authentication credentials invalid"));
    case AuthFailure::Cancelled:
      return send(Reply(501, status(5, 0, 0), "Authentication cancelled"));
    case AuthFailure::Malformed:
      return error_reply(Reply(501, status(5, 5, 2), "Cannot decode authentication response"));
    case AuthFailure::Temporary:
      return send(Reply(454, status(4, 7, 0), "Temporary authentication failure"));
    case AuthFailure::WeakMechanism:
      return send(Reply(534, status(5, 7, 9), "Authentication mechanism is too weak"));
    case AuthFailure::LineTooLong:
      return error_reply(Reply(500, status(5, 5, 6), "Authentication Exchange line is too long"));
  }
  return error_reply(Reply(535, status(5, 7, 8), "Authentication credentials invalid"));
}

Action Session::handle_etrn(const Command& command) {
  if (!policy_.enable_etrn) return send(Reply(502, status(5, 5, 1), "ETRN not available"));
  if (phase_ == Phase::Greeting) return error_reply(sequence("Send HELO/EHLO first"));
  // RFC 1985 3: not within a mail transaction.
  if (in_transaction()) return error_reply(sequence("ETRN not allowed during a mail transaction"));
  if (policy_.require_tls && !tls_active_)
    return send(Reply(530, status(5, 7, 0), "Must issue a STARTTLS command first"));
  if (policy_.require_auth && auth_identity_.empty())
    return send(Reply(530, status(5, 7, 0), "Authentication required"));
  if (command.error) return error_reply(*command.error);

  const EtrnRequest& request = command.etrn;
  std::string node = request.node;
  if (request.kind == EtrnKind::Subdomains) node = "@" + node;
  if (request.kind == EtrnKind::Queue) node = "#" + node;
  if (!peer_.etrn_allowed)
    return send(Reply(459, status(4, 7, 1), "Node " + node + " not allowed: client not authorized for ETRN"));

  ReleaseQueue action;
  action.node = node;
  switch (request.kind) {
    case EtrnKind::Domain:
      action.domains.push_back(request.node);
      break;
    case EtrnKind::Subdomains:
      // RFC 1985 5.3: the domain and every host below it.
      action.domains.push_back(request.node);
      action.domains.push_back("*." + request.node);
      break;
    case EtrnKind::Queue: {
      // "#name" names a remote-triggered connector: its domains are released.
      const auto connector = std::find_if(policy_.trn_connectors.begin(), policy_.trn_connectors.end(),
                                          [&](const TrnConnector& c) { return iequals(c.name, request.node); });
      if (connector == policy_.trn_connectors.end() || connector->domains.empty())
        return send(Reply(459, status(4, 7, 1), "Node " + node + " not allowed: no such queue"));
      action.domains = connector->domains;
      break;
    }
  }
  awaiting_release_ = true;
  release_node_ = node;
  return action;
}

Action Session::on_queue_released(const ReleaseOutcome& outcome) {
  if (!awaiting_release_) return send(sequence("No ETRN pending"));
  awaiting_release_ = false;
  const std::string node = std::move(release_node_);
  release_node_.clear();
  if (!outcome.available)
    return send(Reply(458, status(4, 3, 0), "Unable to queue messages for node " + node));
  if (!outcome.known_node)
    return send(Reply(459, status(4, 7, 1),
                      "Node " + node + " not allowed: no remote-triggered delivery for it here"));
  if (outcome.messages == 0)
    return send(Reply(251, status(2, 0, 0), "OK, no messages waiting for node " + node));
  return send(Reply(253, status(2, 0, 0),
                    "OK, " + std::to_string(outcome.messages) + " pending messages for node " + node + " started"));
}

bool Session::trn_account_authorized(const TrnConnector& connector) const {
  return std::any_of(connector.authorized_accounts.begin(), connector.authorized_accounts.end(),
                     [&](const std::string& account) {
                       const std::string wanted = ascii_lower(account);
                       return wanted == ascii_lower(auth_identity_) ||
                              std::find(own_addresses_.begin(), own_addresses_.end(), wanted) != own_addresses_.end();
                     });
}

Action Session::handle_atrn(const Command& command) {
  if (phase_ == Phase::Greeting || !envelope_.esmtp) return error_reply(sequence("Send EHLO first"));
  if (in_transaction()) return error_reply(sequence("ATRN not allowed during a mail transaction"));
  // RFC 2645 4.1: only an authenticated client may take mail.
  if (auth_identity_.empty()) return send(Reply(530, status(5, 7, 0), "Authentication required"));
  if (command.error) return error_reply(*command.error);

  std::vector<std::string> permitted;
  CheckTrnQueue action;
  for (const TrnConnector& connector : policy_.trn_connectors) {
    if (!trn_account_authorized(connector)) continue;
    permitted.insert(permitted.end(), connector.domains.begin(), connector.domains.end());
    action.connectors.push_back(connector.name);
  }
  if (permitted.empty()) return send(Reply(450, status(4, 7, 0), "ATRN request refused"));

  if (command.atrn_domains.empty()) {
    action.domains = std::move(permitted);
  } else {
    for (const std::string& domain : command.atrn_domains) {
      const bool allowed = std::any_of(permitted.begin(), permitted.end(),
                                       [&](const std::string& space) { return domain_in_form(domain, space); });
      if (!allowed) return send(Reply(450, status(4, 7, 0), "ATRN request refused for " + domain));
      action.domains.push_back(domain);
    }
  }
  awaiting_trn_check_ = true;
  return action;
}

Action Session::on_trn_queue_checked(std::optional<std::size_t> messages) {
  if (!awaiting_trn_check_) return send(sequence("No ATRN pending"));
  awaiting_trn_check_ = false;
  if (!messages) return send(Reply(451, status(4, 3, 0), "Unable to process ATRN request now"));
  if (*messages == 0) return send(Reply(453, status(4, 3, 0), "You have no mail"));
  // RFC 2645 4.2: from here on this end is the SMTP client; the server
  // session is over whatever the reversed session does.
  phase_ = Phase::Closing;
  return ReverseConnection{Reply(250, status(2, 0, 0), "OK, now reversing the connection")};
}

std::string rfc5322_date(std::chrono::system_clock::time_point when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday], utc.tm_mday,
                kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

std::string received_header(const MessageEnvelope& envelope, const PeerInfo& peer, std::string_view by_fqdn,
                            std::string_view queue_id, std::chrono::system_clock::time_point when) {
  // RFC 3848 / RFC 6531 4.3 "with" protocol names.
  std::string protocol;
  if (envelope.mail.smtputf8) {
    protocol = "UTF8SMTP";
  } else {
    protocol = envelope.esmtp ? "ESMTP" : "SMTP";
  }
  if (envelope.esmtp || envelope.mail.smtputf8) {
    if (!envelope.tls.empty()) protocol += "S";
    if (!envelope.auth_identity.empty()) protocol += "A";
  }
  const bool v6 = peer.ip.find(':') != std::string::npos;
  const std::string ip_literal = v6 ? "[IPv6:" + peer.ip + "]" : "[" + peer.ip + "]";
  const std::string helo = envelope.helo.empty() ? std::string("unknown") : printable(envelope.helo);
  const std::string host = peer.hostname.empty() ? std::string("unknown") : printable(peer.hostname);

  std::string header = "Received: from " + helo + " (" + host + " " + ip_literal + ")\r\n";
  header += "\tby " + std::string(by_fqdn) + " with " + protocol + " id " + std::string(queue_id);
  if (!envelope.tls.empty()) header += "\r\n\t(using " + comment_text(envelope.tls) + ")";
  if (envelope.recipients.size() == 1) header += "\r\n\tfor <" + envelope.recipients.front().address.str() + ">";
  header += "; " + rfc5322_date(when) + "\r\n";
  return header;
}

}  // namespace gw::smtp
