// Router quality metrics as RouteLLM defines them (shared/data/routing/README.md): the quality vs
// strong-call-share curve, PGR, APGR and CPT, plus threshold calibration. A prompt is routed to
// the strong model when its score is strictly above the threshold.
#pragma once

#include <limits>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace hybridgate::learned {

// One prompt: the router's score and the raw quality each model reached on it.
struct Outcome {
  double score = 0;
  double weak = 0;
  double strong = 0;
};

struct CurvePoint {
  double strong_share = 0;  // fraction of prompts routed to the strong model
  double quality = 0;       // mean quality of the routed answers
  double pgr = 0;           // (quality - weak) / (strong - weak)
  double threshold = 0;     // route when score > threshold
};

struct Metrics {
  size_t n = 0;
  double weak_quality = 0;          // everything to the weak model
  double strong_quality = 0;        // everything to the strong model
  std::vector<CurvePoint> deciles;  // 11 points: thresholds at the score's deciles
  double apgr = 0;                  // trapezoid area under `deciles` (PGR over strong share)
  double cpt50 = 0;                 // smallest strong share with PGR >= 0.5, on the full curve
  double cpt80 = 0;                 // same for 0.8
};

// Every distinct threshold, from routing nothing (share 0) to everything (share 1). Tied scores
// move together, so the curve has one point per distinct score plus the start.
std::vector<CurvePoint> FullCurve(std::span<const Outcome> outcomes);

// Decile thresholds: for k = 0..10, m = round(k*n/10) and the threshold is the (m+1)-th largest
// score (so, without ties, exactly m prompts lie strictly above it); -inf for k = 10.
std::vector<CurvePoint> DecileCurve(std::span<const Outcome> outcomes);

// Trapezoid rule over (strong_share, pgr).
double AreaUnder(std::span<const CurvePoint> curve);

// Smallest strong share at which `curve` reaches PGR >= target (1.0 if never).
double CostToReach(std::span<const CurvePoint> curve, double target);

// All of the above. Fails when there are no outcomes or both models have equal quality (PGR is
// undefined then).
Result<Metrics> Evaluate(std::span<const Outcome> outcomes);

struct Calibration {
  double threshold = 0;
  double strong_share = 0;                                // realised on the calibration data
  double pgr = std::numeric_limits<double>::quiet_NaN();  // NaN when not computed
};

// Threshold routing about `share` of these scores to the strong model. Between two scores the
// midpoint is chosen, so unseen prompts near the boundary are not decided by float noise.
Result<Calibration> ThresholdForShare(std::span<const double> scores, double share);

// Threshold with the smallest strong share whose PGR reaches `target_pgr` on `outcomes`.
Result<Calibration> ThresholdForPgr(std::span<const Outcome> outcomes, double target_pgr);

}  // namespace hybridgate::learned
