#include "classify/json_lexer.h"

#include <charconv>

namespace hybridgate::classify::json {
namespace {

// Four hex digits at `in`, or -1.
int Hex4(const char* in) {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = in[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    v = v * 16 + d;
  }
  return v;
}

void PutUtf8(uint32_t cp, char*& out) {
  if (cp < 0x80) {
    *out++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out++ = static_cast<char>(0xc0 | (cp >> 6));
    *out++ = static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out++ = static_cast<char>(0xe0 | (cp >> 12));
    *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out++ = static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out++ = static_cast<char>(0xf0 | (cp >> 18));
    *out++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out++ = static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// `\uXXXX` at `in` (a surrogate only as a high-low pair, as simdjson requires), as UTF-8.
Read UnicodeEscape(const char* in, const char* end, char* out) {
  const Read bad{in, out, simdjson::STRING_ERROR};
  if (end - in < 6) return bad;
  int cp = Hex4(in + 2);
  if (cp < 0) return bad;
  in += 6;
  if (cp >= 0xdc00 && cp <= 0xdfff) return bad;
  if (cp >= 0xd800 && cp <= 0xdbff) {
    if (end - in < 6 || in[0] != '\\' || in[1] != 'u') return bad;
    const int low = Hex4(in + 2);
    if (low < 0xdc00 || low > 0xdfff) return bad;
    in += 6;
    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
  }
  PutUtf8(static_cast<uint32_t>(cp), out);
  return {in, out};
}

// An integer simdjson takes: within int64 when negative, uint64 otherwise.
bool IntegerFits(const char* digits, const char* end, bool negative) {
  if (end - digits <= 18) return true;
  uint64_t v = 0;
  for (const char* p = digits; p < end; ++p) {
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(*p - '0'), &v)) {
      return false;
    }
  }
  return !negative || v <= uint64_t{1} << 63;
}

struct NumberParts {
  const char* begin;  // the token, sign included
  const char* int_begin;
  const char* int_end;
  const char* frac_begin;  // == frac_end without a fraction
  const char* frac_end;
  int64_t exponent;  // saturated at +-1e9
};

// Whether the number rounds to a finite double (simdjson refuses infinities; underflow is 0).
bool FloatIsFinite(const NumberParts& n, const char* end) {
  // The decimal exponent of the first significant digit.
  int64_t e10;
  if (*n.int_begin != '0') {
    e10 = (n.int_end - n.int_begin) - 1 + n.exponent;
  } else {
    const char* first = std::find_if(n.frac_begin, n.frac_end, [](char c) { return c != '0'; });
    if (first == n.frac_end) return true;  // zero
    e10 = -(first - n.frac_begin) - 1 + n.exponent;
  }
  if (e10 < 308) return true;  // below 1e308
  if (e10 > 308) return false;
  double d;
  return std::from_chars(n.begin, end, d).ec == std::errc();
}

}  // namespace

Read Escape(const char* in, const char* end, char* out) {
  if (end - in < 2) return {in, out, simdjson::STRING_ERROR};
  char plain;
  switch (in[1]) {
    case '"':
    case '\\':
    case '/':
      plain = in[1];
      break;
    case 'b':
      plain = '\b';
      break;
    case 'f':
      plain = '\f';
      break;
    case 'n':
      plain = '\n';
      break;
    case 'r':
      plain = '\r';
      break;
    case 't':
      plain = '\t';
      break;
    case 'u':
      return UnicodeEscape(in, end, out);
    default:
      return {in, out, simdjson::STRING_ERROR};
  }
  *out++ = plain;
  return {in + 2, out};
}

Read Number(const char* p, const char* end) {
  const Read bad{p, nullptr, simdjson::NUMBER_ERROR};
  NumberParts n{
      .begin = p, .int_begin = p, .int_end = p, .frac_begin = p, .frac_end = p, .exponent = 0};
  if (*p == '-') ++p;
  n.int_begin = p;
  if (p == end || !IsDigit(*p)) return bad;
  if (*p == '0') {
    ++p;
    if (p < end && IsDigit(*p)) return bad;  // a leading zero
  } else {
    while (p < end && IsDigit(*p)) ++p;
  }
  n.int_end = n.frac_begin = n.frac_end = p;
  bool is_float = false;
  if (p < end && *p == '.') {
    n.frac_begin = ++p;
    while (p < end && IsDigit(*p)) ++p;
    if (p == n.frac_begin) return bad;
    n.frac_end = p;
    is_float = true;
  }
  n.exponent = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    const bool negative = p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+')) ++p;
    const char* digits = p;
    for (; p < end && IsDigit(*p); ++p) {
      if (n.exponent < 1'000'000'000) n.exponent = n.exponent * 10 + (*p - '0');
    }
    if (p == digits) return bad;
    if (negative) n.exponent = -n.exponent;
    is_float = true;
  }
  const bool ok =
      is_float ? FloatIsFinite(n, p) : IntegerFits(n.int_begin, n.int_end, *n.begin == '-');
  return ok ? Read{p, nullptr} : bad;
}

}  // namespace hybridgate::classify::json
