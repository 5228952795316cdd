// Tracking queries: a message's history from the tracking files, as
// `gatewayctl track` shows it. select() is pure: records in, the matching
// histories out. Records match the filters; every record of a matched
// message (same queue id) joins the history, and so do the reports it
// caused and the message a report is about (related ids, followed
// transitively), so one query shows a message across every stage and every
// DSN it produced. read_tracking_directory() reads the files a time range
// needs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gateway/events/record.h"

namespace gw::events {

struct TrackingFilter {
  std::string message_id;   // exact, with or without angle brackets
  std::string queue_id;     // case-insensitive
  std::string sender;       // case-insensitive address; "<>" = the null sender
  std::string recipient;    // case-insensitive address
  std::optional<Time> since;
  std::optional<Time> until;
  bool empty() const { return message_id.empty() && queue_id.empty() && sender.empty() && recipient.empty(); }
};

// Histories of the messages that match, oldest event first. With no address
// or id filter, every record in the time range.
std::vector<Record> select(const std::vector<Record>& records, const TrackingFilter& filter);

// Every record of the tracking files in `directory` whose day can hold events
// in [since, until] (all files when unset). Unreadable lines are skipped.
std::vector<Record> read_tracking_directory(const std::filesystem::path& directory, std::optional<Time> since,
                                            std::optional<Time> until);

// JSON for one record: {"time":...,"event":...,"queue_id":...,...,"detail":{...}}.
std::string record_json(const Record& record);

}  // namespace gw::events
