// Record: an event flattened into the columns of the message-tracking log --
// the one description of each event that the tracking file, the application
// log and `gatewayctl track` share. Pure: formatting and parsing only.
//
// Tracking line (docs/tracking.md is the user's description), tab-separated:
//   date-time  event  queue-id  message-id  sender  recipient  status  related-id  detail
// date-time is ISO 8601 with milliseconds and the local UTC offset
// (2026-11-29T06:30:00.125+01:00); sender is "<>" for the null sender; an
// empty field is "-"; detail is space-separated key=value pairs whose values
// are double-quoted when they hold a blank, a quote or a backslash. Every field
// escapes backslash, tab, CR, LF and other control octets (\\ \t \r \n \xHH),
// so a line can never be forged by what a peer sent; UTF-8 is kept as UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/events/event.h"

namespace gw::events {

struct Record {
  Time time{};
  std::string event;        // name_of()
  std::string queue_id;
  std::string message_id;
  std::optional<std::string> sender;  // "" = null sender; nullopt = unknown
  std::string recipient;
  std::string status;       // "250 2.0.0", "550 5.1.1", "4.4.7", or empty
  std::string related_id;   // a report's queue id (on the original) or the original's (on the report)
  std::vector<std::pair<std::string, std::string>> detail;

  // The value of a detail key; empty when absent.
  std::string_view get(std::string_view key) const;
};

Record describe(const Event& event);

inline constexpr const char* kTrackingFields =
    "date-time\tevent\tqueue-id\tmessage-id\tsender\trecipient\tstatus\trelated-id\tdetail";

// One line without the newline.
std::string format_tracking_line(const Record& record);
// The directive lines that open each tracking file ("#Software", "#Version",
// "#Fields"), each ending in '\n'.
std::string tracking_header();
// nullopt for directive lines ('#'), blank lines and lines that do not parse.
std::optional<Record> parse_tracking_line(std::string_view line);

// ISO 8601 with milliseconds and the local UTC offset: 2026-11-29T06:30:00.125+01:00.
std::string format_local_time(Time time);
// Parses what format_local_time writes, any offset or "Z", with or without the
// fraction; also a date alone (midnight local time) and "YYYY-MM-DD HH:MM[:SS]"
// in local time. Years up to 2262 (the clock's range).
std::optional<Time> parse_time(std::string_view text);

// The detail column alone, for the application log ("key=value key=\"a b\"").
std::string format_detail(const std::vector<std::pair<std::string, std::string>>& detail);

// A line of text made safe for a log: control octets and invalid UTF-8 as
// \xHH, backslash doubled; valid UTF-8 kept.
std::string escape_field(std::string_view text);
std::string unescape_field(std::string_view text);

}  // namespace gw::events
