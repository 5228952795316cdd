#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "categorizer/ldap/ldap_directory_client.h"

namespace gw::categorizer::ldap {
namespace {

TEST(LdapClientOptions, FromMetabaseTakesUrisInFailoverOrderAndReadsThePasswordFile) {
  char path[] = "/tmp/gw-bindpw-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "Gateway-Passw0rd\n";

  metabase::DirectoryEndpoints endpoints;
  endpoints.add_uris("ldap://127.0.0.1:1389");
  endpoints.add_uris("ldap://127.0.0.1:2389");
  endpoints.set_bind_dn("CN=svc-gateway,CN=Users,DC=example,DC=com");
  endpoints.set_bind_password_file(path);
  endpoints.set_start_tls(true);
  endpoints.set_search_timeout_ms(1500);
  const auto options = LdapClientOptions::from_metabase(endpoints);
  std::remove(path);

  EXPECT_EQ(options.uris, (std::vector<std::string>{"ldap://127.0.0.1:1389", "ldap://127.0.0.1:2389"}));
  EXPECT_EQ(options.bind_dn, "CN=svc-gateway,CN=Users,DC=example,DC=com");
  EXPECT_EQ(options.bind_password, "Gateway-Passw0rd");
  EXPECT_TRUE(options.start_tls);
  EXPECT_EQ(options.search_timeout, std::chrono::milliseconds(1500));
}

TEST(LdapClientOptions, FromMetabaseWithoutUrisIsAConfigurationError) {
  EXPECT_THROW(LdapClientOptions::from_metabase(metabase::DirectoryEndpoints{}), std::runtime_error);
}

TEST(LdapClientOptions, FromMetabaseWithAnUnreadablePasswordFileIsAConfigurationError) {
  metabase::DirectoryEndpoints endpoints;
  endpoints.add_uris("ldap://127.0.0.1:1389");
  endpoints.set_bind_password_file("/nonexistent/gw-bindpw");
  EXPECT_THROW(LdapClientOptions::from_metabase(endpoints), std::runtime_error);
}

}  // namespace
}  // namespace gw::categorizer::ldap
