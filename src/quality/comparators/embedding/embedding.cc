#include "quality/comparators/embedding/embedding.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
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
    if (!std::isfinite(cos)) co_return std::nullopt;  // a vector with inf or NaN in it
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
  // Each vector scaled by its largest magnitude first: the products of huge components
  // (1e308) would overflow to inf, and the cosine does not depend on the scale.
  double sa = 0, sb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sa = std::max(sa, std::abs(a[i]));
    sb = std::max(sb, std::abs(b[i]));
  }
  if (!std::isfinite(sa) || !std::isfinite(sb)) return std::nan("");
  if (sa == 0 || sb == 0) return 0;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i] / sa, y = b[i] / sb;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na == 0 || nb == 0) return 0;
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

std::unique_ptr<Comparator> MakeEmbeddingComparator(const ComparatorSpec& spec) {
  return std::make_unique<Embedding>(spec.model);
}

Result<std::vector<std::vector<double>>> ReadOpenAiEmbeddings(std::string_view body, size_t n) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  const auto* data = !ec && v.is_object() ? v.as_object().if_contains("data") : nullptr;
  std::vector<std::vector<double>> out(n);
  size_t filled = 0;
  if (data && data->is_array()) {
    for (const boost::json::value& item : data->as_array()) {
      const auto* o = item.if_object();
      const auto* index = o ? o->if_contains("index") : nullptr;
      const auto* vec = o ? o->if_contains("embedding") : nullptr;
      if (!index || !index->is_int64() || !vec || !vec->is_array()) continue;
      const int64_t i = index->as_int64();
      if (i < 0 || static_cast<size_t>(i) >= n || !out[i].empty()) continue;
      for (const boost::json::value& x : vec->as_array()) {
        out[i].push_back(x.is_double() ? x.as_double() : x.is_int64() ? double(x.as_int64()) : 0);
      }
      ++filled;
    }
  }
  if (filled != n) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          "the embeddings answer did not hold one vector per text"));
  }
  return out;
}

}  // namespace hybridgate::quality
