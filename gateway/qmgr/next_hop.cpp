#include "gateway/qmgr/next_hop.h"

#include <string_view>

#include "gateway/common/ascii.h"

namespace gw::qmgr {

queue::QueueKey queue_key(const routing::NextHop& hop) {
  auto place = routing::queue_place(hop);
  return queue::QueueKey{place.queue, std::move(place.next_hop)};
}

std::string hop_name(const routing::NextHop& hop) {
  const auto key = queue_key(hop);
  return key.queue == envelope::QUEUE_UNSPECIFIED ? std::string() : queue::display_name(key);
}

std::string connector_of(const routing::NextHop& hop) {
  if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) return smart->connector;
  if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) return dns->connector;
  return {};
}

bool held_for_remote_trigger(const routing::NextHop& hop) {
  if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) return smart->hold_for_remote_trigger;
  if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) return dns->hold_for_remote_trigger;
  return false;
}

std::string delivery_address(const routing::CategorizedRecipient& recipient) {
  if (recipient.kind == routing::RecipientKind::Contact && !recipient.target_address.empty()) {
    std::string_view target = recipient.target_address;
    if (istarts_with(target, "smtp:")) target.remove_prefix(5);
    return std::string(target);
  }
  return recipient.address;
}

}  // namespace gw::qmgr
