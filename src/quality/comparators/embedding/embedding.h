// "embedding": the cosine similarity of the two answers' embeddings from spec.model (any
// embeddings provider, the embedded engine included), clamped to [0, 1]: 1 for the same
// meaning, near 0 for unrelated answers. One call embeds both texts.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "quality/comparators/comparator.h"

namespace hybridgate::quality {

std::unique_ptr<Comparator> MakeEmbeddingComparator(const ComparatorSpec& spec);

// The vectors of an OpenAI embeddings answer (`data[].embedding`, placed by `index`); an error
// unless there is exactly one per text of the `n` asked for.
Result<std::vector<std::vector<double>>> ReadOpenAiEmbeddings(std::string_view body, size_t n);

// cos(a, b); 0 when either is all zeros or their sizes differ, NaN when either holds an inf or
// a NaN.
double Cosine(std::span<const double> a, std::span<const double> b);

}  // namespace hybridgate::quality
