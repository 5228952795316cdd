// Connector schedules: styles, the activationSchedule bit order (one byte per two
// hours from Sunday 00:00 UTC, first quarter hour in the high bit), next opening
// with week wrap-around, and the oversize schedule choice.
#include "gateway/routing/schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace gw::routing {
namespace {

using namespace std::chrono;
using metabase::Schedule;

// 2026-11-29 is a Sunday.
const sys_days kSunday = sys_days(year(2026) / November / 29);

system_clock::time_point at(int day_of_week, int hour, int minute, int second = 0) {
  return system_clock::time_point(kSunday + days(day_of_week) + hours(hour) + minutes(minute) +
                                  seconds(second));
}

Schedule selected(std::initializer_list<int> open_quarters) {
  std::string windows(84, '\0');
  for (int q : open_quarters) windows[q / 8] = static_cast<char>(windows[q / 8] | (0x80 >> (q % 8)));
  Schedule s;
  s.set_style(Schedule::SELECTED_TIMES);
  s.set_windows(windows);
  return s;
}

Schedule with_style(Schedule::Style style) {
  Schedule s;
  s.set_style(style);
  s.set_windows(std::string(84, '\xff'));
  return s;
}

TEST(ScheduleTest, QuarterOfWeekCountsFromSundayMidnightUtc) {
  EXPECT_EQ(quarter_of_week(at(0, 0, 0)), 0);
  EXPECT_EQ(quarter_of_week(at(0, 0, 14, 59)), 0);
  EXPECT_EQ(quarter_of_week(at(0, 0, 15)), 1);
  EXPECT_EQ(quarter_of_week(at(1, 0, 0)), 96);
  EXPECT_EQ(quarter_of_week(at(3, 12, 0)), 3 * 96 + 48);
  EXPECT_EQ(quarter_of_week(at(6, 23, 59, 59)), 671);
  EXPECT_EQ(quarter_of_week(at(7, 0, 0)), 0);
}

TEST(ScheduleTest, QuarterOfWeekIsRightBeforeTheUnixEpoch) {
  // 1969-12-31 23:59 was a Wednesday.
  const auto t = system_clock::time_point(sys_days(year(1969) / December / 31) + hours(23) + minutes(59));
  EXPECT_EQ(quarter_of_week(t), 3 * 96 + 95);
}

TEST(ScheduleTest, AlwaysIsOpenAtEveryInstant) {
  Schedule always;  // style ALWAYS is the default, windows irrelevant
  EXPECT_TRUE(schedule_open(always, at(0, 0, 0)));
  EXPECT_TRUE(schedule_open(always, at(4, 13, 37)));
  EXPECT_EQ(next_open(always, at(4, 13, 37)), at(4, 13, 37));
}

TEST(ScheduleTest, NeverIsClosedEvenWithEveryWindowBitSet) {
  const Schedule never = with_style(Schedule::NEVER);
  EXPECT_FALSE(schedule_open(never, at(2, 10, 0)));
  EXPECT_EQ(next_open(never, at(2, 10, 0)), std::nullopt);
}

TEST(ScheduleTest, RemoteTriggeredIsNeverOpenByTime) {
  const Schedule remote = with_style(Schedule::REMOTE_TRIGGERED);
  EXPECT_FALSE(schedule_open(remote, at(2, 10, 0)));
  EXPECT_EQ(next_open(remote, at(2, 10, 0)), std::nullopt);
}

TEST(ScheduleTest, FirstQuarterOfTheWeekIsTheHighBitOfTheFirstByte) {
  Schedule s;
  s.set_style(Schedule::SELECTED_TIMES);
  std::string windows(84, '\0');
  windows[0] = '\x80';
  s.set_windows(windows);
  EXPECT_TRUE(schedule_open(s, at(0, 0, 0)));
  EXPECT_TRUE(schedule_open(s, at(0, 0, 14, 59)));
  EXPECT_FALSE(schedule_open(s, at(0, 0, 15)));
  EXPECT_FALSE(schedule_open(s, at(0, 1, 45)));
}

TEST(ScheduleTest, LowBitOfAByteIsTheLastQuarterOfItsTwoHours) {
  Schedule s;
  s.set_style(Schedule::SELECTED_TIMES);
  std::string windows(84, '\0');
  windows[1] = '\x01';  // Sunday 02:00-04:00, last quarter: 03:45
  s.set_windows(windows);
  EXPECT_FALSE(schedule_open(s, at(0, 2, 0)));
  EXPECT_FALSE(schedule_open(s, at(0, 3, 44)));
  EXPECT_TRUE(schedule_open(s, at(0, 3, 45)));
  EXPECT_FALSE(schedule_open(s, at(0, 4, 0)));
}

TEST(ScheduleTest, ByteFortyTwoHighBitIsWednesdayNoon) {
  Schedule s;
  s.set_style(Schedule::SELECTED_TIMES);
  std::string windows(84, '\0');
  windows[42] = '\x80';
  s.set_windows(windows);
  EXPECT_TRUE(schedule_open(s, at(3, 12, 10)));
  EXPECT_FALSE(schedule_open(s, at(3, 11, 59)));
  EXPECT_FALSE(schedule_open(s, at(2, 12, 10)));
}

TEST(ScheduleTest, LastBitOfTheLastByteIsSaturdayQuarterToMidnight) {
  const Schedule s = selected({671});
  EXPECT_TRUE(schedule_open(s, at(6, 23, 45)));
  EXPECT_FALSE(schedule_open(s, at(7, 0, 0)));
}

TEST(ScheduleTest, WindowsRepeatEveryWeek) {
  const Schedule s = selected({3 * 96 + 48});
  EXPECT_TRUE(schedule_open(s, at(3 + 7, 12, 0)));
  EXPECT_TRUE(schedule_open(s, at(3 - 7 * 52, 12, 0)));
}

TEST(ScheduleTest, MissingBytesAreClosedQuarters) {
  Schedule s;
  s.set_style(Schedule::SELECTED_TIMES);
  s.set_windows(std::string(2, '\xff'));  // Sunday 00:00-04:00 only
  EXPECT_TRUE(schedule_open(s, at(0, 3, 0)));
  EXPECT_FALSE(schedule_open(s, at(0, 4, 0)));
  EXPECT_EQ(next_open(s, at(0, 4, 0)), at(7, 0, 0));
}

TEST(ScheduleTest, NextOpenIsNowWhenTheScheduleIsOpen) {
  const Schedule s = selected({96 + 36});  // Monday 09:00-09:15
  EXPECT_EQ(next_open(s, at(1, 9, 7, 30)), at(1, 9, 7, 30));
}

TEST(ScheduleTest, NextOpenIsTheStartOfTheNextOpenQuarter) {
  const Schedule s = selected({96 + 36, 2 * 96 + 8});  // Monday 09:00, Tuesday 02:00
  EXPECT_EQ(next_open(s, at(1, 8, 59, 59)), at(1, 9, 0));
  EXPECT_EQ(next_open(s, at(1, 9, 15)), at(2, 2, 0));
}

TEST(ScheduleTest, NextOpenWrapsFromSaturdayToSunday) {
  const Schedule s = selected({0});
  EXPECT_EQ(next_open(s, at(6, 23, 50)), at(7, 0, 0));
}

TEST(ScheduleTest, NextOpenOfAQuarterJustPassedIsOneWeekLater) {
  const Schedule s = selected({40});  // Sunday 10:00-10:15
  EXPECT_EQ(next_open(s, at(0, 10, 15)), at(7, 10, 0));
}

TEST(ScheduleTest, SelectedTimesWithoutAnyBitNeverOpens) {
  const Schedule none = selected({});
  EXPECT_FALSE(schedule_open(none, at(0, 0, 0)));
  EXPECT_EQ(next_open(none, at(0, 0, 0)), std::nullopt);
  Schedule empty;
  empty.set_style(Schedule::SELECTED_TIMES);
  EXPECT_EQ(next_open(empty, at(0, 0, 0)), std::nullopt);
}

metabase::Connector oversize_connector(std::uint64_t threshold) {
  metabase::Connector c;
  c.set_name("Internet");
  *c.mutable_schedule() = with_style(Schedule::ALWAYS);
  c.set_oversize_threshold(threshold);
  *c.mutable_oversize_schedule() = selected({8});
  return c;
}

TEST(ScheduleTest, MessagesUpToTheThresholdUseTheConnectorSchedule) {
  const auto c = oversize_connector(1000);
  EXPECT_EQ(&schedule_for(c, 999), &c.schedule());
  EXPECT_EQ(&schedule_for(c, 1000), &c.schedule());
}

TEST(ScheduleTest, MessagesLargerThanTheThresholdUseTheOversizeSchedule) {
  const auto c = oversize_connector(1000);
  EXPECT_EQ(&schedule_for(c, 1001), &c.oversize_schedule());
}

TEST(ScheduleTest, ZeroThresholdMeansNoOversizeSchedule) {
  const auto c = oversize_connector(0);
  EXPECT_EQ(&schedule_for(c, 50'000'000), &c.schedule());
}

TEST(ScheduleTest, ThresholdWithoutOversizeScheduleKeepsTheConnectorSchedule) {
  auto c = oversize_connector(1000);
  c.clear_oversize_schedule();
  EXPECT_EQ(&schedule_for(c, 5000), &c.schedule());
}

}  // namespace
}  // namespace gw::routing
