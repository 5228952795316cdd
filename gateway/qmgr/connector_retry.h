// ConnectorRetry: connectors whose hosts would not take a session, and until
// when they are in retry. While a connector is in retry the router treats it
// as down and picks the next best connector (or, none left, "final destination
// currently unreachable"). Pure: times come from the injected clock; used on
// the queue manager's executor only.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "gateway/common/clock.h"
#include "gateway/common/queue_id.h"
#include "gateway/routing/router.h"

namespace gw::qmgr {

class ConnectorRetry {
 public:
  explicit ConnectorRetry(const Clock& clock) : clock_(clock) {}

  void put_in_retry(std::string_view connector, std::chrono::seconds interval);
  bool in_retry(std::string_view connector) const;
  // The router's view for one message: connectors in retry now (expired
  // entries are dropped) and the message's load-spreading key.
  routing::RouteState route_state(const QueueId& id);

 private:
  const Clock& clock_;
  std::map<std::string, WallTime> until_;  // lower-case connector name
};

}  // namespace gw::qmgr
