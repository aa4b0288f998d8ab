#include "learned/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hybridgate::learned {

std::string_view TargetName(Target t) {
  switch (t) {
    case Target::kGain:
      return "gain";
    case Target::kWeakWrong:
      return "weak_wrong";
    case Target::kOnlyStrong:
      return "only_strong";
  }
  return "gain";
}

Result<Target> ParseTarget(std::string_view name) {
  for (Target t : {Target::kGain, Target::kWeakWrong, Target::kOnlyStrong}) {
    if (TargetName(t) == name) return t;
  }
  return Fail(
      MakeError(ErrorCode::kInvalidRequest,
                fmt::format("unknown target \"{}\" (gain, weak_wrong, only_strong)", name)));
}

Status ValidateParams(const ModelParams& p) {
  auto bad = [](std::string msg) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, std::move(msg)));
  };
  if (p.hash_bits < 4 || p.hash_bits > 26)
    return bad(fmt::format("hash_bits {} out of range", p.hash_bits));
  if (p.subject_bits < 4 || p.subject_bits > 24) {
    return bad(fmt::format("subject_bits {} out of range", p.subject_bits));
  }
  if (p.classes.size() > kMaxClasses) return bad("too many subject classes");
  for (uint32_t g : p.gated_classes) {
    if (g >= p.classes.size()) return bad("gated class index out of range");
  }
  if (p.weights.size() != p.NumMain()) return bad("main weight count does not match the layout");
  const size_t subject = p.classes.empty() ? 0 : p.NumSubjectBuckets() * p.classes.size();
  if (p.subject_weights.size() != subject || p.subject_bias.size() != p.classes.size()) {
    return bad("subject weight count does not match the layout");
  }
  if (p.features.char_ngram_min < 0 || p.features.char_ngram_max > 16 ||
      (p.features.char_ngram_min > 0 && p.features.char_ngram_max < p.features.char_ngram_min)) {
    return bad("character n-gram range is invalid");
  }
  auto finite = [](float v) { return std::isfinite(v); };
  if (!std::all_of(p.weights.begin(), p.weights.end(), finite) ||
      !std::all_of(p.subject_weights.begin(), p.subject_weights.end(), finite) ||
      !std::all_of(p.dense_scale.begin(), p.dense_scale.end(), finite) || !std::isfinite(p.bias)) {
    return bad("model holds a non-finite weight");
  }
  return {};
}

size_t Model::Posterior(std::string_view prompt, float* post) const {
  const size_t c = p_.classes.size();
  if (c == 0) return 0;
  const uint32_t mask = static_cast<uint32_t>(p_.NumSubjectBuckets() - 1);
  std::fill(post, post + c, 0.0f);
  uint32_t count = 0;
  ForEachSparseFeature(prompt, p_.features, [&](FeatureGroup g, uint32_t h) {
    if ((p_.subject_groups & GroupBit(g)) == 0) return;
    const float* row = p_.subject_weights.data() + static_cast<size_t>(h & mask) * c;
    const float sign = (h >> 31) ? -1.0f : 1.0f;
    for (size_t k = 0; k < c; ++k) post[k] += sign * row[k];
    ++count;
  });
  const float norm = count == 0 ? 0.0f : 1.0f / std::sqrt(static_cast<float>(count));
  float max_logit = -1e30f;
  for (size_t k = 0; k < c; ++k) {
    post[k] = post[k] * norm + p_.subject_bias[k];
    max_logit = std::max(max_logit, post[k]);
  }
  float sum = 0;
  for (size_t k = 0; k < c; ++k) {
    post[k] = std::exp(post[k] - max_logit);
    sum += post[k];
  }
  for (size_t k = 0; k < c; ++k) post[k] /= sum;
  return c;
}

double Model::SparseLogit(std::string_view prompt, const float* post) const {
  const uint32_t mask = static_cast<uint32_t>(p_.NumSparse() - 1);
  const size_t num_gated = p_.gated_groups == 0 ? 0 : p_.gated_classes.size();
  double shared = 0;
  double gated[kMaxClasses];
  std::fill_n(gated, num_gated, 0.0);
  uint32_t shared_count = 0, gated_count = 0;
  ForEachSparseFeature(prompt, p_.features, [&](FeatureGroup g, uint32_t h) {
    if ((p_.main_groups & GroupBit(g)) != 0) {
      const float w = p_.weights[h & mask];
      shared += (h >> 31) ? -w : w;
      ++shared_count;
    }
    if (num_gated > 0 && (p_.gated_groups & GroupBit(g)) != 0) {
      for (size_t k = 0; k < num_gated; ++k) {
        const uint32_t gh = GatedHash(p_.gated_classes[k], h);
        const float w = p_.weights[gh & mask];
        gated[k] += (gh >> 31) ? -w : w;
      }
      ++gated_count;
    }
  });
  // Same normalisation as training (sgd.cc HashedRow / AppendGatedRow): 1 / sqrt(count).
  double z = 0;
  if (shared_count > 0) z += shared / std::sqrt(static_cast<double>(shared_count));
  if (gated_count > 0) {
    const float norm = 1.0f / std::sqrt(static_cast<float>(gated_count));
    for (size_t k = 0; k < num_gated; ++k) {
      z += static_cast<double>(post[p_.gated_classes[k]] * norm) * gated[k];
    }
  }
  return z;
}

double Model::DenseLogit(std::string_view prompt, const float* post) const {
  DenseFeatures dense;
  ExtractDense(prompt, dense);
  const float* w = p_.weights.data() + p_.NumSparse();
  double z = 0;
  for (int j = 0; j < kNumDense; ++j) {
    dense[j] = (dense[j] - p_.dense_mean[j]) * p_.dense_scale[j];
    z += w[j] * dense[j];
  }
  w += kNumDense;
  const size_t c = p_.classes.size();
  for (size_t k = 0; k < c; ++k) z += w[k] * post[k];
  w += c;
  for (uint32_t g : p_.gated_classes) {
    double head = 0;
    for (int j = 0; j < kNumDense; ++j) head += w[j] * dense[j];
    z += post[g] * head;
    w += kNumDense;
  }
  return z;
}

double Model::Score(std::string_view prompt) const {
  float post[kMaxClasses];
  Posterior(prompt, post);
  const double z = p_.bias + SparseLogit(prompt, post) + DenseLogit(prompt, post);
  return 1.0 / (1.0 + std::exp(-z));
}

std::vector<float> Model::SubjectPosterior(std::string_view prompt) const {
  std::vector<float> post(p_.classes.size());
  if (!post.empty()) Posterior(prompt, post.data());
  return post;
}

}  // namespace hybridgate::learned
