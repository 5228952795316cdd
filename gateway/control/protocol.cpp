#include "gateway/control/protocol.h"

#include <charconv>

#include "gateway/common/ascii.h"

namespace gw::control {
namespace {

class ControlCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "control"; }
  std::string message(int value) const override {
    switch (static_cast<ControlErrc>(value)) {
      case ControlErrc::BadRequest: return "bad request";
      case ControlErrc::CannotConnect: return "cannot connect to the control socket";
      case ControlErrc::Io: return "control connection failed";
      case ControlErrc::BadResponse: return "malformed control response";
    }
    return "unknown control error";
  }
};

std::unexpected<Error> bad_request(std::string text) {
  return make_error(ControlErrc::BadRequest, std::move(text));
}

std::unexpected<Error> bad_response(std::string text) {
  return make_error(ControlErrc::BadResponse, std::move(text));
}

// Splits a request line into arguments: blanks separate them, double quotes
// group them (with \" and \\ inside).
Result<std::vector<std::string>> split_arguments(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) return out;
    std::string argument;
    if (line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == line.size()) break;
          argument += line[i++];
        } else {
          argument += c;
        }
      }
      if (!closed) return bad_request("unterminated quoted argument");
      if (i < line.size() && line[i] != ' ' && line[i] != '\t')
        return bad_request("a quoted argument must be followed by a blank");
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
        if (line[i] == '"') return bad_request("quote inside an unquoted argument");
        argument += line[i++];
      }
    }
    out.push_back(std::move(argument));
  }
}

std::string quote_argument(std::string_view argument) {
  const bool plain = !argument.empty() &&
                     argument.find_first_of(" \t\"\\") == std::string_view::npos;
  if (plain) return std::string(argument);
  std::string out = "\"";
  for (char c : argument) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool printable_text(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

Result<QueueId> parse_id(std::string_view text) {
  std::string upper(text);
  for (char& c : upper)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  if (auto id = QueueId::parse(upper)) return *id;
  return bad_request("\"" + std::string(text) + "\" is not a queue id (24 hexadecimal digits)");
}

// Usage errors name the command's synopsis.
std::string_view synopsis(std::string_view command) {
  if (command == "queues") return "queues";
  if (command == "list") return "list <queue> [<next-hop>] [--limit N]";
  if (command == "show") return "show <queue-id>";
  if (command == "freeze") return "freeze <queue-id>";
  if (command == "thaw") return "thaw <queue-id>";
  if (command == "freeze-queue") return "freeze-queue <queue> [<next-hop>]";
  if (command == "thaw-queue") return "thaw-queue <queue> [<next-hop>]";
  if (command == "retry") return "retry <queue-id>";
  if (command == "retry-queue") return "retry-queue <queue> [<next-hop>]";
  if (command == "delete") return "delete <queue-id> [--ndr]";
  if (command == "etrn") return "etrn <domain>";
  if (command == "explain") return "explain <address> [--from <sender>] [--authenticated] [--virtual-server <id>]";
  return {};
}

std::unexpected<Error> usage(std::string_view command) {
  return bad_request("usage: " + std::string(synopsis(command)));
}

// <queue> [<next-hop>] with nothing else.
Result<queue::QueueKey> queue_operand(std::string_view command, const std::vector<std::string>& args) {
  if (args.size() < 2 || args.size() > 3) return usage(command);
  if (args.size() == 3) return parse_queue_key(args[1], args[2]);
  return parse_queue_key(args[1]);
}

Result<QueueId> id_operand(std::string_view command, const std::vector<std::string>& args) {
  if (args.size() != 2) return usage(command);
  return parse_id(args[1]);
}

Result<Request> parse_list(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  std::size_t limit = kDefaultListLimit;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--limit") {
      if (i + 1 == args.size()) return usage("list");
      const std::string& text = args[++i];
      std::size_t value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size() || value == 0)
        return bad_request("--limit wants a positive number, not \"" + text + "\"");
      limit = value;
    } else {
      positional.push_back(args[i]);
    }
  }
  if (positional.empty() || positional.size() > 2) return usage("list");
  auto key = positional.size() == 2 ? parse_queue_key(positional[0], positional[1])
                                    : parse_queue_key(positional[0]);
  if (!key) return std::unexpected(key.error());
  return ListCommand{std::move(*key), limit};
}

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

const std::error_category& control_category() noexcept {
  static const ControlCategory category;
  return category;
}

std::string queue_argument(envelope::QueueName queue) {
  std::string name = ascii_lower(envelope::QueueName_Name(queue));
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

Result<queue::QueueKey> parse_queue_key(std::string_view queue_text,
                                        std::optional<std::string_view> next_hop) {
  std::string_view name = queue_text;
  std::optional<std::string_view> bracketed_hop;
  // "Remote delivery [partner.example]": the display name of one next hop.
  if (const auto open = name.find(" ["); open != std::string_view::npos && name.ends_with(']')) {
    bracketed_hop = name.substr(open + 2, name.size() - open - 3);
    name = name.substr(0, open);
  }
  if (bracketed_hop && next_hop) return bad_request("the next hop is given twice");

  std::optional<envelope::QueueName> found;
  for (int value = envelope::QueueName_MIN; value <= envelope::QueueName_MAX; ++value) {
    if (!envelope::QueueName_IsValid(value) || value == envelope::QUEUE_UNSPECIFIED) continue;
    const auto queue = static_cast<envelope::QueueName>(value);
    if (iequals(name, queue_argument(queue)) || iequals(name, queue::display_name(queue))) {
      found = queue;
      break;
    }
  }
  if (!found) return bad_request("unknown queue \"" + std::string(queue_text) + "\"");
  queue::QueueKey key{*found, {}};
  if (bracketed_hop) key.next_hop = std::string(*bracketed_hop);
  if (next_hop) key.next_hop = std::string(*next_hop);
  return key;
}

Result<Request> parse_request(std::string_view line) {
  line = strip_cr(line);
  if (line.size() > kMaxRequestLine) return bad_request("request line too long");
  if (!printable_text(line)) return bad_request("control characters in the request");
  auto split = split_arguments(line);
  if (!split) return std::unexpected(split.error());
  const std::vector<std::string>& args = *split;
  if (args.empty()) return bad_request("empty request");
  const std::string& command = args[0];

  if (command == "queues") {
    if (args.size() != 1) return usage(command);
    return QueuesCommand{};
  }
  if (command == "list") return parse_list(args);
  if (command == "show" || command == "freeze" || command == "thaw" || command == "retry") {
    auto id = id_operand(command, args);
    if (!id) return std::unexpected(id.error());
    if (command == "show") return ShowCommand{*id};
    if (command == "retry") return RetryCommand{*id};
    return FreezeCommand{*id, command == "freeze"};
  }
  if (command == "freeze-queue" || command == "thaw-queue" || command == "retry-queue") {
    auto key = queue_operand(command, args);
    if (!key) return std::unexpected(key.error());
    if (command == "retry-queue") return RetryQueueCommand{std::move(*key)};
    return FreezeQueueCommand{std::move(*key), command == "freeze-queue"};
  }
  if (command == "delete") {
    bool ndr = false;
    std::vector<std::string> ids;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--ndr") ndr = true;
      else ids.push_back(args[i]);
    }
    if (ids.size() != 1) return usage(command);
    auto id = parse_id(ids[0]);
    if (!id) return std::unexpected(id.error());
    return DeleteCommand{*id, ndr};
  }
  if (command == "etrn") {
    if (args.size() != 2 || args[1].empty()) return usage(command);
    return EtrnCommand{args[1]};
  }
  if (command == "explain") {
    ExplainCommand explain;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--authenticated") {
        explain.authenticated = true;
      } else if ((args[i] == "--from" || args[i] == "--virtual-server") && i + 1 < args.size()) {
        (args[i] == "--from" ? explain.sender : explain.virtual_server) = args[i + 1];
        ++i;
      } else if (explain.address.empty() && !args[i].empty() && !args[i].starts_with("--")) {
        explain.address = args[i];
      } else {
        return usage(command);
      }
    }
    if (explain.address.empty()) return usage(command);
    return explain;
  }
  return bad_request("unknown command \"" + command + "\"");
}

std::string format_request(const Request& request) {
  auto queue_words = [](const queue::QueueKey& key) {
    std::string out = queue_argument(key.queue);
    if (!key.next_hop.empty()) out += " " + quote_argument(key.next_hop);
    return out;
  };
  return std::visit(
      [&](const auto& r) -> std::string {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, QueuesCommand>) {
          return "queues";
        } else if constexpr (std::is_same_v<T, ListCommand>) {
          std::string out = "list " + queue_words(r.key);
          if (r.limit != kDefaultListLimit) out += " --limit " + std::to_string(r.limit);
          return out;
        } else if constexpr (std::is_same_v<T, ShowCommand>) {
          return "show " + r.id.str();
        } else if constexpr (std::is_same_v<T, FreezeCommand>) {
          return (r.frozen ? "freeze " : "thaw ") + r.id.str();
        } else if constexpr (std::is_same_v<T, FreezeQueueCommand>) {
          return (r.frozen ? "freeze-queue " : "thaw-queue ") + queue_words(r.key);
        } else if constexpr (std::is_same_v<T, RetryCommand>) {
          return "retry " + r.id.str();
        } else if constexpr (std::is_same_v<T, RetryQueueCommand>) {
          return "retry-queue " + queue_words(r.key);
        } else if constexpr (std::is_same_v<T, DeleteCommand>) {
          return "delete " + r.id.str() + (r.send_ndr ? " --ndr" : "");
        } else if constexpr (std::is_same_v<T, ExplainCommand>) {
          std::string out = "explain " + quote_argument(r.address);
          if (!r.sender.empty()) out += " --from " + quote_argument(r.sender);
          if (!r.virtual_server.empty()) out += " --virtual-server " + quote_argument(r.virtual_server);
          if (r.authenticated) out += " --authenticated";
          return out;
        } else {
          return "etrn " + quote_argument(r.domain);
        }
      },
      request);
}

Record& Record::add(std::string key, std::string value) {
  fields.emplace_back(std::move(key), std::move(value));
  return *this;
}

const std::string* Record::find(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

Response Response::failure(std::string text) {
  Response r;
  r.ok = false;
  r.error = std::move(text);
  return r;
}

std::string escape_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\x";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string unescape_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\' || i + 1 == value.size()) {
      out += value[i];
      continue;
    }
    const char next = value[++i];
    switch (next) {
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      case 'x':
        if (i + 2 < value.size() && hex_value(value[i + 1]) >= 0 && hex_value(value[i + 2]) >= 0) {
          out += static_cast<char>(hex_value(value[i + 1]) * 16 + hex_value(value[i + 2]));
          i += 2;
        } else {
          out += "\\x";
        }
        break;
      default: out += next; break;
    }
  }
  return out;
}

std::string format_response(const Response& response) {
  std::string out;
  if (response.ok) {
    out = "ok\n";
  } else {
    std::string text = response.error;
    for (char& c : text)
      if (c == '\r' || c == '\n') c = ' ';
    out = "error " + text + "\n";
  }
  for (const Record& record : response.records) {
    out += escape_value(record.type);
    for (const auto& [key, value] : record.fields) {
      out += '\t';
      out += escape_value(key);
      out += '=';
      out += escape_value(value);
    }
    out += '\n';
  }
  out += kTerminator;
  out += '\n';
  return out;
}

bool response_complete(std::string_view text) {
  return text.ends_with("\n.\n") || text.ends_with("\n.\r\n");
}

Result<Response> parse_response(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string_view::npos) return bad_response("response does not end with a line end");
    lines.push_back(strip_cr(text.substr(start, end - start)));
    start = end + 1;
  }
  if (lines.size() < 2 || lines.back() != kTerminator)
    return bad_response("response is not terminated by a \".\" line");
  Response response;
  const std::string_view status = lines.front();
  if (status == "ok") {
    response.ok = true;
  } else if (status.starts_with("error ")) {
    response.ok = false;
    response.error = std::string(status.substr(6));
  } else {
    return bad_response("unexpected status line \"" + std::string(status) + "\"");
  }
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line == kTerminator) return bad_response("data after the terminator");
    Record record;
    std::size_t field_start = 0;
    bool first = true;
    while (true) {
      const auto tab = line.find('\t', field_start);
      const std::string_view field = line.substr(field_start, tab == std::string_view::npos
                                                                  ? std::string_view::npos
                                                                  : tab - field_start);
      if (first) {
        if (field.empty()) return bad_response("record without a type");
        record.type = unescape_value(field);
        first = false;
      } else {
        const auto equals = field.find('=');
        if (equals == std::string_view::npos || equals == 0)
          return bad_response("field \"" + std::string(field) + "\" is not key=value");
        record.add(unescape_value(field.substr(0, equals)), unescape_value(field.substr(equals + 1)));
      }
      if (tab == std::string_view::npos) break;
      field_start = tab + 1;
    }
    response.records.push_back(std::move(record));
  }
  return response;
}

}  // namespace gw::control
