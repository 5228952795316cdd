// Helpers shared by the Session specifications: a policy shaped like the sample
// organization, command construction, and reply assertions.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/smtp/command.h"
#include "gateway/smtp/session.h"

namespace gw::smtp::test {

inline ListenerPolicy sample_policy() {
  ListenerPolicy policy;
  policy.fqdn = "bh1.example.com";
  policy.max_message_size = 10 * 1024 * 1024;
  policy.max_recipients = 100;
  policy.max_hop_count = 15;
  policy.domains.authoritative = {"example.com", "example.net"};
  policy.domains.non_authoritative = {"shared.example.org"};
  policy.domains.relay_connector = {"partner.example", "*.relay.example"};
  return policy;
}

inline PeerInfo internet_peer() {
  PeerInfo peer;
  peer.ip = "198.51.100.7";
  peer.port = 40123;
  return peer;
}

inline PeerInfo relay_list_peer() {
  PeerInfo peer = internet_peer();
  peer.ip = "10.1.2.3";
  peer.relay_allowed = true;
  return peer;
}

// A command as the driver gets it: framed and parsed by CommandParser.
inline Command cmd(std::string_view line) {
  CommandParser parser;
  const std::string wire = std::string(line) + "\r\n";
  parser.put(wire);
  EXPECT_TRUE(parser.ready()) << line;
  return parser.take();
}

inline const SendReply* as_reply(const Action& action) { return std::get_if<SendReply>(&action); }

// Asserts the action is a reply with this code and enhanced status.
inline ::testing::AssertionResult IsReply(const Action& action, int code,
                                          std::optional<EnhancedStatus> status) {
  const SendReply* sent = as_reply(action);
  if (sent == nullptr) return ::testing::AssertionFailure() << "not a SendReply (index " << action.index() << ")";
  if (sent->reply.code != code || sent->reply.status != status)
    return ::testing::AssertionFailure() << "got " << sent->reply.summary() << ", want " << code << " "
                                         << (status ? status->str() : std::string("(none)"));
  return ::testing::AssertionSuccess();
}

inline EnhancedStatus es(int a, int b, int c) { return status(a, b, c); }

}  // namespace gw::smtp::test
