#include "gateway/events/log_sink.h"

#include "gateway/common/log.h"
#include "gateway/events/record.h"

namespace gw::events {

namespace {

std::string_view subsystem_of(const Event& event) {
  switch (event.index()) {
    case 0: case 1: case 2: case 3: case 4: case 5:
      return "smtp";
    case 6: case 7:
      return "categorizer";
    case 16: case 17:
      return "directory";
    case 14:
      return "admin";
    default:
      return "delivery";
  }
}

bool is_warning(const Event& event) {
  if (const auto* rejected = std::get_if<RecipientRejected>(&event)) return rejected->reply_code / 100 == 4;
  return std::holds_alternative<CategorizationDeferred>(event) || std::holds_alternative<Badmail>(event) ||
         std::holds_alternative<Expired>(event) || std::holds_alternative<ConnectorRetry>(event);
}

}  // namespace

std::string log_line(const Event& event) {
  const Record r = describe(event);
  std::string line(subsystem_of(event));
  line += ": ";
  if (!r.queue_id.empty()) line += "queue=" + r.queue_id + " ";
  line += r.event;
  if (r.sender) line += " from=<" + escape_field(*r.sender) + ">";
  if (!r.recipient.empty()) line += " to=<" + escape_field(r.recipient) + ">";
  if (!r.message_id.empty()) line += " message-id=" + escape_field(r.message_id);
  if (!r.status.empty()) line += " status=\"" + r.status + "\"";
  if (!r.related_id.empty()) line += " related=" + r.related_id;
  if (!r.detail.empty()) line += " " + escape_field(format_detail(r.detail));
  return line;
}

void LogSink::consume(const Event& event) {
  const bool quiet = std::holds_alternative<DirectorySearch>(event) || std::holds_alternative<DirectoryCacheLookup>(event);
  if (quiet) {
    if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("{}", log_line(event));
    return;
  }
  if (is_warning(event))
    spdlog::warn("{}", log_line(event));
  else
    spdlog::info("{}", log_line(event));
}

}  // namespace gw::events
