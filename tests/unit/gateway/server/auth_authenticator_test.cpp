#include "gateway/server/sasl_authenticator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

namespace gw::server {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = AuthOutcome::Kind;

class ScriptedChannel final : public AuthChannel {
 public:
  asio::awaitable<bool> send_challenge(std::string_view base64) override {
    challenges.emplace_back(base64);
    co_return true;
  }
  asio::awaitable<std::optional<AuthResponse>> read_response() override {
    if (responses.empty()) co_return std::nullopt;
    AuthResponse response{responses.front(), responses.front() == kTooLong};
    if (response.too_long) response.line.clear();
    responses.pop_front();
    co_return response;
  }
  static constexpr const char* kTooLong = "<too long>";
  std::deque<std::string> responses;
  std::vector<std::string> challenges;
};

class FakePasswordVerifier final : public PasswordVerifier {
 public:
  asio::awaitable<PasswordVerdict> verify(std::string user, std::string password) override {
    calls.push_back(user);
    PasswordVerdict verdict;
    if (unavailable) {
      verdict.kind = PasswordVerdict::Kind::Unavailable;
    } else if (user == "alice@example.com" && password == "Passw0rd!") {
      verdict.kind = PasswordVerdict::Kind::Accepted;
      verdict.identity = "alice@example.com";
      verdict.own_addresses = {"alice@example.com"};
    }
    co_return verdict;
  }
  bool unavailable = false;
  std::vector<std::string> calls;
};

std::string plain(std::string_view user, std::string_view password) {
  std::string message(1, '\0');
  message += user;
  message += '\0';
  message += password;
  return encode_base64(message);
}

class SaslAuthenticatorTest : public ::testing::Test {
 protected:
  SaslAuthenticatorTest() {
    settings_.server_fqdn = "bh1.example.com";
    settings_.tls_active = true;
    settings_.client_ip = "192.0.2.9";
  }
  static AuthThrottleSettings throttle_settings() {
    AuthThrottleSettings s;
    s.delay_after = 100;  // no delays unless a test asks for them
    s.lockout_after = 3;
    s.lockout = 3600s;
    return s;
  }
  AuthOutcome run(smtp::Authenticate request) {
    asio::io_context io;
    AuthOutcome outcome;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { outcome = co_await authenticator_.authenticate(request, settings_, channel_); },
        asio::detached);
    io.run();
    return outcome;
  }
  static smtp::Authenticate auth(std::string mechanism, std::optional<std::string> initial = std::nullopt) {
    return smtp::Authenticate{std::move(mechanism), std::move(initial)};
  }

  SaslSettings settings_;
  ScriptedChannel channel_;
  FakePasswordVerifier verifier_;
  AuthThrottle throttle_{throttle_settings()};
  SaslAuthenticator authenticator_{verifier_, throttle_};
};

TEST_F(SaslAuthenticatorTest, PlainWithInitialResponseAuthenticatesWithoutChallenges) {
  AuthOutcome outcome = run(auth("PLAIN", plain("alice@example.com", "Passw0rd!")));
  EXPECT_EQ(outcome.kind, Kind::Authenticated);
  EXPECT_EQ(outcome.identity, "alice@example.com");
  EXPECT_THAT(outcome.own_addresses, ElementsAre("alice@example.com"));
  EXPECT_THAT(channel_.challenges, IsEmpty());
}

TEST_F(SaslAuthenticatorTest, LoginSendsTwoChallengesThenAuthenticates) {
  channel_.responses = {encode_base64("alice@example.com"), encode_base64("Passw0rd!")};
  AuthOutcome outcome = run(auth("LOGIN"));
  EXPECT_EQ(outcome.kind, Kind::Authenticated);
  EXPECT_THAT(channel_.challenges, ElementsAre(encode_base64("Username:"), encode_base64("Password:")));
}

TEST_F(SaslAuthenticatorTest, WrongPasswordFailsAsInvalidCredentials) {
  AuthOutcome outcome = run(auth("PLAIN", plain("alice@example.com", "nope")));
  EXPECT_EQ(outcome.kind, Kind::Failed);
  EXPECT_EQ(outcome.failure, smtp::AuthFailure::InvalidCredentials);
  EXPECT_EQ(throttle_.counters().failures, 1u);
}

TEST_F(SaslAuthenticatorTest, CancelIsReportedAndNotCountedAsAGuess) {
  channel_.responses = {"*"};
  AuthOutcome outcome = run(auth("LOGIN"));
  EXPECT_EQ(outcome.failure, smtp::AuthFailure::Cancelled);
  EXPECT_EQ(throttle_.counters().failures, 0u);
  EXPECT_THAT(verifier_.calls, IsEmpty());
}

TEST_F(SaslAuthenticatorTest, GarbledResponseIsMalformed) {
  channel_.responses = {"%%%"};
  EXPECT_EQ(run(auth("LOGIN")).failure, smtp::AuthFailure::Malformed);
}

TEST_F(SaslAuthenticatorTest, OverlongResponseLineFailsAsLineTooLongAndIsNotAGuess) {
  channel_.responses = {ScriptedChannel::kTooLong};
  const AuthOutcome outcome = run(auth("LOGIN"));
  EXPECT_EQ(outcome.kind, Kind::Failed);
  EXPECT_EQ(outcome.failure, smtp::AuthFailure::LineTooLong);
  EXPECT_EQ(throttle_.counters().failures, 0u);
  EXPECT_THAT(verifier_.calls, IsEmpty());
}

TEST_F(SaslAuthenticatorTest, ConnectionLostDuringTheExchangeEndsWithoutAVerdict) {
  EXPECT_EQ(run(auth("LOGIN")).kind, Kind::ConnectionLost);
  EXPECT_THAT(verifier_.calls, IsEmpty());
}

TEST_F(SaslAuthenticatorTest, DirectoryOutageIsTemporaryAndNeverLocksOut) {
  verifier_.unavailable = true;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(run(auth("PLAIN", plain("alice@example.com", "Passw0rd!"))).failure, smtp::AuthFailure::Temporary);
  EXPECT_EQ(throttle_.counters().lockouts, 0u);
}

TEST_F(SaslAuthenticatorTest, LockedOutAddressIsRefusedTemporarilyWithoutCheckingThePassword) {
  for (int i = 0; i < 3; ++i) run(auth("PLAIN", plain("alice@example.com", "guess")));
  verifier_.calls.clear();
  AuthOutcome outcome = run(auth("PLAIN", plain("alice@example.com", "Passw0rd!")));
  EXPECT_EQ(outcome.kind, Kind::Failed);
  EXPECT_EQ(outcome.failure, smtp::AuthFailure::Temporary);
  EXPECT_TRUE(outcome.throttled);
  EXPECT_THAT(verifier_.calls, IsEmpty());
}

TEST_F(SaslAuthenticatorTest, SuccessClearsEarlierFailures) {
  run(auth("PLAIN", plain("alice@example.com", "guess")));
  run(auth("PLAIN", plain("alice@example.com", "guess")));
  run(auth("PLAIN", plain("alice@example.com", "Passw0rd!")));
  run(auth("PLAIN", plain("alice@example.com", "guess")));
  EXPECT_TRUE(throttle_.admit("192.0.2.9", AuthThrottle::Clock::now()).allowed);
}

TEST(SaslAuthenticatorDelay, FailureAnswerWaitsForTheThrottleDelay) {
  AuthThrottleSettings settings;
  settings.delay_after = 1;
  settings.initial_delay = 200ms;
  AuthThrottle throttle(settings);
  FakePasswordVerifier verifier;
  ScriptedChannel channel;
  SaslAuthenticator authenticator(verifier, throttle);
  SaslSettings sasl;
  sasl.server_fqdn = "bh1.example.com";
  sasl.tls_active = true;
  sasl.client_ip = "192.0.2.10";

  asio::io_context io;
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const smtp::Authenticate request{"PLAIN", plain("alice@example.com", "x")};
        co_await authenticator.authenticate(request, sasl, channel);
      },
      asio::detached);
  io.run();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
}

}  // namespace
}  // namespace gw::server
