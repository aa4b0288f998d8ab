// The comparators a route or an eval can name: one line each. A new comparator is a folder
// beside these (a Make…Comparator function) and a line in kComparators.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "quality/comparators/comparator.h"
#include "quality/comparators/embedding/embedding.h"
#include "quality/comparators/exact/exact.h"
#include "quality/comparators/json/json.h"
#include "quality/comparators/json_schema/json_schema.h"
#include "quality/comparators/judge/judge.h"

namespace hybridgate::quality {
namespace {

struct Registered {
  std::string_view name;
  bool needs_model;
  std::unique_ptr<Comparator> (*make)(const ComparatorSpec&);
};

constexpr Registered kComparators[] = {
    {"exact", false, MakeExactComparator},
    {"json", false, MakeJsonComparator},
    {"json_schema", false, MakeJsonSchemaComparator},
    {"embedding", true, MakeEmbeddingComparator},
    {"judge", true, MakeJudgeComparator},
};

constexpr auto kNames = [] {
  std::array<std::string_view, std::size(kComparators)> names{};
  for (size_t i = 0; i < names.size(); ++i) names[i] = kComparators[i].name;
  return names;
}();

const Registered* Find(std::string_view name) {
  for (const Registered& r : kComparators) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace

std::span<const std::string_view> ComparatorNames() { return kNames; }

bool ComparatorNeedsModel(std::string_view name) {
  const Registered* r = Find(name);
  return r && r->needs_model;
}

Result<std::unique_ptr<Comparator>> MakeComparator(const ComparatorSpec& spec) {
  const Registered* r = Find(spec.name);
  if (!r) {
    return Fail(MakeError(
        ErrorCode::kInvalidRequest,
        fmt::format("unknown comparator '{}' (one of: {})", spec.name, fmt::join(kNames, ", "))));
  }
  if (r->needs_model && spec.model.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("comparator '{}' needs a model", spec.name)));
  }
  return r->make(spec);
}

}  // namespace hybridgate::quality
