#include "gateway/control/render.h"

#include <algorithm>
#include <array>

namespace gw::control {
namespace {

constexpr std::array kNumberKeys{std::string_view("messages"), std::string_view("recipients"),
                                 std::string_view("size"),     std::string_view("attempts"),
                                 std::string_view("reply_code"), std::string_view("hop_count"),
                                 std::string_view("entries"),  std::string_view("duration_us"),
                                 std::string_view("depth"),    std::string_view("cost"),
                                 std::string_view("lookups"),  std::string_view("hits"),
                                 std::string_view("n")};
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

}  // namespace

std::string render_all_queues(const Response& response) {
  if (response.records.empty()) return "All queues are empty.\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : response.records) {
    const std::string hop = field(r, "next_hop");
    const auto key = parse_queue_key(field(r, "queue"),
                                     hop.empty() ? std::nullopt : std::optional<std::string_view>(hop));
    rows.push_back({field(r, "id"), key ? queue::display_name(*key) : field(r, "queue"), field(r, "size"),
                    field(r, "arrival"), field(r, "recipients"), field(r, "frozen") == "yes" ? "frozen" : "",
                    sender_text(field(r, "sender"))});
  }
  return table({"QUEUE ID", "QUEUE", "SIZE", "ARRIVAL", "RCPTS", "STATE", "SENDER"}, rows, {2, 4}) +
         std::to_string(response.records.size()) + " message(s).\n";
}

namespace {

void add_line(std::string& out, std::string_view indent, std::string_view label, const std::string& value) {
  if (value.empty()) return;
  out += indent;
  out += label;
  out += ":";
  out.append(label.size() < 15 ? 15 - label.size() : 1, ' ');
  out += value;
  out += "\n";
}

// The message's state as the queue viewer words it: frozen, retry (every
// recipient still to be delivered waits for a later attempt), or active.
std::string message_state(const Response& response, const Record& message) {
  if (field(message, "frozen") == "yes") return "frozen (4.3.2)";
  bool waiting = false;
  bool other = false;
  for (const auto& r : response.records) {
    if (r.type != "recipient") continue;
    const auto& state = field(r, "state");
    if (state == "retry") waiting = true;
    else if (state == "pending" || state == "resolved") other = true;
  }
  return waiting && !other ? "retry" : "active";
}

std::string render_show(const Response& response) {
  std::string out;
  for (const auto& r : response.records) {
    if (r.type == "message") {
      add_line(out, "", "Queue id", field(r, "id"));
      add_line(out, "", "Queue", field(r, "queue"));
      add_line(out, "", "State", message_state(response, r));
      add_line(out, "", "Sender", sender_text(field(r, "sender")) +
                                      (field(r, "authenticated") == "yes" ? " (authenticated)" : ""));
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

std::string render_explain(const Response& response) {
  std::string out;
  bool searches = false;
  std::string routes_pending;
  auto route_of = [&](const std::string& address) -> const Record* {
    for (const auto& r : response.records)
      if (r.type == "route" && field(r, "address") == address) return &r;
    return nullptr;
  };
  for (const auto& r : response.records) {
    if (r.type == "explain") {
      add_line(out, "", "Address", field(r, "address"));
      add_line(out, "", "Sender", sender_text(field(r, "sender")));
      add_line(out, "", "Virtual server", field(r, "virtual_server"));
      add_line(out, "", "Domain", field(r, "domain") + " (" + field(r, "domain_class") + ")");
      add_line(out, "", "RCPT TO reply", field(r, "rcpt_reply"));
      if (!field(r, "rcpt_assumption").empty()) add_line(out, "", "  assuming", field(r, "rcpt_assumption"));
    } else if (r.type == "sender") {
      add_line(out, "", "Sender object", field(r, "dn").empty() ? "not in the directory" : field(r, "dn"));
    } else if (r.type == "search") {
      if (!searches) out += "Directory searches:\n";
      searches = true;
      out += "  " + field(r, "n") + ". base=\"" + field(r, "base") + "\" scope=" + field(r, "scope") +
             " filter=" + field(r, "filter") + "\n     -> " + field(r, "result") + ", " + field(r, "entries") +
             " entr" + (field(r, "entries") == "1" ? "y" : "ies") + ", " + field(r, "duration_us") + " us\n";
    } else if (r.type == "cache") {
      add_line(out, "", "Cache", field(r, "lookups") + " look-up(s), " + field(r, "hits") + " answered from the cache");
    } else if (r.type == "object") {
      add_line(out, "", "Found", field(r, "dn") + " (" + field(r, "class") + "), matched " + field(r, "matched"));
    } else if (r.type == "recipient") {
      if (field(r, "depth") == "0") out += "Recipients:\n";
      const std::size_t depth = static_cast<std::size_t>(std::stoul("0" + field(r, "depth")));
      const std::string indent(2 + 2 * depth, ' ');
      std::string line = indent + field(r, "address") + ": " + field(r, "resolution");
      if (!field(r, "dn").empty()) line += ", " + field(r, "dn");
      if (!field(r, "target").empty()) line += ", " + field(r, "target");
      if (!field(r, "status").empty()) line += ", " + field(r, "reply_code") + " " + field(r, "status");
      if (!field(r, "diagnostic").empty() && field(r, "state") == "failed") line += " (" + field(r, "diagnostic") + ")";
      out += line + "\n";
      if (const Record* route = route_of(field(r, "address"))) {
        std::string text = indent + "  route: " + field(*route, "kind") + " " + field(*route, "next_hop");
        if (!field(*route, "connector").empty())
          text += ", connector \"" + field(*route, "connector") + "\" address space " + field(*route, "address_space") +
                  " cost " + field(*route, "cost");
        if (!field(*route, "detail").empty()) text += " (" + field(*route, "detail") + ")";
        out += text + "\n";
      }
    }
  }
  return out;
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
          if (first_field(response, "frozen") == "yes")
            return "Message " + r.id.str() + " is frozen: it stays frozen and is not attempted until it is thawed "
                   "(gatewayctl thaw " + r.id.str() + ").\n";
          return "Message " + r.id.str() + " is due for delivery now.\n";
        } else if constexpr (std::is_same_v<T, RetryQueueCommand>) {
          return first_field(response, "messages") + " message(s) in " + queue::display_name(r.key) +
                 " due for delivery now.\n";
        } else if constexpr (std::is_same_v<T, DeleteCommand>) {
          return "Message " + r.id.str() + " deleted" + (r.send_ndr ? ", non-delivery report queued.\n" : ".\n");
        } else if constexpr (std::is_same_v<T, ExplainCommand>) {
          return render_explain(response);
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
  if (std::holds_alternative<ExplainCommand>(request)) {
    // {"explain":{...},"sender":{...},"searches":[...],"objects":[...],"recipients":[...],"routes":[...],"cache":{...}}
    std::string out = "{";
    bool first_member = true;
    auto member = [&](const char* name, const char* type, bool many) {
      std::string value;
      bool any = false;
      for (const auto& r : response.records) {
        if (r.type != type) continue;
        if (!many) {
          value = json_object(r);
          any = true;
          break;
        }
        value += (any ? "," : "") + json_object(r);
        any = true;
      }
      if (!many && !any) return;
      out += (first_member ? "" : ",") + json_string(name) + ":" + (many ? "[" + value + "]" : value);
      first_member = false;
    };
    member("explain", "explain", false);
    member("sender", "sender", false);
    member("searches", "search", true);
    member("objects", "object", true);
    member("recipients", "recipient", true);
    member("routes", "route", true);
    member("cache", "cache", false);
    return out + "}\n";
  }
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
