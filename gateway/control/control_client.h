// ControlClient: gatewayctl's side of the control socket -- one blocking
// request/response exchange with a running gatewayd.
//
// Contract: call() connects to the Unix socket, sends format_request(request)
// and reads until the terminator line, giving up after `timeout` without
// progress on any read or write. Errors: CannotConnect (no socket file, nobody
// listening, permission denied: the detail says which), Io (the gateway closed
// or stalled mid-exchange), BadResponse. A gateway's "error <text>" is a
// successful call whose Response has ok == false. Blocking by design: it serves
// a command-line tool, never the gateway's loops.
#pragma once

#include <chrono>
#include <filesystem>

#include "gateway/common/result.h"
#include "gateway/control/protocol.h"

namespace gw::control {

Result<Response> call(const std::filesystem::path& socket, const Request& request,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace gw::control
