// Byte classes of a text, 64 bytes at a time, as bit masks: what the number pass (numbers.h) and
// the encoded-value pass (encoded.h) look for, computed once per block for both. Internal to the
// sensitivity library; pure, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hybridgate::sensitivity {

// Bit k is set when byte base + k of the text is of the class; bytes past the end are of none.
struct ByteMasks {
  uint64_t digit = 0;    // [0-9]
  uint64_t colon = 0;    // ':'
  uint64_t alnum = 0;    // [A-Za-z0-9]
  uint64_t percent = 0;  // '%'
};

// The masks of the block text[base, base + 64); base < text.size().
inline ByteMasks MasksAt(std::string_view text, std::size_t base) {
  ByteMasks m;
  const char* p = text.data() + base;
#if defined(__SSE2__)
  // A short last block is read as the text's last 64 bytes, its masks shifted down past the bytes
  // of the block before; in a text shorter than that, from a copy padded with NULs, which are of
  // no class.
  const std::size_t n = text.size() - base;
  int shift = 0;
  alignas(16) char padded[64];
  if (n < 64 && text.size() >= 64) {
    p = text.data() + text.size() - 64;
    shift = static_cast<int>(64 - n);
  } else if (n < 64) {
    std::memset(padded, 0, sizeof padded);
    std::memcpy(padded, p, n);
    p = padded;
  }
  // Range checks as one signed compare: c is in [lo, lo + k) when c + (0x80 - lo), wrapped, is
  // below -128 + k as a signed byte.
  const auto digit = [](__m128i v) {
    return _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(0x80 - '0'))),
                          _mm_set1_epi8(-128 + 10));
  };
  const auto alnum = [&](__m128i v) {
    const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const __m128i letter =
        _mm_cmplt_epi8(_mm_add_epi8(lower, _mm_set1_epi8(static_cast<char>(0x80 - 'a'))),
                       _mm_set1_epi8(-128 + 26));
    return _mm_or_si128(digit(v), letter);
  };
  const auto equal = [](char c) {
    return [c](__m128i v) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
  };
  const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
  const __m128i v2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
  const __m128i v3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));
  // One class at a time, its four 16-bit masks joined in registers.
  const auto bits = [&](auto in_class) {
    const auto lo = static_cast<uint32_t>(_mm_movemask_epi8(in_class(v0))) |
                    static_cast<uint32_t>(_mm_movemask_epi8(in_class(v1))) << 16;
    const auto hi = static_cast<uint32_t>(_mm_movemask_epi8(in_class(v2))) |
                    static_cast<uint32_t>(_mm_movemask_epi8(in_class(v3))) << 16;
    return (uint64_t{hi} << 32 | lo) >> shift;
  };
  m.digit = bits(digit);
  m.alnum = bits(alnum);
  m.colon = bits(equal(':'));
  m.percent = bits(equal('%'));
#else
  const std::size_t n = text.size() - base < 64 ? text.size() - base : 64;
  for (std::size_t k = 0; k < n; ++k) {
    const char c = p[k];
    const bool digit = c >= '0' && c <= '9';
    const bool letter = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    m.digit |= uint64_t{digit} << k;
    m.alnum |= uint64_t{digit || letter} << k;
    m.colon |= uint64_t{c == ':'} << k;
    m.percent |= uint64_t{c == '%'} << k;
  }
#endif
  return m;
}

}  // namespace hybridgate::sensitivity
