#include "classify/complexity/eval.h"

#include "classify/complexity/heuristic.h"

namespace hybridgate::complexity {

std::vector<double> HeuristicScores(const learned::Dataset& data) {
  std::vector<double> out;
  out.reserve(data.examples.size());
  for (const learned::Example& e : data.examples) {
    out.push_back(HeuristicClassifier::ScorePrompt(e.prompt));
  }
  return out;
}

Result<std::vector<learned::BenchmarkReport>> EvaluateHeuristic(const learned::Dataset& data) {
  std::vector<learned::ScoredRouter> routers;
  routers.push_back({"heuristic complexity", HeuristicScores(data)});
  routers.push_back({"prompt length", learned::LengthScores(data)});
  return learned::EvaluateByBenchmark(data, routers);
}

Result<std::string> RunComplexityEval(const std::string& data_path) {
  auto data = learned::LoadDataset(data_path);
  if (!data) return Fail(std::move(data.error()));
  auto reports = EvaluateHeuristic(*data);
  if (!reports) return Fail(std::move(reports.error()));
  return learned::FormatReport(*reports);
}

}  // namespace hybridgate::complexity
