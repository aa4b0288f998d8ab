// A rollout's rules (routes.<name>.rollout; routing/route_config.h): its phases, what a stage
// measured of each arm, and the verdict on it. Plain values and pure functions: the controller
// (rollout/controller.h) feeds them, the CLI and /admin/rollouts print them.
//
// Phases: pending (no candidate traffic; `start: paused` waits here for a person) → running at
// stage k → … → complete; or rolled_back (share 0 until a person resumes: it restarts at the
// first stage) and paused (the stage's share holds, nothing promotes). A failing gate rolls back
// a running, paused or complete rollout. Share: the stage's percent while running or paused, 100
// when complete, else 0.
//
// A gate is known once the stage has enough of its evidence (kMinSamples candidate-arm requests,
// comparisons, ratings of each arm, or latencies on both arms). It fails when the evidence says
// the candidate is worse than its limit with 95% confidence — the lower bound of the Wilson
// interval of the error rate, of the normal interval of the quality or feedback drop, or the
// latency ratio's point value — and rolls the rollout back at once. A stage promotes when it has
// `min_requests` candidate-arm requests, has lasted `min_duration`, and every configured gate is
// known and its value within its limit.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "routing/route_config.h"

namespace hybridgate::rollout {

enum class Phase : uint8_t { kPending, kRunning, kPaused, kComplete, kRolledBack };
std::string_view PhaseName(Phase p);
std::optional<Phase> ParsePhase(std::string_view name);

// Evidence below this many samples decides nothing.
inline constexpr int64_t kMinSamples = 10;

// Latencies in buckets growing by 10%: bucket i holds (kBase·1.1^(i-1), kBase·1.1^i] ms, the
// last everything above. A p95 read from it is within 10%.
inline constexpr int kLatencyBuckets = 160;
int LatencyBucket(double ms);
double BucketUpperMs(int bucket);
using LatencyHistogram = std::array<int64_t, kLatencyBuckets>;
// The upper bound of the bucket holding the p-th quantile; nullopt when empty.
std::optional<double> Quantile(const LatencyHistogram& h, double p);

struct ArmCounts {
  int64_t requests = 0;
  int64_t errors = 0;  // candidate arm: the candidate did not answer; incumbent: nothing did
  LatencyHistogram latency{};
};

// Ratings (POST /v1/feedback, normalized to 0..1) of one arm's answers.
struct FeedbackCounts {
  int64_t n = 0;
  double sum = 0, sq_sum = 0;
};

// What one stage measured (since it started).
struct StageCounts {
  ArmCounts incumbent, candidate;
  int64_t comparisons = 0;  // shadow scores of the candidate against the incumbent
  double score_sum = 0, score_sq_sum = 0;
  // Read by the evaluator from the feedback store (shared by the replicas that share it), not
  // published with each replica's counters.
  FeedbackCounts feedback_incumbent, feedback_candidate;
};

// The stored state of one route's rollout (rollout/store.h).
struct State {
  std::string route, candidate;
  // The deployment the candidate is measured against, as stored ("" in a row stored before it
  // was): the config naming another one restarts the evidence (AdoptIncumbent).
  std::string incumbent;
  // As stored: every replica's share comes from these (else the config's).
  std::vector<int> stages;
  Phase phase = Phase::kPending;
  int stage = 0;                 // index into the stages
  int64_t stage_started_ms = 0;  // unix ms
  int64_t epoch = 0;             // grows with every stage or phase change: counters restart
  std::string reason;            // why the last transition happened
  double baseline_p95_ms = 0;    // the incumbent's p95 from the last stage that measured it
  int64_t version = 0;           // compare-and-set
  int64_t updated_ms = 0;
  std::string report_json;  // the last evaluation (GatesJson), for status
};

// The percent of eligible traffic the candidate gets (from the stored stages, else the config's).
int SharePercent(const routing::RolloutConfig& config, const State& state);
// Takes the config's stages into a state stored with others (a reload changed them): a running
// or paused rollout moves to the highest new stage at or below its share (else the first) and
// starts that stage afresh; false when the stages were the same.
bool AdoptStages(const routing::RolloutConfig& config, State& state, int64_t now_ms);
// Takes the config's incumbent into the state. Another one than stored makes the stage's
// evidence (counters, the latency baseline) a comparison with a deployment that no longer
// answers: a running or paused rollout starts again at its first stage with fresh counters.
// True when that happened; a row stored without an incumbent only records it.
bool AdoptIncumbent(const routing::RolloutConfig& config, State& state, int64_t now_ms);

struct GateReport {
  std::string name;  // "error_rate", "quality_drop", "p95_latency_ratio", "feedback_drop"
  double limit = 0;
  bool known = false;        // enough evidence
  double value = 0;          // point estimate
  double low = 0, high = 0;  // 95% interval (the latency ratio: the value itself)
  int64_t samples = 0;
  bool failed = false;  // with 95% confidence over the limit
  bool holds = false;   // known and value <= limit
  // The gate cannot be decided at this stage and does not hold the rollout (`note` says why).
  bool waived = false;
  std::string note;
};

struct Verdict {
  enum class Action : uint8_t { kWait, kPromote, kRollBack };
  Action action = Action::kWait;
  std::string why;  // a sentence: what failed, or what the stage still waits for
  std::vector<GateReport> gates;
  int64_t requests_left = 0;
  int64_t ms_left = 0;
};

// The gates of `config` on `counts` at `now_ms`, and what to do (kWait when pending or rolled
// back; paused and complete never promote).
Verdict Evaluate(const routing::RolloutConfig& config, const State& state,
                 const StageCounts& counts, int64_t now_ms);

// Wilson score interval (95%) of `k` successes in `n`.
std::pair<double, double> Wilson(int64_t k, int64_t n);

// What moves a rollout: a person (the CLI, /admin/rollouts) or the controller.
enum class Command : uint8_t { kPromote, kPause, kResume, kRollBack };
std::optional<Command> ParseCommand(std::string_view name);
// Applies `command` to `state` at `now_ms` with `reason`: promote moves to the next stage (from
// pending: the first; from the last: complete), pause holds a running stage, resume restarts a
// pending, paused or rolled-back rollout (rolled back: at the first stage), roll back stops the
// candidate's traffic. A new stage or phase restarts the stage clock and counters (epoch).
// Errors say why the command does not apply ("already complete").
Status Apply(const routing::RolloutConfig& config, State& state, Command command, int64_t now_ms,
             std::string reason);

// Before a promotion, by the controller or a person: keeps the incumbent's p95 latency of the
// stage ending (when it has kMinSamples) as `state.baseline_p95_ms`, which the latency gate
// compares with once no traffic goes to the incumbent (100%).
void KeepIncumbentBaseline(State& state, const StageCounts& counts);

// The verdict as a JSON object (gates, requests and time left, counts).
std::string VerdictJson(const Verdict& v, const StageCounts& counts);

}  // namespace hybridgate::rollout
