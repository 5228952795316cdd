#include "gateway/server/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace gw::server {
namespace {

namespace fs = std::filesystem;

// Certificates are made at test time with the openssl program, so no key ever
// lives in the repository.
class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("gw-tls-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    make_certificate("server", "bh1.example.com");
    make_certificate("other", "other.example.com");
    make_certificate("client", "client.example.net");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static void make_certificate(const std::string& name, const std::string& cn) {
    const std::string command = std::string(OPENSSL_BINARY) +
                                " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
                                cn + " -keyout " + path(name + ".key") + " -out " + path(name + ".pem") +
                                " 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }
  static metabase::Tls tls(const std::string& cert, const std::string& key) {
    metabase::Tls settings;
    settings.set_certificate_file(path(cert));
    settings.set_key_file(path(key));
    return settings;
  }
  static fs::path* dir_;
};
fs::path* TlsContextTest::dir_ = nullptr;

// Handshakes a client with `client_ctx` against `server` through an in-memory BIO
// pair; true when both sides finished.
bool handshake(const TlsServerContext& server, SSL_CTX* client_ctx, TlsDetails* details = nullptr) {
  SSL* server_ssl = SSL_new(server.native().native_handle());
  SSL* client_ssl = SSL_new(client_ctx);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client_ssl, client_bio, client_bio);
  SSL_set_bio(server_ssl, server_bio, server_bio);
  SSL_set_connect_state(client_ssl);
  SSL_set_accept_state(server_ssl);
  bool failed = false;
  for (int round = 0; round < 20 && !failed; ++round) {
    for (SSL* ssl : {client_ssl, server_ssl}) {
      if (SSL_is_init_finished(ssl)) continue;
      const int rc = SSL_do_handshake(ssl);
      if (rc <= 0) {
        const int error = SSL_get_error(ssl, rc);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) failed = true;
      }
    }
    if (SSL_is_init_finished(client_ssl) && SSL_is_init_finished(server_ssl)) break;
  }
  const bool done = !failed && SSL_is_init_finished(client_ssl) && SSL_is_init_finished(server_ssl);
  if (done && details) *details = tls_details(server_ssl);
  SSL_free(client_ssl);
  SSL_free(server_ssl);
  return done;
}

struct ClientContext {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ~ClientContext() { SSL_CTX_free(ctx); }
};

TEST_F(TlsContextTest, MissingCertificateSettingIsNotConfigured) {
  auto loaded = TlsServerContext::load(metabase::Tls{});
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, TlsErrc::NotConfigured);
}

TEST_F(TlsContextTest, MissingCertificateFileIsReportedWithItsPath) {
  auto loaded = TlsServerContext::load(tls("absent.pem", "server.key"));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, TlsErrc::CertificateUnreadable);
  EXPECT_NE(loaded.error().message().find("absent.pem"), std::string::npos);
}

TEST_F(TlsContextTest, UnreadableKeyIsReportedWithItsPath) {
  { std::ofstream(path("garbage.key")) << "not a key\n"; }
  auto loaded = TlsServerContext::load(tls("server.pem", "garbage.key"));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, TlsErrc::KeyUnreadable);
  EXPECT_NE(loaded.error().message().find("garbage.key"), std::string::npos);
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsAMismatch) {
  auto loaded = TlsServerContext::load(tls("server.pem", "other.key"));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, TlsErrc::KeyMismatch);
}

TEST_F(TlsContextTest, EachLoadBuildsAnIndependentContext) {
  auto first = TlsServerContext::load(tls("server.pem", "server.key"));
  auto second = TlsServerContext::load(tls("server.pem", "server.key"));
  ASSERT_TRUE(first && second);
  EXPECT_NE(&(*first)->native(), &(*second)->native());
}

TEST_F(TlsContextTest, ModernClientNegotiatesTls13AndDetailsAreReported) {
  auto server = TlsServerContext::load(tls("server.pem", "server.key"));
  ASSERT_TRUE(server.has_value()) << server.error().message();
  ClientContext client;
  TlsDetails details;
  ASSERT_TRUE(handshake(**server, client.ctx, &details));
  EXPECT_EQ(details.protocol, "TLSv1.3");
  EXPECT_EQ(details.cipher.rfind("TLS_", 0), 0u) << details.cipher;
  EXPECT_GE(details.bits, 128);
  EXPECT_FALSE(details.client_certificate);
  EXPECT_EQ(details.description(),
            "TLSv1.3 with cipher " + details.cipher + " (" + std::to_string(details.bits) + "/" +
                std::to_string(details.bits) + " bits)");
}

TEST_F(TlsContextTest, Tls12ClientGetsAnEcdheAeadSuite) {
  auto server = TlsServerContext::load(tls("server.pem", "server.key"));
  ASSERT_TRUE(server.has_value());
  ClientContext client;
  SSL_CTX_set_max_proto_version(client.ctx, TLS1_2_VERSION);
  TlsDetails details;
  ASSERT_TRUE(handshake(**server, client.ctx, &details));
  EXPECT_EQ(details.protocol, "TLSv1.2");
  EXPECT_EQ(details.cipher.rfind("ECDHE-", 0), 0u) << details.cipher;
  EXPECT_NE(details.cipher.find("GCM"), std::string::npos) << details.cipher;
}

TEST_F(TlsContextTest, Tls11IsRefused) {
  auto server = TlsServerContext::load(tls("server.pem", "server.key"));
  ASSERT_TRUE(server.has_value());
  ClientContext client;
  SSL_CTX_set_security_level(client.ctx, 0);
  SSL_CTX_set_min_proto_version(client.ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(client.ctx, TLS1_1_VERSION);
  EXPECT_FALSE(handshake(**server, client.ctx));
}

TEST_F(TlsContextTest, CbcSha1SuitesAreRefused) {
  auto server = TlsServerContext::load(tls("server.pem", "server.key"));
  ASSERT_TRUE(server.has_value());
  ClientContext client;
  SSL_CTX_set_max_proto_version(client.ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(client.ctx, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA");
  EXPECT_FALSE(handshake(**server, client.ctx));
}

TEST_F(TlsContextTest, ClientCertificateIsRecordedWhenPresented) {
  auto server = TlsServerContext::load(tls("server.pem", "server.key"));
  ASSERT_TRUE(server.has_value());
  ClientContext client;
  ASSERT_EQ(SSL_CTX_use_certificate_file(client.ctx, path("client.pem").c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(client.ctx, path("client.key").c_str(), SSL_FILETYPE_PEM), 1);
  TlsDetails details;
  ASSERT_TRUE(handshake(**server, client.ctx, &details));
  EXPECT_TRUE(details.client_certificate);
  EXPECT_NE(details.description().find("client certificate presented"), std::string::npos);
  EXPECT_EQ(details.log_form(), details.protocol + ":" + details.cipher + ":" + std::to_string(details.bits) +
                                    ":cert=yes");
}

}  // namespace
}  // namespace gw::server
