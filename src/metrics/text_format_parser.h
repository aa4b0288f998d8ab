// Test-only strict parser for the Prometheus text exposition format 0.0.4, used by metrics_test to
// check what Metrics::Serialize renders: metadata lines, names, label syntax and escaping, float
// values, family grouping and histogram invariants. Stricter than Prometheus itself where the
// format leaves room (e.g. it requires TYPE before samples and a final newline).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hybridgate::metrics::testing {

using LabelMap = std::map<std::string, std::string>;

struct Sample {
  std::string name;  // full sample name, e.g. foo_bucket
  LabelMap labels;
  double value = 0;
};

struct FamilyText {
  std::string type;  // counter | gauge | histogram | summary | untyped
  std::string help;
  std::vector<Sample> samples;
};

struct Exposition {
  std::map<std::string, FamilyText> families;

  // The value of the sample `name` with exactly `labels`, or NaN if there is none.
  double Value(std::string_view name, const LabelMap& labels = {}) const;
};

// Parses and validates `text`; the error message names the offending line.
Result<Exposition> ParseTextFormat(std::string_view text);

}  // namespace hybridgate::metrics::testing
