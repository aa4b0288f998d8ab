// The learned router model: a logistic regression over hashed prompt features, stacked on a
// subject classifier (softmax regression over the training data's categories) whose posterior
// tells the router how much the prompt's subject tends to need the strong model.
// A Model is immutable after construction; Score() is const, allocation-free and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "learned/dataset.h"
#include "learned/features.h"

namespace hybridgate::learned {

// What the router learns to predict; all map raw scores to [0, 1] first (min-max per label).
enum class Target : uint8_t {
  kGain,        // (strong - weak + 1) / 2: its expectation ranks prompts by expected gain
  kWeakWrong,   // 1 - weak
  kOnlyStrong,  // strong * (1 - weak): weak wrong and strong right
};
std::string_view TargetName(Target t);
Result<Target> ParseTarget(std::string_view name);

// Bit masks over FeatureGroup: bit i set = group i used.
inline constexpr uint32_t GroupBit(FeatureGroup g) { return 1u << static_cast<uint32_t>(g); }
inline constexpr uint32_t kAllGroups = 0xF;

// Everything a model holds. Plain data so that training and the file format can fill it.
struct ModelParams {
  LabelNames labels;
  Target target = Target::kGain;
  uint64_t seed = 0;
  FeatureConfig features;

  // Main model: weights over [2^hash_bits sparse buckets | kNumDense dense | C posteriors |
  // kNumDense per gated class]. A gated class (a large domain such as grade-school maths) gets
  // its own dense head, weighted by its posterior, because what makes a prompt hard differs by
  // domain and the shared head is dominated by the largest one.
  uint32_t hash_bits = 18;
  uint32_t main_groups = 0;
  std::array<float, kNumDense> dense_mean{};
  std::array<float, kNumDense> dense_scale{};  // 1 / stddev
  std::vector<float> weights;
  float bias = 0;

  // Subject model: softmax over `classes` from 2^subject_bits buckets; empty classes = none.
  uint32_t subject_bits = 15;
  uint32_t subject_groups = GroupBit(FeatureGroup::kWord) | GroupBit(FeatureGroup::kBigram);
  std::vector<std::string> classes;
  std::vector<uint32_t> gated_classes;  // indices into classes
  // Sparse groups that each gated class also gets its own copy of (hashed apart, weighted by
  // its posterior): word cues of difficulty are domain-specific too.
  uint32_t gated_groups = GroupBit(FeatureGroup::kWord) | GroupBit(FeatureGroup::kBigram);
  std::vector<float> subject_weights;  // [bucket][class], row-major
  std::vector<float> subject_bias;     // [class]

  size_t NumSparse() const { return size_t{1} << hash_bits; }
  size_t NumDenseBlock() const {
    return kNumDense + classes.size() + gated_classes.size() * kNumDense;
  }
  size_t NumMain() const { return NumSparse() + NumDenseBlock(); }
  size_t NumSubjectBuckets() const { return size_t{1} << subject_bits; }
};

// Checks sizes and ranges so that a Model never reads out of bounds.
Status ValidateParams(const ModelParams& p);

inline constexpr size_t kMaxClasses = 256;

// Hash of feature `h` in the private sparse space of gated class `gate`.
inline uint32_t GatedHash(uint32_t gate, uint32_t h) {
  return detail::Combine(0x6A7E0000u + gate, h);
}

class Model {
 public:
  // `params` must pass ValidateParams (Train and LoadModel guarantee it).
  explicit Model(ModelParams params) : p_(std::move(params)) {}

  // How much `prompt` needs the strong model, in (0, 1); higher = route to strong sooner.
  // Allocation-free and safe to call from many threads at once.
  double Score(std::string_view prompt) const;

  // The subject posterior for `prompt` (size = classes); for inspection and tests.
  std::vector<float> SubjectPosterior(std::string_view prompt) const;

  const ModelParams& params() const { return p_; }

 private:
  // Fills post[0..C) with the subject posterior; returns C.
  size_t Posterior(std::string_view prompt, float* post) const;
  // Logit contributions of the hashed (shared and gated) and the dense features.
  double SparseLogit(std::string_view prompt, const float* post) const;
  double DenseLogit(std::string_view prompt, const float* post) const;

  ModelParams p_;
};

}  // namespace hybridgate::learned
