// Offline quality of the heuristic complexity classifier on RouteLLM-style data
// (shared/data/routing/README.md): its score routes a prompt to the strong model when above a
// threshold, and APGR/CPT are measured per benchmark exactly as for the learned router
// (src/learned/metrics.h), next to the prompt-length and random baselines.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "learned/evaluation.h"

namespace hybridgate::complexity {

// Heuristic scores (HeuristicClassifier::ScorePrompt) of every example, in order.
std::vector<double> HeuristicScores(const learned::Dataset& data);

// Per-benchmark reports for the heuristic, prompt length and random (mean of 20 draws).
Result<std::vector<learned::BenchmarkReport>> EvaluateHeuristic(const learned::Dataset& data);

// Loads `data_path` (JSONL) and returns the report as a fixed-width text table.
Result<std::string> RunComplexityEval(const std::string& data_path);

}  // namespace hybridgate::complexity
