#include "gateway/events/tracking_query.h"

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <set>

namespace gw::events {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string strip_brackets(std::string_view text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  return std::string(text);
}

bool in_list(std::string_view list, std::string_view wanted) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    const auto item = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (lower(item) == wanted) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

bool in_time(const Record& r, const TrackingFilter& f) {
  return (!f.since || r.time >= *f.since) && (!f.until || r.time <= *f.until);
}

bool matches(const Record& r, const TrackingFilter& f) {
  if (!in_time(r, f)) return false;
  if (!f.message_id.empty() && strip_brackets(r.message_id) != strip_brackets(f.message_id)) return false;
  if (!f.queue_id.empty() && lower(r.queue_id) != lower(f.queue_id)) return false;
  if (!f.sender.empty()) {
    if (!r.sender) return false;
    const std::string want = f.sender == "<>" ? std::string() : lower(strip_brackets(f.sender));
    if (lower(*r.sender) != want) return false;
  }
  if (!f.recipient.empty()) {
    const std::string want = lower(strip_brackets(f.recipient));
    if (lower(r.recipient) != want && !in_list(r.get("recipients"), want)) return false;
  }
  return true;
}

void json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", u);
      out += hex;
    } else out += c;
  }
  out += '"';
}

}  // namespace

std::vector<Record> select(const std::vector<Record>& records, const TrackingFilter& filter) {
  std::vector<Record> out;
  if (filter.empty()) {
    for (const auto& r : records)
      if (in_time(r, filter)) out.push_back(r);
  } else {
    std::set<std::string> ids;
    for (const auto& r : records)
      if (!r.queue_id.empty() && matches(r, filter)) ids.insert(r.queue_id);
    // Follow reports both ways until nothing new joins.
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& r : records) {
        if (r.related_id.empty() || r.queue_id.empty()) continue;
        const bool has_self = ids.contains(r.queue_id);
        const bool has_related = ids.contains(r.related_id);
        if (has_self && !has_related) grew = ids.insert(r.related_id).second || grew;
        if (has_related && !has_self) grew = ids.insert(r.queue_id).second || grew;
      }
    }
    // Records without a queue id (a recipient refused at RCPT time) match on their own.
    for (const auto& r : records)
      if (r.queue_id.empty() ? matches(r, filter) : ids.contains(r.queue_id)) out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.time < b.time; });
  return out;
}

std::vector<Record> read_tracking_directory(const std::filesystem::path& directory, std::optional<Time> since,
                                            std::optional<Time> until) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const auto name = entry.path().filename().string();
    if (!name.starts_with("tracking-") || !entry.is_regular_file(ec)) continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  // A day's file holds local-day events; compare names with a day's margin
  // (rotated copies such as tracking-20261129.log.1 sort with their day).
  const auto day_name = [](Time t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm local{};
    ::localtime_r(&tt, &local);
    char name[40];
    std::strftime(name, sizeof name, "tracking-%Y%m%d", &local);
    return std::string(name);
  };
  const std::string first = since ? day_name(*since - std::chrono::hours(24)) : std::string();
  const std::string last = until ? day_name(*until + std::chrono::hours(24)) : std::string();
  std::vector<Record> out;
  for (const auto& path : files) {
    const auto stem = path.filename().string().substr(0, 17);
    if (!first.empty() && stem < first) continue;
    if (!last.empty() && stem > last) continue;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
      if (auto record = parse_tracking_line(line)) out.push_back(std::move(*record));
  }
  return out;
}

std::string record_json(const Record& r) {
  std::string out = "{\"time\":";
  json_string(out, format_local_time(r.time));
  const auto field = [&](const char* name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    json_string(out, value);
  };
  field("event", r.event);
  field("queue_id", r.queue_id);
  field("message_id", r.message_id);
  out += ",\"sender\":";
  if (r.sender) json_string(out, *r.sender);
  else out += "null";
  field("recipient", r.recipient);
  field("status", r.status);
  field("related_id", r.related_id);
  out += ",\"detail\":{";
  bool first = true;
  for (const auto& [k, v] : r.detail) {
    if (!first) out += ',';
    first = false;
    json_string(out, k);
    out += ':';
    json_string(out, v);
  }
  out += "}}";
  return out;
}

}  // namespace gw::events
