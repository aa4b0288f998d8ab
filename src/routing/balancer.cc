#include "routing/balancer.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

namespace hybridgate::routing {

void DeploymentStats::End(double latency_ms) {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  if (latency_ms < 0) return;
  const bool first = samples_.fetch_add(1, std::memory_order_relaxed) == 0;
  uint64_t old_bits = ewma_bits_.load(std::memory_order_relaxed);
  for (;;) {
    const double old = std::bit_cast<double>(old_bits);
    const double next = first || old == 0 ? latency_ms : old + kAlpha * (latency_ms - old);
    if (ewma_bits_.compare_exchange_weak(old_bits, std::bit_cast<uint64_t>(next),
                                         std::memory_order_relaxed)) {
      return;
    }
  }
}

double DeploymentStats::ewma_ms() const {
  return std::bit_cast<double>(ewma_bits_.load(std::memory_order_relaxed));
}

DeploymentStats& StatsSet::Get(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = stats_.find(key);
  if (it == stats_.end()) {
    it = stats_.emplace(std::string(key), std::make_unique<DeploymentStats>()).first;
  }
  return *it->second;
}

const DeploymentStats* StatsSet::Find(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = stats_.find(key);
  return it == stats_.end() ? nullptr : it->second.get();
}

void AttemptLoad::Start(StatsSet* set, std::string_view key) {
  Finish(-1);
  if (set == nullptr) return;
  stats_ = &set->Get(key);
  stats_->Begin();
}

void AttemptLoad::Finish(double latency_ms) {
  if (stats_ == nullptr) return;
  std::exchange(stats_, nullptr)->End(latency_ms);
}

size_t Balancer::PickWeighted(std::span<const int> weights) {
  if (weights.size() <= 1) return 0;
  int64_t total = 0;
  for (int w : weights) total += std::max(0, w);
  if (total <= 0) return 0;
  // Golden-ratio (Weyl) sequence: equidistributed in [0, 1), consecutive points far apart.
  const uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed);
  const double r = static_cast<double>(n * 0x9E3779B97F4A7C15ULL >> 11) * 0x1.0p-53;
  double target = r * static_cast<double>(total);
  for (size_t i = 0; i < weights.size(); ++i) {
    target -= std::max(0, weights[i]);
    if (target < 0) return i;
  }
  return weights.size() - 1;
}

void Balancer::Order(std::vector<RouteCandidate>& candidates, const StatsSet* stats) {
  // Probes (half-open breakers) stay at the end, in their order.
  const auto healthy_end = std::stable_partition(candidates.begin(), candidates.end(),
                                                 [](const RouteCandidate& c) { return !c.probe; });
  const size_t n = static_cast<size_t>(healthy_end - candidates.begin());
  if (n <= 1) return;
  if (strategy_ == BalanceStrategy::kWeighted) {
    std::vector<int> weights;
    weights.reserve(n);
    for (size_t i = 0; i < n; ++i) weights.push_back(candidates[i].weight);
    const size_t pick = PickWeighted(weights);
    std::rotate(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(pick),
                candidates.begin() + static_cast<ptrdiff_t>(pick + 1));
    std::stable_sort(
        candidates.begin() + 1, healthy_end,
        [](const RouteCandidate& a, const RouteCandidate& b) { return a.weight > b.weight; });
    return;
  }
  std::vector<double> cost(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const DeploymentStats* s =
        stats != nullptr ? stats->Find(candidates[i].deployment().key) : nullptr;
    if (s == nullptr) continue;
    const auto outstanding = static_cast<double>(s->outstanding());
    cost[i] = strategy_ == BalanceStrategy::kLeastOutstanding ? outstanding
                                                              : s->ewma_ms() * (outstanding + 1);
  }
  // Ties rotate, so equal deployments share the load instead of the first taking it all.
  const size_t offset = counter_.fetch_add(1, std::memory_order_relaxed) % n;
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = (i + offset) % n;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return cost[a] < cost[b]; });
  std::vector<RouteCandidate> sorted;
  sorted.reserve(n);
  for (size_t i : idx) sorted.push_back(std::move(candidates[i]));
  std::move(sorted.begin(), sorted.end(), candidates.begin());
}

RouteBalancers::RouteBalancers(const RoutesConfig& routes) {
  for (const Route& r : routes.routes) {
    auto& v = by_route_[r.name];
    for (const Tier& t : r.tiers) v.push_back(std::make_unique<Balancer>(t.balance));
  }
}

void RouteBalancers::Apply(RouteDecision& decision, const StatsSet* stats) {
  auto it = by_route_.find(decision.route);
  if (it == by_route_.end()) return;
  for (size_t i = 0; i < decision.tiers.size() && i < it->second.size(); ++i) {
    it->second[i]->Order(decision.tiers[i].candidates, stats);
  }
  decision.Flatten();
}

}  // namespace hybridgate::routing
