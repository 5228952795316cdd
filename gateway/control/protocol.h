// The control-socket protocol between gatewayctl and a running gatewayd.
//
// A client sends one request line (a command word and arguments separated by
// spaces, LF or CRLF terminated, at most kMaxRequestLine octets); an argument
// with spaces, quotes or backslashes is written in double quotes, a quote or a
// backslash inside escaped by a backslash. The server answers with lines: the
// status line "ok" or "error <text>", then zero or more records, then a line
// holding only ".". A record is one line of tab-separated fields; the first is its type
// ("queue", "message", "recipient", "released"), the rest are key=value pairs
// whose values escape backslash, tab, CR, LF and other control octets
// (\\ \t \r \n \xHH), so a record can never look like the terminator. A
// connection may carry several requests, one after the other.
//
// Commands (what each one does is QueueAdmin's contract):
//   queues
//   list <queue> [<next-hop>] [--limit N]      (N defaults to 100)
//   show <queue-id>
//   freeze <queue-id>            thaw <queue-id>
//   freeze-queue <queue> [<next-hop>]     thaw-queue <queue> [<next-hop>]
//   retry <queue-id>             retry-queue <queue> [<next-hop>]
//   delete <queue-id> [--ndr]
//   etrn <domain>
//   explain <address> [--from <sender>] [--authenticated] [--virtual-server <id>]
// <queue> is the queue's enum name in lower case with hyphens
// (remote-delivery) or its display name (case-insensitive), which may carry
// the next hop in brackets: "Remote delivery [partner.example]".
//
// This unit is pure text <-> values, used by both ends and tested without
// sockets. Not responsible for carrying out a request (dispatcher.h), the socket
// (control_server.h, control_client.h) or presentation (render.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "gateway/common/queue_id.h"
#include "gateway/common/result.h"
#include "gateway/queue/named_queues.h"

namespace gw::control {

inline constexpr std::size_t kMaxRequestLine = 4096;
inline constexpr std::size_t kDefaultListLimit = 100;
inline constexpr std::string_view kTerminator = ".";

enum class ControlErrc {
  BadRequest = 1,   // the request line does not parse: usage error
  CannotConnect,    // no gateway listening on the socket
  Io,               // the connection failed or timed out mid-exchange
  BadResponse,      // the response does not follow the protocol
};
const std::error_category& control_category() noexcept;
inline std::error_code make_error_code(ControlErrc e) noexcept {
  return {static_cast<int>(e), control_category()};
}

struct QueuesCommand {
  friend bool operator==(const QueuesCommand&, const QueuesCommand&) = default;
};
struct ListCommand {
  queue::QueueKey key;
  std::size_t limit = kDefaultListLimit;
  friend bool operator==(const ListCommand&, const ListCommand&) = default;
};
struct ShowCommand {
  QueueId id;
  friend bool operator==(const ShowCommand&, const ShowCommand&) = default;
};
struct FreezeCommand {
  QueueId id;
  bool frozen = true;  // false: thaw
  friend bool operator==(const FreezeCommand&, const FreezeCommand&) = default;
};
struct FreezeQueueCommand {
  queue::QueueKey key;
  bool frozen = true;  // false: thaw-queue
  friend bool operator==(const FreezeQueueCommand&, const FreezeQueueCommand&) = default;
};
struct RetryCommand {
  QueueId id;
  friend bool operator==(const RetryCommand&, const RetryCommand&) = default;
};
struct RetryQueueCommand {
  queue::QueueKey key;
  friend bool operator==(const RetryQueueCommand&, const RetryQueueCommand&) = default;
};
struct DeleteCommand {
  QueueId id;
  bool send_ndr = false;
  friend bool operator==(const DeleteCommand&, const DeleteCommand&) = default;
};
struct EtrnCommand {
  std::string domain;
  friend bool operator==(const EtrnCommand&, const EtrnCommand&) = default;
};

// What the gateway would do with a recipient (Explainer).
struct ExplainCommand {
  std::string address;
  std::string sender;          // empty = the null sender
  std::string virtual_server;  // empty = the first virtual server
  bool authenticated = false;  // the sender authenticated (AUTH) as that account
  friend bool operator==(const ExplainCommand&, const ExplainCommand&) = default;
};

using Request = std::variant<QueuesCommand, ListCommand, ShowCommand, FreezeCommand,
                             FreezeQueueCommand, RetryCommand, RetryQueueCommand, DeleteCommand,
                             EtrnCommand, ExplainCommand>;

// Parses one request line (without its line end). BadRequest with a message fit
// for "error <text>" (e.g. "unknown queue \"remote\"") when it does not parse.
Result<Request> parse_request(std::string_view line);
// The request line for `request`, without the line end; parse_request() of it
// gives `request` back.
std::string format_request(const Request& request);

// "remote-delivery" for REMOTE_DELIVERY.
std::string queue_argument(envelope::QueueName queue);
// A <queue> argument and an optional separate <next-hop> argument, as described
// above. BadRequest when the queue is unknown or the next hop is given twice.
Result<queue::QueueKey> parse_queue_key(std::string_view queue,
                                        std::optional<std::string_view> next_hop = std::nullopt);

struct Record {
  std::string type;
  std::vector<std::pair<std::string, std::string>> fields;

  Record& add(std::string key, std::string value);
  // The value of the first field named `key`, nullptr when there is none.
  const std::string* find(std::string_view key) const;
  friend bool operator==(const Record&, const Record&) = default;
};

struct Response {
  bool ok = true;
  std::string error;  // the text after "error " when !ok
  std::vector<Record> records;

  static Response failure(std::string text);
  friend bool operator==(const Response&, const Response&) = default;
};

// The whole response text, terminator line included; every line ends in LF.
// Line ends in the error text are replaced by spaces.
std::string format_response(const Response& response);
// Parses a whole response (as produced by format_response, CRLF accepted).
// BadResponse when the status line, a record or the terminator is malformed.
Result<Response> parse_response(std::string_view text);
// True when `text` holds a complete response (its terminator line was read).
bool response_complete(std::string_view text);

std::string escape_value(std::string_view value);
std::string unescape_value(std::string_view value);

}  // namespace gw::control

template <>
struct std::is_error_code_enum<gw::control::ControlErrc> : std::true_type {};
