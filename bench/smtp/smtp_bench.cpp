// smtp_bench: how fast the protocol layer turns client octets into spool octets
// and replies, without sockets. Prints one line per case:
//   case  MB/s or ops/s
// Usage: smtp_bench [message-megabytes (default 64)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/smtp/command.h"
#include "gateway/smtp/data_parser.h"
#include "gateway/smtp/session.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace gw::smtp;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string sample_content(std::size_t megabytes, bool dot_lines) {
  std::string content = "Received: from a\r\nReceived: from b\r\nSubject: bench\r\n\r\n";
  const std::string line = std::string(76, 'x') + "\r\n";
  const std::string dotted = "." + std::string(75, 'y') + "\r\n";
  std::size_t n = 0;
  while (content.size() < megabytes * 1024 * 1024) content += (dot_lines && ++n % 10 == 0) ? dotted : line;
  return content;
}

// Feeds `wire` in 64 KiB reads, as a socket driver would; the spool buffer is
// flushed at 1 MiB.
void bench_data(const char* name, const std::string& wire, std::size_t content_octets) {
  const auto start = Clock::now();
  DataParser parser;
  parser.begin_data();
  std::string spool;
  std::size_t pos = 0;
  while (!parser.done() && pos < wire.size()) {
    pos += parser.put(std::string_view(wire).substr(pos, 65536), spool);
    if (spool.size() >= (1u << 20)) spool.clear();
  }
  const double s = seconds_since(start);
  if (!parser.done()) std::abort();
  std::printf("%-28s %8.1f MB/s\n", name, static_cast<double>(content_octets) / s / 1e6);
}

void bench_bdat(const std::string& content) {
  const auto start = Clock::now();
  DataParser parser;
  std::string spool;
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t pos = 0; pos < content.size(); pos += kChunk) {
    const std::string_view chunk = std::string_view(content).substr(pos, kChunk);
    parser.begin_chunk(chunk.size(), pos + kChunk >= content.size());
    std::size_t used = 0;
    while (used < chunk.size()) used += parser.put(chunk.substr(used, 65536), spool);
    spool.clear();
  }
  std::printf("%-28s %8.1f MB/s\n", "BDAT 1 MiB chunks", static_cast<double>(content.size()) / seconds_since(start) / 1e6);
}

void bench_commands() {
  const std::string batch =
      "MAIL FROM:<sender@sender.example> SIZE=12345 BODY=8BITMIME\r\n"
      "RCPT TO:<user@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@example.com\r\n";
  constexpr int kRounds = 200000;
  const auto start = Clock::now();
  CommandParser parser;
  std::size_t commands = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::string_view input = batch;
    while (!input.empty()) {
      input.remove_prefix(parser.put(input));
      if (parser.ready() && parser.take().verb != Verb::Unknown) ++commands;
    }
  }
  std::printf("%-28s %8.0f commands/s\n", "CommandParser MAIL+RCPT", static_cast<double>(commands) / seconds_since(start));
}

void bench_sessions() {
  ListenerPolicy policy;
  policy.fqdn = "bh1.example.com";
  policy.domains.authoritative = {"example.com"};
  PeerInfo peer;
  peer.ip = "192.0.2.1";
  const std::string script =
      "EHLO client.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
      "Subject: s\r\n\r\nhello\r\n.\r\nQUIT\r\n";
  constexpr int kSessions = 100000;
  const auto start = Clock::now();
  for (int i = 0; i < kSessions; ++i) {
    Session session(policy, peer);
    session.on_connect();
    CommandParser parser;
    DataParser data;
    bool receiving = false;
    std::string spool;
    std::string_view input = script;
    while (!input.empty()) {
      Action action;
      if (receiving) {
        input.remove_prefix(data.put(input, spool));
        if (!data.done()) continue;
        receiving = false;
        action = session.on_body_complete(data.summary());
      } else {
        input.remove_prefix(parser.put(input));
        if (!parser.ready()) continue;
        action = session.on_command(parser.take());
      }
      if (std::holds_alternative<CheckRecipient>(action)) action = session.on_recipient_checked(RecipientVerdict::accept());
      if (std::holds_alternative<CommitMessage>(action)) action = session.on_committed("0123456789ABCDEF01234567");
      if (const auto* body = std::get_if<ReceiveBody>(&action)) {
        data = DataParser(body->limits);
        data.begin_data();
        receiving = true;
      }
    }
  }
  std::printf("%-28s %8.0f sessions/s\n", "Session EHLO..QUIT", kSessions / seconds_since(start));
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const std::string plain = sample_content(megabytes, false);
  bench_data("warm-up", plain + ".\r\n", plain.size());
  bench_data("DATA 78-octet lines", plain + ".\r\n", plain.size());
  std::string stuffed_wire = sample_content(megabytes, true);
  bench_data("DATA with dot-stuffed lines", stuffed_wire + ".\r\n", stuffed_wire.size());
  bench_bdat(plain);
  bench_commands();
  bench_sessions();
  return 0;
}
