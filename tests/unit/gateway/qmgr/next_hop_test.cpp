// Where the recipients of each kind of next hop wait, and the hop's one name.
#include "gateway/qmgr/next_hop.h"

#include <gtest/gtest.h>

namespace gw::qmgr {
namespace {

TEST(NextHopTest, AMailboxServerIsALocalDeliveryQueueNamedAfterTheServer) {
  routing::LocalDelivery hop;
  hop.server = "MBX1";
  hop.server_fqdn = "mbx1.example.com";
  EXPECT_EQ(queue_key(hop), (queue::QueueKey{envelope::LOCAL_DELIVERY, "mbx1.example.com"}));
  EXPECT_EQ(hop_name(hop), "Local delivery [mbx1.example.com]");
  hop.this_server = true;
  EXPECT_EQ(hop_name(hop), "Local delivery [mbx1.example.com]");
}

TEST(NextHopTest, SmartHostsAreARemoteDeliveryQueueNamedAfterTheConnector) {
  routing::SmartHosts hop;
  hop.connector = "Military";
  EXPECT_EQ(hop_name(hop), "Remote delivery [Military]");
  hop.bridgehead = "bh2.example.com";
  EXPECT_EQ(hop_name(hop), "Remote delivery [bh2.example.com]");
}

TEST(NextHopTest, DnsIsARemoteDeliveryQueueNamedAfterTheDomain) {
  routing::DnsMx hop;
  hop.connector = "Internet";
  hop.domain = "partner.example";
  EXPECT_EQ(queue_key(hop), (queue::QueueKey{envelope::REMOTE_DELIVERY, "partner.example"}));
  EXPECT_EQ(connector_of(hop), "Internet");
}

TEST(NextHopTest, UnreachableWaitsUnderTheDestination) {
  EXPECT_EQ(hop_name(routing::Unreachable{"partner.example"}),
            "Final destination currently unreachable [partner.example]");
}

TEST(NextHopTest, ARoutingFailureWaitsNowhere) {
  EXPECT_EQ(hop_name(routing::Fail{}), "");
  EXPECT_EQ(queue_key(routing::Fail{}).queue, envelope::QUEUE_UNSPECIFIED);
}

TEST(NextHopTest, AContactIsSentToItsTargetAddress) {
  routing::CategorizedRecipient contact;
  contact.kind = routing::RecipientKind::Contact;
  contact.address = "carol@example.com";
  contact.target_address = "SMTP:carol@partner.example";
  EXPECT_EQ(delivery_address(contact), "carol@partner.example");
  contact.kind = routing::RecipientKind::Remote;
  EXPECT_EQ(delivery_address(contact), "carol@example.com");
}

TEST(NextHopTest, OnlyRemoteTriggeredConnectorsHoldTheirMail) {
  routing::DnsMx dns;
  EXPECT_FALSE(held_for_remote_trigger(dns));
  dns.hold_for_remote_trigger = true;
  EXPECT_TRUE(held_for_remote_trigger(dns));
  EXPECT_FALSE(held_for_remote_trigger(routing::LocalDelivery{}));
}

}  // namespace
}  // namespace gw::qmgr
