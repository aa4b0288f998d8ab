#include "limits/window.h"

#include <gtest/gtest.h>

namespace hybridgate::limits {
namespace {

using namespace std::chrono;

WallTime At(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  return sys_days(year(y) / month(m) / day(d)) + hours(h) + minutes(min);
}

TEST(Budget, Parses) {
  auto b = ParseBudget("100usd/month");
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(b->usd, 100);
  EXPECT_EQ(b->window, BudgetWindow::kMonth);
  b = ParseBudget("2.5USD/day");
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(b->usd, 2.5);
  EXPECT_EQ(b->window, BudgetWindow::kDay);
  EXPECT_EQ(FormatBudget(*b), "2.5usd/day");
  EXPECT_EQ(FormatBudget(Budget{100, BudgetWindow::kMonth}), "100usd/month");
  for (const char* bad : {"100", "100usd", "usd/month", "-1usd/day", "10eur/day", "10usd/week",
                          "10usd/", "abcusd/day", "nanusd/day", "1e99usd/day"}) {
    auto r = ParseBudget(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("100usd/month"), std::string::npos);
  }
}

TEST(Window, IdsAndEnds) {
  const WallTime t = At(2026, 11, 5, 23, 59);
  EXPECT_EQ(WindowId(BudgetWindow::kDay, t), "2026-11-05");
  EXPECT_EQ(WindowId(BudgetWindow::kMonth, t), "2026-11");
  EXPECT_EQ(FormatUtc(WindowEnd(BudgetWindow::kDay, t)), "2026-11-06T00:00:00Z");
  EXPECT_EQ(FormatUtc(WindowEnd(BudgetWindow::kMonth, t)), "2026-12-01T00:00:00Z");
  EXPECT_EQ(FormatUtc(WindowEnd(BudgetWindow::kMonth, At(2026, 12, 31, 12))),
            "2027-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtc(At(2026, 2, 3, 4, 5)), "2026-02-03T04:05:00Z");
}

TEST(Window, ResetDurations) {
  EXPECT_EQ(FormatResetDuration(-5), "0ms");
  EXPECT_EQ(FormatResetDuration(20), "20ms");
  EXPECT_EQ(FormatResetDuration(1000), "1s");
  EXPECT_EQ(FormatResetDuration(8500), "8.5s");
  EXPECT_EQ(FormatResetDuration(360000), "6m0s");
  EXPECT_EQ(FormatResetDuration(61500), "1m1.5s");
}

TEST(Money, MicroDollars) {
  EXPECT_EQ(ToMicroUsd(0.1), 100000);
  EXPECT_EQ(ToMicroUsd(100), 100000000);
  EXPECT_DOUBLE_EQ(FromMicroUsd(1500000), 1.5);
}

}  // namespace
}  // namespace hybridgate::limits
