#include "routing/breaker.h"

#include <chrono>

namespace hybridgate::routing {

std::string_view BreakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

Clock SteadyClock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
}

Breaker::Breaker(BreakerConfig config, Clock clock) : config_(config), clock_(std::move(clock)) {}

bool Breaker::Allow() {
  if (state_.load(std::memory_order_acquire) == BreakerState::kClosed) return true;
  std::lock_guard lock(mu_);
  const BreakerState s = state_.load(std::memory_order_relaxed);
  if (s == BreakerState::kClosed) return true;
  if (s == BreakerState::kOpen) {
    if (clock_() - opened_at_ < config_.cooldown_ms) return false;
    state_.store(BreakerState::kHalfOpen, std::memory_order_release);
    probe_out_ = true;
    return true;
  }
  if (probe_out_) return false;  // half-open: one probe at a time
  probe_out_ = true;
  return true;
}

void Breaker::Reset() {
  std::lock_guard lock(mu_);
  consecutive_ = 0;
  probe_out_ = false;
  for (Bucket& b : buckets_) b = Bucket{};
  state_.store(BreakerState::kClosed, std::memory_order_release);
}

void Breaker::OnSuccess() {
  std::lock_guard lock(mu_);
  consecutive_ = 0;
  if (state_.load(std::memory_order_relaxed) != BreakerState::kClosed) {
    // The probe (or a request let through before opening) succeeded: start afresh.
    state_.store(BreakerState::kClosed, std::memory_order_release);
    probe_out_ = false;
    for (Bucket& b : buckets_) b = Bucket{};
    return;
  }
  Record(false, clock_());
}

void Breaker::OnFailure() {
  std::lock_guard lock(mu_);
  const int64_t now = clock_();
  ++consecutive_;
  const BreakerState s = state_.load(std::memory_order_relaxed);
  if (s == BreakerState::kHalfOpen) {
    Open(now);
    return;
  }
  if (s == BreakerState::kOpen) return;
  Record(true, now);
  if (config_.consecutive_failures > 0 && consecutive_ >= config_.consecutive_failures) {
    Open(now);
    return;
  }
  if (config_.error_rate > 0) {
    int requests = 0, failures = 0;
    const int64_t bucket_ms = std::max<int64_t>(1, config_.window_ms / kBuckets);
    const int64_t oldest = (now / bucket_ms - (kBuckets - 1)) * bucket_ms;
    for (const Bucket& b : buckets_) {
      if (b.start >= oldest) {
        requests += b.requests;
        failures += b.failures;
      }
    }
    if (requests >= config_.min_requests &&
        failures >= config_.error_rate * static_cast<double>(requests)) {
      Open(now);
    }
  }
}

void Breaker::OnCancel() {
  std::lock_guard lock(mu_);
  if (state_.load(std::memory_order_relaxed) == BreakerState::kHalfOpen) probe_out_ = false;
}

void Breaker::Record(bool failure, int64_t now) {
  const int64_t bucket_ms = std::max<int64_t>(1, config_.window_ms / kBuckets);
  const int64_t start = now / bucket_ms * bucket_ms;
  Bucket& b = buckets_[(now / bucket_ms) % kBuckets];
  if (b.start != start) b = Bucket{.start = start};
  ++b.requests;
  if (failure) ++b.failures;
}

void Breaker::Open(int64_t now) {
  state_.store(BreakerState::kOpen, std::memory_order_release);
  opened_at_ = now;
  probe_out_ = false;
  consecutive_ = 0;
  for (Bucket& b : buckets_) b = Bucket{};
}

BreakerState Breaker::state() const {
  const BreakerState s = state_.load(std::memory_order_acquire);
  if (s != BreakerState::kOpen) return s;
  std::lock_guard lock(mu_);
  return clock_() - opened_at_ >= config_.cooldown_ms ? BreakerState::kHalfOpen
                                                      : BreakerState::kOpen;
}

int Breaker::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return consecutive_;
}

Breaker& BreakerSet::Get(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = breakers_.find(key);
  if (it == breakers_.end()) {
    it = breakers_.emplace(std::string(key), std::make_unique<Breaker>(config_, clock_)).first;
  }
  return *it->second;
}

BreakerState BreakerSet::StateOf(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = breakers_.find(key);
  return it == breakers_.end() ? BreakerState::kClosed : it->second->state();
}

void BreakerSet::ForEach(const std::function<void(std::string_view, BreakerState)>& f) const {
  std::lock_guard lock(mu_);
  for (const auto& [key, b] : breakers_) f(key, b->state());
}

}  // namespace hybridgate::routing
