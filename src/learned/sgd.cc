#include "learned/sgd.h"

#include <algorithm>
#include <cmath>

#include "learned/model.h"

namespace hybridgate::learned {

void Csr::AddRow(std::vector<std::pair<uint32_t, float>>& entries) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t k = 0; k < entries.size(); ++k) {
    if (k > 0 && entries[k].first == entries[k - 1].first) {
      value.back() += entries[k].second;
    } else {
      index.push_back(entries[k].first);
      value.push_back(entries[k].second);
    }
  }
  offsets.push_back(static_cast<uint32_t>(index.size()));
}

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Rng::Below(uint64_t n) { return Next() % n; }  // bias is negligible for n << 2^64

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

void Shuffle(std::vector<uint32_t>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
}

void HashedRow(std::string_view prompt, const FeatureConfig& cfg, uint32_t groups, uint32_t mask,
               std::vector<std::pair<uint32_t, float>>& out) {
  out.clear();
  ForEachSparseFeature(prompt, cfg, [&](FeatureGroup g, uint32_t h) {
    if ((groups & GroupBit(g)) == 0) return;
    out.emplace_back(h & mask, (h >> 31) ? -1.0f : 1.0f);
  });
  if (out.empty()) return;
  const float norm = 1.0f / std::sqrt(static_cast<float>(out.size()));
  for (auto& e : out) e.second *= norm;
}

void AppendGatedRow(std::string_view prompt, const FeatureConfig& cfg, uint32_t groups,
                    uint32_t mask, uint32_t gate, float weight,
                    std::vector<std::pair<uint32_t, float>>& out) {
  const size_t start = out.size();
  ForEachSparseFeature(prompt, cfg, [&](FeatureGroup g, uint32_t h) {
    if ((groups & GroupBit(g)) == 0) return;
    const uint32_t gh = GatedHash(gate, h);
    out.emplace_back(gh & mask, (gh >> 31) ? -1.0f : 1.0f);
  });
  const size_t count = out.size() - start;
  if (count == 0) return;
  const float scale = weight / std::sqrt(static_cast<float>(count));
  for (size_t k = start; k < out.size(); ++k) out[k].second *= scale;
}

namespace {

// One AdaGrad step on weight `w` with accumulator `g2`; L2 is applied only when a weight is
// touched ("lazy"), which keeps a step proportional to the row length, not the model size.
inline void AdaStep(float& w, float& g2, double grad, double lr, double l2) {
  grad += l2 * w;
  g2 += static_cast<float>(grad * grad);
  w -= static_cast<float>(lr * grad / (std::sqrt(static_cast<double>(g2)) + 1e-8));
}

}  // namespace

void TrainLogistic(const Csr& sparse, const std::vector<float>& dense, size_t dense_dim,
                   std::span<const uint32_t> rows, const std::vector<float>& y, size_t dim,
                   const SgdOptions& o, Rng& rng, std::vector<float>& w, float& bias) {
  w.assign(dim, 0.0f);
  std::vector<float> g2(dim, 0.0f);
  float bias_g2 = 0;
  bias = 0;
  const size_t dense_at = dim - dense_dim;
  std::vector<uint32_t> order(rows.begin(), rows.end());
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    Shuffle(order, rng);
    for (uint32_t r : order) {
      const uint32_t lo = sparse.offsets[r], hi = sparse.offsets[r + 1];
      const float* d = dense.data() + static_cast<size_t>(r) * dense_dim;
      double z = bias;
      for (uint32_t k = lo; k < hi; ++k) z += w[sparse.index[k]] * sparse.value[k];
      for (size_t j = 0; j < dense_dim; ++j) z += w[dense_at + j] * d[j];
      const double p = 1.0 / (1.0 + std::exp(-z));
      const double g = p - y[r];
      for (uint32_t k = lo; k < hi; ++k) {
        const uint32_t i = sparse.index[k];
        AdaStep(w[i], g2[i], g * sparse.value[k], o.learning_rate, o.l2);
      }
      for (size_t j = 0; j < dense_dim; ++j) {
        AdaStep(w[dense_at + j], g2[dense_at + j], g * d[j], o.learning_rate, o.l2);
      }
      AdaStep(bias, bias_g2, g, o.learning_rate, 0.0);
    }
  }
}

void PredictSoftmax(const Csr& x, uint32_t r, const std::vector<float>& w,
                    const std::vector<float>& b, size_t classes, float* post) {
  std::copy(b.begin(), b.end(), post);
  for (uint32_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
    const float* row = w.data() + static_cast<size_t>(x.index[k]) * classes;
    const float v = x.value[k];
    for (size_t c = 0; c < classes; ++c) post[c] += v * row[c];
  }
  const float mx = *std::max_element(post, post + classes);
  float sum = 0;
  for (size_t c = 0; c < classes; ++c) sum += (post[c] = std::exp(post[c] - mx));
  for (size_t c = 0; c < classes; ++c) post[c] /= sum;
}

void TrainSoftmax(const Csr& x, std::span<const uint32_t> rows, const std::vector<int>& label,
                  size_t buckets, size_t classes, const SgdOptions& o, Rng& rng,
                  std::vector<float>& w, std::vector<float>& b) {
  w.assign(buckets * classes, 0.0f);
  b.assign(classes, 0.0f);
  std::vector<float> g2(w.size(), 0.0f), b_g2(classes, 0.0f), post(classes);
  std::vector<uint32_t> order(rows.begin(), rows.end());
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    Shuffle(order, rng);
    for (uint32_t r : order) {
      PredictSoftmax(x, r, w, b, classes, post.data());
      post[static_cast<size_t>(label[r])] -= 1.0f;  // now the gradient of the logits
      // Float and branch-free so the class loop vectorises: this is most of the training time.
      const float lr = static_cast<float>(o.learning_rate), l2 = static_cast<float>(o.l2);
      for (uint32_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
        float* wr = w.data() + static_cast<size_t>(x.index[k]) * classes;
        float* gr = g2.data() + static_cast<size_t>(x.index[k]) * classes;
        const float* gp = post.data();
        const float v = x.value[k];
        for (size_t c = 0; c < classes; ++c) {
          const float grad = gp[c] * v + l2 * wr[c];
          gr[c] += grad * grad;
          wr[c] -= lr * grad / (std::sqrt(gr[c]) + 1e-8f);
        }
      }
      for (size_t c = 0; c < classes; ++c) AdaStep(b[c], b_g2[c], post[c], o.learning_rate, 0.0);
    }
  }
}

}  // namespace hybridgate::learned
