// What an eval run found, and how it is shown: a markdown report with an SVG chart, a JSON
// result (which a later run reads as its --baseline), and the check against that baseline.
// Pure functions of the result.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "quality/comparison.h"

namespace hybridgate::eval {

// One case answered by one model.
struct CaseResult {
  std::string id;
  bool ok = false;
  std::string error;  // when !ok: the gateway's error code and message
  std::string answer;
  int64_t latency_ms = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  std::string served_by;  // "provider/model" that answered (x-hybridgate-provider, -model)
  std::vector<quality::Score> scores;
  // The comparators asked for that gave no score (their model call failed or was refused, or
  // what they read was unusable): shown beside the scores, never silently left out.
  std::vector<std::string> unscored;
  // The mean of `scores`; a failed answer to a case that had something to score scores 0;
  // nullopt when the case had nothing to score it by (no reference, no schema).
  std::optional<double> score;
};

struct ModelResult {
  std::string model;
  std::vector<CaseResult> cases;
  // Over the scored cases: their mean score, and each comparator's mean.
  double score = 0;
  int scored = 0;
  int failed = 0;
  std::map<std::string, double> comparator_means;
  double cost_usd = 0;  // answers and the comparators' model calls, at the config's prices
  int64_t p50_latency_ms = 0;
};

struct EvalResult {
  std::string suite;
  int64_t time_unix_ms = 0;
  std::vector<ModelResult> models;
};

// Fills a model's summary from its cases.
void Summarize(ModelResult& m);

std::string RenderJson(const EvalResult& r);
std::string RenderMarkdown(const EvalResult& r, std::string_view svg_file);
// A bar chart of each model's score (0 to 1), with the baseline's score as a tick when given.
std::string RenderSvg(const EvalResult& r, const std::map<std::string, double>& baseline);
// The one-line-per-model table printed to stdout.
std::string RenderTable(const EvalResult& r);

// A baseline: each model's score from an earlier run's JSON result.
Result<std::map<std::string, double>> ParseBaseline(std::string_view json_text,
                                                    std::string_view name);
// One line per model that answered no case at all (a disabled provider, a refused key), naming
// its first error: the run says nothing about such a model's quality.
std::vector<std::string> Unanswered(const EvalResult& r);
// Whether `score` fell more than `max_drop` below `baseline` (a NaN score has).
bool Regressed(double score, double baseline, double max_drop);
// One line per model whose score fell more than `max_drop` below its baseline score (models
// the baseline does not know are not checked).
std::vector<std::string> Regressions(const EvalResult& r,
                                     const std::map<std::string, double>& baseline,
                                     double max_drop);

}  // namespace hybridgate::eval
