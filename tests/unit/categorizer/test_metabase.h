// The sample organization's metabase as the categorizer tests need it (the same domains, servers
// and connectors as directory-schema/sample), built in code so the tests do not depend on
// metabase-sync.
#pragma once

#include "proto/metabase.pb.h"

namespace gw::categorizer::test {

inline constexpr const char* kConfigBase = "CN=Configuration,DC=example,DC=com";
inline constexpr const char* kRecipientBase = "DC=example,DC=com";
inline constexpr const char* kServers =
    "CN=Servers,CN=First Administrative Group,CN=Administrative Groups,CN=Example,CN=Microsoft Exchange,"
    "CN=Services,CN=Configuration,DC=example,DC=com";

inline metabase::Metabase sample_metabase() {
  metabase::Metabase mb;
  mb.mutable_this_server()->set_name("BH1");
  mb.mutable_this_server()->set_fqdn("bh1.example.com");
  for (const char* name : {"MBX1", "BH1"}) {
    auto* s = mb.add_mailbox_servers();
    s->set_name(name);
    s->set_fqdn(std::string(name) == "MBX1" ? "mbx1.example.com" : "bh1.example.com");
  }
  auto add_domain = [&](const char* name, bool authoritative) {
    auto* d = mb.add_domains();
    d->set_name(name);
    d->set_authoritative(authoritative);
  };
  add_domain("example.com", true);
  add_domain("example.net", true);
  add_domain("shared.example.org", false);
  auto* internet = mb.add_connectors();
  internet->set_name("Internet");
  auto* any = internet->add_address_spaces();
  any->set_pattern("*");
  any->set_cost(10);
  auto* shared = mb.add_connectors();
  shared->set_name("Shared Namespace");
  shared->set_allow_relay(true);
  auto* space = shared->add_address_spaces();
  space->set_pattern("shared.example.org");
  space->set_cost(1);
  auto* relay = mb.add_connectors();
  relay->set_name("Partner Relay");
  relay->set_allow_relay(true);
  auto* partner = relay->add_address_spaces();
  partner->set_pattern("*.partner.example");
  partner->set_cost(1);
  mb.mutable_directory()->set_recipient_base_dn(kRecipientBase);
  mb.mutable_directory()->set_config_base_dn(kConfigBase);
  mb.mutable_message_delivery()->set_default_recipient_limit(5000);
  return mb;
}

}  // namespace gw::categorizer::test
