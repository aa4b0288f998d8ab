#include "common/duration.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace hybridgate {

Result<int64_t> ParseDurationMs(std::string_view text) {
  auto bad = [&] {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("cannot read '{}' (expected a positive number followed by "
                                      "s, m, h, d or w: 30m, 24h, 7d)",
                                      text)));
  };
  if (text.size() < 2) return bad();
  int64_t unit_ms = 0;
  switch (text.back()) {
    case 's':
      unit_ms = 1000;
      break;
    case 'm':
      unit_ms = 60'000;
      break;
    case 'h':
      unit_ms = 3'600'000;
      break;
    case 'd':
      unit_ms = 86'400'000;
      break;
    case 'w':
      unit_ms = 7 * 86'400'000LL;
      break;
    default:
      return bad();
  }
  int64_t n = 0;
  const std::string_view digits = text.substr(0, text.size() - 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size() || n <= 0) return bad();
  if (n > std::numeric_limits<int64_t>::max() / unit_ms) return bad();  // would overflow
  return n * unit_ms;
}

}  // namespace hybridgate
