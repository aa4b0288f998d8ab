#include "quality/comparators/embedding/embedding.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hybridgate::quality {
namespace {

class Embedding final : public Comparator {
 public:
  explicit Embedding(std::string model) : model_(std::move(model)) {}
  std::string_view name() const override { return "embedding"; }
  boost::asio::awaitable<std::optional<Score>> Compare(const Comparison& c,
                                                       ModelCalls& calls) const override {
    if (!c.primary.ok || !c.shadow.ok) co_return std::nullopt;
    const double before = calls.spent_usd();
    const std::string texts[2] = {c.primary.text, c.shadow.text};
    auto vectors = co_await calls.Embed(model_, texts);
    if (!vectors || vectors->size() != 2) co_return std::nullopt;
    const double cos = Cosine((*vectors)[0], (*vectors)[1]);
    Score s{"embedding", std::clamp(cos, 0.0, 1.0), fmt::format("cosine {:.4f} ({})", cos, model_)};
    s.cost_usd = calls.spent_usd() - before;
    co_return s;
  }

 private:
  std::string model_;
};

}  // namespace

double Cosine(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size() || a.empty()) return 0;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

std::unique_ptr<Comparator> MakeEmbeddingComparator(const ComparatorSpec& spec) {
  return std::make_unique<Embedding>(spec.model);
}

}  // namespace hybridgate::quality
