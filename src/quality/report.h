// `hybridgate quality report`: quality per route and shadow deployment, from the comparison store
// (store.h), the feedback (feedback.h) and the ledger. BuildQualityReport is pure arithmetic over
// its input, so every number can be recomputed from the rows:
//   - a comparator's mean is over the comparisons it scored (both answers ok), each in [0, 1];
//     its 95% interval is Wilson's score interval when every score is 0 or 1 (exact match,
//     thumbs), else the normal approximation mean ± 1.96·s/√n with s the sample standard
//     deviation, clipped to [0, 1] ([0, 1] for a single non-binary score);
//   - win/tie/loss of the shadow against the primary come from the first pairwise comparator in
//     kPairwiseRules that scored the comparison (undecided when none did);
//   - cost per 1k requests is the mean cost of the shadowed requests ×1000, for the primary's
//     answers and the shadow's alike (the same requests, so the two compare); for a route's
//     feedback line it is the cost of the route's answered requests in the ledger;
//   - cost per quality point is that cost per 1k over the mean score (none when the mean is 0);
//   - feedback scores are put on a 0..1 scale (a thumbs down, -1, counts as 0); the feedback rate
//     is the share of the route's answered requests (ledger rows with a 2xx status, shadow calls
//     excluded) that got at least one rating.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/cli.h"
#include "ledger/row.h"
#include "quality/feedback.h"
#include "quality/store.h"

namespace hybridgate::quality {

// How a comparator's score reads as a verdict on the shadow against the primary, one row each.
enum class PairwiseKind {
  kVerdict,     // 1 the shadow is better, 0.5 a tie, 0 the primary is better (a judge)
  kTieWhenOne,  // 1 is a tie (the same answer); anything else says nothing about which is better
};
struct PairwiseRule {
  std::string_view comparator;
  PairwiseKind kind;
};
inline constexpr PairwiseRule kPairwiseRules[] = {
    {"judge", PairwiseKind::kVerdict},
    {"exact", PairwiseKind::kTieWhenOne},
};

enum class Pairwise { kUndecided, kWin, kTie, kLoss };
Pairwise PairwiseOf(const Comparison& c);

// A mean score with its 95% interval.
struct MeanScore {
  int64_t n = 0;
  double mean = 0;
  double low = 0;
  double high = 0;
  std::string_view interval;  // "wilson" | "normal"; "" when n is 0
};
MeanScore Summarize(std::span<const double> scores);

// A route's requests in the ledger (shadow calls excluded): those answered (2xx) and their cost.
struct RouteTraffic {
  int64_t answered = 0;
  double cost_usd = 0;
};
// Counts one ledger row into `traffic` (by its route).
void CountTraffic(const ledger::Row& row,
                  std::map<std::string, RouteTraffic, std::less<>>& traffic);

struct ReportInput {
  int64_t since_ms = 0;
  std::string route;  // only this route; "" every route
  std::vector<StoredComparison> comparisons;
  std::vector<Feedback> feedback;
  // From the ledger; nullopt when it is disabled (no rates, no route costs).
  std::optional<std::map<std::string, RouteTraffic, std::less<>>> traffic;
};

struct ComparatorStats {
  std::string comparator;
  MeanScore score;
  std::optional<double> usd_per_quality_point;  // the shadow's cost per 1k over the mean
};

struct ShadowStats {
  std::string deployment;
  std::vector<std::string> primaries;  // the deployments that answered the client
  int64_t shadowed = 0;                // comparisons stored
  int64_t compared = 0;                // both answered, so scored
  int64_t shadow_failed = 0;
  int64_t win = 0, tie = 0, loss = 0, undecided = 0;  // over the compared
  double primary_usd_per_1k = 0;
  double shadow_usd_per_1k = 0;
  std::vector<ComparatorStats> comparators;  // by name
};

struct RouteStats {
  std::string route;
  std::optional<int64_t> answered;              // nullopt without a ledger
  std::optional<double> usd_per_1k;             // the route's answered requests, from the ledger
  int64_t feedback_count = 0;                   // ratings
  int64_t rated_requests = 0;                   // requests with at least one
  std::optional<double> feedback_rate;          // rated_requests / answered
  MeanScore feedback;                           // on the 0..1 scale
  std::optional<double> usd_per_quality_point;  // usd_per_1k / feedback mean
  std::vector<ShadowStats> shadows;             // by deployment
};

struct QualityReport {
  int64_t since_ms = 0;
  std::vector<RouteStats> routes;  // by name: those with comparisons or feedback (or --route)
};

QualityReport BuildQualityReport(const ReportInput& input);

// The columns `hybridgate report --by route` joins onto its routes (ledger/cli.h), one line per
// shadow deployment: the deployment, comparisons stored and compared, the headline comparator
// (the first of kPairwiseRules that scored any, else the first by name) with its mean score,
// win/tie/loss and the shadow's cost per quality point by it. Table cells are rounded as in
// RenderQualityTable, CSV cells are exact.
ledger::JoinedColumns ReportJoinColumns(const QualityReport& report);

std::string RenderQualityJson(const QualityReport& report);
std::string RenderQualityTable(const QualityReport& report);
std::string RenderQualityCsv(const QualityReport& report);

}  // namespace hybridgate::quality
