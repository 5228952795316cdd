// What the categorizer stamps into an envelope is what the router expects: the recipient kinds
// and fields read by routing::categorized_recipient() lead to the intended next hop.
#include <gtest/gtest.h>

#include <optional>
#include <variant>

#include "categorizer/categorizer.h"
#include "gateway/routing/router.h"
#include "tests/support/run_to_completion.h"
#include "tests/unit/categorizer/fake_directory_client.h"
#include "tests/unit/categorizer/test_metabase.h"

namespace gw::categorizer {
namespace {

using gw::test::run_to_completion;

metabase::Metabase forwarding_metabase() {
  auto mb = test::sample_metabase();
  auto* vs = mb.add_virtual_servers();
  vs->set_id("1");
  vs->mutable_messages()->set_forward_unresolved_to_host("[192.0.2.25]:2525");
  return mb;
}

TEST(RouterHandoffTest, UnknownUserOfAnAuthoritativeDomainGoesToTheForwardUnresolvedHost) {
  test::FakeDirectoryClient directory;
  const auto mb = forwarding_metabase();
  Categorizer categorizer(directory, mb);
  envelope::Envelope env;
  env.set_virtual_server_id("1");
  env.add_recipients()->set_address("nobody@example.com");
  ASSERT_TRUE(run_to_completion(categorizer.categorize(env)));

  const auto recipient = routing::categorized_recipient(env, 0);
  ASSERT_TRUE(recipient.has_value());
  EXPECT_EQ(recipient->kind, routing::RecipientKind::Remote);
  EXPECT_EQ(recipient->address, "nobody@example.com");
  const auto hop = routing::route(routing::RoutingSnapshot::build(mb), *recipient, {});
  const auto* smart_hosts = std::get_if<routing::SmartHosts>(&hop);
  ASSERT_NE(smart_hosts, nullptr) << routing::describe(hop);
  EXPECT_EQ(smart_hosts->connector, "Forward unresolved");
  ASSERT_EQ(smart_hosts->hosts.size(), 1u);
  EXPECT_EQ(smart_hosts->hosts[0].host, "192.0.2.25");
  EXPECT_EQ(smart_hosts->hosts[0].port, 2525);
}

}  // namespace
}  // namespace gw::categorizer
