// "exact": the answers' texts are equal once case and whitespace runs are folded (1), or not (0).
#pragma once

#include <memory>

#include "quality/comparators/comparator.h"

namespace hybridgate::quality {

std::unique_ptr<Comparator> MakeExactComparator(const ComparatorSpec& spec);

}  // namespace hybridgate::quality
