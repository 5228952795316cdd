// Settings: what the queue manager takes from one metabase -- the routing
// snapshot, the virtual servers' retry schedules and limits, connectors and
// their schedules -- built once per metabase and shared, immutable, by every
// pass that starts while it is current (a pass finishes on the settings it
// started with). Pure: no I/O; times come in as arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/clock.h"
#include "gateway/queue/scheduler.h"
#include "gateway/routing/router.h"
#include "gateway/routing/routing_snapshot.h"
#include "gateway/routing/smart_host.h"
#include "proto/metabase.pb.h"

namespace gw::qmgr {

class Settings {
 public:
  explicit Settings(std::shared_ptr<const metabase::Metabase> metabase);

  const metabase::Metabase& metabase() const noexcept { return *metabase_; }
  const routing::RoutingSnapshot& snapshot() const noexcept { return snapshot_; }

  // The virtual server that accepted a message; the first one when the id is
  // unknown (removed since); null when the metabase has none.
  const metabase::VirtualServer* virtual_server(std::string_view id) const;
  // The virtual server's retry intervals, delay notification and expiry;
  // `local` = delivery to a mailbox server (the local queue timeouts).
  queue::RetrySchedule retry_schedule(const metabase::VirtualServer* vs, bool local) const;
  const metabase::Connector* connector_named(std::string_view name) const;
  // True when some connector restricts by priority, so a message's header
  // section must be read before it is routed.
  bool needs_priority() const noexcept { return needs_priority_; }
  // When a connector's schedule keeps a message of `size` octets from being
  // sent at `now`: the time its next window opens (0 = no window ever: wait for
  // ETRN or a change); nullopt = not held.
  std::optional<std::int64_t> held_by_schedule(const routing::NextHop& hop, std::uint64_t size, WallTime now) const;
  // The name the gateway gives itself: the virtual server's FQDN, else this
  // server's, else "localhost".
  std::string fqdn(const metabase::VirtualServer* vs) const;
  // The virtual server's own smart hosts (Outbound.smart_hosts); entries that do
  // not parse are skipped (metabase-sync --check names them).
  static std::vector<routing::SmartHost> smart_hosts_of(const metabase::VirtualServer* vs);

 private:
  std::shared_ptr<const metabase::Metabase> metabase_;
  routing::RoutingSnapshot snapshot_;
  bool needs_priority_ = false;
};

using SettingsPtr = std::shared_ptr<const Settings>;

}  // namespace gw::qmgr
