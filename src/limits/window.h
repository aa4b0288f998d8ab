// Budget amounts and their calendar windows (UTC days and months), and the small formatting
// helpers shared by both limiters: window ids for counter names, reset times, header durations.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hybridgate::limits {

using WallTime = std::chrono::system_clock::time_point;

enum class BudgetWindow : uint8_t { kDay, kMonth };

// "day" | "month".
std::string_view WindowName(BudgetWindow window);

struct Budget {
  double usd = 0;  // spend allowed per window; 0 blocks every request
  BudgetWindow window = BudgetWindow::kMonth;
};

// "100usd/month", "5usd/day", "2.5USD/day". The amount must be a finite number >= 0.
Result<Budget> ParseBudget(std::string_view text);
// Inverse of ParseBudget: "100usd/month", "2.5usd/day".
std::string FormatBudget(const Budget& budget);

// The window `t` falls in, UTC: "2026-11-05" for a day, "2026-11" for a month.
std::string WindowId(BudgetWindow window, WallTime t);
// First instant after the window `t` falls in.
WallTime WindowEnd(BudgetWindow window, WallTime t);
// "2026-12-01T00:00:00Z".
std::string FormatUtc(WallTime t);
// A duration the way OpenAI's x-ratelimit-reset-* headers write it: "20ms", "1s", "8.5s", "6m0s".
std::string FormatResetDuration(int64_t ms);

// Money is counted in integer micro-dollars so that shared counters add exactly.
int64_t ToMicroUsd(double usd);
double FromMicroUsd(int64_t micro_usd);

}  // namespace hybridgate::limits
