#include "gateway/events/record.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "gateway/common/utf8.h"

namespace gw::events {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

using Detail = std::vector<std::pair<std::string, std::string>>;

void add(Detail& detail, std::string key, std::string value) {
  if (!value.empty()) detail.emplace_back(std::move(key), std::move(value));
}

std::string code_and_status(unsigned code, const std::string& status) {
  if (code == 0) return status;
  return status.empty() ? std::to_string(code) : std::to_string(code) + " " + status;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\\') return true;
  return false;
}

}  // namespace

std::string_view Record::get(std::string_view key) const {
  for (const auto& [k, v] : detail)
    if (k == key) return v;
  return {};
}

Record describe(const Event& event) {
  const Subject& s = subject_of(event);
  Record r;
  r.time = s.time;
  r.event = std::string(name_of(event));
  r.queue_id = s.queue_id;
  r.message_id = s.message_id;
  r.sender = s.sender;
  r.recipient = s.recipient;
  std::visit(Overloaded{
                 [&](const SessionOpened& e) {
                   add(r.detail, "session", std::to_string(e.session));
                   add(r.detail, "peer", e.peer);
                   add(r.detail, "virtual-server", e.virtual_server);
                   add(r.detail, "local", e.local);
                 },
                 [&](const SessionClosed& e) {
                   add(r.detail, "session", std::to_string(e.session));
                   add(r.detail, "peer", e.peer);
                   add(r.detail, "virtual-server", e.virtual_server);
                   add(r.detail, "messages", std::to_string(e.messages));
                   add(r.detail, "reason", e.reason);
                 },
                 [&](const ConnectionRefused& e) {
                   r.status = code_and_status(e.reply_code, e.status);
                   add(r.detail, "peer", e.peer);
                   add(r.detail, "virtual-server", e.virtual_server);
                   add(r.detail, "reason", e.reason);
                 },
                 [&](const TlsEstablished& e) {
                   add(r.detail, "session", std::to_string(e.session));
                   add(r.detail, "peer", e.peer);
                   add(r.detail, "protocol", e.protocol);
                   add(r.detail, "cipher", e.cipher);
                 },
                 [&](const RecipientRejected& e) {
                   r.status = code_and_status(e.reply_code, e.status);
                   add(r.detail, "session", std::to_string(e.session));
                   add(r.detail, "peer", e.peer);
                   add(r.detail, "virtual-server", e.virtual_server);
                   add(r.detail, "reason", e.reason);
                 },
                 [&](const Received& e) {
                   r.status = e.origin == "smtp" ? "250 2.6.0" : "";
                   r.related_id = e.related_id;
                   add(r.detail, "recipients", join(e.recipients));
                   add(r.detail, "size", std::to_string(e.size));
                   add(r.detail, "origin", e.origin);
                   if (e.session != 0) add(r.detail, "session", std::to_string(e.session));
                   add(r.detail, "peer", e.peer);
                   add(r.detail, "virtual-server", e.virtual_server);
                   add(r.detail, "helo", e.helo);
                   add(r.detail, "auth", e.auth);
                   add(r.detail, "tls", e.tls);
                 },
                 [&](const Categorized& e) {
                   r.status = code_and_status(e.reply_code, e.status);
                   add(r.detail, "resolution", e.resolution);
                   add(r.detail, "object", e.object);
                   add(r.detail, "target", e.target);
                   add(r.detail, "reason", e.detail);
                 },
                 [&](const CategorizationDeferred& e) {
                   add(r.detail, "attempt", std::to_string(e.attempt));
                   add(r.detail, "retry-in-ms", std::to_string(e.retry_in.count()));
                   add(r.detail, "reason", e.reason);
                 },
                 [&](const Routed& e) {
                   add(r.detail, "next-hop", e.next_hop);
                   add(r.detail, "kind", e.kind);
                   add(r.detail, "connector", e.connector);
                   add(r.detail, "address-space", e.address_space);
                   if (!e.connector.empty()) add(r.detail, "cost", std::to_string(e.cost));
                 },
                 [&](const DeliveryAttempt& e) {
                   r.status = code_and_status(e.reply_code, e.status);
                   add(r.detail, "outcome", e.outcome);
                   add(r.detail, "next-hop", e.next_hop);
                   add(r.detail, "remote", e.remote);
                   add(r.detail, "attempt", std::to_string(e.attempt));
                   add(r.detail, "latency-ms", std::to_string(e.latency.count()));
                   add(r.detail, "reply", e.reply);
                 },
                 [&](const Deferred& e) {
                   r.status = e.status;
                   add(r.detail, "next-hop", e.next_hop);
                   if (e.next_attempt != Time{}) add(r.detail, "next-attempt", format_local_time(e.next_attempt));
                   add(r.detail, "reason", e.reason);
                 },
                 [&](const DsnQueued& e) {
                   r.related_id = e.report_id;
                   add(r.detail, "type", e.type);
                   add(r.detail, "recipients", join(e.recipients));
                 },
                 [&](const Expired& e) {
                   r.status = "4.4.7";
                   add(r.detail, "last-error", e.last_error);
                 },
                 [&](const Completed&) {},
                 [&](const AdminAction& e) {
                   add(r.detail, "action", e.action);
                   add(r.detail, "detail", e.detail);
                 },
                 [&](const Badmail& e) { add(r.detail, "reason", e.reason); },
                 [&](const DirectorySearch& e) {
                   add(r.detail, "server", e.server);
                   add(r.detail, "base", e.base);
                   add(r.detail, "filter", e.filter);
                   add(r.detail, "result", e.result);
                   add(r.detail, "entries", std::to_string(e.entries));
                   add(r.detail, "duration-us", std::to_string(e.duration.count()));
                 },
                 [&](const DirectoryCacheLookup& e) { add(r.detail, "hit", e.hit ? "yes" : "no"); },
                 [&](const ConnectorRetry& e) {
                   add(r.detail, "connector", e.connector);
                   add(r.detail, "until", format_local_time(e.until));
                   add(r.detail, "reason", e.reason);
                 },
             },
             event);
  return r;
}

std::string escape_field(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (const auto n = utf8_sequence(text, i); n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
      ++i;
    }
  }
  return out;
}

std::string unescape_field(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char next = text[++i];
    if (next == 't') out.push_back('\t');
    else if (next == 'r') out.push_back('\r');
    else if (next == 'n') out.push_back('\n');
    else if (next == 'x' && i + 2 < text.size()) {
      unsigned value = 0;
      std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      out.push_back(static_cast<char>(value));
      i += 2;
    } else out.push_back(next);
  }
  return out;
}

std::string format_detail(const Detail& detail) {
  std::string out;
  for (const auto& [key, value] : detail) {
    if (!out.empty()) out += ' ';
    out += key;
    out += '=';
    if (needs_quotes(value)) {
      out += '"';
      for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    } else {
      out += value;
    }
  }
  return out;
}

namespace {

Detail parse_detail(std::string_view text) {
  Detail out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const auto eq = text.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(text.substr(i, eq - i));
    i = eq + 1;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i++];
      }
      ++i;  // closing quote
    } else {
      const auto end = std::min(text.find(' ', i), text.size());
      value = std::string(text.substr(i, end - i));
      i = end;
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::string column(std::string_view value) { return value.empty() ? std::string("-") : escape_field(value); }

std::string from_column(std::string_view value) { return value == "-" ? std::string() : unescape_field(value); }

}  // namespace

std::string format_tracking_line(const Record& r) {
  std::string line = format_local_time(r.time);
  line += '\t';
  line += column(r.event);
  line += '\t';
  line += column(r.queue_id);
  line += '\t';
  line += column(r.message_id);
  line += '\t';
  line += !r.sender ? std::string("-") : r.sender->empty() ? std::string("<>") : escape_field(*r.sender);
  line += '\t';
  line += column(r.recipient);
  line += '\t';
  line += column(r.status);
  line += '\t';
  line += column(r.related_id);
  line += '\t';
  line += column(format_detail(r.detail));
  return line;
}

std::string tracking_header() {
  return std::string("#Software: mailgw gatewayd\n#Version: 1\n#Fields: ") + kTrackingFields + "\n";
}

std::optional<Record> parse_tracking_line(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return std::nullopt;
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (fields.size() != 9) return std::nullopt;
  auto time = parse_time(fields[0]);
  if (!time) return std::nullopt;
  Record r;
  r.time = *time;
  r.event = from_column(fields[1]);
  r.queue_id = from_column(fields[2]);
  r.message_id = from_column(fields[3]);
  if (fields[4] == "<>") r.sender = std::string();
  else if (fields[4] != "-") r.sender = unescape_field(fields[4]);
  r.recipient = from_column(fields[5]);
  r.status = from_column(fields[6]);
  r.related_id = from_column(fields[7]);
  r.detail = parse_detail(from_column(fields[8]));
  return r;
}

std::string format_local_time(Time time) {
  const auto since = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm local{};
  ::localtime_r(&t, &local);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
  const long offset = local.tm_gmtoff;
  const long abs_offset = offset < 0 ? -offset : offset;
  char out[96];
  std::snprintf(out, sizeof out, "%s.%03lld%c%02ld:%02ld", date, static_cast<long long>(millis),
                offset < 0 ? '-' : '+', abs_offset / 3600, (abs_offset % 3600) / 60);
  return out;
}

std::optional<Time> parse_time(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  long long millis = 0;
  std::size_t i = 0;
  auto number = [&](int digits, int& into) {
    if (i + static_cast<std::size_t>(digits) > text.size()) return false;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + i + digits, into);
    if (ec != std::errc() || p != text.data() + i + digits) return false;
    i += static_cast<std::size_t>(digits);
    return true;
  };
  auto expect = [&](char c) {
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  if (!number(4, year) || !expect('-') || !number(2, month) || !expect('-') || !number(2, day)) return std::nullopt;
  bool has_offset = false;
  long offset_seconds = 0;
  if (i < text.size()) {
    if (!expect('T') && !expect(' ')) return std::nullopt;
    if (!number(2, hour) || !expect(':') || !number(2, minute)) return std::nullopt;
    if (expect(':') && !number(2, second)) return std::nullopt;
    if (expect('.')) {
      const std::size_t from = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      std::string digits(text.substr(from, i - from));
      digits.resize(3, '0');
      millis = std::stoll(digits.substr(0, 3));
    }
    if (expect('Z')) {
      has_offset = true;
    } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      const bool negative = text[i++] == '-';
      int oh = 0, om = 0;
      if (!number(2, oh)) return std::nullopt;
      expect(':');
      if (!number(2, om)) return std::nullopt;
      offset_seconds = (oh * 3600L + om * 60L) * (negative ? -1 : 1);
      has_offset = true;
    }
    if (i != text.size()) return std::nullopt;
  }
  // system_clock counts nanoseconds in 64 bits: it ends in 2262.
  if (year < 1970 || year > 2262) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t;
  if (has_offset) {
    t = ::timegm(&tm) - offset_seconds;
  } else {
    tm.tm_isdst = -1;
    t = std::mktime(&tm);
  }
  return std::chrono::system_clock::from_time_t(t) + std::chrono::milliseconds(millis);
}

}  // namespace gw::events
