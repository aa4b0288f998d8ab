// Circuit breaker per deployment: closed → open after N consecutive failures or an error rate
// over a sliding window → half-open after a cool-down, letting exactly one probe request through
// → closed on its success (open again on its failure). Thread-safe: one Breaker is shared by all
// workers; the closed-state fast path is a single atomic load. Time comes from an injectable clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace hybridgate::routing {

// Values are exported as the metrics gauge (0 closed, 1 open, 2 half-open).
enum class BreakerState : uint8_t { kClosed = 0, kOpen = 1, kHalfOpen = 2 };
std::string_view BreakerStateName(BreakerState s);

struct BreakerConfig {
  int consecutive_failures = 5;  // open after this many failures in a row (0: off)
  double error_rate = 0.5;       // open when failures/requests in the window reach this (0: off)
  int min_requests = 20;         // ... and the window holds at least this many requests
  int64_t window_ms = 10'000;    // sliding window, kept as 10 buckets
  int64_t cooldown_ms = 30'000;  // open → half-open
};

// Monotonic milliseconds.
using Clock = std::function<int64_t()>;
Clock SteadyClock();

class Breaker {
 public:
  explicit Breaker(BreakerConfig config, Clock clock = SteadyClock());

  // May a request go to this deployment now? Closed: yes. Open: no, until the cool-down has
  // passed; then the breaker turns half-open and this call (only this one) gets the probe.
  // Half-open with the probe out: no. A caller that got `true` must report OnSuccess/OnFailure
  // (or OnCancel, when the attempt ended for reasons that say nothing about the upstream).
  bool Allow();
  void OnSuccess();
  void OnFailure();
  void OnCancel();
  // Closes it and forgets what it counted (a person said the upstream is fixed).
  void Reset();

  // The state as of now (an open breaker past its cool-down reads half-open).
  BreakerState state() const;
  int consecutive_failures() const;

 private:
  static constexpr int kBuckets = 10;
  struct Bucket {
    int64_t start = -1;  // bucket's window start; stale buckets are reset lazily
    int requests = 0;
    int failures = 0;
  };
  void Record(bool failure, int64_t now);  // under mu_
  void Open(int64_t now);                  // under mu_

  const BreakerConfig config_;
  const Clock clock_;
  std::atomic<BreakerState> state_{BreakerState::kClosed};
  mutable std::mutex mu_;
  int consecutive_ = 0;
  int64_t opened_at_ = 0;
  bool probe_out_ = false;
  Bucket buckets_[kBuckets];
};

// One breaker per deployment key, created on first use; shared by all workers.
class BreakerSet {
 public:
  explicit BreakerSet(BreakerConfig config, Clock clock = SteadyClock())
      : config_(config), clock_(std::move(clock)) {}
  Breaker& Get(std::string_view key);
  // State for HealthLookup; closed for a key never seen.
  BreakerState StateOf(std::string_view key) const;
  // Calls f(key, state) for every breaker (metrics).
  void ForEach(const std::function<void(std::string_view, BreakerState)>& f) const;

 private:
  const BreakerConfig config_;
  const Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Breaker>, std::less<>> breakers_;
};

}  // namespace hybridgate::routing
