// What every request reads of the rollouts: per route, the phase and share the controller last
// published, and the counters of the current stage, which requests add to. Published whole by
// the controller (rollout/controller.h), read with one atomic load; the counters are atomics.
// Assignment is sticky: a stable hash (FNV-1a, salted with route and candidate) of the key id or
// the request's `user` puts the caller in one of 10,000 buckets, and the candidate gets the
// buckets below its share — so a caller keeps its arm for a stage, and one in the candidate arm
// stays there as the share grows. Every replica hashes alike.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rollout/gates.h"

namespace hybridgate::rollout {

enum class Arm : uint8_t { kIncumbent, kCandidate };
std::string_view ArmName(Arm a);

// One stage's counters (one epoch of one route's rollout).
class LiveCounters {
 public:
  // A request of `arm` that ended: `error` as gates.h counts it; a latency only for an answer of
  // the arm's own model.
  void Record(Arm arm, bool error, std::optional<double> latency_ms);
  // A shadow score of the candidate against the incumbent (0..1).
  void Score(double score);
  StageCounts Snapshot() const;

 private:
  struct ArmAtomics {
    std::atomic<int64_t> requests{0}, errors{0};
    std::array<std::atomic<int64_t>, kLatencyBuckets> latency{};
  };
  std::array<ArmAtomics, 2> arms_;
  std::atomic<int64_t> comparisons_{0};
  std::atomic<double> score_sum_{0}, score_sq_sum_{0};
};

struct LiveRollout {
  std::string route, candidate, incumbent;                  // as configured
  std::vector<std::string> candidate_keys, incumbent_keys;  // their "provider/model"s
  routing::Sticky sticky = routing::Sticky::kKey;
  Phase phase = Phase::kPending;
  int percent = 0;  // the candidate's share
  int64_t epoch = 0;
  std::string label;  // "<route>/<percent>", the x-hybridgate-rollout prefix
  // With a feedback gate: FeedbackName(), the name the feedback store keeps with each answered
  // request of the rollout (with its arm and epoch); else "".
  std::string feedback_name;
  uint64_t salt = 0;
  std::shared_ptr<LiveCounters> counters;

  // Whether a caller identified by `sticky` (empty: none, a random draw) is in the candidate arm.
  bool InCandidateArm(std::string_view sticky) const;
};

class Board {
 public:
  using Map = std::map<std::string, std::shared_ptr<const LiveRollout>, std::less<>>;
  std::shared_ptr<const LiveRollout> Find(std::string_view route) const;
  std::shared_ptr<const Map> All() const { return map_.load(std::memory_order_acquire); }
  void Publish(std::shared_ptr<const Map> map) { map_.store(std::move(map)); }

 private:
  std::atomic<std::shared_ptr<const Map>> map_{std::make_shared<const Map>()};
};

// "<route>/<candidate>/<incumbent>": the ratings of one comparison, so that another incumbent's
// (the config changed it) are not mixed into the incumbent arm's.
std::string FeedbackName(std::string_view route, const routing::RolloutConfig& config);
uint64_t StickySalt(std::string_view route, std::string_view candidate);
// 0..9999.
int StickyBucket(uint64_t salt, std::string_view sticky);

}  // namespace hybridgate::rollout
