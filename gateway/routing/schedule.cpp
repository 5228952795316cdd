#include "gateway/routing/schedule.h"

namespace gw::routing {
namespace {

using std::chrono::system_clock;
using Quarter = std::chrono::duration<std::int64_t, std::ratio<15 * 60>>;

// 1970-01-01 was a Thursday: day 4 of a week that starts on Sunday.
constexpr std::int64_t kEpochQuarterOfWeek = 4 * 24 * 4;

bool window_bit(const std::string& windows, int quarter) {
  const auto byte_index = static_cast<std::size_t>(quarter / 8);
  if (byte_index >= windows.size()) return false;
  const auto byte = static_cast<unsigned char>(windows[byte_index]);
  return (byte & (0x80u >> (quarter % 8))) != 0;
}

// Quarters since the epoch, rounded toward minus infinity (before 1970 too).
std::int64_t quarters_since_epoch(system_clock::time_point t) {
  return std::chrono::floor<Quarter>(t.time_since_epoch()).count();
}

}  // namespace

int quarter_of_week(system_clock::time_point t) {
  const std::int64_t q = (quarters_since_epoch(t) + kEpochQuarterOfWeek) % kQuartersPerWeek;
  return static_cast<int>(q < 0 ? q + kQuartersPerWeek : q);
}

bool schedule_open(const metabase::Schedule& schedule, system_clock::time_point t) {
  switch (schedule.style()) {
    case metabase::Schedule::ALWAYS: return true;
    case metabase::Schedule::SELECTED_TIMES: return window_bit(schedule.windows(), quarter_of_week(t));
    case metabase::Schedule::NEVER:
    case metabase::Schedule::REMOTE_TRIGGERED:
    default: return false;
  }
}

std::optional<system_clock::time_point> next_open(const metabase::Schedule& schedule,
                                                  system_clock::time_point now) {
  switch (schedule.style()) {
    case metabase::Schedule::ALWAYS: return now;
    case metabase::Schedule::SELECTED_TIMES: break;
    default: return std::nullopt;
  }
  if (schedule_open(schedule, now)) return now;
  const std::int64_t current = quarters_since_epoch(now);
  const int current_of_week = quarter_of_week(now);
  for (int ahead = 1; ahead <= kQuartersPerWeek; ++ahead) {
    if (window_bit(schedule.windows(), (current_of_week + ahead) % kQuartersPerWeek)) {
      const auto start = Quarter(current + ahead);
      return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(start));
    }
  }
  return std::nullopt;
}

const metabase::Schedule& schedule_for(const metabase::Connector& connector,
                                       std::uint64_t message_size) {
  if (connector.oversize_threshold() > 0 && message_size > connector.oversize_threshold() &&
      connector.has_oversize_schedule())
    return connector.oversize_schedule();
  return connector.schedule();
}

}  // namespace gw::routing
