// Training of the learned router: deterministic for a given seed (single-threaded SGD with a
// portable RNG, no unordered containers on the path), a few seconds on the 7.6k-prompt set.
#pragma once

#include <cstdint>

#include "common/result.h"
#include "learned/dataset.h"
#include "learned/model.h"

namespace hybridgate::learned {

struct TrainOptions {
  LabelNames labels;  // recorded in the model; the Dataset was loaded with them
  Target target = Target::kGain;
  uint64_t seed = 1;
  FeatureConfig features;

  // Main logistic regression (AdaGrad, L2 on touched weights). Defaults chosen by 5-fold CV on
  // the MMLU + GSM8K set (README.md): shared word weights overfit MMLU, so by default words enter
  // only through the subject model and the gated (per large domain) copies.
  uint32_t hash_bits = 18;
  uint32_t main_groups = 0;
  int epochs = 3;
  double learning_rate = 0.05;
  double l2 = 1e-4;
  // Independent SGD runs (different shuffles) averaged into one weight vector: less variance,
  // same scoring cost, because the model is linear in its weights.
  int bags = 4;

  // Subject model (softmax regression over Example::category); off when fewer than 2 categories.
  bool subject_model = true;
  uint32_t subject_bits = 15;
  uint32_t subject_groups = GroupBit(FeatureGroup::kWord) | GroupBit(FeatureGroup::kBigram);
  int subject_epochs = 8;
  double subject_learning_rate = 0.5;
  double subject_l2 = 1e-6;
  // The main model learns from out-of-fold subject posteriors, so it does not trust the
  // subject model more than it deserves on unseen prompts.
  int stack_folds = 5;
  // Categories holding at least this share of the examples get their own dense head.
  double gate_min_share = 0.05;
  // Sparse groups copied per gated class.
  uint32_t gated_groups = GroupBit(FeatureGroup::kWord) | GroupBit(FeatureGroup::kBigram);
};

Result<Model> Train(const Dataset& data, const TrainOptions& options);

// Maps raw label scores to [0, 1] by the common min-max range of both labels, then to the
// training target. Fails when the labels are constant.
Result<std::vector<float>> MakeTargets(const Dataset& data, Target target);

}  // namespace hybridgate::learned
