#include "learned/train.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <utility>

#include "learned/sgd.h"

namespace hybridgate::learned {
namespace {

Error Invalid(std::string msg) { return MakeError(ErrorCode::kInvalidRequest, std::move(msg)); }

Status CheckOptions(const TrainOptions& o) {
  if (o.hash_bits < 10 || o.hash_bits > 24) return Fail(Invalid("hash_bits must be in [10, 24]"));
  if (o.subject_bits < 8 || o.subject_bits > 20) {
    return Fail(Invalid("subject_bits must be in [8, 20]"));
  }
  if (o.epochs < 1 || o.subject_epochs < 1 || o.bags < 1 || o.bags > 64) {
    return Fail(Invalid("epochs and bags must be positive (bags <= 64)"));
  }
  if (!(o.learning_rate > 0) || !(o.subject_learning_rate > 0) || !(o.l2 >= 0) ||
      !(o.subject_l2 >= 0)) {
    return Fail(Invalid("learning rates must be positive and L2 non-negative"));
  }
  if (o.stack_folds < 2 || o.stack_folds > 20)
    return Fail(Invalid("stack_folds must be in [2, 20]"));
  return {};
}

// The subject model: classes, per-example class ids, and its hashed rows.
struct SubjectData {
  std::vector<std::string> classes;
  std::vector<int> label;
  Csr rows;
};

SubjectData BuildSubjectData(const Dataset& data, const ModelParams& p) {
  SubjectData s;
  std::map<std::string, int> ids;  // ordered: class order must not depend on hashing
  for (const Example& e : data.examples) ids.emplace(e.category, 0);
  for (auto& [name, id] : ids) {
    id = static_cast<int>(s.classes.size());
    s.classes.push_back(name);
  }
  if (s.classes.size() < 2 || s.classes.size() > kMaxClasses) {
    s.classes.clear();
    return s;
  }
  std::vector<std::pair<uint32_t, float>> scratch;
  for (const Example& e : data.examples) {
    s.label.push_back(ids[e.category]);
    HashedRow(e.prompt, p.features, p.subject_groups,
              static_cast<uint32_t>(p.NumSubjectBuckets() - 1), scratch);
    s.rows.AddRow(scratch);
  }
  return s;
}

// Out-of-fold posteriors for every example (n x C), then the final subject model on all data.
std::vector<float> TrainSubject(const Dataset& data, const TrainOptions& o, const SubjectData& s,
                                ModelParams& p) {
  const size_t n = data.examples.size();
  const size_t c = s.classes.size();
  const size_t buckets = p.NumSubjectBuckets();
  const SgdOptions sgd{o.subject_epochs, o.subject_learning_rate, o.subject_l2};
  std::vector<float> oof(n * c, 0.0f);
  for (int f = 0; f < o.stack_folds; ++f) {
    std::vector<uint32_t> train_rows, test_rows;
    for (uint32_t i = 0; i < n; ++i) {
      (FoldOf(data.examples[i], o.stack_folds, o.seed + 7919) == f ? test_rows : train_rows)
          .push_back(i);
    }
    if (train_rows.empty() || test_rows.empty()) continue;
    std::vector<float> w, b;
    Rng rng(o.seed * 1315423911u + static_cast<uint64_t>(f));
    TrainSoftmax(s.rows, train_rows, s.label, buckets, c, sgd, rng, w, b);
    for (uint32_t i : test_rows) PredictSoftmax(s.rows, i, w, b, c, &oof[i * c]);
  }
  Rng rng(o.seed * 1315423911u + 1000003u);
  std::vector<uint32_t> all(n);
  for (uint32_t i = 0; i < n; ++i) all[i] = i;
  TrainSoftmax(s.rows, all, s.label, buckets, c, sgd, rng, p.subject_weights, p.subject_bias);
  p.classes = s.classes;
  return oof;
}

// Standardised structural features, with mean and 1/stddev stored into `p`.
std::vector<float> BuildDense(const Dataset& data, ModelParams& p) {
  const size_t n = data.examples.size();
  std::vector<DenseFeatures> raw(n);
  for (size_t i = 0; i < n; ++i) ExtractDense(data.examples[i].prompt, raw[i]);
  std::vector<float> out(n * kNumDense);
  for (int j = 0; j < kNumDense; ++j) {
    double sum = 0, sq = 0;
    for (const auto& r : raw) sum += r[j];
    const double mean = sum / static_cast<double>(n);
    for (const auto& r : raw) sq += (r[j] - mean) * (r[j] - mean);
    const double sd = std::sqrt(sq / static_cast<double>(n));
    p.dense_mean[j] = static_cast<float>(mean);
    p.dense_scale[j] = sd > 1e-6 ? static_cast<float>(1.0 / sd) : 0.0f;
    for (size_t i = 0; i < n; ++i) {
      out[i * kNumDense + j] = (raw[i][j] - p.dense_mean[j]) * p.dense_scale[j];
    }
  }
  return out;
}

std::vector<uint32_t> GatedClasses(const Dataset& data, const std::vector<std::string>& classes,
                                   double min_share) {
  std::vector<uint32_t> gated;
  for (uint32_t k = 0; k < classes.size(); ++k) {
    size_t count = 0;
    for (const Example& e : data.examples) count += e.category == classes[k] ? 1 : 0;
    if (static_cast<double>(count) >= min_share * static_cast<double>(data.examples.size())) {
      gated.push_back(k);
    }
  }
  return gated;
}

// Hashed rows of the main model: shared groups, then a posterior-weighted copy per gated class.
Csr BuildMainRows(const Dataset& data, const ModelParams& p, const std::vector<float>& posteriors) {
  const size_t c = p.classes.size();
  Csr sparse;
  std::vector<std::pair<uint32_t, float>> scratch;
  for (const Example& e : data.examples) {
    const auto mask = static_cast<uint32_t>(p.NumSparse() - 1);
    HashedRow(e.prompt, p.features, p.main_groups, mask, scratch);
    const size_t i = sparse.Rows();
    for (size_t k = 0; p.gated_groups != 0 && k < p.gated_classes.size(); ++k) {
      const uint32_t g = p.gated_classes[k];
      AppendGatedRow(e.prompt, p.features, p.gated_groups, mask, g, posteriors[i * c + g], scratch);
    }
    sparse.AddRow(scratch);
  }

  return sparse;
}

}  // namespace

Result<std::vector<float>> MakeTargets(const Dataset& data, Target target) {
  double lo = 1e300, hi = -1e300;
  for (const Example& e : data.examples) {
    lo = std::min({lo, e.weak, e.strong});
    hi = std::max({hi, e.weak, e.strong});
  }
  if (!(hi > lo)) {
    return Fail(
        Invalid(fmt::format("{}: every label score is {}; nothing to learn", data.source, lo)));
  }
  std::vector<float> y;
  y.reserve(data.examples.size());
  for (const Example& e : data.examples) {
    const double w = (e.weak - lo) / (hi - lo);
    const double s = (e.strong - lo) / (hi - lo);
    double v = 0;
    switch (target) {
      case Target::kGain:
        v = (s - w + 1) / 2;
        break;
      case Target::kWeakWrong:
        v = 1 - w;
        break;
      case Target::kOnlyStrong:
        v = s * (1 - w);
        break;
    }
    y.push_back(static_cast<float>(v));
  }
  return y;
}

Result<Model> Train(const Dataset& data, const TrainOptions& o) {
  if (Status s = CheckOptions(o); !s) return Fail(s.error());
  if (data.examples.size() < 2) return Fail(Invalid("need at least 2 examples to train"));
  auto y = MakeTargets(data, o.target);
  if (!y) return Fail(y.error());

  ModelParams p;
  p.labels = o.labels;
  p.target = o.target;
  p.seed = o.seed;
  p.features = o.features;
  p.hash_bits = o.hash_bits;
  p.main_groups = o.main_groups;
  p.subject_bits = o.subject_bits;
  p.subject_groups = o.subject_groups;
  p.gated_groups = o.gated_groups;

  const size_t n = data.examples.size();
  std::vector<float> posteriors;
  if (o.subject_model) {
    SubjectData s = BuildSubjectData(data, p);
    if (!s.classes.empty()) posteriors = TrainSubject(data, o, s, p);
  }
  const size_t c = p.classes.size();
  if (c > 0) p.gated_classes = GatedClasses(data, p.classes, o.gate_min_share);

  // Dense block per example: standardised structure, subject posterior, gated heads.
  const std::vector<float> dense = BuildDense(data, p);
  const size_t dense_dim = p.NumDenseBlock();
  std::vector<float> block(n * dense_dim);
  for (size_t i = 0; i < n; ++i) {
    float* row = &block[i * dense_dim];
    std::copy_n(&dense[i * kNumDense], kNumDense, row);
    if (c > 0) std::copy_n(&posteriors[i * c], c, row + kNumDense);
    float* gated = row + kNumDense + c;
    for (uint32_t g : p.gated_classes) {
      for (int j = 0; j < kNumDense; ++j) *gated++ = posteriors[i * c + g] * row[j];
    }
  }
  const Csr sparse = BuildMainRows(data, p, posteriors);
  std::vector<uint32_t> all(n);
  for (uint32_t i = 0; i < n; ++i) all[i] = i;
  const SgdOptions sgd{o.epochs, o.learning_rate, o.l2};
  std::vector<double> sum(p.NumMain(), 0.0);
  double bias_sum = 0;
  for (int b = 0; b < o.bags; ++b) {
    Rng rng(o.seed * 2654435761u + static_cast<uint64_t>(b));
    std::vector<float> w;
    float bias = 0;
    TrainLogistic(sparse, block, dense_dim, all, *y, p.NumMain(), sgd, rng, w, bias);
    for (size_t k = 0; k < w.size(); ++k) sum[k] += w[k];
    bias_sum += bias;
  }
  p.weights.resize(p.NumMain());
  for (size_t k = 0; k < sum.size(); ++k) p.weights[k] = static_cast<float>(sum[k] / o.bags);
  p.bias = static_cast<float>(bias_sum / o.bags);
  if (Status s = ValidateParams(p); !s) return Fail(s.error());
  return Model(std::move(p));
}

}  // namespace hybridgate::learned
