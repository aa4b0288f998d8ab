#include "limits/window.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>

namespace hybridgate::limits {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::year_month_day;

std::string TrimmedSeconds(double s) {
  std::string text = fmt::format("{:.3f}", s);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

std::string_view WindowName(BudgetWindow window) {
  return window == BudgetWindow::kDay ? "day" : "month";
}

Result<Budget> ParseBudget(std::string_view text) {
  auto bad = [&] {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest,
                  fmt::format("bad budget '{}' (expected e.g. 100usd/month or 5usd/day)", text)));
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad();
  std::string_view amount = text.substr(0, slash);
  std::string_view window = text.substr(slash + 1);
  if (amount.size() < 4) return bad();
  std::string unit(amount.substr(amount.size() - 3));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit != "usd") return bad();
  amount.remove_suffix(3);
  Budget b;
  auto [p, ec] = std::from_chars(amount.data(), amount.data() + amount.size(), b.usd);
  if (ec != std::errc() || p != amount.data() + amount.size() || !std::isfinite(b.usd) ||
      b.usd < 0 || b.usd > 1e9) {
    return bad();
  }
  if (window == "day") {
    b.window = BudgetWindow::kDay;
  } else if (window == "month") {
    b.window = BudgetWindow::kMonth;
  } else {
    return bad();
  }
  return b;
}

std::string FormatBudget(const Budget& budget) {
  return fmt::format("{}usd/{}", TrimmedSeconds(budget.usd), WindowName(budget.window));
}

std::string WindowId(BudgetWindow window, WallTime t) {
  const year_month_day d{floor<days>(t)};
  const int year = static_cast<int>(d.year());
  if (year >= 0 && year <= 9999) {  // every request asks: digits by hand, in the string's SSO
    std::string id = window == BudgetWindow::kDay ? "0000-00-00" : "0000-00";
    const auto put = [&id](size_t at, unsigned v, size_t digits) {
      for (size_t i = at + digits; i-- > at; v /= 10) id[i] = static_cast<char>('0' + v % 10);
    };
    put(0, static_cast<unsigned>(year), 4);
    put(5, static_cast<unsigned>(d.month()), 2);
    if (window == BudgetWindow::kDay) put(8, static_cast<unsigned>(d.day()), 2);
    return id;
  }
  if (window == BudgetWindow::kDay) {
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                       static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  }
  return fmt::format("{:04}-{:02}", static_cast<int>(d.year()), static_cast<unsigned>(d.month()));
}

WallTime WindowEnd(BudgetWindow window, WallTime t) {
  const auto day = floor<days>(t);
  if (window == BudgetWindow::kDay) return day + days(1);
  const year_month_day d{day};
  const auto next = (d.year() / d.month() / 1) + std::chrono::months(1);
  return std::chrono::sys_days(next);
}

std::string FormatUtc(WallTime t) {
  const auto day = floor<days>(t);
  const year_month_day d{day};
  const std::chrono::hh_mm_ss hms{floor<std::chrono::seconds>(t - day)};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string FormatResetDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return TrimmedSeconds(static_cast<double>(ms) / 1000.0) + "s";
  const int64_t minutes = ms / 60'000;
  return fmt::format("{}m{}s", minutes,
                     TrimmedSeconds(static_cast<double>(ms - minutes * 60'000) / 1000.0));
}

int64_t ToMicroUsd(double usd) { return std::llround(usd * 1e6); }
double FromMicroUsd(int64_t micro_usd) { return static_cast<double>(micro_usd) / 1e6; }

}  // namespace hybridgate::limits
