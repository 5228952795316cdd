#include "gateway/server/listener_plan.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

namespace gw::server {
namespace {

metabase::Metabase parse(const std::string& text) {
  metabase::Metabase out;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &out)) << text;
  return out;
}

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

TEST(ListenerPlan, SpecificBindingsGetOneSocketEach) {
  const auto plans = plan_listeners(parse(R"(
    virtual_servers { id: "1" bindings { ip: "127.0.0.2" port: 2525 } }
    virtual_servers { id: "2" bindings { ip: "127.0.0.3" port: 2525 } })"));
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_FALSE(plans[0].wildcard);
  EXPECT_EQ(plans[0].key(), "127.0.0.2:2525");
  EXPECT_EQ(plans[0].default_server, "1");
  EXPECT_EQ(plans[1].key(), "127.0.0.3:2525");
  EXPECT_EQ(plans[1].default_server, "2");
}

TEST(ListenerPlan, AllUnassignedSharesOneWildcardSocketAndDispatchesByLocalAddress) {
  const auto plans = plan_listeners(parse(R"(
    virtual_servers { id: "1" bindings { ip: "" port: 25 } }
    virtual_servers { id: "2" bindings { ip: "127.0.0.3" port: 25 } })"));
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_TRUE(plans[0].wildcard);
  EXPECT_EQ(plans[0].key(), "*:25");
  EXPECT_EQ(plans[0].server_for(ip("127.0.0.3")), "2");
  EXPECT_EQ(plans[0].server_for(ip("::ffff:127.0.0.3")), "2");
  EXPECT_EQ(plans[0].server_for(ip("127.0.0.1")), "1");
  EXPECT_EQ(plans[0].server_for(ip("192.0.2.1")), "1");
}

TEST(ListenerPlan, WildcardOnOtherPortDoesNotCaptureSpecificBinding) {
  const auto plans = plan_listeners(parse(R"(
    virtual_servers { id: "1" bindings { port: 25 } }
    virtual_servers { id: "2" bindings { ip: "127.0.0.3" port: 587 } })"));
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].key(), "*:25");
  EXPECT_TRUE(plans[0].by_local_address.empty());
  EXPECT_EQ(plans[1].key(), "127.0.0.3:587");
}

TEST(ListenerPlan, PausedAndStoppedServersHaveNoSockets) {
  const auto plans = plan_listeners(parse(R"(
    virtual_servers { id: "1" state: PAUSED bindings { ip: "127.0.0.2" port: 25 } }
    virtual_servers { id: "2" state: STOPPED bindings { ip: "127.0.0.3" port: 25 } }
    virtual_servers { id: "3" state: STARTED bindings { ip: "127.0.0.4" port: 25 } })"));
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].default_server, "3");
}

TEST(ListenerPlan, PausedAllUnassignedServerLeavesSpecificSocketsOfThePort) {
  const auto plans = plan_listeners(parse(R"(
    virtual_servers { id: "1" state: PAUSED bindings { port: 25 } }
    virtual_servers { id: "2" bindings { ip: "127.0.0.3" port: 25 } })"));
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].key(), "127.0.0.3:25");
}

TEST(ValidateBindings, TwoRunningServersOnSameAddressAndPortConflict) {
  const auto result = validate_bindings(parse(R"(
    virtual_servers { id: "1" bindings { ip: "127.0.0.2" port: 25 } }
    virtual_servers { id: "2" bindings { ip: "127.0.0.2" port: 25 } })"));
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().detail.find("already bound"), std::string::npos);
}

TEST(ValidateBindings, StoppedServerMayShareABindingWithARunningOne) {
  EXPECT_TRUE(validate_bindings(parse(R"(
    virtual_servers { id: "1" bindings { ip: "127.0.0.2" port: 25 } }
    virtual_servers { id: "2" state: STOPPED bindings { ip: "127.0.0.2" port: 25 } })")).has_value());
}

TEST(ValidateBindings, TwoAllUnassignedServersOnOnePortConflict) {
  EXPECT_FALSE(validate_bindings(parse(R"(
    virtual_servers { id: "1" bindings { port: 25 } }
    virtual_servers { id: "2" bindings { port: 25 } })")).has_value());
}

TEST(ValidateBindings, RejectsPortZeroBadAddressAndDuplicateIds) {
  EXPECT_FALSE(validate_bindings(parse(R"(virtual_servers { id: "1" bindings { port: 0 } })")).has_value());
  EXPECT_FALSE(validate_bindings(parse(R"(virtual_servers { id: "1" bindings { ip: "bh1" port: 25 } })"))
                   .has_value());
  EXPECT_FALSE(validate_bindings(parse(R"(
    virtual_servers { id: "1" bindings { ip: "127.0.0.2" port: 25 } }
    virtual_servers { id: "1" bindings { ip: "127.0.0.3" port: 25 } })")).has_value());
}

}  // namespace
}  // namespace gw::server
