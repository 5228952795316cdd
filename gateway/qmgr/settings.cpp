#include "gateway/qmgr/settings.h"

#include "gateway/common/ascii.h"
#include "gateway/routing/schedule.h"

namespace gw::qmgr {

Settings::Settings(std::shared_ptr<const metabase::Metabase> metabase)
    : metabase_(std::move(metabase)), snapshot_(routing::RoutingSnapshot::build(*metabase_)) {
  for (const auto& connector : snapshot_.connectors)
    if (connector.has_content_restrictions &&
        (connector.content.allow_high_priority() || connector.content.allow_normal_priority() ||
         connector.content.allow_low_priority()))
      needs_priority_ = true;
}

const metabase::VirtualServer* Settings::virtual_server(std::string_view id) const {
  for (const auto& vs : metabase_->virtual_servers())
    if (vs.id() == id) return &vs;
  return metabase_->virtual_servers().empty() ? nullptr : &metabase_->virtual_servers(0);
}

queue::RetrySchedule Settings::retry_schedule(const metabase::VirtualServer* vs, bool local) const {
  queue::RetrySchedule schedule;
  if (!vs) return schedule;
  const auto& out = vs->outbound();
  auto set = [](queue::Seconds& field, std::uint32_t value) {
    if (value != 0) field = queue::Seconds(value);
  };
  set(schedule.first_retry, out.retry().first_retry_seconds());
  set(schedule.second_retry, out.retry().second_retry_seconds());
  set(schedule.third_retry, out.retry().third_retry_seconds());
  set(schedule.subsequent_retry, out.retry().subsequent_retry_seconds());
  set(schedule.delay_notification,
      local ? out.local_delay_notification_seconds() : out.remote_delay_notification_seconds());
  set(schedule.expiration, local ? out.local_expiration_timeout_seconds() : out.remote_expiration_timeout_seconds());
  return schedule;
}

const metabase::Connector* Settings::connector_named(std::string_view name) const {
  for (const auto& connector : metabase_->connectors())
    if (iequals(connector.name(), name)) return &connector;
  return nullptr;
}

std::optional<std::int64_t> Settings::held_by_schedule(const routing::NextHop& hop, std::uint64_t size,
                                                        WallTime now) const {
  std::string connector;
  if (const auto* smart = std::get_if<routing::SmartHosts>(&hop)) connector = smart->connector;
  if (const auto* dns = std::get_if<routing::DnsMx>(&hop)) connector = dns->connector;
  const metabase::Connector* found = connector.empty() ? nullptr : connector_named(connector);
  if (!found) return std::nullopt;
  const auto& schedule = routing::schedule_for(*found, size);
  if (routing::schedule_open(schedule, now)) return std::nullopt;
  const auto next = routing::next_open(schedule, now);
  if (!next) return std::int64_t{0};
  return to_unix(*next);
}

std::string Settings::fqdn(const metabase::VirtualServer* vs) const {
  if (vs && !vs->fqdn().empty()) return vs->fqdn();
  if (!metabase_->this_server().fqdn().empty()) return metabase_->this_server().fqdn();
  return "localhost";
}

std::vector<routing::SmartHost> Settings::smart_hosts_of(const metabase::VirtualServer* vs) {
  std::vector<routing::SmartHost> hosts;
  if (!vs) return hosts;
  for (const auto& text : vs->outbound().smart_hosts()) {
    auto parsed = routing::parse_smart_hosts(text);
    if (parsed) hosts.insert(hosts.end(), parsed->begin(), parsed->end());
  }
  return hosts;
}

}  // namespace gw::qmgr
