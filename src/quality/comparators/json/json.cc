#include "quality/comparators/json/json.h"

#include <boost/json.hpp>

namespace hybridgate::quality {
namespace {

bool ParsesAsJson(const std::string& text) {
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);
  return !ec;
}

class Json final : public Comparator {
 public:
  std::string_view name() const override { return "json"; }
  boost::asio::awaitable<std::optional<Score>> Compare(const Comparison& c,
                                                       ModelCalls&) const override {
    if (!c.primary.ok || !c.shadow.ok || !c.wants_json) co_return std::nullopt;
    const bool primary = ParsesAsJson(c.primary.text);
    const bool shadow = ParsesAsJson(c.shadow.text);
    co_return Score{"json",
                    shadow    ? 1.0
                    : primary ? 0.0
                              : 1.0,
                    shadow    ? "the shadow's answer is JSON"
                    : primary ? "the shadow's answer is not JSON; the primary's is"
                              : "neither answer is JSON"};
  }
};

}  // namespace

std::unique_ptr<Comparator> MakeJsonComparator(const ComparatorSpec&) {
  return std::make_unique<Json>();
}

}  // namespace hybridgate::quality
