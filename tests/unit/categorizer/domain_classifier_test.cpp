#include "categorizer/domain_classifier.h"

#include <gtest/gtest.h>

#include "tests/unit/categorizer/test_metabase.h"

namespace gw::categorizer {
namespace {

class DomainClassifierTest : public ::testing::Test {
 protected:
  DomainClassifier classifier_{test::sample_metabase()};
};

TEST_F(DomainClassifierTest, PolicyDomainIsAuthoritative) {
  EXPECT_EQ(classifier_.classify("example.com"), DomainClass::AuthoritativeLocal);
  EXPECT_EQ(classifier_.classify("EXAMPLE.NET"), DomainClass::AuthoritativeLocal);
}

TEST_F(DomainClassifierTest, NonAuthoritativeDomainBeatsItsRelayConnector) {
  EXPECT_EQ(classifier_.classify("shared.example.org"), DomainClass::NonAuthoritativeLocal);
}

TEST_F(DomainClassifierTest, ServerFqdnIsItsOwnClass) {
  EXPECT_EQ(classifier_.classify("mbx1.example.com"), DomainClass::ServerFqdn);
  EXPECT_EQ(classifier_.classify("bh1.example.com"), DomainClass::ServerFqdn);
}

TEST_F(DomainClassifierTest, WildcardRelayAddressSpaceCoversSubdomainsOnly) {
  EXPECT_EQ(classifier_.classify("mx.partner.example"), DomainClass::RelayDomain);
  EXPECT_EQ(classifier_.classify("partner.example"), DomainClass::Remote);
}

TEST_F(DomainClassifierTest, CatchAllConnectorNeverMakesARelayDomain) {
  EXPECT_EQ(classifier_.classify("elsewhere.test"), DomainClass::Remote);
}

TEST_F(DomainClassifierTest, SubdomainOfAPolicyDomainIsNotLocal) {
  EXPECT_EQ(classifier_.classify("sub.example.com"), DomainClass::Remote);
}

}  // namespace
}  // namespace gw::categorizer
