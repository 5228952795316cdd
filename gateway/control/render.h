// Presentation of control responses for gatewayctl: aligned tables and
// key/value blocks for people, JSON for scripts.
//
// Contract: pure functions of the request and its successful response (an
// "error" response is printed by the caller on stderr). Field names and JSON
// keys are the protocol's record keys; counts, sizes, attempts and reply codes
// are JSON numbers, yes/no fields JSON booleans, everything else strings (an
// empty sender is "" in JSON and "<>" in tables). Output ends with a newline
// when it is not empty. Not responsible for talking to the gateway.
#pragma once

#include <string>

#include "gateway/control/protocol.h"

namespace gw::control {

std::string render_text(const Request& request, const Response& response);
std::string render_json(const Request& request, const Response& response);
// The message records of several `list` answers in one table with a QUEUE
// column (gatewayctl list without a queue, like postqueue -p).
std::string render_all_queues(const Response& response);

// The JSON string literal for `text` (quotes included), escaped per RFC 8259.
std::string json_string(std::string_view text);

}  // namespace gw::control
