// Building blocks of training: a compact sparse row store, a portable RNG (std:: distributions
// differ between standard libraries, which would break same-seed-same-model), and AdaGrad SGD
// for logistic and softmax regression.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "learned/features.h"

namespace hybridgate::learned {

// Compressed sparse rows: row r holds index/value[offsets[r] .. offsets[r+1]).
struct Csr {
  std::vector<uint32_t> offsets{0};
  std::vector<uint32_t> index;
  std::vector<float> value;

  size_t Rows() const { return offsets.size() - 1; }
  // Appends a row; sorts `entries` and merges duplicate indices.
  void AddRow(std::vector<std::pair<uint32_t, float>>& entries);
};

// splitmix64: tiny, fast, identical everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  uint64_t Below(uint64_t n);  // uniform in [0, n), n > 0
  double Uniform();            // [0, 1)

 private:
  uint64_t state_;
};

void Shuffle(std::vector<uint32_t>& v, Rng& rng);

// The hashed features of `prompt` in `groups`, as the scorer sees them: index = hash & mask,
// value = ±1 / sqrt(number of occurrences), duplicates not yet merged.
void HashedRow(std::string_view prompt, const FeatureConfig& cfg, uint32_t groups, uint32_t mask,
               std::vector<std::pair<uint32_t, float>>& out);

// Appends the gated copy of those features for gate `gate` (see GatedHash), each scaled by
// `weight` (the gate's posterior) and 1 / sqrt(count).
void AppendGatedRow(std::string_view prompt, const FeatureConfig& cfg, uint32_t groups,
                    uint32_t mask, uint32_t gate, float weight,
                    std::vector<std::pair<uint32_t, float>>& out);

struct SgdOptions {
  int epochs = 6;
  double learning_rate = 0.05;
  double l2 = 1e-4;
};

// Logistic regression with soft labels y in [0, 1]. Features of row i: the sparse row plus a
// dense block dense[i*dense_dim .. +dense_dim) whose weights sit at w[dim - dense_dim ..).
void TrainLogistic(const Csr& sparse, const std::vector<float>& dense, size_t dense_dim,
                   std::span<const uint32_t> rows, const std::vector<float>& y, size_t dim,
                   const SgdOptions& o, Rng& rng, std::vector<float>& w, float& bias);

// Softmax regression; w is [bucket][class] (buckets * classes), b is [class].
void TrainSoftmax(const Csr& x, std::span<const uint32_t> rows, const std::vector<int>& label,
                  size_t buckets, size_t classes, const SgdOptions& o, Rng& rng,
                  std::vector<float>& w, std::vector<float>& b);

// Posterior of row `r` of `x` into post[0..classes).
void PredictSoftmax(const Csr& x, uint32_t r, const std::vector<float>& w,
                    const std::vector<float>& b, size_t classes, float* post);

}  // namespace hybridgate::learned
