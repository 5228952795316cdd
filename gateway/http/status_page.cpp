#include "gateway/http/status_page.h"

#include <ctime>

namespace gw::http {

namespace {

std::string local_time(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  ::localtime_r(&t, &local);
  char out[64];
  std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S %z", &local);
  return out;
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1d2733;background:#f6f7f9}
h1{font-size:1.4em;margin:0 0 .2em}
h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #ccd3dc;padding-bottom:.2em}
p.meta{color:#5a6573;margin:0 0 1em}
table{border-collapse:collapse;background:#fff;min-width:40em}
th,td{border:1px solid #d5dbe2;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#e9edf2}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#176c2a;font-weight:600}.bad{color:#a61b1b;font-weight:600}.warn{color:#8a5a00;font-weight:600}
.empty{color:#5a6573;font-style:italic}
)";

std::string state_class(std::string_view state) {
  if (state == "started" || state == "up" || state == "ready") return "ok";
  if (state == "stopped" || state == "down" || state.starts_with("retry")) return "bad";
  return "warn";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_age(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return std::to_string(seconds) + " s";
  if (seconds < 3600) return std::to_string(seconds / 60) + " min";
  if (seconds < 86400) {
    const auto minutes = (seconds % 3600) / 60;
    return std::to_string(seconds / 3600) + " h" + (minutes ? " " + std::to_string(minutes) + " min" : "");
  }
  const auto hours = (seconds % 86400) / 3600;
  return std::to_string(seconds / 86400) + " d" + (hours ? " " + std::to_string(hours) + " h" : "");
}

std::string render_status_page(const StatusSnapshot& s, unsigned refresh_seconds) {
  const auto e = [](std::string_view text) { return html_escape(text); };
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">";
  h += "<title>mailgw " + e(s.server_name) + "</title><style>" + std::string(kStyle) + "</style></head><body>\n";
  h += "<h1>mailgw gateway " + e(s.server_name) + "</h1>\n";
  h += "<p class=\"meta\">Status at " + e(local_time(s.now)) + " &middot; up " +
       e(format_age(std::chrono::duration_cast<std::chrono::seconds>(s.now - s.started).count())) + " &middot; " +
       e(s.version) + " &middot; refreshes every " + std::to_string(refresh_seconds) + " s</p>\n";

  h += "<h2>Virtual servers</h2>\n<table id=\"virtual-servers\"><tr><th>Id</th><th>Name</th><th>State</th>"
       "<th>Bindings</th><th>FQDN</th></tr>\n";
  for (const auto& v : s.virtual_servers) {
    std::string bindings;
    for (const auto& b : v.bindings) bindings += (bindings.empty() ? "" : "<br>") + e(b);
    h += "<tr><td>" + e(v.id) + "</td><td>" + e(v.name) + "</td><td class=\"" + state_class(v.state) + "\">" +
         e(v.state) + "</td><td>" + bindings + "</td><td>" + e(v.fqdn) + "</td></tr>\n";
  }
  if (s.virtual_servers.empty()) h += "<tr><td colspan=\"5\" class=\"empty\">No virtual servers</td></tr>\n";
  h += "</table>\n";

  h += "<h2>Queues</h2>\n<table id=\"queues\"><tr><th>Queue</th><th>Messages</th><th>Oldest</th><th>State</th></tr>\n";
  for (const auto& q : s.queues)
    h += "<tr><td>" + e(q.name) + "</td><td class=\"n\">" + std::to_string(q.messages) + "</td><td class=\"n\">" +
         (q.messages ? e(format_age(q.oldest_age_seconds)) : std::string("&ndash;")) + "</td><td" +
         (q.frozen ? " class=\"bad\">frozen" : ">") + "</td></tr>\n";
  if (s.queues.empty()) h += "<tr><td colspan=\"4\" class=\"empty\">All queues are empty</td></tr>\n";
  h += "</table>\n";

  h += "<h2>Connectors</h2>\n<table id=\"connectors\"><tr><th>Connector</th><th>Address spaces</th>"
       "<th>Next hops</th><th>State</th></tr>\n";
  for (const auto& c : s.connectors) {
    std::string spaces;
    for (const auto& a : c.address_spaces) spaces += (spaces.empty() ? "" : "<br>") + e(a);
    h += "<tr><td>" + e(c.name) + "</td><td>" + spaces + "</td><td>" + e(c.next_hops) + "</td><td class=\"" +
         state_class(c.state) + "\">" + e(c.state) + "</td></tr>\n";
  }
  if (s.connectors.empty()) h += "<tr><td colspan=\"4\" class=\"empty\">No connectors</td></tr>\n";
  h += "</table>\n";

  h += "<h2>Directory servers</h2>\n<table id=\"directory\"><tr><th>Server</th><th>Health</th></tr>\n";
  for (const auto& d : s.directory_servers)
    h += "<tr><td>" + e(d.uri) + "</td><td class=\"" + state_class(d.health) + "\">" + e(d.health) + "</td></tr>\n";
  if (s.directory_servers.empty()) h += "<tr><td colspan=\"2\" class=\"empty\">No directory servers</td></tr>\n";
  h += "</table>\n";

  h += "<h2>Activity since start</h2>\n<table id=\"activity\">\n";
  for (const auto& [label, value] : s.activity)
    h += "<tr><th>" + e(label) + "</th><td class=\"n\">" + e(value) + "</td></tr>\n";
  h += "</table>\n";

  const auto& p = s.provenance;
  h += "<h2>Metabase</h2>\n<table id=\"metabase\">\n";
  h += "<tr><th>File</th><td>" + e(p.metabase_file) + "</td></tr>\n";
  h += "<tr><th>Read from</th><td>" + e(p.source_uri) + "</td></tr>\n";
  h += "<tr><th>Serial</th><td>" + std::to_string(p.serial) + "</td></tr>\n";
  h += "<tr><th>Synchronized</th><td>" + e(p.synced_at) + " (" + e(format_age(p.age_seconds)) + " ago)</td></tr>\n";
  if (!p.context_csn.empty()) h += "<tr><th>contextCSN</th><td>" + e(p.context_csn) + "</td></tr>\n";
  h += "</table>\n</body></html>\n";
  return h;
}

}  // namespace gw::http
