// Durations as people write them in configs and flags: a positive whole number and a unit —
// s, m, h, d or w ("90s", "30m", "24h", "7d", "2w").
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace hybridgate {

// Milliseconds; an error naming the text and the accepted forms (also for a value that would
// overflow).
Result<int64_t> ParseDurationMs(std::string_view text);

}  // namespace hybridgate
