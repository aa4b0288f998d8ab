// Prompt features for the learned router, computed in one pass over the bytes without allocating:
// hashed sparse features (word uni/bi-grams, in-word character n-grams, answer-option words) are
// handed to a callback, so the scorer multiplies by weights on the fly instead of building a
// vector. A few dense structural features (length, numbers, math symbols, option shape) go to a
// fixed array.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hybridgate::learned {

// Which family a sparse feature belongs to; models choose the families they use.
enum class FeatureGroup : uint8_t { kWord, kBigram, kCharGram, kOption };

struct FeatureConfig {
  bool word_bigrams = true;
  int char_ngram_min = 3;  // 0 disables character n-grams
  int char_ngram_max = 5;
  bool option_words = true;  // words inside "A. ..." answer lines, hashed apart from the question
};

inline constexpr int kNumDense = 22;
// Names of the dense features, in order; written into the model file so it documents itself.
extern const std::array<std::string_view, kNumDense> kDenseNames;

using DenseFeatures = std::array<float, kNumDense>;

// Fills `out` with the raw (unstandardised) structural features of `prompt`.
void ExtractDense(std::string_view prompt, DenseFeatures& out);

namespace detail {

inline constexpr uint32_t kFnvBasis = 2166136261u;
inline constexpr uint32_t kFnvPrime = 16777619u;

inline uint32_t Mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}
inline uint32_t Combine(uint32_t a, uint32_t b) { return Mix(a * 0x9E3779B1u + b + 0x632BE5ABu); }

inline unsigned char Lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
// Bytes >= 0x80 count as word characters so UTF-8 words stay whole.
inline bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// True when `text[pos]` starts an answer-option line such as "B. foo" or "(C) foo".
inline bool IsOptionLineStart(std::string_view text, size_t pos) {
  if (pos + 1 < text.size() && text[pos] >= 'A' && text[pos] <= 'J' &&
      (text[pos + 1] == '.' || text[pos + 1] == ')')) {
    return true;
  }
  return pos + 2 < text.size() && text[pos] == '(' && text[pos + 1] >= 'A' &&
         text[pos + 1] <= 'J' && text[pos + 2] == ')';
}

}  // namespace detail

// Calls `fn(FeatureGroup, uint32_t hash)` once per sparse feature occurrence of `prompt`.
// Long words are cut at 32 bytes for character n-grams (they are rare and carry little extra).
template <class Fn>
void ForEachSparseFeature(std::string_view prompt, const FeatureConfig& cfg, Fn&& fn) {
  using namespace detail;
  constexpr size_t kMaxWord = 32;
  unsigned char word[kMaxWord + 2];
  uint32_t prev = Mix(0x5EED0001u);  // sentence-start marker for the first bigram
  bool in_options = false;
  bool line_start = true;
  size_t i = 0;
  const size_t n = prompt.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(prompt[i]);
    if (c == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (line_start && c != ' ' && c != '\t') {
      if (IsOptionLineStart(prompt, i)) in_options = true;
      line_start = false;
    }
    if (!IsWordByte(c)) {
      ++i;
      continue;
    }
    // One word: hash it and keep its lowercase bytes for character n-grams.
    size_t len = 0;
    uint32_t h = kFnvBasis;
    bool numeric = true;
    while (i < n && IsWordByte(static_cast<unsigned char>(prompt[i]))) {
      unsigned char w = Lower(static_cast<unsigned char>(prompt[i]));
      numeric = numeric && w >= '0' && w <= '9';
      h = (h ^ w) * kFnvPrime;
      if (len < kMaxWord) word[1 + len] = w;
      ++len;
      ++i;
    }
    // Numbers: the literal value matters less than its size, so add a shape token too.
    if (numeric)
      fn(FeatureGroup::kWord, Mix(0xD1617000u + static_cast<uint32_t>(len < 8 ? len : 8)));
    h = Mix(h);
    fn(FeatureGroup::kWord, h);
    if (cfg.word_bigrams) fn(FeatureGroup::kBigram, Combine(prev, h));
    if (cfg.option_words && in_options) fn(FeatureGroup::kOption, Combine(0x0971u, h));
    prev = h;
    if (cfg.char_ngram_min > 0 && !numeric) {
      size_t wl = (len < kMaxWord ? len : kMaxWord) + 2;
      word[0] = '<';
      word[wl - 1] = '>';
      for (int g = cfg.char_ngram_min; g <= cfg.char_ngram_max; ++g) {
        const size_t gs = static_cast<size_t>(g);
        if (gs > wl) break;
        for (size_t s = 0; s + gs <= wl; ++s) {
          uint32_t ch = kFnvBasis + static_cast<uint32_t>(g);
          for (size_t k = 0; k < gs; ++k) ch = (ch ^ word[s + k]) * kFnvPrime;
          fn(FeatureGroup::kCharGram, Mix(ch));
        }
      }
    }
  }
}

}  // namespace hybridgate::learned
