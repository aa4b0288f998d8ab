#include "rollout/gates.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/json_writer.h"

namespace hybridgate::rollout {

namespace {

constexpr double kBaseMs = 1.0;
constexpr double kGrowth = 1.1;
constexpr double kZ = 1.959964;  // 95%

std::string Pct(double v) { return fmt::format("{:.1f}%", v * 100); }

GateReport ErrorGate(double limit, const ArmCounts& c) {
  GateReport g{.name = "error_rate", .limit = limit, .samples = c.requests};
  if (c.requests == 0) return g;
  g.value = static_cast<double>(c.errors) / static_cast<double>(c.requests);
  std::tie(g.low, g.high) = Wilson(c.errors, c.requests);
  g.known = c.requests >= kMinSamples;
  g.failed = g.known && g.low > limit;
  g.holds = g.known && g.value <= limit;
  return g;
}

GateReport QualityGate(double limit, const StageCounts& c) {
  GateReport g{.name = "quality_drop", .limit = limit, .samples = c.comparisons};
  if (c.comparisons == 0) return g;
  const double n = static_cast<double>(c.comparisons);
  const double mean = c.score_sum / n;
  const double var = n > 1 ? std::max(0.0, (c.score_sq_sum - n * mean * mean) / (n - 1)) : 0;
  const double half = kZ * std::sqrt(var / n);
  g.value = 1 - mean;
  g.low = std::max(0.0, g.value - half);
  g.high = std::min(1.0, g.value + half);
  g.known = c.comparisons >= kMinSamples;
  g.failed = g.known && g.low > limit;
  g.holds = g.known && g.value <= limit;
  return g;
}

// The incumbent arm's mean rating minus the candidate arm's, with the normal interval of a
// difference of two means (Welch). The spread of each arm counts one more rating of 0.5, so that
// ten identical ratings do not claim certainty (a zero-width interval).
GateReport FeedbackGate(double limit, const StageCounts& c) {
  const FeedbackCounts& i = c.feedback_incumbent;
  const FeedbackCounts& k = c.feedback_candidate;
  GateReport g{.name = "feedback_drop", .limit = limit, .samples = std::min(i.n, k.n)};
  if (i.n == 0 || k.n == 0) return g;
  const auto variance_of_mean = [](const FeedbackCounts& f) {
    const double n = static_cast<double>(f.n) + 1;
    const double mean = (f.sum + 0.5) / n;
    return std::max(0.0, (f.sq_sum + 0.25 - n * mean * mean) / (n - 1)) / n;
  };
  const double half = kZ * std::sqrt(variance_of_mean(i) + variance_of_mean(k));
  g.value = i.sum / static_cast<double>(i.n) - k.sum / static_cast<double>(k.n);
  g.low = std::max(-1.0, g.value - half);
  g.high = std::min(1.0, g.value + half);
  g.known = i.n >= kMinSamples && k.n >= kMinSamples;
  g.failed = g.known && g.low > limit;
  g.holds = g.known && g.value <= limit;
  return g;
}

GateReport LatencyGate(double limit, const StageCounts& c, double baseline_p95_ms, int share) {
  int64_t inc_n = 0, cand_n = 0;
  for (int64_t v : c.incumbent.latency) inc_n += v;
  for (int64_t v : c.candidate.latency) cand_n += v;
  GateReport g{.name = "p95_latency_ratio", .limit = limit, .samples = cand_n};
  std::optional<double> inc =
      inc_n >= kMinSamples ? Quantile(c.incumbent.latency, 0.95) : std::optional<double>();
  if (!inc && baseline_p95_ms > 0) inc = baseline_p95_ms;  // no incumbent traffic at 100%
  if (!inc && share >= 100) {
    // Promoted by hand to 100% before the incumbent was measured: there is nothing left to
    // compare with, so the gate cannot decide, and waiting for it would hold the rollout forever.
    g.waived = true;
    g.note = "no incumbent p95 to compare with: the rollout reached 100% before it was measured";
    return g;
  }
  const std::optional<double> cand = Quantile(c.candidate.latency, 0.95);
  if (!inc || !cand) return g;
  g.value = g.low = g.high = *cand / *inc;
  g.known = cand_n >= 2 * kMinSamples;
  g.failed = g.known && g.value > limit;
  g.holds = g.known && !g.failed;
  return g;
}

}  // namespace

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kPending:
      return "pending";
    case Phase::kRunning:
      return "running";
    case Phase::kPaused:
      return "paused";
    case Phase::kComplete:
      return "complete";
    case Phase::kRolledBack:
      return "rolled_back";
  }
  return "pending";
}

std::optional<Phase> ParsePhase(std::string_view name) {
  for (Phase p :
       {Phase::kPending, Phase::kRunning, Phase::kPaused, Phase::kComplete, Phase::kRolledBack}) {
    if (PhaseName(p) == name) return p;
  }
  return std::nullopt;
}

int LatencyBucket(double ms) {
  if (!(ms > kBaseMs)) return 0;
  const int b = static_cast<int>(std::ceil(std::log(ms / kBaseMs) / std::log(kGrowth)));
  return std::clamp(b, 0, kLatencyBuckets - 1);
}

double BucketUpperMs(int bucket) { return kBaseMs * std::pow(kGrowth, bucket); }

std::optional<double> Quantile(const LatencyHistogram& h, double p) {
  int64_t total = 0;
  for (int64_t v : h) total += v;
  if (total == 0) return std::nullopt;
  const auto rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(total)));
  int64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    seen += h[i];
    if (seen >= rank) return BucketUpperMs(i);
  }
  return BucketUpperMs(kLatencyBuckets - 1);
}

std::pair<double, double> Wilson(int64_t k, int64_t n) {
  if (n <= 0) return {0, 1};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(k) / nn;
  const double z2 = kZ * kZ;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = kZ * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

int SharePercent(const routing::RolloutConfig& config, const State& state) {
  const std::vector<int>& stages = state.stages.empty() ? config.stages : state.stages;
  switch (state.phase) {
    case Phase::kRunning:
    case Phase::kPaused:
      return stages[std::clamp<size_t>(state.stage, 0, stages.size() - 1)];
    case Phase::kComplete:
      return 100;
    case Phase::kPending:
    case Phase::kRolledBack:
      return 0;
  }
  return 0;
}

bool AdoptIncumbent(const routing::RolloutConfig& config, State& state, int64_t now_ms) {
  if (state.incumbent == config.incumbent) return false;
  const bool recorded = !state.incumbent.empty();
  state.incumbent = config.incumbent;
  if (!recorded) return false;
  state.baseline_p95_ms = 0;
  if (state.phase == Phase::kRunning || state.phase == Phase::kPaused) {
    state.stage = 0;
    state.stage_started_ms = now_ms;
    ++state.epoch;
  }
  return true;
}

bool AdoptStages(const routing::RolloutConfig& config, State& state, int64_t now_ms) {
  if (state.stages == config.stages) return false;
  if (state.stages.empty()) {
    state.stages = config.stages;
    return false;  // a row stored before stages were: nothing moves
  }
  const int share = SharePercent(config, state);
  state.stages = config.stages;
  if (state.phase == Phase::kRunning || state.phase == Phase::kPaused) {
    int stage = 0;
    for (size_t i = 0; i < config.stages.size(); ++i) {
      if (config.stages[i] <= share) stage = static_cast<int>(i);
    }
    state.stage = stage;
    state.stage_started_ms = now_ms;
    ++state.epoch;
  } else {
    state.stage = 0;
  }
  return true;
}

Verdict Evaluate(const routing::RolloutConfig& config, const State& state,
                 const StageCounts& counts, int64_t now_ms) {
  Verdict v;
  const routing::RolloutGates& g = config.gates;
  if (g.error_rate_max) v.gates.push_back(ErrorGate(*g.error_rate_max, counts.candidate));
  if (g.quality_drop_max) v.gates.push_back(QualityGate(*g.quality_drop_max, counts));
  if (g.feedback_drop_max) v.gates.push_back(FeedbackGate(*g.feedback_drop_max, counts));
  if (g.p95_latency_ratio_max) {
    v.gates.push_back(LatencyGate(*g.p95_latency_ratio_max, counts, state.baseline_p95_ms,
                                  SharePercent(config, state)));
  }
  v.requests_left = std::max<int64_t>(0, config.min_requests - counts.candidate.requests);
  // A stored start in the future (a clock step, an edited row) counts from now.
  const int64_t started = std::clamp<int64_t>(state.stage_started_ms, 0, now_ms);
  v.ms_left = std::max<int64_t>(0, config.min_duration_ms - (now_ms - started));
  if (state.phase == Phase::kComplete) v.requests_left = v.ms_left = 0;
  if (state.phase != Phase::kRunning && state.phase != Phase::kPaused &&
      state.phase != Phase::kComplete) {
    v.why = fmt::format("{}: no gates are evaluated", PhaseName(state.phase));
    return v;
  }
  for (const GateReport& r : v.gates) {
    if (!r.failed) continue;
    v.action = Verdict::Action::kRollBack;
    v.why =
        r.name == "p95_latency_ratio"
            ? fmt::format(
                  "gate p95_latency_ratio failed: {:.2f} > {:.2f} ({} candidate "
                  "latencies)",
                  r.value, r.limit, r.samples)
            : fmt::format("gate {} failed: {} (95% interval {} to {}) > {} over {} samples", r.name,
                          Pct(r.value), Pct(r.low), Pct(r.high), Pct(r.limit), r.samples);
    return v;
  }
  if (state.phase == Phase::kPaused) {
    v.why = "paused: no promotion until resumed";
    return v;
  }
  if (state.phase == Phase::kComplete) {
    v.why = "complete: the gates still guard it";
    return v;
  }
  std::string waits;
  auto wait = [&waits](std::string s) { waits += (waits.empty() ? "" : "; ") + std::move(s); };
  if (v.requests_left > 0) wait(fmt::format("{} more candidate requests", v.requests_left));
  if (v.ms_left > 0) wait(fmt::format("{} s more", (v.ms_left + 999) / 1000));
  for (const GateReport& r : v.gates) {
    if (r.waived) continue;
    if (!r.known) {
      wait(fmt::format("more evidence for {} ({} samples)", r.name, r.samples));
    } else if (!r.holds) {
      wait(fmt::format("{} within its limit", r.name));
    }
  }
  if (waits.empty()) {
    v.action = Verdict::Action::kPromote;
    v.why = "every gate holds";
  } else {
    v.why = "waiting for " + waits;
  }
  return v;
}

std::optional<Command> ParseCommand(std::string_view name) {
  if (name == "promote") return Command::kPromote;
  if (name == "pause") return Command::kPause;
  if (name == "resume") return Command::kResume;
  if (name == "rollback") return Command::kRollBack;
  return std::nullopt;
}

Status Apply(const routing::RolloutConfig& config, State& state, Command command, int64_t now_ms,
             std::string reason) {
  if (state.stages.empty()) state.stages = config.stages;
  auto refuse = [&](std::string_view what) {
    return Fail(MakeError(
        ErrorCode::kInvalidRequest,
        fmt::format("rollout of route '{}' is {}: {}", state.route, PhaseName(state.phase), what)));
  };
  const int last = static_cast<int>(state.stages.size()) - 1;
  switch (command) {
    case Command::kPromote:
      if (state.phase == Phase::kComplete) return refuse("nothing left to promote");
      if (state.phase == Phase::kRolledBack) return refuse("resume it first");
      if (state.phase == Phase::kPending) {
        state.stage = 0;
        state.phase = Phase::kRunning;
      } else if (state.stage >= last) {
        state.phase = Phase::kComplete;
      } else {
        ++state.stage;
      }
      break;
    case Command::kPause:
      if (state.phase != Phase::kRunning) return refuse("only a running rollout pauses");
      state.phase = Phase::kPaused;
      state.reason = std::move(reason);  // no new stage: the clock and counters go on
      return {};
    case Command::kResume:
      if (state.phase == Phase::kPaused) {
        state.phase = Phase::kRunning;
        state.reason = std::move(reason);
        return {};
      }
      if (state.phase == Phase::kRunning || state.phase == Phase::kComplete) {
        return refuse("nothing to resume");
      }
      state.stage = 0;
      state.phase = Phase::kRunning;
      break;
    case Command::kRollBack:
      if (state.phase == Phase::kRolledBack) return refuse("already rolled back");
      state.phase = Phase::kRolledBack;
      break;
  }
  state.reason = std::move(reason);
  state.stage_started_ms = now_ms;
  ++state.epoch;
  return {};
}

void KeepIncumbentBaseline(State& state, const StageCounts& counts) {
  int64_t incumbent_n = 0;
  for (int64_t v : counts.incumbent.latency) incumbent_n += v;
  if (incumbent_n >= kMinSamples) {
    state.baseline_p95_ms = Quantile(counts.incumbent.latency, 0.95).value_or(0);
  }
}

std::string VerdictJson(const Verdict& v, const StageCounts& c) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Field("why", v.why).Field("requests_left", v.requests_left).Field("ms_left", v.ms_left);
  w.Key("gates").BeginArray();
  for (const GateReport& g : v.gates) {
    w.BeginObject()
        .Field("name", g.name)
        .Field("limit", g.limit)
        .Field("known", g.known)
        .Field("value", g.value)
        .Field("low", g.low)
        .Field("high", g.high)
        .Field("samples", g.samples)
        .Field("holds", g.holds)
        .Field("failed", g.failed);
    if (g.waived) w.Field("waived", true).Field("note", g.note);
    w.EndObject();
  }
  w.EndArray();
  w.Key("candidate").BeginObject();
  w.Field("requests", c.candidate.requests).Field("errors", c.candidate.errors);
  w.Field("ratings", c.feedback_candidate.n).EndObject();
  w.Key("incumbent").BeginObject();
  w.Field("requests", c.incumbent.requests).Field("errors", c.incumbent.errors);
  w.Field("ratings", c.feedback_incumbent.n).EndObject();
  w.Field("comparisons", c.comparisons);
  w.EndObject();
  return out;
}

}  // namespace hybridgate::rollout
