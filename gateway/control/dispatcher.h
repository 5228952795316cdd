// Dispatcher: carries out one control request on a gateway's QueueAdmin and
// turns the result into a control Response (gateway/control/protocol.h).
//
// Contract: execute() must be awaited on QueueAdmin::executor() (the control
// server does so); it never throws for an admin failure -- a refused or failed
// operation becomes "error <text>", e.g. "no message 0123... in the queue" for a
// NotFound spool error. The record builders are pure and fix the field names
// gatewayctl and scripts rely on (see docs/gatewayctl.md). Not responsible for
// parsing (protocol.h), sockets (control_server.h) or authorization (the
// socket's file mode).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/control/explainer.h"
#include "gateway/control/protocol.h"
#include "gateway/queue/queue_admin.h"
#include "proto/envelope.pb.h"

namespace gw::control {

// `explainer` answers `explain`; null = "explain is not available here".
asio::awaitable<Response> execute(queue::QueueAdmin& admin, Request request, Explainer* explainer = nullptr);

// "2026-11-29T05:30:00Z"; "" for 0 (not set).
std::string format_utc(std::int64_t unix_seconds);

// queue queue=remote-delivery next_hop=... name=... messages=N frozen=yes|no
Record queue_record(const queue::QueueSummary& summary);
// message id=... queue=... next_hop=... sender=... recipients=N size=N arrival=... frozen=...
Record message_record(const queue::QueuedMessage& message);
// One "message" record with the message properties, then one "recipient"
// record per recipient, in envelope order.
std::vector<Record> envelope_records(const envelope::Envelope& envelope);

}  // namespace gw::control
