// JSON tokens as the body-strings reader (body_strings.cc) reads them: strings unescaped into a
// caller's buffer, numbers checked, spaces skipped — each accepting exactly what simdjson's DOM
// parser accepts, as the request decoders use it, and refusing the rest with simdjson's error
// code. Pure functions on [begin, end) ranges: nothing is read past `end`, and the caller's
// output buffer has room for what a function documents.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hybridgate::classify::json {

using simdjson::error_code;

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

inline bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline const char* SkipSpace(const char* p, const char* end) {
  while (p < end && static_cast<uint8_t>(*p) <= ' ' && IsSpace(*p)) ++p;
  return p;
}

// Where a read stopped: `in` after what it read, `out` after what it wrote.
struct Read {
  const char* in;
  char* out;
  error_code error = simdjson::SUCCESS;
};

// One escape sequence at `in` (its backslash), unescaped into `out`; STRING_ERROR for an
// escape JSON does not have, or a surrogate that is not half of a pair (simdjson's rules).
Read Escape(const char* in, const char* end, char* out);

// The number at `p`, checked as simdjson checks it: RFC 8259 grammar, and an int64/uint64 or a
// finite double (underflow is 0). The read ends after it; NUMBER_ERROR otherwise.
Read Number(const char* p, const char* end);

// Copies the bytes from `in` up to the next '"', '\\' or control character (or `end`) to `out`;
// returns where both stopped. `high` is non-zero when a copied byte may be non-ASCII (it may also
// have seen a few bytes after the stop: that only costs a UTF-8 check). `out` has room for 16
// bytes past what is copied. Pointers in and out by value: stores through a char* may alias
// anything, so pointers kept in memory would be reloaded after every store.
struct Copied {
  const char* in;
  char* out;
};
inline Copied CopyPlain(const char* in, const char* end, char* out, unsigned& high) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control = _mm_set1_epi8(0x1f);
  unsigned seen = 0;
  for (;;) {
    __m128i v;
    if (end - in >= 16) {
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    } else {
      // The last bytes of the document, padded with NULs: control characters, so the copy
      // stops at the end at the latest.
      alignas(16) char last[16] = {};
      std::memcpy(last, in, static_cast<size_t>(end - in));
      v = _mm_load_si128(reinterpret_cast<const __m128i*>(last));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(_mm_min_epu8(v, control), v));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    seen |= static_cast<unsigned>(_mm_movemask_epi8(v));
    if (mask != 0) {  // at or before `end`: past it is a 16-byte read's NUL padding
      const auto n = __builtin_ctz(mask);
      high |= seen;
      return {in + n, out + n};
    }
    in += 16;
    out += 16;
  }
#else
  unsigned seen = 0;
  for (; in < end; ++in) {
    const auto c = static_cast<uint8_t>(*in);
    if (c == '"' || c == '\\' || c < 0x20) break;
    seen |= c & 0x80u;
    *out++ = static_cast<char>(c);
  }
  high |= seen;
  return {in, out};
#endif
}

// The JSON string whose body starts at `in` (after its opening quote), unescaped into `out`;
// the read ends after the closing quote. No escape is shorter than what it stands for, so `out`
// needs room for end - in bytes (and the 16 of CopyPlain).
[[gnu::always_inline]] inline Read Unescape(const char* in, const char* end, char* out) {
  char* const begin = out;
  unsigned high = 0;
  for (;;) {
    const Copied c = CopyPlain(in, end, out, high);
    in = c.in;
    out = c.out;
    if (in == end) return {in, out, simdjson::UNCLOSED_STRING};
    if (*in == '"') break;
    if (*in != '\\') return {in, out, simdjson::UNESCAPED_CHARS};
    const Read r = Escape(in, end, out);
    if (r.error) return r;
    in = r.in;
    out = r.out;
  }
  // Escapes only ever produce whole, valid sequences, so checking the unescaped bytes checks
  // the raw ones.
  if (high != 0 && !simdjson::validate_utf8(begin, static_cast<size_t>(out - begin))) {
    return {in, out, simdjson::UTF8_ERROR};
  }
  return {in + 1, out};
}

// The end of the number at `p` when it is a plain one (at most 18 digits, a fraction allowed,
// no exponent: always an int64 or a finite double), else null (Number decides).
inline const char* ShortNumber(const char* p, const char* end) {
  const char* digits = p + (*p == '-');
  const char* q = digits;
  while (q < end && IsDigit(*q)) ++q;
  const auto n = q - digits;
  if (n == 0 || (*digits == '0' && n > 1)) return nullptr;
  if (q < end && *q == '.') {
    const char* fraction = ++q;
    while (q < end && IsDigit(*q)) ++q;
    if (q == fraction || n + (q - fraction) > 18) return nullptr;
  } else if (n > 18) {
    return nullptr;
  }
  return q < end && (*q == 'e' || *q == 'E') ? nullptr : q;
}

}  // namespace hybridgate::classify::json
