#include "quality/comparators/exact/exact.h"

#include <cctype>

namespace hybridgate::quality {
namespace {

// Lower case, whitespace runs folded to one space, trimmed.
std::string Normalize(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (const unsigned char c : text) {
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

class Exact final : public Comparator {
 public:
  std::string_view name() const override { return "exact"; }
  boost::asio::awaitable<std::optional<Score>> Compare(const Comparison& c,
                                                       ModelCalls&) const override {
    if (!c.primary.ok || !c.shadow.ok) co_return std::nullopt;
    const bool same = Normalize(c.primary.text) == Normalize(c.shadow.text);
    co_return Score{"exact", same ? 1.0 : 0.0, same ? "same text" : "different text"};
  }
};

}  // namespace

std::unique_ptr<Comparator> MakeExactComparator(const ComparatorSpec&) {
  return std::make_unique<Exact>();
}

}  // namespace hybridgate::quality
