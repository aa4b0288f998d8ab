#include "limits/limiter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "limits/memory_limiter.h"
#include "limits/redis_limiter.h"

namespace hybridgate::limits {
namespace {

std::string WindowPhrase(BudgetWindow w) {
  return w == BudgetWindow::kDay ? "today" : "this month";
}

Error BudgetError(const KeyInfo& key, bool team, int64_t spent_micro, WallTime now) {
  const Budget& b = team ? *key.team_budget : *key.budget;
  const std::string who = team ? fmt::format("team '{}' (key {})", key.team, key.id)
                               : fmt::format("key {} (team '{}')", key.id, key.team);
  Error e = MakeError(
      ErrorCode::kBudgetExceeded,
      fmt::format("budget exceeded for {}: spent ${:.2f} of ${:.2f} {} (window {}, per {}); "
                  "resets at {}",
                  who, FromMicroUsd(spent_micro), b.usd, WindowPhrase(b.window),
                  WindowId(b.window, now), WindowName(b.window),
                  FormatUtc(WindowEnd(b.window, now))));
  return e;
}

// A spent budget's state, in the headers of its 429: OpenAI's x-ratelimit-* have no name for
// money, so these are HybridGate's own; retry-after counts the seconds until the window resets
// (SDKs that retry on 429 wait that long or give up, instead of retrying at once).
void AddBudgetHeaders(const Budget& b, int64_t spent_micro, WallTime now,
                      std::vector<std::pair<std::string, std::string>>& headers) {
  const WallTime end = WindowEnd(b.window, now);
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(end - now).count();
  headers.emplace_back("x-hybridgate-budget-limit-usd", fmt::format("{:.6g}", b.usd));
  headers.emplace_back("x-hybridgate-budget-spent-usd",
                       fmt::format("{:.6f}", FromMicroUsd(spent_micro)));
  headers.emplace_back("x-hybridgate-budget-reset", FormatUtc(end));
  headers.emplace_back("retry-after", std::to_string(std::max<int64_t>(1, seconds)));
}

}  // namespace

WallTime SystemNow() { return std::chrono::system_clock::now(); }

double BucketLevel(const Bucket& b, int64_t capacity, int64_t now_ms) {
  const double cap = static_cast<double>(capacity);
  if (b.updated_ms == 0) return cap;
  const int64_t elapsed = std::max<int64_t>(0, now_ms - b.updated_ms);
  return std::min(cap, b.tokens + static_cast<double>(elapsed) * cap / 60000.0);
}

int64_t MsUntil(double level, double need, int64_t capacity) {
  if (level >= need || capacity <= 0) return 0;
  return static_cast<int64_t>(std::ceil((need - level) * 60000.0 / static_cast<double>(capacity)));
}

Decision MakeDecision(const KeyInfo& key, int64_t estimated_tokens, const AdmitOutcome& o,
                      WallTime now) {
  Decision d;
  if (key.rpm > 0) {
    d.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(key.rpm));
    d.headers.emplace_back("x-ratelimit-remaining-requests",
                           std::to_string(std::max<int64_t>(0, o.rpm_remaining)));
    d.headers.emplace_back("x-ratelimit-reset-requests", FormatResetDuration(o.rpm_reset_ms));
  }
  if (key.tpm > 0) {
    d.headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(key.tpm));
    d.headers.emplace_back("x-ratelimit-remaining-tokens",
                           std::to_string(std::max<int64_t>(0, o.tpm_remaining)));
    d.headers.emplace_back("x-ratelimit-reset-tokens", FormatResetDuration(o.tpm_reset_ms));
  }
  switch (o.verdict) {
    case Verdict::kAllowed:
      return d;
    case Verdict::kRpm:
      d.error = MakeError(ErrorCode::kRateLimited,
                          fmt::format("rate limit reached for key {} (team '{}'): {} requests per "
                                      "minute; retry in {}",
                                      key.id, key.team, key.rpm, FormatResetDuration(o.retry_ms)));
      break;
    case Verdict::kTpm:
      d.error = MakeError(
          ErrorCode::kRateLimited,
          fmt::format("token rate limit reached for key {} (team '{}'): {} tokens per minute, "
                      "this request needs about {}; retry in {}",
                      key.id, key.team, key.tpm, std::min(estimated_tokens, key.tpm),
                      FormatResetDuration(o.retry_ms)));
      break;
    case Verdict::kKeyBudget:
    case Verdict::kTeamBudget: {
      const bool team = o.verdict == Verdict::kTeamBudget;
      d.error = BudgetError(key, team, o.spent_micro, now);
      AddBudgetHeaders(team ? *key.team_budget : *key.budget, o.spent_micro, now, d.headers);
      break;
    }
  }
  if (o.verdict == Verdict::kRpm || o.verdict == Verdict::kTpm) {
    d.error.retry_after_ms =
        static_cast<int>(std::clamp<int64_t>(o.retry_ms, 1, int64_t{24} * 3600 * 1000));
  }
  d.allowed = false;
  return d;
}

Decision RefuseOversized(const KeyInfo& key, int64_t firm_tokens) {
  Decision d;
  if (key.tpm <= 0 || firm_tokens <= key.tpm) return d;
  d.allowed = false;
  d.error = MakeError(
      ErrorCode::kRateLimited,
      fmt::format("request too large for key {} (team '{}'): {} tokens per minute, this request "
                  "needs about {} (input plus max output tokens); reduce the input or the maximum "
                  "output tokens",
                  key.id, key.team, key.tpm, firm_tokens));
  d.headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(key.tpm));
  return d;
}

Result<std::unique_ptr<Limiter>> MakeLimiter(const LimitsConfig& config) {
  if (config.backend == "memory") return std::unique_ptr<Limiter>(new MemoryLimiter());
  if (config.backend != "redis") {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("unknown limits backend '{}'", config.backend)));
  }
  auto addr = ParseRedisUrl(config.redis_url);
  if (!addr) return Fail(addr.error());
  RedisLimiterOptions o;
  o.address = *addr;
  o.timeout = std::chrono::milliseconds(config.timeout_ms);
  o.fail_open = config.fail_open;
  return std::unique_ptr<Limiter>(new RedisLimiter(std::move(o)));
}

}  // namespace hybridgate::limits
