// Retry delays: exponential backoff with jitter, capped, honouring an upstream's Retry-After.
// Pure functions; the randomness is a parameter (a uniform draw in [0, 1)) so tests are exact,
// and BackoffRng supplies it in production.
#pragma once

#include <cstdint>

#include "common/error.h"
#include "routing/route_config.h"

namespace hybridgate::routing {

// Delay before retry number `retry` (1 = the first retry) of the same deployment:
// ceiling = min(max_backoff_ms, backoff_ms * 2^(retry-1)); full jitter draws from [0, ceiling],
// equal jitter from [ceiling/2, ceiling], none is the ceiling. `u` is uniform in [0, 1).
int64_t BackoffMs(const RetryConfig& config, int retry, double u);

struct RetryDecision {
  bool retry = false;    // false: give up on this deployment (try the next candidate)
  int64_t delay_ms = 0;  // wait before retrying
  const char* why = "";  // static text, for logs and explain
};

// Whether and when to retry after `error` on attempt `attempt` (1-based) of a deployment. Not
// retryable errors (400s, auth) and exhausted attempts give up. A Retry-After is honoured: the
// delay is at least that long, and one longer than max_retry_after_ms gives up at once (another
// deployment is better than waiting). `remaining_ms` (-1: no deadline) — a delay that would not
// fit gives up too.
RetryDecision DecideRetry(const RetryConfig& config, const Error& error, int attempt, double u,
                          int64_t remaining_ms = -1);

// Small, fast, per-thread generator of the uniform draws (splitmix64). Not for cryptography.
class BackoffRng {
 public:
  explicit BackoffRng(uint64_t seed) : state_(seed) {}
  double Uniform();  // [0, 1)
  // A generator per thread, seeded from the thread's identity and the clock.
  static BackoffRng& ThreadLocal();

 private:
  uint64_t state_;
};

}  // namespace hybridgate::routing
