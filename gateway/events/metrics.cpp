#include "gateway/events/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace gw::events {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

struct Help {
  const char* name;
  const char* type;
  const char* help;
};

constexpr Help kHelp[] = {
    {"mailgw_sessions_total", "counter", "SMTP sessions opened, by virtual server"},
    {"mailgw_sessions_open", "gauge", "SMTP sessions open now"},
    {"mailgw_connections_refused_total", "counter", "connections refused before the greeting, by reply code"},
    {"mailgw_tls_sessions_total", "counter", "TLS sessions established, by protocol"},
    {"mailgw_messages_received_total", "counter", "messages accepted (250 after end of data) and reports queued, by origin"},
    {"mailgw_received_bytes_total", "counter", "octets of accepted messages"},
    {"mailgw_recipients_rejected_total", "counter", "recipients refused at RCPT time, by reply code and enhanced status"},
    {"mailgw_recipients_categorized_total", "counter", "recipients categorized, by resolution"},
    {"mailgw_categorization_deferred_total", "counter", "categorizations put off because the directory was unavailable"},
    {"mailgw_recipients_routed_total", "counter", "recipients routed, by kind of next hop"},
    {"mailgw_delivery_attempts_total", "counter", "recipient delivery attempts, by next hop and outcome"},
    {"mailgw_delivery_duration_seconds", "histogram", "time of a delivery transaction, by next hop"},
    {"mailgw_recipients_deferred_total", "counter", "recipients left waiting for a later attempt"},
    {"mailgw_dsn_total", "counter", "delivery status notifications queued, by type"},
    {"mailgw_recipients_expired_total", "counter", "recipients expired in the queue (4.4.7)"},
    {"mailgw_messages_completed_total", "counter", "messages removed from the spool, every recipient final"},
    {"mailgw_admin_actions_total", "counter", "administrator actions on messages, by action"},
    {"mailgw_badmail_total", "counter", "messages moved to Badmail"},
    {"mailgw_ldap_searches_total", "counter", "directory searches, by result"},
    {"mailgw_ldap_search_duration_seconds", "histogram", "time of a directory search"},
    {"mailgw_ldap_cache_lookups_total", "counter", "categorizer cache look-ups, by result (hit, miss)"},
    {"mailgw_ldap_cache_hit_ratio", "gauge", "categorizer cache hits / look-ups since start"},
    {"mailgw_queue_messages", "gauge", "messages in a named queue"},
    {"mailgw_queue_oldest_age_seconds", "gauge", "age of the oldest message in a named queue"},
    {"mailgw_directory_up", "gauge", "1 when the directory server answered its last search, 0 when not"},
    {"mailgw_metabase_serial", "gauge", "serial of the metabase in force"},
    {"mailgw_metabase_age_seconds", "gauge", "seconds since the metabase in force was written"},
    {"mailgw_virtual_servers", "gauge", "virtual servers, by state"},
    {"mailgw_connector_retries_total", "counter", "times a connector was put in retry"},
    {"mailgw_connector_retry_until_seconds", "gauge", "end of a connector's latest retry interval (Unix time)"},
};

const Help* find_help(std::string_view name) {
  for (const auto& h : kHelp)
    if (name == h.name) return &h;
  return nullptr;
}

std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string label_text(const Labels& labels, const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && !extra) return {};
  std::string out = "{";
  bool first = true;
  auto put = [&](const std::string& k, const std::string& v) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + escape_label(v) + "\"";
  };
  for (const auto& [k, v] : labels) put(k, v);
  if (extra) put(extra->first, extra->second);
  return out + "}";
}

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return std::to_string(static_cast<long long>(value));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

void header(std::string& out, std::set<std::string>& done, const std::string& name, std::string_view fallback_help,
            const char* fallback_type) {
  if (!done.insert(name).second) return;
  const Help* h = find_help(name);
  out += "# HELP " + name + " " + std::string(h ? std::string_view(h->help) : fallback_help) + "\n";
  out += "# TYPE " + name + " " + (h ? h->type : fallback_type) + "\n";
}

}  // namespace

const std::vector<double>& latency_buckets() {
  static const std::vector<double> buckets{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60};
  return buckets;
}

std::string_view help_of(std::string_view name) {
  const Help* h = find_help(name);
  return h ? h->help : std::string_view();
}

void MetricsRegistry::add(const std::string& name, const Labels& labels, double amount) {
  std::lock_guard lock(mutex_);
  counters_[name][labels] += amount;
}

void MetricsRegistry::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  gauges_[name][labels] = value;
}

void MetricsRegistry::observe(const std::string& name, const Labels& labels, double seconds) {
  std::lock_guard lock(mutex_);
  auto& h = histograms_[name][labels];
  const auto& bounds = latency_buckets();
  if (h.buckets.empty()) h.buckets.assign(bounds.size(), 0);
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) {
      ++h.buckets[i];
      break;
    }
  ++h.count;
  h.sum += seconds;
}

void MetricsRegistry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

double MetricsRegistry::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  for (const auto* family : {&counters_, &gauges_}) {
    if (const auto it = family->find(name); it != family->end())
      if (const auto v = it->second.find(labels); v != it->second.end()) return v->second;
  }
  return 0;
}

double MetricsRegistry::total(const std::string& name, std::string_view key, std::string_view value) const {
  double sum = 0;
  for (const auto& [labels, v] : series(name)) {
    bool match = key.empty();
    for (const auto& [k, lv] : labels) match = match || (k == key && lv == value);
    if (match) sum += v;
  }
  return sum;
}

std::vector<std::pair<Labels, double>> MetricsRegistry::series(const std::string& name) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<Labels, double>> out;
  for (const auto* family : {&counters_, &gauges_})
    if (const auto it = family->find(name); it != family->end())
      for (const auto& [labels, v] : it->second) out.emplace_back(labels, v);
  return out;
}

std::uint64_t MetricsRegistry::count(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  if (const auto it = histograms_.find(name); it != histograms_.end())
    if (const auto h = it->second.find(labels); h != it->second.end()) return h->second.count;
  return 0;
}

std::string MetricsRegistry::render() const {
  std::vector<Sample> collected;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mutex_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect(collected);

  std::string out;
  std::set<std::string> done;
  std::lock_guard lock(mutex_);
  for (const auto& [name, series] : counters_) {
    header(out, done, name, "", "counter");
    for (const auto& [labels, value] : series) out += name + label_text(labels) + " " + number(value) + "\n";
  }
  // The cache hit ratio is derived from the two counters, never kept apart.
  if (const auto it = counters_.find("mailgw_ldap_cache_lookups_total"); it != counters_.end()) {
    double hits = 0, total = 0;
    for (const auto& [labels, value] : it->second) {
      total += value;
      for (const auto& [k, v] : labels)
        if (k == "result" && v == "hit") hits += value;
    }
    header(out, done, "mailgw_ldap_cache_hit_ratio", "", "gauge");
    out += "mailgw_ldap_cache_hit_ratio " + number(total > 0 ? hits / total : 0) + "\n";
  }
  for (const auto& [name, series] : gauges_) {
    header(out, done, name, "", "gauge");
    for (const auto& [labels, value] : series) out += name + label_text(labels) + " " + number(value) + "\n";
  }
  for (const auto& [name, series] : histograms_) {
    header(out, done, name, "", "histogram");
    const auto& bounds = latency_buckets();
    for (const auto& [labels, h] : series) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += h.buckets[i];
        const std::pair<std::string, std::string> le{"le", number(bounds[i])};
        out += name + "_bucket" + label_text(labels, &le) + " " + std::to_string(cumulative) + "\n";
      }
      const std::pair<std::string, std::string> inf{"le", "+Inf"};
      out += name + "_bucket" + label_text(labels, &inf) + " " + std::to_string(h.count) + "\n";
      out += name + "_sum" + label_text(labels) + " " + number(h.sum) + "\n";
      out += name + "_count" + label_text(labels) + " " + std::to_string(h.count) + "\n";
    }
  }
  // Collected samples, grouped by name in the order first seen.
  std::vector<std::string> order;
  for (const auto& s : collected)
    if (std::find(order.begin(), order.end(), s.name) == order.end()) order.push_back(s.name);
  for (const auto& name : order) {
    for (const auto& s : collected) {
      if (s.name != name) continue;
      header(out, done, name, s.help, "gauge");
      out += name + label_text(s.labels) + " " + number(s.value) + "\n";
    }
  }
  return out;
}

void MetricsSink::consume(const Event& event) {
  auto& r = registry_;
  std::visit(Overloaded{
                 [&](const SessionOpened& e) {
                   r.add("mailgw_sessions_total", {{"virtual_server", e.virtual_server}});
                   r.add("mailgw_sessions_open", {}, 1);
                 },
                 [&](const SessionClosed&) { r.add("mailgw_sessions_open", {}, -1); },
                 [&](const ConnectionRefused& e) {
                   r.add("mailgw_connections_refused_total", {{"code", std::to_string(e.reply_code)}});
                 },
                 [&](const TlsEstablished& e) { r.add("mailgw_tls_sessions_total", {{"protocol", e.protocol}}); },
                 [&](const RecipientRejected& e) {
                   r.add("mailgw_recipients_rejected_total",
                         {{"code", std::to_string(e.reply_code)}, {"status", e.status}});
                 },
                 [&](const Received& e) {
                   r.add("mailgw_messages_received_total", {{"origin", e.origin}});
                   r.add("mailgw_received_bytes_total", {}, static_cast<double>(e.size));
                 },
                 [&](const Categorized& e) {
                   r.add("mailgw_recipients_categorized_total", {{"resolution", e.resolution}});
                 },
                 [&](const CategorizationDeferred&) { r.add("mailgw_categorization_deferred_total", {}); },
                 [&](const Routed& e) { r.add("mailgw_recipients_routed_total", {{"kind", e.kind}}); },
                 [&](const DeliveryAttempt& e) {
                   r.add("mailgw_delivery_attempts_total", {{"next_hop", e.next_hop}, {"outcome", e.outcome}});
                   r.observe("mailgw_delivery_duration_seconds", {{"next_hop", e.next_hop}},
                             std::chrono::duration<double>(e.latency).count());
                 },
                 [&](const Deferred&) { r.add("mailgw_recipients_deferred_total", {}); },
                 [&](const DsnQueued& e) { r.add("mailgw_dsn_total", {{"type", e.type}}); },
                 [&](const Expired&) { r.add("mailgw_recipients_expired_total", {}); },
                 [&](const Completed&) { r.add("mailgw_messages_completed_total", {}); },
                 [&](const AdminAction& e) { r.add("mailgw_admin_actions_total", {{"action", e.action}}); },
                 [&](const Badmail&) { r.add("mailgw_badmail_total", {}); },
                 [&](const DirectorySearch& e) {
                   r.add("mailgw_ldap_searches_total", {{"result", e.result}});
                   r.observe("mailgw_ldap_search_duration_seconds", {},
                             std::chrono::duration<double>(e.duration).count());
                   if (!e.server.empty())
                     r.set("mailgw_directory_up", {{"server", e.server}},
                           e.result == "ok" || e.result == "error" ? 1 : 0);
                 },
                 [&](const DirectoryCacheLookup& e) {
                   r.add("mailgw_ldap_cache_lookups_total", {{"result", e.hit ? "hit" : "miss"}});
                 },
                 [&](const ConnectorRetry& e) {
                   r.add("mailgw_connector_retries_total", {{"connector", e.connector}});
                   r.set("mailgw_connector_retry_until_seconds", {{"connector", e.connector}},
                         std::chrono::duration<double>(e.until.time_since_epoch()).count());
                 },
             },
             event);
}

}  // namespace gw::events
