#include "gateway/qmgr/connector_retry.h"

#include "gateway/common/ascii.h"

namespace gw::qmgr {

void ConnectorRetry::put_in_retry(std::string_view connector, std::chrono::seconds interval) {
  until_[ascii_lower(connector)] = clock_.now() + interval;
}

bool ConnectorRetry::in_retry(std::string_view connector) const {
  const auto found = until_.find(ascii_lower(connector));
  return found != until_.end() && found->second > clock_.now();
}

routing::RouteState ConnectorRetry::route_state(const QueueId& id) {
  routing::RouteState state;
  const auto now = clock_.now();
  for (auto it = until_.begin(); it != until_.end();) {
    if (it->second <= now) {
      it = until_.erase(it);
    } else {
      state.connectors_down.insert(it->first);
      ++it;
    }
  }
  state.spread_key = routing::spread_key_for(id.str());
  return state;
}

}  // namespace gw::qmgr
