// "json", when the request asked for JSON (response_format json_object or json_schema): the
// candidate's answer parses as JSON (1); it does not while the reference's does (0); neither
// does (1: the candidate is no worse).
#pragma once

#include <memory>

#include "quality/comparators/comparator.h"

namespace hybridgate::quality {

std::unique_ptr<Comparator> MakeJsonComparator(const ComparatorSpec& spec);

}  // namespace hybridgate::quality
