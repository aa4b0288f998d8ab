#include "engine/utf8.h"

#include <cstdint>

namespace hybridgate::engine {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Expected length of a sequence led by `b`; 0 for a byte that cannot lead one.
int LeadLength(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// Whether s[i..i+len) is one valid character (lead already checked), per RFC 3629's table.
bool ValidSequence(std::string_view s, size_t i, int len) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    uint8_t lo = 0x80, hi = 0xBF;
    if (k == 1) {
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    if (b < lo || b > hi) return false;
  }
  return true;
}

}  // namespace

size_t CompleteUtf8Prefix(std::string_view s) {
  // A character is at most 4 bytes: only the last 3 can belong to an unfinished one.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<uint8_t>(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const int len = LeadLength(b);
    if (len > static_cast<int>(back) && ValidSequence(s.substr(0, n), n - back, back)) {
      return n - back;
    }
    return n;
  }
  return n;
}

void AppendValidUtf8(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<uint8_t>(in[i]);
    const int len = LeadLength(b);
    if (len == 1) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    if (len == 0 || i + len > in.size() || !ValidSequence(in, i, len)) {
      out += kReplacement;
      ++i;
      // Skip the continuation bytes of the broken sequence so one error yields one U+FFFD.
      while (i < in.size() && (static_cast<uint8_t>(in[i]) & 0xC0) == 0x80) ++i;
      continue;
    }
    out.append(in.substr(i, len));
    i += len;
  }
}

}  // namespace hybridgate::engine
