// GatewayServer's read-only HTTP endpoint: /metrics (the event counters and
// scrape-time state in Prometheus text), /healthz, and the status page. Runs on
// the control loop, where the metabase, listeners and queue state are owned.
#include <ctime>

#include "gateway/events/record.h"
#include "gateway/http/status_page.h"
#include "gateway/main/gateway_server.h"
#include "gateway/common/version.h"

namespace gw::daemon {

namespace {

const char* server_state_name(metabase::ServerState state) {
  switch (state) {
    case metabase::STOPPED: return "stopped";
    case metabase::PAUSED: return "paused";
    default: return "started";
  }
}

std::string number(double value) { return std::to_string(static_cast<long long>(value)); }

}  // namespace

http::Response GatewayServer::http_response(const http::Request& request) {
  if (request.path == "/metrics")
    return {200, "text/plain; version=0.0.4; charset=utf-8", observability_->metrics().render()};
  if (request.path == "/healthz") {
    if (stopping_) return {503, "text/plain; charset=utf-8", "stopping\n"};
    return {200, "text/plain; charset=utf-8", "ok\n"};
  }
  if (request.path == "/" || request.path == "/index.html")
    return {200, "text/html; charset=utf-8", http::render_status_page(status_snapshot())};
  return {404, "text/plain; charset=utf-8", "Not Found\n"};
}

http::StatusSnapshot GatewayServer::status_snapshot() {
  http::StatusSnapshot s;
  const auto& metrics = observability_->metrics();
  const auto metabase = metabase_;
  s.now = std::chrono::system_clock::now();
  s.started = started_;
  s.version = std::string("gatewayd ") + kVersion;
  s.server_name = metabase->this_server().fqdn();

  for (const auto& server : metabase->virtual_servers()) {
    http::StatusSnapshot::VirtualServer row;
    row.id = server.id();
    row.name = server.name();
    row.state = server_state_name(server.state());
    row.fqdn = server.fqdn();
    for (const auto& binding : server.bindings())
      row.bindings.push_back((binding.ip().empty() ? std::string("*") : binding.ip()) + ":" +
                             std::to_string(binding.port()) + (binding.implicit_tls() ? " (TLS)" : ""));
    s.virtual_servers.push_back(std::move(row));
  }

  const auto now_unix = std::chrono::system_clock::to_time_t(s.now);
  for (const auto& [key, count] : queues_.counts()) {
    http::StatusSnapshot::Queue row;
    row.name = queue::display_name(key);
    row.messages = count;
    const auto oldest = queues_.list(key.queue, 1, key.next_hop);
    if (!oldest.empty()) row.oldest_age_seconds = now_unix - oldest.front().arrival_unix;
    s.queues.push_back(std::move(row));
  }

  for (const auto& connector : metabase->connectors()) {
    http::StatusSnapshot::Connector row;
    row.name = connector.name();
    for (const auto& space : connector.address_spaces())
      row.address_spaces.push_back((space.type() == metabase::ADDRESS_SPACE_SMTP ? "SMTP:" : "X400:") +
                                   space.pattern() + ";" + std::to_string(space.cost()));
    for (const auto& host : connector.smart_hosts()) row.next_hops += (row.next_hops.empty() ? "" : ", ") + host;
    if (row.next_hops.empty()) row.next_hops = "DNS (MX)";
    const double until = metrics.value("mailgw_connector_retry_until_seconds", {{"connector", connector.name()}});
    if (until > static_cast<double>(now_unix))
      row.state = "retry until " +
                  events::format_local_time(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(until)));
    else
      row.state = "ready";
    s.connectors.push_back(std::move(row));
  }

  for (const auto& uri : metabase->directory().uris()) {
    http::StatusSnapshot::DirectoryServer row;
    row.uri = uri;
    row.health = "no search yet";
    for (const auto& [labels, up] : metrics.series("mailgw_directory_up"))
      if (labels == events::Labels{{"server", uri}}) row.health = up > 0 ? "up" : "down";
    s.directory_servers.push_back(std::move(row));
  }

  const auto& p = metabase->provenance();
  s.provenance.metabase_file = options_.metabase_file.string();
  s.provenance.source_uri = p.source_uri();
  s.provenance.serial = p.serial();
  s.provenance.synced_at = events::format_local_time(std::chrono::system_clock::from_time_t(p.synced_at_unix()));
  s.provenance.age_seconds = now_unix - p.synced_at_unix();
  s.provenance.context_csn = p.context_csn();

  auto sum = [&](const std::string& name, const events::Labels& labels) { return metrics.value(name, labels); };
  s.activity = {
      {"Sessions open", number(sum("mailgw_sessions_open", {}))},
      {"Messages received", number(sum("mailgw_messages_received_total", {{"origin", "smtp"}}))},
      {"Recipients rejected at RCPT", number(metrics.total("mailgw_recipients_rejected_total"))},
      {"Recipients delivered", number(metrics.total("mailgw_delivery_attempts_total", "outcome", "delivered") +
                                      metrics.total("mailgw_delivery_attempts_total", "outcome", "relayed"))},
      {"Recipients deferred", number(sum("mailgw_recipients_deferred_total", {}))},
      {"Reports queued", number(metrics.total("mailgw_dsn_total"))},
  };
  return s;
}

}  // namespace gw::daemon
