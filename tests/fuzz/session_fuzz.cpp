// libFuzzer target: the whole receive path (CommandParser -> Session ->
// DataParser) driven like gateway/server drives it, including the timing facts
// the driver reports (early talker, pipelined commands, input after DATA).
// Checks the session's own promises: a 250 2.6.0 only ever follows a
// CommitMessage, once a closing reply was sent no further reply is produced,
// and the session closes only after a 221 or a 421 (RFC 5321 3.8).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/smtp/command.h"
#include "gateway/smtp/data_parser.h"
#include "gateway/smtp/session.h"

namespace {

using namespace gw::smtp;

class Driver {
 public:
  explicit Driver(std::uint8_t flags, bool spoke_first)
      : session_(policy(flags), peer(flags)) {
    perform(session_.on_connect(spoke_first));
  }

  void feed(std::string_view input) {
    while (!input.empty() && !closed_) {
      std::size_t used = 0;
      if (discard_ > 0) {
        used = static_cast<std::size_t>(std::min<std::uint64_t>(discard_, input.size()));
        discard_ -= used;
      } else if (receiving_) {
        used = data_.put(input, spool_);
        if (data_.done()) {
          receiving_ = false;
          perform(session_.on_body_complete(data_.summary()));
        }
      } else {
        used = parser_.put(input);
        if (parser_.ready()) {
          Command command = parser_.take();
          // Octets after the line already here: the next command is pipelined.
          command.pipelined = pipelined_;
          command.input_follows = used < input.size();
          pipelined_ = command.input_follows;
          perform(session_.on_command(command));
        }
      }
      input.remove_prefix(used);
    }
  }

 private:
  static ListenerPolicy policy(std::uint8_t flags) {
    ListenerPolicy p;
    p.fqdn = "bh1.example.com";
    p.max_message_size = (flags & 1) ? 64 : 0;
    p.max_recipients = 3;
    p.max_messages_per_connection = (flags & 2) ? 1 : 0;
    p.enable_vrfy = flags & 4;
    p.require_tls = flags & 8;
    p.starttls_available = true;
    p.auth_mechanisms = {"PLAIN"};
    p.auth_without_tls = flags & 16;
    p.reject_spoofed_local_senders = flags & 32;
    p.domains.authoritative = {"example.com"};
    p.domains.non_authoritative = {"shared.example.org"};
    p.domains.relay_connector = {"*.relay.example"};
    p.sender_filter = {"@bad.example", "<>"};
    p.hard_error_limit = 5;
    p.junk_command_limit = 7;
    p.allow_unsynchronized_clients = flags & 128;
    return p;
  }
  static PeerInfo peer(std::uint8_t flags) {
    PeerInfo p;
    p.ip = "192.0.2.1";
    p.relay_allowed = flags & 64;
    return p;
  }

  void perform(const Action& action) {
    if (closed_) std::abort();  // nothing may follow a closing reply
    if (const auto* send = std::get_if<SendReply>(&action)) {
      if (send->reply.code == 250 && send->reply.status == gw::EnhancedStatus{2, 6, 0} && !committing_)
        std::abort();
      committing_ = false;
      closed_ = send->close_after;
      if (send->farewell && (!send->close_after || send->farewell->code != 421)) std::abort();
      const int last = send->farewell ? send->farewell->code : send->reply.code;
      if (send->close_after && last != 221 && last != 421) std::abort();
    } else if (const auto* check = std::get_if<CheckRecipient>(&action)) {
      const auto verdict = check->recipient.local_part().size() % 3 == 0   ? RecipientVerdict::accept()
                           : check->recipient.local_part().size() % 3 == 1 ? RecipientVerdict::try_later()
                                                                           : RecipientVerdict::reject(
                                                                                 550, {5, 1, 1}, "unknown");
      perform(session_.on_recipient_checked(verdict));
    } else if (const auto* body = std::get_if<ReceiveBody>(&action)) {
      if (body->first_chunk) data_ = DataParser(body->limits);
      receiving_ = true;
      if (body->mode == BodyMode::Data) {
        data_.begin_data();
      } else {
        data_.begin_chunk(body->chunk_size, body->last_chunk);
        if (data_.done()) {
          receiving_ = false;
          perform(session_.on_body_complete(data_.summary()));
        }
      }
    } else if (const auto* discard = std::get_if<DiscardBody>(&action)) {
      discard_ = discard->octets;
      closed_ = discard->close_after;
    } else if (std::holds_alternative<CommitMessage>(action)) {
      committing_ = true;
      perform(++commits_ % 4 == 0 ? session_.on_commit_failed(CommitFailure::LocalError)
                                  : session_.on_committed("QUEUEID"));
    } else if (std::holds_alternative<StartTls>(action)) {
      parser_.reset();
      session_.on_tls_established("TLSv1.3");
    } else if (std::holds_alternative<Authenticate>(action)) {
      ++auths_;
      perform(auths_ % 3 == 1   ? session_.on_authenticated("user@example.com", {"user@example.com"})
              : auths_ % 3 == 2 ? session_.on_auth_failed(AuthFailure::InvalidCredentials)
                                : session_.on_auth_failed(AuthFailure::LineTooLong));
    }
  }

  Session session_;
  CommandParser parser_;
  DataParser data_;
  std::string spool_;
  bool receiving_ = false;
  bool committing_ = false;
  bool closed_ = false;
  bool pipelined_ = false;
  std::uint64_t discard_ = 0;
  unsigned commits_ = 0;
  unsigned auths_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // Octets before the greeting: the driver would see them waiting at connect.
  Driver driver(data[0], size > 1 && data[1] == 'X');
  driver.feed(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
