#include "common/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace hybridgate {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// '"', '\\' and the controls below 0x20.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

// Whether any of the eight bytes in `w` needs escaping, without looking at them one by one:
// (x - 0x0101..) & ~x & 0x8080.. is non-zero iff some byte of x is zero, and with 0x2020.. iff
// some byte is below 0x20 (exact as to whether any is, not as to which). A byte >= 0x80 (UTF-8)
// never matches on its own: ~x clears its high bit.
constexpr bool AnyNeedsEscape(uint64_t w) {
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  const uint64_t hits =
      ((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash);
  return (hits & kHighBits) != 0;
}

// The index of the first byte at or after `i` that needs escaping; s.size() when none does.
size_t SafeRunEnd(std::string_view s, size_t i) {
  for (uint64_t w; i + sizeof w <= s.size(); i += sizeof w) {
    std::memcpy(&w, s.data() + i, sizeof w);
    if (AnyNeedsEscape(w)) break;
  }
  while (i < s.size() && !kNeedsEscape[static_cast<unsigned char>(s[i])]) ++i;
  return i;
}

void AppendEscaped(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    default: {
      const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(u, sizeof u);
    }
  }
}

}  // namespace

// Bytes that need no escape (everything but '"', '\\' and controls; UTF-8 passes through as is)
// are copied in runs, found eight bytes at a time.
void AppendJsonString(std::string& out, std::string_view s) {
  size_t end = SafeRunEnd(s, 0);
  if (end == s.size()) {  // nothing to escape, the usual case: quotes and text in one go
    const size_t at = out.size();
    const size_t total = at + s.size() + 2;
    // The callback's own size argument is not used: GCC 12's libstdc++ passes the new capacity
    // there when it grows the string, not the size asked for.
    out.resize_and_overwrite(total, [&](char* p, size_t) {
      p[at] = '"';
      if (!s.empty()) std::memcpy(p + at + 1, s.data(), s.size());
      p[total - 1] = '"';
      return total;
    });
    return;
  }
  out.push_back('"');
  size_t i = 0;
  while (true) {
    out.append(s.data() + i, end - i);
    if (end == s.size()) break;
    AppendEscaped(out, static_cast<unsigned char>(s[end]));
    i = end + 1;
    end = SafeRunEnd(s, i);
  }
  out.push_back('"');
}

bool JsonWriter::NextNeedsComma() {
  if (after_key_) {
    after_key_ = false;
    return false;
  }
  if (depth_ == 0) return false;
  const size_t d = depth_ - 1;
  bool had;
  if (d < 64) {
    had = (has_element_ >> d) & 1;
    has_element_ |= uint64_t{1} << d;
  } else {
    had = deep_[d - 64];
    deep_[d - 64] = true;
  }
  return had;
}

void JsonWriter::Separate() {
  if (NextNeedsComma()) out_.push_back(',');
}

void JsonWriter::Open(char bracket) {
  Separate();
  out_.push_back(bracket);
  if (depth_ < 64) {
    has_element_ &= ~(uint64_t{1} << depth_);
  } else {
    deep_.push_back(false);
  }
  ++depth_;
}

void JsonWriter::Close(char bracket) {
  out_.push_back(bracket);
  --depth_;
  if (depth_ >= 64) deep_.pop_back();
}

JsonWriter& JsonWriter::BeginObject() {
  Open('{');
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  Close('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Open('[');
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  Close(']');
  return *this;
}

// Keys are nearly always short literals that need no escape: the separator, the quoted key and
// the colon are put together on the stack and appended at once.
JsonWriter& JsonWriter::Key(std::string_view k) {
  const bool comma = NextNeedsComma();
  char buf[64];
  if (k.size() + 4 <= sizeof buf && SafeRunEnd(k, 0) == k.size()) {
    char* p = buf;
    if (comma) *p++ = ',';
    *p++ = '"';
    std::memcpy(p, k.data(), k.size());
    p += k.size();
    *p++ = '"';
    *p++ = ':';
    out_.append(buf, p);
  } else {
    if (comma) out_.push_back(',');
    AppendJsonString(out_, k);
    out_.push_back(':');
  }
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Separate();
  AppendJsonString(out_, s);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  Separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, end);
  return *this;
}

namespace {

// Request parameters (temperature 0.2, top_p 0.95) are short decimals. When `v` is exactly the
// double nearest some n / 1000 below 1e5 in magnitude, its shortest round-trip form is n / 1000
// with trailing zeros dropped, in fixed notation (never longer than the exponent form there):
// what std::to_chars(v) writes, at a fraction of its cost. Returns the end, or null for any
// other value.
char* ShortDecimal(char* buf, double v) {
  if (!(v > -1e5 && v < 1e5)) return nullptr;
  const double scaled = v * 1000;
  const auto n = static_cast<int64_t>(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
  if (n == 0 || static_cast<double>(n) / 1000 != v) return nullptr;
  char* p = buf;
  uint64_t m = n < 0 ? static_cast<uint64_t>(-n) : static_cast<uint64_t>(n);
  if (n < 0) *p++ = '-';
  auto [end, ec] = std::to_chars(p, p + 24, m / 1000);
  p = end;
  unsigned frac = static_cast<unsigned>(m % 1000);
  if (frac != 0) {
    *p++ = '.';
    char digits[3] = {static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                      static_cast<char>('0' + frac % 10)};
    int count = 3;
    while (digits[count - 1] == '0') --count;
    for (int i = 0; i < count; ++i) *p++ = digits[i];
  }
  return p;
}

}  // namespace

JsonWriter& JsonWriter::Double(double v) {
  Separate();
  if (!std::isfinite(v)) {
    out_.append("null");
    return *this;
  }
  char buf[32];
  char* end = ShortDecimal(buf, v);
  if (end == nullptr) end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  Separate();
  out_.append(v ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_.append(json);
  return *this;
}

}  // namespace hybridgate
