// LogSink: the application log's view of the event stream. Each event becomes
// one line through gw::log ("<subsystem>: queue=<id> <event> from=<..> to=<..>
// status=.. key=value ..."), with the subsystem that emitted it, at info
// level -- warnings for RCPT rejects that are temporary (4xx), for deferrals
// of categorization, Badmail and expiry. Directory searches and cache look-ups
// are logged at debug level only. Addresses are written as UTF-8 (escaped only
// for control octets and invalid UTF-8).
#pragma once

#include "gateway/events/bus.h"

namespace gw::events {

class LogSink final : public Sink {
 public:
  void consume(const Event& event) override;
};

// The application-log line for an event, without the level and time.
std::string log_line(const Event& event);

}  // namespace gw::events
