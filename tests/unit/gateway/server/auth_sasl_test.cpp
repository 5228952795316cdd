#include "gateway/server/sasl_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gw::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

SaslSettings under_tls() {
  SaslSettings settings;
  settings.server_fqdn = "bh1.example.com";
  settings.tls_active = true;
  settings.client_ip = "192.0.2.7";
  return settings;
}

std::unique_ptr<SaslServerExchange> exchange(const SaslSettings& settings = under_tls()) {
  auto created = SaslServerExchange::create(settings);
  EXPECT_TRUE(created.has_value()) << (created ? "" : created.error().message());
  return created ? std::move(*created) : nullptr;
}

std::string plain(std::string_view authzid, std::string_view user, std::string_view password) {
  std::string message(authzid);
  message += '\0';
  message += user;
  message += '\0';
  message += password;
  return encode_base64(message);
}

TEST(SaslMechanisms, PlainAndLoginAreOfferedUnderTls) {
  EXPECT_THAT(offered_mechanisms(under_tls()), ElementsAre("PLAIN", "LOGIN"));
}

TEST(SaslMechanisms, NothingIsOfferedBeforeTlsByDefault) {
  SaslSettings settings = under_tls();
  settings.tls_active = false;
  EXPECT_THAT(offered_mechanisms(settings), IsEmpty());
}

TEST(SaslMechanisms, PlaintextAuthCanBeAllowedBeforeTls) {
  SaslSettings settings = under_tls();
  settings.tls_active = false;
  settings.allow_plaintext_without_tls = true;
  EXPECT_THAT(offered_mechanisms(settings), ElementsAre("PLAIN", "LOGIN"));
}

TEST(SaslMechanisms, SharedSecretMechanismsAreDroppedAndReported) {
  SaslSettings settings = under_tls();
  settings.mechanisms = {"cram-md5", "LOGIN", "SCRAM-SHA-256", "XYZZY"};
  std::vector<std::string> dropped;
  EXPECT_THAT(offered_mechanisms(settings, &dropped), ElementsAre("LOGIN"));
  EXPECT_THAT(dropped, ElementsAre("CRAM-MD5", "SCRAM-SHA-256", "XYZZY"));
}

TEST(SaslExchange, PlainInitialResponseYieldsTheCredentials) {
  auto sasl = exchange();
  SaslStep step = sasl->start("PLAIN", plain("", "alice@example.com", "Passw0rd!"));
  ASSERT_TRUE(std::holds_alternative<SaslCredentials>(step));
  EXPECT_EQ(std::get<SaslCredentials>(step).user, "alice@example.com");
  EXPECT_EQ(std::get<SaslCredentials>(step).password, "Passw0rd!");
}

TEST(SaslExchange, PlainWithoutInitialResponseSendsAnEmptyChallenge) {
  auto sasl = exchange();
  SaslStep first = sasl->start("PLAIN", std::nullopt);
  ASSERT_TRUE(std::holds_alternative<SaslChallenge>(first));
  EXPECT_EQ(std::get<SaslChallenge>(first).base64, "");
  SaslStep second = sasl->step(plain("", "alice", "Passw0rd!"));
  ASSERT_TRUE(std::holds_alternative<SaslCredentials>(second));
  EXPECT_EQ(std::get<SaslCredentials>(second).user, "alice");
}

TEST(SaslExchange, LoginAsksForUserNameThenPassword) {
  auto sasl = exchange();
  SaslStep first = sasl->start("LOGIN", std::nullopt);
  ASSERT_TRUE(std::holds_alternative<SaslChallenge>(first));
  EXPECT_EQ(decode_base64(std::get<SaslChallenge>(first).base64), "Username:");
  SaslStep second = sasl->step(encode_base64("bob@example.com"));
  ASSERT_TRUE(std::holds_alternative<SaslChallenge>(second));
  EXPECT_EQ(decode_base64(std::get<SaslChallenge>(second).base64), "Password:");
  SaslStep third = sasl->step(encode_base64("Passw0rd!"));
  ASSERT_TRUE(std::holds_alternative<SaslCredentials>(third));
  EXPECT_EQ(std::get<SaslCredentials>(third).user, "bob@example.com");
  EXPECT_EQ(std::get<SaslCredentials>(third).password, "Passw0rd!");
}

TEST(SaslExchange, AsteriskCancelsTheExchange) {
  auto sasl = exchange();
  ASSERT_TRUE(std::holds_alternative<SaslChallenge>(sasl->start("LOGIN", std::nullopt)));
  SaslStep step = sasl->step("*");
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
  EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::Cancelled);
}

TEST(SaslExchange, InvalidBase64InitialResponseIsMalformed) {
  auto sasl = exchange();
  SaslStep step = sasl->start("PLAIN", "not base64!");
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
  EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::Malformed);
}

TEST(SaslExchange, InvalidBase64ResponseIsMalformed) {
  auto sasl = exchange();
  ASSERT_TRUE(std::holds_alternative<SaslChallenge>(sasl->start("LOGIN", std::nullopt)));
  SaslStep step = sasl->step("YWxp Y2U=");
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
  EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::Malformed);
}

TEST(SaslExchange, PlainWithoutSeparatorsIsRefusedWithoutCredentials) {
  auto sasl = exchange();
  SaslStep step = sasl->start("PLAIN", encode_base64("alice Passw0rd!"));
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
}

TEST(SaslExchange, PlainWithTheWrongNumberOfFieldsIsMalformed) {
  // 501 5.5.2: the response cannot be decoded into credentials.
  for (const std::string& message : {std::string(), std::string("alice"), std::string("alice\0secret", 12),
                                    std::string("\0alice\0secret\0extra", 20)}) {
    auto sasl = exchange();
    const SaslStep step = sasl->start("PLAIN", message.empty() ? std::string("=") : encode_base64(message));
    ASSERT_TRUE(std::holds_alternative<SaslFailure>(step)) << message.size();
    EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::Malformed) << message.size();
  }
}

TEST(SaslExchange, PlainWithAnEmptyUserOrPasswordIsInvalidCredentials) {
  // 535 5.7.8: well formed, never valid; nothing reaches the directory.
  for (const auto& [user, password] : {std::pair{"", "secret"}, std::pair{"alice", ""}}) {
    auto sasl = exchange();
    const SaslStep step = sasl->start("PLAIN", plain("", user, password));
    ASSERT_TRUE(std::holds_alternative<SaslFailure>(step)) << user;
    EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::InvalidCredentials) << user;
  }
}

TEST(SaslExchange, PlainResponseToTheEmptyChallengeIsCheckedTheSameWay) {
  auto sasl = exchange();
  ASSERT_TRUE(std::holds_alternative<SaslChallenge>(sasl->start("PLAIN", std::nullopt)));
  const SaslStep step = sasl->step(encode_base64("alice"));
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
  EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::Malformed);
}

TEST(SaslExchange, AuthorizationIdentityOtherThanTheUserIsRefused) {
  auto sasl = exchange();
  SaslStep step = sasl->start("PLAIN", plain("admin@example.com", "alice@example.com", "Passw0rd!"));
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
  EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::InvalidCredentials);
}

TEST(SaslExchange, AuthorizationIdentityEqualToTheUserIsAccepted) {
  auto sasl = exchange();
  SaslStep step = sasl->start("PLAIN", plain("alice@example.com", "alice@example.com", "Passw0rd!"));
  ASSERT_TRUE(std::holds_alternative<SaslCredentials>(step));
}

TEST(SaslExchange, PlainIsRefusedBeforeTlsByLibsasl2Itself) {
  SaslSettings settings = under_tls();
  settings.tls_active = false;
  auto sasl = exchange(settings);
  SaslStep step = sasl->start("PLAIN", plain("", "alice", "Passw0rd!"));
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
  EXPECT_NE(std::get<SaslFailure>(step).kind, smtp::AuthFailure::InvalidCredentials);
}

TEST(SaslExchange, MechanismThatIsNotOfferedIsRefused) {
  auto sasl = exchange();
  SaslStep step = sasl->start("CRAM-MD5", std::nullopt);
  ASSERT_TRUE(std::holds_alternative<SaslFailure>(step));
  EXPECT_EQ(std::get<SaslFailure>(step).kind, smtp::AuthFailure::WeakMechanism);
}

TEST(SaslBase64, RoundTripsBinaryData) {
  const std::string data("\0a\xff\x10zz", 6);
  EXPECT_EQ(decode_base64(encode_base64(data)), data);
}

TEST(SaslBase64, RejectsWhitespaceAndForeignCharacters) {
  EXPECT_FALSE(decode_base64("YWJj ZA==").has_value());
  EXPECT_FALSE(decode_base64("YWJj\r\n").has_value());
  EXPECT_FALSE(decode_base64("YW-j").has_value());
}

}  // namespace
}  // namespace gw::server
