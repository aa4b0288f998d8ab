// Evaluation of a router per benchmark next to the baselines (random routing and "longer prompt
// = harder"), and k-fold cross-validation that trains its own models.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "learned/dataset.h"
#include "learned/metrics.h"
#include "learned/model.h"
#include "learned/train.h"

namespace hybridgate::learned {

// One router's scores for the examples of a Dataset, in order.
struct ScoredRouter {
  std::string name;
  std::vector<double> scores;
};

struct RouterResult {
  std::string name;
  Metrics metrics;
  std::vector<CurvePoint> curve;  // full curve, for plots
};

struct BenchmarkReport {
  std::string benchmark;  // Example::benchmark, or "all" where empty
  size_t n = 0;
  std::vector<RouterResult> routers;
};

// Groups examples by benchmark (first-seen order) and evaluates every router on each group;
// appends a "random" row holding the mean metrics of `random_draws` seeded random routers.
Result<std::vector<BenchmarkReport>> EvaluateByBenchmark(const Dataset& data,
                                                         const std::vector<ScoredRouter>& routers,
                                                         int random_draws = 20);

std::vector<double> ScoreAll(const Model& model, const Dataset& data);
// Baseline: a longer prompt is assumed to need the strong model more.
std::vector<double> LengthScores(const Dataset& data);

// Called with (done, total) as work advances.
using ProgressFn = std::function<void(size_t, size_t)>;

// Out-of-fold scores from k models, each trained without its fold (folds by prompt hash).
// Folds run on up to `threads` threads; the result does not depend on the thread count.
Result<std::vector<double>> CrossValidatedScores(const Dataset& data, const TrainOptions& options,
                                                 int k, int threads = 1,
                                                 const ProgressFn& progress = {});

// Fixed-width text table: one block per benchmark, one row per router.
std::string FormatReport(const std::vector<BenchmarkReport>& reports);

}  // namespace hybridgate::learned
