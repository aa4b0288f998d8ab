#include "routing/backoff.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

namespace hybridgate::routing {
namespace {

// Uniform integer in [lo, hi] from u in [0, 1].
int64_t Draw(int64_t lo, int64_t hi, double u) {
  const auto span = static_cast<double>(hi - lo + 1);
  return std::min(hi, lo + static_cast<int64_t>(u * span));
}

}  // namespace

int64_t BackoffMs(const RetryConfig& config, int retry, double u) {
  if (retry < 1) return 0;
  u = std::clamp(u, 0.0, 1.0);
  // Doubling stops at the cap, so large retry counts never overflow.
  int64_t ceiling = std::max<int64_t>(0, config.backoff_ms);
  for (int i = 1; i < retry && ceiling < config.max_backoff_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, config.max_backoff_ms);
  switch (config.jitter) {
    case Jitter::kNone:
      return ceiling;
    case Jitter::kFull:
      return Draw(0, ceiling, u);
    case Jitter::kEqual:
      return Draw(ceiling / 2, ceiling, u);
  }
  return ceiling;
}

RetryDecision DecideRetry(const RetryConfig& config, const Error& error, int attempt, double u,
                          int64_t remaining_ms) {
  if (!error.Retryable()) return {false, 0, "not retryable"};
  if (attempt >= config.attempts) return {false, 0, "attempts exhausted"};
  int64_t delay = BackoffMs(config, attempt, u);
  if (error.retry_after_ms >= 0) {
    if (error.retry_after_ms > config.max_retry_after_ms) {
      return {false, 0, "Retry-After longer than max_retry_after_ms"};
    }
    delay = std::max<int64_t>(delay, error.retry_after_ms);
  }
  if (remaining_ms >= 0 && delay >= remaining_ms) return {false, 0, "deadline too close"};
  return {true, delay,
          error.retry_after_ms >= 0 ? "retry after Retry-After" : "retry with backoff"};
}

double BackoffRng::Uniform() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

BackoffRng& BackoffRng::ThreadLocal() {
  thread_local BackoffRng rng(
      std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return rng;
}

}  // namespace hybridgate::routing
