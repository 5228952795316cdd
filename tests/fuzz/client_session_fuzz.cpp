// libFuzzer target: the outbound client (gateway/delivery) against a hostile
// next hop. The input is everything the peer says (greeting, EHLO, replies,
// possibly broken), read through ReplyParser in pieces and fed to
// ClientSession, which is driven as OutboundConnection drives it: two messages,
// then QUIT. Checks ClientSession's contract: every recipient of a message gets
// exactly one result, in order; with TLS required nothing but EHLO/HELO/LHLO,
// STARTTLS and QUIT is written before TLS is up; content is only sent after a
// transaction was begun; the session always ends (no endless loop).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/delivery/client_session.h"
#include "gateway/delivery/reply.h"

namespace {

using namespace gw::delivery;

OutboundMessage message(unsigned n, std::uint8_t flags) {
  OutboundMessage m;
  m.sender = n % 2 ? "" : "sender@example.com";
  for (unsigned i = 0; i <= (flags >> 5); ++i) {
    OutboundRecipient r;
    r.address = "rcpt" + std::to_string(i) + "@example.net";
    if (i % 2) r.notify = "SUCCESS,FAILURE";
    if (i % 3 == 0) r.orcpt = "rcpt+" + std::to_string(i) + "@example.org";
    m.recipients.push_back(r);
  }
  m.size = 100 + 1000 * n;
  m.body = (flags & 16) ? BodyType::EightBitMime : BodyType::SevenBit;
  m.smtputf8 = (flags & 8) != 0;
  m.ret = "HDRS";
  m.envid = "ENV" + std::to_string(n);
  m.queue_id = "Q" + std::to_string(n);
  return m;
}

bool allowed_in_plaintext(std::string_view bytes) {
  for (std::string_view verb : {"EHLO ", "HELO ", "LHLO ", "STARTTLS\r\n", "QUIT\r\n"})
    if (bytes.starts_with(verb)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t piece = 1 + data[1] % 64;
  std::string_view peer(reinterpret_cast<const char*>(data + 2), size - 2);

  SessionOptions options;
  options.protocol = (flags & 1) ? Protocol::Lmtp : Protocol::Smtp;
  options.helo_name = "bh1.example.com";
  options.use_helo = (flags & 2) != 0;
  options.tls = (flags & 4) ? TlsPolicy::Required : TlsPolicy::Opportunistic;
  options.peer_name = "mx.example.net";
  ClientSession session(options);
  ReplyParser parser;
  bool tls_up = false;

  // Reads one reply; nullopt when the peer has nothing more (or is broken).
  auto read_reply = [&]() -> std::optional<Reply> {
    for (;;) {
      if (auto next = parser.next()) {
        if (!*next) return std::nullopt;
        return **next;
      }
      if (peer.empty()) return std::nullopt;
      const std::string_view chunk = peer.substr(0, piece);
      parser.put(chunk);
      peer.remove_prefix(chunk.size());
    }
  };

  unsigned sent = 0;
  std::optional<OutboundMessage> in_flight;
  Action action = session.start();
  for (unsigned steps = 0;; ++steps) {
    if (steps > 100000) std::abort();  // the session must end
    if (std::holds_alternative<Close>(action)) break;
    if (std::holds_alternative<Ready>(action)) {
      if (in_flight) {
        const auto result = session.take_result();
        if (!result || result->recipients.size() != in_flight->recipients.size()) std::abort();
        for (std::size_t i = 0; i < result->recipients.size(); ++i)
          if (result->recipients[i].address != in_flight->recipients[i].address) std::abort();
        in_flight.reset();
      }
      if (sent < 2) {
        in_flight = message(sent++, flags);
        action = session.send(*in_flight);
      } else {
        action = session.quit();
      }
      continue;
    }
    if (const auto* write = std::get_if<Write>(&action)) {
      if (options.tls == TlsPolicy::Required && !tls_up && !allowed_in_plaintext(write->bytes)) std::abort();
      action = ReadReply{write->stage};
    }
    if (std::holds_alternative<ReadReply>(action)) {
      const auto reply = read_reply();
      action = reply ? session.on_reply(*reply) : session.on_connection_lost("peer closed");
      continue;
    }
    if (std::holds_alternative<StartTls>(action)) {
      tls_up = (flags & 64) != 0;
      action = session.on_tls_result(tls_up, tls_up ? "" : "handshake failed");
      continue;
    }
    if (const auto* body = std::get_if<SendBody>(&action)) {
      if (!in_flight) std::abort();
      if (options.tls == TlsPolicy::Required && !tls_up) std::abort();
      action = session.on_body_sent(body->encoding == BodyEncoding::Bdat ? 1 + (flags >> 7) : 0);
      continue;
    }
  }
  // A message whose connection ended still gets a result for every recipient.
  if (in_flight) {
    const auto result = session.take_result();
    if (result && result->recipients.size() != in_flight->recipients.size()) std::abort();
  }
  return 0;
}
