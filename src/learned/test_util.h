// Synthetic routing data for the tests: two subjects, and "hard" cue words that make the weak
// model fail where the strong one succeeds, so a working router must learn them.
#pragma once

#include <string>

#include "learned/dataset.h"
#include "learned/train.h"

namespace hybridgate::learned::testing {

inline Dataset SyntheticDataset(int n, int offset = 0) {
  static const char* kEasy[] = {"apple", "river", "table", "green", "music", "house"};
  static const char* kHard[] = {"integral", "theorem", "eigenvalue", "entropy"};
  Dataset ds;
  ds.source = "synthetic";
  for (int i = offset; i < offset + n; ++i) {
    Example e;
    e.id = "s/" + std::to_string(i);
    const bool maths = i % 3 == 0;
    e.benchmark = maths ? "maths" : "trivia";
    e.category = maths ? "algebra" : "general";
    const bool hard = (i * 7919 % 11) < 4;
    e.prompt = "Question " + std::to_string(i) + ": " + kEasy[i % 6] + " and " + kEasy[(i / 6) % 6];
    if (hard) e.prompt += std::string(" with ") + kHard[i % 4];
    e.prompt += maths ? " compute 12 + 30?\nA. 1\nB. 2\nAnswer:" : " which one?\nA. x\nB. y";
    e.weak = hard ? 0 : 1;
    e.strong = hard ? 1 : (i % 5 == 0 ? 0 : 1);
    ds.examples.push_back(std::move(e));
  }
  return ds;
}

// Small and quick enough for a sanitizer build.
inline TrainOptions SmallOptions() {
  TrainOptions o;
  o.hash_bits = 12;
  o.subject_bits = 10;
  o.stack_folds = 2;
  o.subject_epochs = 3;
  o.epochs = 4;
  o.bags = 2;
  o.gate_min_share = 0.2;
  return o;
}

}  // namespace hybridgate::learned::testing
