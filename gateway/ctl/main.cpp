// gatewayctl: inspect and act on the queues of a running gatewayd through its
// control socket (docs/gatewayctl.md).
//
// Exit codes: 0 done, 1 usage error, 2 cannot reach the gateway, 3 the gateway
// refused or failed the request (its text on stderr).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "gateway/control/control_client.h"
#include "gateway/control/protocol.h"
#include "gateway/control/render.h"

namespace {

namespace control = gw::control;

constexpr int kExitUsage = 1;
constexpr int kExitCannotConnect = 2;
constexpr int kExitGatewayError = 3;

struct Arguments {
  std::string socket;
  std::string spool = "/var/spool/mailgw";
  bool json = false;
  double timeout_seconds = 30;

  std::string queue_id;
  std::string queue;
  std::string next_hop;
  std::size_t limit = control::kDefaultListLimit;
  bool ndr = false;
  std::string domain;
};

// Builds the request from the chosen subcommand through the protocol's own
// parser, so gatewayctl and the gateway agree on every argument rule.
std::string request_line(const CLI::App& app, const Arguments& a) {
  auto quote = [](const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  const std::string name = app.get_subcommands().front()->get_name();
  std::string line = name;
  if (name == "list") {
    line += " " + quote(a.queue);
    if (!a.next_hop.empty()) line += " " + quote(a.next_hop);
    line += " --limit " + std::to_string(a.limit);
  } else if (name == "freeze-queue" || name == "thaw-queue" || name == "retry-queue") {
    line += " " + quote(a.queue);
    if (!a.next_hop.empty()) line += " " + quote(a.next_hop);
  } else if (name == "show" || name == "freeze" || name == "thaw" || name == "retry") {
    line += " " + quote(a.queue_id);
  } else if (name == "delete") {
    line += " " + quote(a.queue_id) + (a.ndr ? " --ndr" : "");
  } else if (name == "etrn") {
    line += " " + quote(a.domain);
  }
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gatewayctl: queues of a running gatewayd (control socket)"};
  Arguments a;
  app.add_option("--socket", a.socket, "control socket (default: <spool>/control.sock)");
  app.add_option("--spool", a.spool, "gatewayd's spool directory")->capture_default_str();
  app.add_flag("--json", a.json, "print JSON instead of tables");
  app.add_option("--timeout", a.timeout_seconds, "seconds to wait for the gateway")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.require_subcommand(1);

  app.add_subcommand("queues", "named queues with their message counts");
  auto* list = app.add_subcommand("list", "messages of one queue, oldest first");
  list->add_option("queue", a.queue, "queue: enum name (remote-delivery) or display name")->required();
  list->add_option("next-hop", a.next_hop, "next hop of a delivery queue");
  list->add_option("--limit", a.limit, "at most this many messages")->capture_default_str()->check(CLI::PositiveNumber);
  for (const char* name : {"show", "freeze", "thaw", "retry"}) {
    const std::string description = std::string(name) == "show"     ? "message properties and recipients"
                                    : std::string(name) == "freeze" ? "hold a message"
                                    : std::string(name) == "thaw"   ? "release a held message"
                                                                    : "attempt a message now";
    app.add_subcommand(name, description)->add_option("queue-id", a.queue_id)->required();
  }
  for (const char* name : {"freeze-queue", "thaw-queue", "retry-queue"}) {
    const std::string description = std::string(name) == "freeze-queue" ? "hold a whole queue"
                                    : std::string(name) == "thaw-queue" ? "release a held queue"
                                                                        : "attempt a whole queue now";
    auto* sub = app.add_subcommand(name, description);
    sub->add_option("queue", a.queue)->required();
    sub->add_option("next-hop", a.next_hop);
  }
  auto* del = app.add_subcommand("delete", "delete a message");
  del->add_option("queue-id", a.queue_id)->required();
  del->add_flag("--ndr", a.ndr, "send a non-delivery report for undelivered recipients first");
  app.add_subcommand("etrn", "release mail held for a domain (as ETRN would)")
      ->add_option("domain", a.domain)
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  auto request = control::parse_request(request_line(app, a));
  if (!request) {
    std::cerr << "gatewayctl: " << request.error().detail << "\n";
    return kExitUsage;
  }
  const std::filesystem::path socket =
      a.socket.empty() ? std::filesystem::path(a.spool) / "control.sock" : std::filesystem::path(a.socket);
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(a.timeout_seconds * 1000));
  auto response = control::call(socket, *request, timeout);
  if (!response) {
    std::cerr << "gatewayctl: " << response.error().code.message() << ": " << response.error().detail << "\n";
    return response.error().code == control::ControlErrc::CannotConnect ? kExitCannotConnect
                                                                         : kExitGatewayError;
  }
  if (!response->ok) {
    std::cerr << "gatewayctl: " << response->error << "\n";
    return kExitGatewayError;
  }
  std::cout << (a.json ? control::render_json(*request, *response)
                       : control::render_text(*request, *response));
  return 0;
}
