// Connector schedules: when a connector (or its oversize path) may send.
//
// A metabase::Schedule is the connector's activationStyle and activationSchedule
// as metabase-sync copied them from the directory. The windows are the Exchange
// layout (Exchange SDK, PR_EMS_AB_ACTIVATION_SCHEDULE): 84 bytes, one byte per
// two hours from Sunday 00:00 UTC, one bit per 15 minutes, the first quarter
// hour in the byte's high bit. So quarter q of the week (0 = Sunday 00:00-00:15)
// is bit (0x80 >> q % 8) of byte q / 8. Times are UTC; the week repeats.
//
// Contract: pure functions of their arguments, no clock of their own. ALWAYS is
// open at every instant, NEVER and REMOTE_TRIGGERED at none (remote-triggered
// mail waits for ETRN, which is not a time). SELECTED_TIMES with missing bytes
// treats the missing quarters as closed, so a short value can only make a
// connector send less. Not responsible for retry timing (queue Scheduler) or
// for choosing a connector (router).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "proto/metabase.pb.h"

namespace gw::routing {

inline constexpr int kQuartersPerWeek = 7 * 24 * 4;  // 672 bits, 84 bytes

// The quarter hour of the week `t` falls in: 0 = Sunday 00:00-00:15 UTC.
int quarter_of_week(std::chrono::system_clock::time_point t);

// Whether `schedule` lets the connector send at `t`.
bool schedule_open(const metabase::Schedule& schedule, std::chrono::system_clock::time_point t);

// The earliest instant >= now at which the schedule is open: `now` itself when it
// is open now, else the start of the next open quarter hour (searched over one
// whole week, wrapping from Saturday to Sunday). nullopt when it never opens:
// NEVER, REMOTE_TRIGGERED, or SELECTED_TIMES without a single set bit.
std::optional<std::chrono::system_clock::time_point> next_open(
    const metabase::Schedule& schedule, std::chrono::system_clock::time_point now);

// The schedule that governs a message of `message_size` octets on `connector`:
// its oversize_schedule when oversize_threshold is set (> 0), the message is
// larger than it and the connector has an oversize schedule (metabase-sync always
// writes one with a threshold; without it an empty Schedule would read as ALWAYS),
// else its schedule.
const metabase::Schedule& schedule_for(const metabase::Connector& connector,
                                       std::uint64_t message_size);

}  // namespace gw::routing
