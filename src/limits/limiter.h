// The per-request admission check: RPM and TPM token buckets and spend budgets (per key and per
// team, per UTC day or month). The gateway calls Admit() before forwarding and Settle() after the
// response. MemoryLimiter keeps state in the process; RedisLimiter shares it between replicas.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "limits/keys.h"
#include "limits/limits_config.h"
#include "limits/window.h"

namespace hybridgate::limits {

namespace asio = boost::asio;

// Injectable wall clock: budget windows are calendar (UTC) windows.
using WallClock = std::function<WallTime()>;
WallTime SystemNow();

struct Decision {
  bool allowed = true;
  // When !allowed: kRateLimited (retry_after_ms set), kBudgetExceeded (message names the key or
  // team, the limit and the window) or kUnavailable (Redis down with on_redis_error: closed).
  Error error;
  // OpenAI's names: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, only for limits the
  // key has. Add them to the response whether or not the request was allowed.
  std::vector<std::pair<std::string, std::string>> headers;
};

// What an admitted request holds until it settles: tokens from the TPM bucket and its
// worst-case cost from the key's and the team's budgets.
struct Reservation {
  int64_t tokens = 0;
  int64_t micro_usd = 0;
};

// Thread-safety: both implementations may be called concurrently from any number of worker
// threads; neither blocks an event loop beyond a short mutex.
class Limiter {
 public:
  virtual ~Limiter() = default;

  // Counts the request against the key's RPM bucket and takes `hold.tokens` from its TPM bucket
  // and `hold.micro_usd` from the key's and the team's budget windows (those that are set), unless
  // a bucket is short or a budget is already spent, reservations included; then nothing is
  // counted. So concurrent requests overshoot a budget by at most one reservation. A reservation
  // larger than the whole TPM limit (its default output allowance, when the client set no maximum)
  // is admitted when the bucket is full and leaves it in debt; one whose firm need is larger never
  // reaches the limiter (RefuseOversized).
  virtual asio::awaitable<Decision> Admit(const KeyInfo& key, Reservation hold) = 0;
  asio::awaitable<Decision> Admit(const KeyInfo& key, int64_t estimated_tokens) {
    return Admit(key, Reservation{estimated_tokens, 0});
  }

  // After an admitted request: replaces what it held by what it used — the TPM bucket is
  // corrected by actual - held tokens (a failed request settles with 0 and gets its tokens back)
  // and the spend windows by `cost_usd` - held. Spend is counted only for budgets that are set;
  // a window that rolled over meanwhile is never taken below zero.
  virtual asio::awaitable<void> Settle(const KeyInfo& key, Reservation held, int64_t actual_tokens,
                                       double cost_usd) = 0;
  asio::awaitable<void> Settle(const KeyInfo& key, int64_t estimated_tokens, int64_t actual_tokens,
                               double cost_usd) {
    return Settle(key, Reservation{estimated_tokens, 0}, actual_tokens, cost_usd);
  }

  // Failed round trips to the shared store (always 0 for MemoryLimiter). For the metrics page.
  virtual uint64_t redis_errors() const { return 0; }
};

// The limiter `config.backend` names. For redis the URL is parsed here; nothing connects until
// the first Admit on each worker.
Result<std::unique_ptr<Limiter>> MakeLimiter(const LimitsConfig& config);

// ---- Shared by the implementations ----

enum class Verdict : int { kAllowed = 0, kRpm = 1, kTpm = 2, kKeyBudget = 3, kTeamBudget = 4 };

// What a bucket-and-budget check found; both limiters fill it the same way.
struct AdmitOutcome {
  Verdict verdict = Verdict::kAllowed;
  int64_t retry_ms = 0;     // kRpm / kTpm: until enough tokens are back
  int64_t spent_micro = 0;  // kKeyBudget / kTeamBudget: spend in the window
  int64_t rpm_remaining = 0;
  int64_t rpm_reset_ms = 0;  // until the RPM bucket is full again
  int64_t tpm_remaining = 0;
  int64_t tpm_reset_ms = 0;
};

Decision MakeDecision(const KeyInfo& key, int64_t estimated_tokens, const AdmitOutcome& outcome,
                      WallTime now);

// A request whose firm token need (its input plus the output the client asked for) exceeds the
// key's whole TPM limit can never fit a minute's window: refused (429, as OpenAI words "Request
// too large", no retry-after) before the limiter is asked. Allowed when the key has no TPM limit
// or the request fits.
Decision RefuseOversized(const KeyInfo& key, int64_t firm_tokens);

// Token-bucket arithmetic, one definition for MemoryLimiter and the tests (the Redis scripts
// mirror it in Lua). A bucket holds up to `capacity` tokens and refills capacity per minute.
struct Bucket {
  double tokens = 0;
  int64_t updated_ms = 0;  // 0 = never used (full)
};
double BucketLevel(const Bucket& b, int64_t capacity, int64_t now_ms);
int64_t MsUntil(double level, double need, int64_t capacity);

}  // namespace hybridgate::limits
