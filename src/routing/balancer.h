// Load balancing inside a tier: smooth weighted, least outstanding requests, or latency EWMA
// (peak-EWMA style: latency × (outstanding + 1)). Lock-free on the request path: a pick is one
// atomic increment plus reads of per-deployment atomics; shared by all workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "routing/route_config.h"
#include "routing/routes.h"

namespace hybridgate::routing {

// Live numbers of one deployment, updated by whichever worker ran the attempt.
class DeploymentStats {
 public:
  // Weight of a new latency sample in the moving average.
  static constexpr double kAlpha = 0.3;

  void Begin() { outstanding_.fetch_add(1, std::memory_order_relaxed); }
  // Ends an attempt started with Begin(); `latency_ms` < 0 records no sample (failures, cancels).
  void End(double latency_ms);

  int64_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  double ewma_ms() const;  // 0 until the first sample
  int64_t samples() const { return samples_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> outstanding_{0};
  std::atomic<uint64_t> ewma_bits_{0};  // a double's bits, updated by compare-exchange
  std::atomic<int64_t> samples_{0};
};

// One DeploymentStats per deployment key, created on first use.
class StatsSet {
 public:
  DeploymentStats& Get(std::string_view key);
  const DeploymentStats* Find(std::string_view key) const;  // null when never used

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<DeploymentStats>, std::less<>> stats_;
};

// One attempt's share of its deployment's live stats, so the executor's many exits cannot leak
// an outstanding count: Start() counts the attempt, Finish() — or the destructor — ends it
// exactly once, with a latency sample only when one is given (failures and cancels give none).
class AttemptLoad {
 public:
  AttemptLoad() = default;
  AttemptLoad(const AttemptLoad&) = delete;
  AttemptLoad& operator=(const AttemptLoad&) = delete;
  ~AttemptLoad() { Finish(-1); }

  // Counts an attempt on `key` in `set` (null: no stats), first ending one still counted.
  void Start(StatsSet* set, std::string_view key);
  // Ends the counted attempt; `latency_ms` < 0 records no sample. No-op when none is counted.
  void Finish(double latency_ms);
  bool active() const { return stats_ != nullptr; }

 private:
  DeploymentStats* stats_ = nullptr;
};

// Orders the candidates of one tier: the pick first, then the others by the same preference
// (they are the tier's own fallbacks).
class Balancer {
 public:
  explicit Balancer(BalanceStrategy strategy) : strategy_(strategy) {}

  // Index (into `weights`) of the pick for weighted balancing: picks are spread evenly (a
  // low-discrepancy sequence, so 3:1 gives a a b a a a b a …, never long runs) and each index
  // gets its weight's share over time, whatever subset of deployments is eligible.
  size_t PickWeighted(std::span<const int> weights);

  // Reorders `candidates` (probes stay last). `stats` may be null (no live numbers yet).
  void Order(std::vector<RouteCandidate>& candidates, const StatsSet* stats);

 private:
  const BalanceStrategy strategy_;
  std::atomic<uint64_t> counter_{0};
};

// A Balancer per tier of every route; Apply reorders a decision's tiers and its candidates.
class RouteBalancers {
 public:
  explicit RouteBalancers(const RoutesConfig& routes);
  void Apply(RouteDecision& decision, const StatsSet* stats);

 private:
  std::map<std::string, std::vector<std::unique_ptr<Balancer>>, std::less<>> by_route_;
};

}  // namespace hybridgate::routing
