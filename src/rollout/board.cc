#include "rollout/board.h"

#include <random>

namespace hybridgate::rollout {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t Fnv(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

void AddDouble(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::string_view ArmName(Arm a) { return a == Arm::kCandidate ? "candidate" : "incumbent"; }

std::string FeedbackName(std::string_view route, const routing::RolloutConfig& config) {
  std::string out(route);
  out.append("/").append(config.candidate).append("/").append(config.incumbent);
  return out;
}

uint64_t StickySalt(std::string_view route, std::string_view candidate) {
  return Fnv(Fnv(kFnvOffset, route), std::string_view("\0", 1)) ^ Fnv(kFnvOffset, candidate);
}

int StickyBucket(uint64_t salt, std::string_view sticky) {
  uint64_t h = Fnv(kFnvOffset ^ salt, sticky);
  h ^= h >> 33;  // FNV's low bits mix poorly on short keys
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<int>(h % 10'000);
}

bool LiveRollout::InCandidateArm(std::string_view sticky) const {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  int bucket = 0;
  if (sticky.empty()) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    bucket = static_cast<int>(rng() % 10'000);
  } else {
    bucket = StickyBucket(salt, sticky);
  }
  return bucket < percent * 100;
}

void LiveCounters::Record(Arm arm, bool error, std::optional<double> latency_ms) {
  ArmAtomics& a = arms_[static_cast<size_t>(arm)];
  a.requests.fetch_add(1, std::memory_order_relaxed);
  if (error) a.errors.fetch_add(1, std::memory_order_relaxed);
  if (latency_ms) a.latency[LatencyBucket(*latency_ms)].fetch_add(1, std::memory_order_relaxed);
}

void LiveCounters::Score(double score) {
  comparisons_.fetch_add(1, std::memory_order_relaxed);
  AddDouble(score_sum_, score);
  AddDouble(score_sq_sum_, score * score);
}

StageCounts LiveCounters::Snapshot() const {
  StageCounts out;
  for (Arm arm : {Arm::kIncumbent, Arm::kCandidate}) {
    const ArmAtomics& a = arms_[static_cast<size_t>(arm)];
    ArmCounts& c = arm == Arm::kCandidate ? out.candidate : out.incumbent;
    c.requests = a.requests.load(std::memory_order_relaxed);
    c.errors = a.errors.load(std::memory_order_relaxed);
    for (int i = 0; i < kLatencyBuckets; ++i) c.latency[i] = a.latency[i].load();
  }
  out.comparisons = comparisons_.load(std::memory_order_relaxed);
  out.score_sum = score_sum_.load(std::memory_order_relaxed);
  out.score_sq_sum = score_sq_sum_.load(std::memory_order_relaxed);
  return out;
}

std::shared_ptr<const LiveRollout> Board::Find(std::string_view route) const {
  const std::shared_ptr<const Map> map = map_.load(std::memory_order_acquire);
  const auto it = map->find(route);
  return it == map->end() ? nullptr : it->second;
}

}  // namespace hybridgate::rollout
