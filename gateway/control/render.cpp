#include "gateway/control/render.h"

#include <algorithm>
#include <array>

namespace gw::control {
namespace {

constexpr std::array kNumberKeys{std::string_view("messages"), std::string_view("recipients"),
                                 std::string_view("size"),     std::string_view("attempts"),
                                 std::string_view("reply_code"), std::string_view("hop_count")};
constexpr std::array kBooleanKeys{std::string_view("frozen"), std::string_view("known_domain")};

bool is_number_key(std::string_view key) {
  return std::find(kNumberKeys.begin(), kNumberKeys.end(), key) != kNumberKeys.end();
}
bool is_boolean_key(std::string_view key) {
  return std::find(kBooleanKeys.begin(), kBooleanKeys.end(), key) != kBooleanKeys.end();
}
bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string json_value(std::string_view key, const std::string& value) {
  if (is_number_key(key)) return all_digits(value) ? value : "null";
  if (is_boolean_key(key)) return value == "yes" ? "true" : "false";
  return json_string(value);
}

std::string json_object(const Record& record, std::string_view extra = {}) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : record.fields) {
    if (!first) out += ",";
    first = false;
    out += json_string(key) + ":" + json_value(key, value);
  }
  if (!extra.empty()) {
    if (!first) out += ",";
    out += extra;
  }
  out += "}";
  return out;
}

std::string field(const Record& record, std::string_view key) {
  const std::string* value = record.find(key);
  return value ? *value : std::string();
}

std::string sender_text(const std::string& sender) { return "<" + sender + ">"; }

// Columns of left-aligned text; the columns listed in `right` are right-aligned.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  std::initializer_list<std::size_t> right = {}) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const bool last = c + 1 == cells.size();
      const std::size_t pad = width[c] - cells[c].size();
      const bool right_aligned = std::find(right.begin(), right.end(), c) != right.end();
      if (right_aligned) out.append(pad, ' ');
      out += cells[c];
      if (!right_aligned && !last) out.append(pad, ' ');
      if (!last) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string render_queues(const Response& response) {
  if (response.records.empty()) return "No queued messages.\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : response.records)
    rows.push_back({field(r, "name"), field(r, "messages"), field(r, "frozen") == "yes" ? "frozen" : ""});
  return table({"QUEUE", "MESSAGES", "STATE"}, rows, {1});
}

std::string render_list(const Response& response) {
  if (response.records.empty()) return "No messages in this queue.\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : response.records)
    rows.push_back({field(r, "id"), field(r, "size"), field(r, "arrival"), field(r, "recipients"),
                    field(r, "frozen") == "yes" ? "frozen" : "", sender_text(field(r, "sender"))});
  return table({"QUEUE ID", "SIZE", "ARRIVAL", "RCPTS", "STATE", "SENDER"}, rows, {1, 3});
}

void add_line(std::string& out, std::string_view indent, std::string_view label, const std::string& value) {
  if (value.empty()) return;
  out += indent;
  out += label;
  out += ":";
  out.append(label.size() < 15 ? 15 - label.size() : 1, ' ');
  out += value;
  out += "\n";
}

std::string render_show(const Response& response) {
  std::string out;
  for (const auto& r : response.records) {
    if (r.type == "message") {
      add_line(out, "", "Queue id", field(r, "id"));
      add_line(out, "", "Queue", field(r, "queue"));
      add_line(out, "", "State", field(r, "frozen") == "yes" ? "frozen (4.3.2)" : "active");
      add_line(out, "", "Sender", sender_text(field(r, "sender")));
      add_line(out, "", "Size", field(r, "size") + " octets");
      add_line(out, "", "Arrival", field(r, "arrival"));
      add_line(out, "", "Message-ID", field(r, "message_id"));
      add_line(out, "", "Virtual server", field(r, "virtual_server"));
      add_line(out, "", "Received by", field(r, "received_by"));
      add_line(out, "", "Client", field(r, "client"));
      add_line(out, "", "HELO", field(r, "helo"));
      add_line(out, "", "Auth", field(r, "auth").empty() ? "anonymous" : field(r, "auth"));
      add_line(out, "", "TLS", field(r, "tls").empty() ? "none" : field(r, "tls"));
      add_line(out, "", "ENVID", field(r, "envid"));
      add_line(out, "", "Hop count", field(r, "hop_count"));
      add_line(out, "", "Next attempt", field(r, "next_attempt"));
      out += "Recipients:\n";
    } else if (r.type == "recipient") {
      out += "  " + field(r, "address") + "\n";
      add_line(out, "    ", "State", field(r, "state"));
      std::string status = field(r, "status");
      if (!field(r, "reply_code").empty())
        status = field(r, "reply_code") + (status.empty() ? "" : " " + status);
      add_line(out, "    ", "Status", status);
      add_line(out, "    ", "Diagnostic", field(r, "diagnostic"));
      add_line(out, "    ", "Next hop", field(r, "next_hop"));
      add_line(out, "    ", "Remote MTA", field(r, "remote_mta"));
      add_line(out, "    ", "Attempts", field(r, "attempts"));
      add_line(out, "    ", "Next attempt", field(r, "next_attempt"));
    }
  }
  return out;
}

std::string first_field(const Response& response, std::string_view key) {
  return response.records.empty() ? std::string() : field(response.records.front(), key);
}

}  // namespace

std::string json_string(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;  // UTF-8 passes through unchanged
        }
    }
  }
  return out + "\"";
}

std::string render_text(const Request& request, const Response& response) {
  return std::visit(
      [&](const auto& r) -> std::string {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, QueuesCommand>) {
          return render_queues(response);
        } else if constexpr (std::is_same_v<T, ListCommand>) {
          return render_list(response);
        } else if constexpr (std::is_same_v<T, ShowCommand>) {
          return render_show(response);
        } else if constexpr (std::is_same_v<T, FreezeCommand>) {
          return "Message " + r.id.str() + (r.frozen ? " frozen.\n" : " thawed.\n");
        } else if constexpr (std::is_same_v<T, FreezeQueueCommand>) {
          return "Queue " + queue::display_name(r.key) + (r.frozen ? " frozen.\n" : " thawed.\n");
        } else if constexpr (std::is_same_v<T, RetryCommand>) {
          return "Message " + r.id.str() + " is due for delivery now.\n";
        } else if constexpr (std::is_same_v<T, RetryQueueCommand>) {
          return first_field(response, "messages") + " message(s) in " + queue::display_name(r.key) +
                 " due for delivery now.\n";
        } else if constexpr (std::is_same_v<T, DeleteCommand>) {
          return "Message " + r.id.str() + " deleted" + (r.send_ndr ? ", non-delivery report queued.\n" : ".\n");
        } else {
          if (first_field(response, "known_domain") != "yes")
            return "No mail is held for " + r.domain + ".\n";
          return first_field(response, "messages") + " message(s) for " + r.domain + " released.\n";
        }
      },
      request);
}

std::string render_json(const Request& request, const Response& response) {
  auto array_of = [&](std::string_view name) {
    std::string out = "{" + json_string(name) + ":[";
    for (std::size_t i = 0; i < response.records.size(); ++i) {
      if (i) out += ",";
      out += json_object(response.records[i]);
    }
    return out + "]}\n";
  };
  if (std::holds_alternative<QueuesCommand>(request)) return array_of("queues");
  if (std::holds_alternative<ListCommand>(request)) return array_of("messages");
  if (std::holds_alternative<ShowCommand>(request)) {
    const Record* message = nullptr;
    std::string recipients = "\"recipients\":[";
    bool first = true;
    for (const auto& r : response.records) {
      if (r.type == "message") message = &r;
      if (r.type != "recipient") continue;
      if (!first) recipients += ",";
      first = false;
      recipients += json_object(r);
    }
    recipients += "]";
    if (message == nullptr) return "{" + recipients + "}\n";
    return "{\"message\":" + json_object(*message, recipients) + "}\n";
  }
  // Commands that act: {"ok":true} plus the fields of their one record, if any.
  std::string out = "{\"ok\":true";
  if (!response.records.empty()) {
    for (const auto& [key, value] : response.records.front().fields)
      out += "," + json_string(key) + ":" + json_value(key, value);
  }
  return out + "}\n";
}

}  // namespace gw::control
