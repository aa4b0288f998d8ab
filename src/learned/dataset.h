// Routing training data: one JSON object a line with a prompt and per-model quality scores (see
// shared/data/routing/README.md). Loading validates every line and reports the first bad one as
// "file:line: what is wrong", so a user can fix the data instead of guessing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hybridgate::learned {

struct Example {
  std::string id;
  std::string benchmark;  // "" when the line has none; evaluation then groups it under "all"
  std::string category;   // "" when the line has none; only used for the subject model
  std::string prompt;
  double weak = 0;    // raw score of the weak model (0/1 correctness or a graded rating)
  double strong = 0;  // raw score of the strong model
};

struct Dataset {
  std::vector<Example> examples;
  std::string source;  // file name, for messages
};

struct LabelNames {
  std::string weak = "weak";
  std::string strong = "strong";
};

// Reads labelled examples. Every line needs "id" (string or number), "prompt" (string) and
// "scores" holding numbers under both label names; "benchmark" and "category" are optional.
// Blank lines are skipped; an empty file is an error.
Result<Dataset> LoadDataset(const std::string& path, const LabelNames& labels = {});

// Parses labelled examples from in-memory JSONL text; `source` names it in error messages.
Result<Dataset> ParseDataset(std::string_view text, std::string_view source,
                             const LabelNames& labels = {});

struct PromptLine {
  std::string id;
  std::string prompt;
};

// Reads unlabelled {"id","prompt"} lines (other fields are ignored) for scoring.
Result<std::vector<PromptLine>> LoadPrompts(const std::string& path);
Result<std::vector<PromptLine>> ParsePrompts(std::string_view text, std::string_view source);

// Stable 64-bit FNV-1a hash; used for folds and seeds so results do not depend on the platform.
uint64_t StableHash(std::string_view s, uint64_t seed = 0);

// Fold of an example for k-fold cross-validation: by prompt hash, so duplicated prompts never
// straddle train and test.
int FoldOf(const Example& e, int k, uint64_t seed = 0);

}  // namespace hybridgate::learned
