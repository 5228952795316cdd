// libFuzzer target: what gatewayd does with a metabase file it loads or
// reloads (gateway/server/metabase_loader.h): parse, validate, and -- only for
// a metabase that passed validation -- build every virtual server's settings,
// the listener plan and the routing snapshot. A metabase is written by
// metabase-sync, but the file is input all the same (an older or newer writer,
// a hand-edited file). Checks: nothing crashes, and a metabase that validates
// yields settings for every virtual server whose networks parse, with the
// server's id. Files named in the metabase (TLS certificate, protocol log
// directory) are cleared first: the target reads and writes no files.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gateway/routing/routing_snapshot.h"
#include "gateway/server/listener_plan.h"
#include "gateway/server/metabase_loader.h"
#include "gateway/server/virtual_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gw::metabase::Metabase metabase;
  if (!metabase.ParseFromArray(data, static_cast<int>(size))) return 0;
  for (auto& server : *metabase.mutable_virtual_servers()) {
    server.clear_tls();
    server.clear_protocol_log_directory();
    server.set_protocol_logging(false);
  }
  if (!gw::server::validate_metabase(metabase)) return 0;
  for (const auto& server : metabase.virtual_servers()) {
    const auto settings = gw::server::build_settings(metabase, server);
    if (settings && (*settings)->id != server.id()) std::abort();
  }
  const auto plan = gw::server::plan_listeners(metabase);
  (void)plan;
  const auto snapshot = gw::routing::RoutingSnapshot::build(metabase);
  for (const auto& server : metabase.virtual_servers()) (void)snapshot.outbound_port(server.id());
  return 0;
}
