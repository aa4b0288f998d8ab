// Router training data from the company's own traffic: the shadowed requests in the quality
// store (quality/store.h) as labelled Examples, for `router train --comparisons`. Each stored
// comparison whose request was kept as text, and whose two answers were scored, gives one:
//   - prompt: the request's PromptText (classify/complexity/classifier.h), decoded from the
//     stored OpenAI chat body — the text the learned classifier scores when it routes (the
//     stored question, the last user message, when the body does not decode);
//   - the shadow deployment (the cheaper candidate) plays the weak model, the primary the strong
//     one: strong 1, and weak 1 when the shadow's answer scored at least as well as the
//     primary's — "weak suffices": a `judge` score >= 0.5, else, with no judge score, an `exact`
//     score of 1 — else weak 0;
//   - id: "<request id>/<shadow deployment>"; benchmark: the route (evaluation groups by it).
// Comparisons whose request was kept only as a hash, stored without one, with a failed answer
// or with neither score give none; they are counted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "learned/dataset.h"
#include "quality/store.h"

namespace hybridgate::learned {

// Whether the shadow's answer was at least as good as the primary's; nullopt when the
// comparison cannot say (an answer failed, or neither a judge nor an exact score).
std::optional<bool> WeakSuffices(const quality::Comparison& c);

struct ComparisonExamples {
  Dataset data;
  int64_t weak_suffices = 0;  // examples labelled weak 1
  int64_t strong_needed = 0;  // examples labelled weak 0
  int64_t hashed = 0;         // request kept only as a hash (data class above the store's)
  int64_t no_request = 0;     // stored before requests were kept
  int64_t unscored = 0;       // an answer failed, or no judge or exact score
};

// The examples `rows` give, keeping those of `route` and `shadow` (a deployment,
// "provider/model"; "" every route / every shadow).
ComparisonExamples ExamplesFromComparisons(std::span<const quality::StoredComparison> rows,
                                           std::string_view route, std::string_view shadow);

struct ComparisonQuery {
  std::string config;   // the gateway config: its quality store
  std::string route;    // "" every route
  std::string shadow;   // "" every shadow deployment
  std::string since;    // "" every row; else "30d", "24h", ...
  int64_t now_ms = -1;  // "now" for since; -1 the system clock
};

// Reads the store `query.config` names and labels its comparisons. An error when the config,
// the store or the window is bad, or when the route is not in the config.
Result<ComparisonExamples> LoadComparisonExamples(const ComparisonQuery& query);

// One line for stderr: how many examples, how labelled, and what was skipped and why.
std::string DescribeComparisonExamples(const ComparisonExamples& e);

}  // namespace hybridgate::learned
