// gatewayctl: inspect and act on the queues of a running gatewayd through its
// control socket (docs/gatewayctl.md), follow messages through the tracking
// log, and ask the gateway what it would do with an address.
//
// Exit codes: 0 done, 1 usage error (nothing was done), 2 cannot reach the
// gateway, 3 the gateway refused or failed a request (its text on stderr, once).
// With several queue ids the worst outcome decides.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "gateway/common/ascii.h"
#include "gateway/common/version.h"
#include "gateway/control/control_client.h"
#include "gateway/control/protocol.h"
#include "gateway/control/render.h"
#include "gateway/events/tracking_query.h"
#include "gateway/queue/spool_layout.h"

namespace {

namespace control = gw::control;
namespace events = gw::events;

constexpr int kExitUsage = 1;
constexpr int kExitCannotConnect = 2;
constexpr int kExitGatewayError = 3;

struct Arguments {
  std::string socket;
  std::string spool = "/var/spool/mailgw";
  bool json = false;
  double timeout_seconds = 30;

  std::vector<std::string> queue_ids;
  std::string queue;
  std::string next_hop;
  std::size_t limit = control::kDefaultListLimit;
  bool ndr = false;
  bool content = false;
  std::string domain;

  // bulk actions: every message of --queue (optionally from --from), with --all and --yes
  std::string select_queue;
  std::string select_next_hop;
  std::string select_sender;
  bool all = false;
  bool yes = false;

  // explain
  std::string address;
  std::string sender;
  std::string virtual_server;
  bool authenticated = false;

  // track
  std::string tracking_dir;
  events::TrackingFilter filter;
  std::string since;
  std::string until;
};

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// One exchange with the gateway: the request line is parsed by the protocol's
// own parser first, so gatewayctl and the gateway agree on every argument rule.
// Prints the failure (once) and sets `exit_code` when there is one.
std::optional<control::Response> exchange(const Arguments& a, const std::string& line, control::Request* parsed,
                                          int& exit_code) {
  auto request = control::parse_request(line);
  if (!request) {
    std::cerr << "gatewayctl: " << request.error().detail << "\n";
    exit_code = std::max(exit_code, kExitUsage);
    return std::nullopt;
  }
  if (parsed) *parsed = *request;
  const std::filesystem::path socket =
      a.socket.empty() ? std::filesystem::path(a.spool) / "control.sock" : std::filesystem::path(a.socket);
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(a.timeout_seconds * 1000));
  auto response = control::call(socket, *request, timeout);
  if (!response) {
    std::cerr << "gatewayctl: " << response.error().code.message() << ": " << response.error().detail << "\n";
    exit_code = std::max(exit_code, response.error().code == control::ControlErrc::CannotConnect ? kExitCannotConnect
                                                                                                : kExitGatewayError);
    return std::nullopt;
  }
  if (!response->ok) {
    std::cerr << "gatewayctl: " << response->error << "\n";
    exit_code = std::max(exit_code, kExitGatewayError);
    return std::nullopt;
  }
  return std::move(*response);
}

// The request line of a subcommand that takes no queue id.
std::string request_line(const std::string& name, const Arguments& a) {
  std::string line = name;
  if (name == "list") {
    line += " " + quote(a.queue);
    if (!a.next_hop.empty()) line += " " + quote(a.next_hop);
    line += " --limit " + std::to_string(a.limit);
  } else if (name == "freeze-queue" || name == "thaw-queue" || name == "retry-queue") {
    line += " " + quote(a.queue);
    if (!a.next_hop.empty()) line += " " + quote(a.next_hop);
  } else if (name == "etrn") {
    line += " " + quote(a.domain);
  } else if (name == "explain") {
    line += " " + quote(a.address);
    if (!a.sender.empty()) line += " --from " + quote(a.sender);
    if (!a.virtual_server.empty()) line += " --virtual-server " + quote(a.virtual_server);
    if (a.authenticated) line += " --authenticated";
  }
  return line;
}

// `list` without a queue: every named queue's messages, like postqueue -p.
int list_all(const Arguments& a) {
  int exit_code = 0;
  auto queues = exchange(a, "queues", nullptr, exit_code);
  if (!queues) return exit_code;
  control::Response all;
  for (const auto& q : queues->records) {
    const std::string* name = q.find("queue");
    const std::string* hop = q.find("next_hop");
    if (!name) continue;
    std::string line = "list " + quote(*name);
    if (hop && !hop->empty()) line += " " + quote(*hop);
    line += " --limit " + std::to_string(a.limit);
    auto messages = exchange(a, line, nullptr, exit_code);
    if (!messages) return exit_code;
    for (auto& record : messages->records) all.records.push_back(std::move(record));
  }
  control::Request request = control::ListCommand{};
  std::cout << (a.json ? control::render_json(request, all) : control::render_all_queues(all));
  return 0;
}

// The stored message, as postcat shows it: read from the spool's own file.
int print_content(const Arguments& a, const std::string& id_text) {
  const auto id = gw::QueueId::parse(id_text);
  if (!id) {
    std::cerr << "gatewayctl: bad queue id \"" << id_text << "\"\n";
    return kExitUsage;
  }
  const auto path = gw::queue::queued_body_path(a.spool, *id);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "gatewayctl: cannot read " << path.string() << " (give --spool, and run as the gateway's user)\n";
    return kExitGatewayError;
  }
  std::cout << "Content:\n" << in.rdbuf();
  return 0;
}

// The queue ids a bulk action selects: every message of --queue [--next-hop],
// optionally only those from --from.
std::optional<std::vector<std::string>> select_messages(const Arguments& a, int& exit_code) {
  std::string line = "list " + quote(a.select_queue);
  if (!a.select_next_hop.empty()) line += " " + quote(a.select_next_hop);
  line += " --limit 1000000";
  auto listed = exchange(a, line, nullptr, exit_code);
  if (!listed) return std::nullopt;
  std::vector<std::string> ids;
  const std::string wanted = a.select_sender == "<>" ? std::string() : gw::ascii_lower(a.select_sender);
  for (const auto& r : listed->records) {
    const std::string* id = r.find("id");
    const std::string* sender = r.find("sender");
    if (!id) continue;
    if (!a.select_sender.empty() && (!sender || gw::ascii_lower(*sender) != wanted)) continue;
    ids.push_back(*id);
  }
  return ids;
}

// show / freeze / thaw / retry / delete on one or more queue ids, or on a
// selection (--queue ... --all, confirmed with --yes).
int per_message(const std::string& name, Arguments a) {
  int exit_code = 0;
  const bool bulk = !a.select_queue.empty();
  if (bulk) {
    if (!a.queue_ids.empty()) {
      std::cerr << "gatewayctl: give queue ids or --queue, not both\n";
      return kExitUsage;
    }
    if (!a.all) {
      std::cerr << "gatewayctl: --queue selects messages for " << name << " only with --all\n";
      return kExitUsage;
    }
    auto selected = select_messages(a, exit_code);
    if (!selected) return exit_code;
    if (!a.yes) {
      std::cerr << "gatewayctl: " << selected->size() << " message(s) match; nothing done: add --yes to " << name
                << " them\n";
      return kExitUsage;
    }
    a.queue_ids = std::move(*selected);
    if (!a.json) std::cout << a.queue_ids.size() << " message(s) selected.\n";
  } else if (a.queue_ids.empty()) {
    std::cerr << "gatewayctl: " << name << ": give one or more queue ids, or --queue Q --all\n";
    return kExitUsage;
  }
  std::string json;
  for (const auto& id : a.queue_ids) {
    std::string line = name + " " + quote(id);
    if (name == "delete" && a.ndr) line += " --ndr";
    control::Request request;
    auto response = exchange(a, line, &request, exit_code);
    if (!response) continue;
    if (a.json) {
      std::string one = control::render_json(request, *response);
      while (!one.empty() && one.back() == '\n') one.pop_back();
      json += (json.empty() ? "" : ",") + one;
    } else {
      std::cout << control::render_text(request, *response);
      if (name == "show" && a.content) exit_code = std::max(exit_code, print_content(a, id));
      if (name == "show" && a.queue_ids.size() > 1) std::cout << "\n";
    }
  }
  if (a.json) std::cout << (a.queue_ids.size() == 1 && !bulk ? json : "[" + json + "]") << "\n";
  return exit_code;
}

// `track`: read the tracking files directly (no gateway needed), like grep on
// a maillog but following a message across stages and reports.
int track(const Arguments& a) {
  events::TrackingFilter filter = a.filter;
  for (const auto& [text, into] : {std::pair{&a.since, &filter.since}, std::pair{&a.until, &filter.until}}) {
    if (text->empty()) continue;
    *into = events::parse_time(*text);
    if (!*into) {
      std::cerr << "gatewayctl: bad time \"" << *text << "\" (want 2026-11-29, \"2026-11-29 06:30\" or ISO 8601)\n";
      return kExitUsage;
    }
  }
  const std::filesystem::path directory =
      a.tracking_dir.empty() ? std::filesystem::path(a.spool) / "tracking" : std::filesystem::path(a.tracking_dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    std::cerr << "gatewayctl: no tracking directory " << directory.string() << "\n";
    return kExitCannotConnect;
  }
  const auto records = events::select(events::read_tracking_directory(directory, filter.since, filter.until), filter);
  if (a.json) {
    std::cout << "{\"events\":[";
    for (std::size_t i = 0; i < records.size(); ++i) std::cout << (i ? "," : "") << events::record_json(records[i]);
    std::cout << "]}\n";
    return 0;
  }
  if (records.empty()) {
    std::cout << "No tracked events match.\n";
    return 0;
  }
  std::cout << "TIME                           EVENT             QUEUE ID                  RECIPIENT / SENDER  STATUS  DETAIL\n";
  for (const auto& r : records) {
    std::string who = !r.recipient.empty() ? r.recipient : r.sender ? "from <" + *r.sender + ">" : "";
    char head[160];
    std::snprintf(head, sizeof head, "%-30s %-17s %-25s ", events::format_local_time(r.time).c_str(),
                  r.event.c_str(), r.queue_id.empty() ? "-" : r.queue_id.c_str());
    std::cout << head << (who.empty() ? "-" : events::escape_field(who)) << "  " << (r.status.empty() ? "-" : r.status);
    if (!r.related_id.empty()) std::cout << "  related=" << r.related_id;
    if (!r.message_id.empty() && r.event == "received") std::cout << "  message-id=" << events::escape_field(r.message_id);
    if (!r.detail.empty()) std::cout << "  " << events::escape_field(events::format_detail(r.detail));
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gatewayctl: queues of a running gatewayd (control socket), message tracking, explain"};
  Arguments a;
  app.add_option("--socket", a.socket, "control socket (default: <spool>/control.sock)");
  app.add_option("--spool", a.spool, "gatewayd's spool directory")->capture_default_str();
  app.add_flag("--json", a.json, "print JSON instead of tables");
  app.add_option("--timeout", a.timeout_seconds, "seconds to wait for the gateway")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.set_version_flag("--version", std::string("gatewayctl ") + gw::kVersion);
  app.require_subcommand(1);

  app.add_subcommand("queues", "named queues with their message counts");
  auto* list = app.add_subcommand("list", "messages of one queue (or of every queue), oldest first");
  list->add_option("queue", a.queue, "queue: enum name (remote-delivery) or display name; none = every queue");
  list->add_option("next-hop", a.next_hop, "next hop of a delivery queue");
  list->add_option("--limit", a.limit, "at most this many messages (per queue)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  for (const char* name : {"show", "freeze", "thaw", "retry", "delete"}) {
    const std::string n = name;
    const std::string description = n == "show"     ? "message properties and recipients"
                                    : n == "freeze" ? "hold messages"
                                    : n == "thaw"   ? "release held messages"
                                    : n == "retry"  ? "attempt messages now"
                                                    : "delete messages";
    auto* sub = app.add_subcommand(name, description);
    sub->add_option("queue-id", a.queue_ids, "one or more queue ids");
    sub->add_flag("--json", a.json, "print JSON");
    if (n == "show") {
      sub->add_flag("--content", a.content, "also print the stored message (read from --spool)");
      continue;
    }
    sub->add_option("--queue", a.select_queue, "act on the messages of this queue (with --all)");
    sub->add_option("--next-hop", a.select_next_hop, "... of this next hop");
    sub->add_option("--from", a.select_sender, "... only those from this sender (<> = the null sender)");
    sub->add_flag("--all", a.all, "every message --queue/--from select");
    sub->add_flag("--yes", a.yes, "confirm an action on a selection (without it: count only)");
    if (n == "delete") sub->add_flag("--ndr", a.ndr, "send a non-delivery report for undelivered recipients first");
  }
  for (const char* name : {"freeze-queue", "thaw-queue", "retry-queue"}) {
    const std::string description = std::string(name) == "freeze-queue" ? "hold a whole queue"
                                    : std::string(name) == "thaw-queue" ? "release a held queue"
                                                                        : "attempt a whole queue now";
    auto* sub = app.add_subcommand(name, description);
    sub->add_option("queue", a.queue)->required();
    sub->add_option("next-hop", a.next_hop);
  }
  app.add_subcommand("etrn", "release mail held for a domain (as ETRN would)")
      ->add_option("domain", a.domain)
      ->required();
  auto* explain = app.add_subcommand("explain", "what the gateway would do with a recipient (directory, route, RCPT reply)");
  explain->add_option("address", a.address, "the recipient address")->required();
  explain->add_option("--from", a.sender, "the sender the restrictions are checked against");
  explain->add_option("--virtual-server", a.virtual_server, "the virtual server that would receive it (default: the first)");
  explain->add_flag("--authenticated", a.authenticated, "the sender authenticated (AUTH) as the --from account");
  explain->add_flag("--json", a.json, "print JSON");
  auto* track_command = app.add_subcommand("track", "a message's history from the tracking log (no gateway needed)");
  track_command->add_option("--tracking-dir", a.tracking_dir, "tracking files (default: <spool>/tracking)");
  track_command->add_option("--message-id", a.filter.message_id, "Message-ID, with or without <>");
  track_command->add_option("--queue-id", a.filter.queue_id, "queue id (24 hexadecimal digits)");
  track_command->add_option("--from", a.filter.sender, "sender address (<> = null sender)");
  track_command->add_option("--to", a.filter.recipient, "recipient address");
  track_command->add_option("--since", a.since, "from this time (2026-11-29, \"2026-11-29 06:30\", ISO 8601)");
  track_command->add_option("--until", a.until, "up to this time");
  track_command->add_flag("--json", a.json, "print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  const std::string name = app.get_subcommands().front()->get_name();
  if (name == "track") return track(a);
  if (name == "list" && a.queue.empty()) return list_all(a);
  if (name == "show" || name == "freeze" || name == "thaw" || name == "retry" || name == "delete")
    return per_message(name, a);

  int exit_code = 0;
  control::Request request;
  auto response = exchange(a, request_line(name, a), &request, exit_code);
  if (!response) return exit_code;
  std::cout << (a.json ? control::render_json(request, *response) : control::render_text(request, *response));
  return 0;
}
