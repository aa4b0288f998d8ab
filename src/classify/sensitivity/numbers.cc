#include "classify/sensitivity/numbers.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "classify/sensitivity/cards.h"

namespace hybridgate::sensitivity {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsUpper(c) || (c >= 'a' && c <= 'z'); }
bool IsUpperAlnum(char c) { return IsDigit(c) || IsUpper(c); }  // [A-Z0-9]
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsWord(char c) { return IsUpperAlnum(c) || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsHex(char c) { return IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
bool IsSeparator(char c) { return c == ' ' || c == '.' || c == '-'; }  // [ .\-]

// `\b` before text[i] / after text[i - 1], both word bytes.
bool BoundaryBefore(std::string_view text, std::size_t i) { return i == 0 || !IsWord(text[i - 1]); }
bool BoundaryAfter(std::string_view text, std::size_t i) {
  return i >= text.size() || !IsWord(text[i]);
}

bool DigitsAt(std::string_view text, std::size_t i, std::size_t n) {
  if (i + n > text.size()) return false;
  return std::all_of(text.begin() + i, text.begin() + i + n, IsDigit);
}

// Length of the run of bytes passing `pred` from `i`, counting at most `cap`.
template <class Pred>
std::size_t RunAt(std::string_view text, std::size_t i, std::size_t cap, Pred pred) {
  std::size_t n = 0;
  while (i + n < text.size() && n < cap && pred(text[i + n])) ++n;
  return n;
}

// Bit k set when text[base + k] is a digit / a ':' (k < 64; bytes past the end count as neither).
struct BlockMasks {
  uint64_t digit = 0;
  uint64_t colon = 0;
};

BlockMasks MasksAt(std::string_view text, std::size_t base) {
  BlockMasks m;
#if defined(__SSE2__)
  if (base + 64 <= text.size()) {
    const __m128i zero = _mm_set1_epi8('0');
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i colon = _mm_set1_epi8(':');
    for (int part = 0; part < 4; ++part) {
      __m128i bytes =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + base + 16 * part));
      __m128i d = _mm_sub_epi8(bytes, zero);
      auto digit =
          static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d)));
      auto colons = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, colon)));
      m.digit |= uint64_t{digit} << (16 * part);
      m.colon |= uint64_t{colons} << (16 * part);
    }
    return m;
  }
#endif
  std::size_t n = std::min<std::size_t>(64, text.size() - base);
  for (std::size_t k = 0; k < n; ++k) {
    m.digit |= uint64_t{IsDigit(text[base + k])} << k;
    m.colon |= uint64_t{text[base + k] == ':'} << k;
  }
  return m;
}

// `(?:\(\d{3}\)[ .\-]?|\b\d{3}[ .\-])\d{3}[ .\-]\d{4}\b` starting at or just before the digit
// run at r. The two alternatives never end at the same offset.
void Nanp(uint32_t type, std::size_t r, RuleEnv& env) {
  std::string_view text = env.text;
  auto rest = [&](std::size_t x) {  // \d{3}[ .\-]\d{4}\b
    bool ok = DigitsAt(text, x, 3) && x + 3 < text.size() && IsSeparator(text[x + 3]) &&
              DigitsAt(text, x + 4, 4) && BoundaryAfter(text, x + 8);
    return ok ? x + 8 : kNone;
  };
  if (r > 0 && text[r - 1] == '(' && DigitsAt(text, r, 3) && r + 3 < text.size() &&
      text[r + 3] == ')') {
    std::size_t x = r + 4;
    if (x < text.size() && IsSeparator(text[x])) ++x;
    if (std::size_t end = rest(x); end != kNone) ApplyRule(Rule::kPhoneNanp, type, r - 1, end, env);
  }
  if (BoundaryBefore(text, r) && DigitsAt(text, r, 3) && r + 3 < text.size() &&
      IsSeparator(text[r + 3])) {
    if (std::size_t end = rest(r + 4); end != kNone) ApplyRule(Rule::kPhoneNanp, type, r, end, env);
  }
}

// `\b(?:\d{1,3}\.){3}\d{1,3}\b` starting at the digit run at r.
void Ipv4(uint32_t type, std::size_t r, RuleEnv& env) {
  std::string_view text = env.text;
  if (!BoundaryBefore(text, r)) return;
  std::size_t i = r;
  for (int group = 0; group < 4; ++group) {
    std::size_t n = RunAt(text, i, 4, IsDigit);
    if (n == 0 || n > 3) return;
    i += n;
    if (group == 3) break;
    if (i >= text.size() || text[i] != '.') return;
    ++i;
  }
  if (BoundaryAfter(text, i)) ApplyRule(Rule::kIpv4, type, r, i, env);
}

// `(?i)\b[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){2,7}(?:[ \-]?[A-Z0-9]{1,3})?\b` whose check digits
// start the digit run at r: every end it can reach. IBANs are written in either case and grouped
// by spaces or dashes — or dots, tabs and line breaks (a CRLF counts as one), as they come out of
// PDFs and forms; the optional separator leaves one way to parse each group. (The mod-97 check
// keeps the looser grouping from costing false positives.)
void IbanMatches(std::string_view text, std::size_t r, std::vector<Span>& out) {
  if (r < 2 || !IsAlpha(text[r - 1]) || !IsAlpha(text[r - 2]) || !BoundaryBefore(text, r - 2) ||
      !DigitsAt(text, r, 2)) {
    return;
  }
  std::size_t start = r - 2;
  std::size_t q = r + 2;
  auto skip_separator = [&](std::size_t i) {
    if (i + 1 < text.size() && text[i] == '\r' && text[i + 1] == '\n') return i + 2;
    const bool sep = i < text.size() && (text[i] == ' ' || text[i] == '-' || text[i] == '.' ||
                                         text[i] == '\t' || text[i] == '\n');
    return sep ? i + 1 : i;
  };
  for (int groups = 1; groups <= 7; ++groups) {
    std::size_t g = skip_separator(q);
    if (RunAt(text, g, 4, IsAlnum) != 4) return;
    q = g + 4;
    if (groups < 2) continue;
    if (BoundaryAfter(text, q)) out.push_back(Span{start, q});
    std::size_t tail = skip_separator(q);
    std::size_t n = RunAt(text, tail, 4, IsAlnum);
    if (n >= 1 && n <= 3 && BoundaryAfter(text, tail + n)) out.push_back(Span{start, tail + n});
  }
}

// `\b\d{3}\.\d{2}\.\d{4}\b` starting at the digit run at r (the dashed form is a Hyperscan
// pattern; the spaced and mixed ones need SSN context, see rules.cc).
void DottedSsn(uint32_t type, std::size_t r, RuleEnv& env) {
  std::string_view text = env.text;
  if (!BoundaryBefore(text, r) || !DigitsAt(text, r, 3) || r + 11 > text.size() ||
      text[r + 3] != '.' || !DigitsAt(text, r + 4, 2) || text[r + 6] != '.' ||
      !DigitsAt(text, r + 7, 4) || !BoundaryAfter(text, r + 11)) {
    return;
  }
  ApplyRule(Rule::kSsn, type, r, r + 11, env);
}

// `\b[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?\b` (RE2, leftmost-first) whose digit starts the run
// at r. Returns the end of the shape (kNone without one): like RE2 scanning left to right, a
// shape starting inside the previous one ("X61.1" in "X4B.X61.1") is not looked at.
std::size_t Icd10(uint32_t type, std::size_t r, RuleEnv& env) {
  std::string_view text = env.text;
  if (r == 0 || !IsUpper(text[r - 1]) || text[r - 1] == 'U' || !BoundaryBefore(text, r - 1) ||
      r + 1 >= text.size() || !IsUpperAlnum(text[r + 1])) {
    return kNone;
  }
  std::size_t start = r - 1;
  std::size_t end = r + 2;
  if (end < text.size() && text[end] == '.') {
    std::size_t n = RunAt(text, end + 1, 5, IsUpperAlnum);
    if (n >= 1 && n <= 4 && BoundaryAfter(text, end + 1 + n)) end += 1 + n;
  }
  if (!BoundaryAfter(text, end)) return kNone;
  ApplyRule(Rule::kIcd10, type, start, end, env);
  return end;
}

// IPv6 trigger ends, in the order Hyperscan reported them: `[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:`
// (consecutive ends within 2 bytes folded into one hit, as the scanner's match callback did) and
// `::[0-9A-Fa-f]`. The rule re-parses the whole run around a trigger and skips later triggers
// inside it.
class Ipv6Triggers {
 public:
  void Colon(std::string_view text, std::size_t c) {
    std::size_t hex = 0;
    while (hex < 5 && hex < c && IsHex(text[c - 1 - hex])) ++hex;
    if (hex <= 4 && c >= hex + 2 && text[c - hex - 1] == ':' && IsHex(text[c - hex - 2])) {
      std::size_t to = c + 1;
      if (last_folding_ != kNone && to <= hits_[last_folding_] + 2) {
        hits_[last_folding_] = to;
      } else {
        last_folding_ = hits_.size();
        hits_.push_back(to);
      }
    }
    if (c >= 1 && text[c - 1] == ':' && c + 1 < text.size() && IsHex(text[c + 1])) {
      hits_.push_back(c + 2);
    }
  }
  void Apply(uint32_t type, RuleEnv& env) const {
    for (std::size_t to : hits_) ApplyRule(Rule::kIpv6Trigger, type, 0, to, env);
  }

 private:
  std::vector<std::size_t> hits_;
  std::size_t last_folding_ = kNone;
};

// Chains of digit groups joined by runs of 1..3 card separators (space, '-', '.', '/', tab, CR,
// LF, '_', ',', '|', ':', ';', '+', '*'; mixed) or by a line bridge (cards.h); a chain of 13
// digits or more hands its end to the card rule, which re-parses it.
class CardChains {
 public:
  void Run(std::string_view text, std::size_t r, std::size_t q, uint32_t type, RuleEnv& env) {
    if (!(digits_ > 0 && r > end_ && CardGapKindFast(text, end_, r) != CardGap::kNone)) {
      Flush(type, env);
    }
    digits_ += q - r;
    end_ = q;
  }
  void Flush(uint32_t type, RuleEnv& env) {
    if (digits_ >= 13) ApplyRule(Rule::kCardTrigger, type, 0, end_, env);
    digits_ = 0;
  }

 private:
  std::size_t digits_ = 0;
  std::size_t end_ = 0;
};

}  // namespace

void ScanNumbers(const NumberTypes& types, RuleEnv& env) {
  constexpr uint32_t kOff = UINT32_MAX;
  std::string_view text = env.text;
  CardChains cards;
  Ipv6Triggers ipv6;
  std::vector<Span> ibans;
  std::size_t icd10_end = 0;
  // 64 bytes at a time: digit-run starts and colons come from bit masks, so text without them
  // costs a few vector instructions per block and the loops below branch once per value.
  for (std::size_t base = 0; base < text.size(); base += 64) {
    BlockMasks m = MasksAt(text, base);
    uint64_t carry = base > 0 && IsDigit(text[base - 1]) ? 1 : 0;
    for (uint64_t starts = m.digit & ~((m.digit << 1) | carry); starts != 0; starts &= starts - 1) {
      std::size_t r = base + static_cast<std::size_t>(__builtin_ctzll(starts));
      std::size_t i = r + 1;
      while (i < text.size() && IsDigit(text[i])) ++i;
      // Cheap gates first: most digit runs in text are years, counts and times.
      std::size_t digits = i - r;
      char after = i < text.size() ? text[i] : '\0';
      if (types.credit_card != kOff) cards.Run(text, r, i, types.credit_card, env);
      if (digits == 3 && types.phone != kOff) Nanp(types.phone, r, env);
      if (digits <= 3 && after == '.') {
        if (types.ipv4 != kOff) Ipv4(types.ipv4, r, env);
        if (digits == 3 && types.us_ssn != kOff) DottedSsn(types.us_ssn, r, env);
      }
      if (r > 0 && IsAlpha(text[r - 1])) {
        if (types.icd10 != kOff && r > icd10_end && IsUpper(text[r - 1])) {
          if (std::size_t end = Icd10(types.icd10, r, env); end != kNone) icd10_end = end;
        }
        if (types.iban != kOff) IbanMatches(text, r, ibans);
      }
    }
    if (types.ipv6 == kOff) continue;
    for (uint64_t colons = m.colon; colons != 0; colons &= colons - 1) {
      ipv6.Colon(text, base + static_cast<std::size_t>(__builtin_ctzll(colons)));
    }
  }
  if (types.credit_card != kOff) cards.Flush(types.credit_card, env);
  if (types.ipv6 != kOff) ipv6.Apply(types.ipv6, env);
  // Hyperscan reported one start per end: the leftmost.
  std::stable_sort(ibans.begin(), ibans.end(),
                   [](const Span& a, const Span& b) { return a.end < b.end; });
  for (std::size_t k = 0; k < ibans.size(); ++k) {
    if (k > 0 && ibans[k].end == ibans[k - 1].end) continue;
    ApplyRule(Rule::kIban, types.iban, ibans[k].start, ibans[k].end, env);
  }
}

}  // namespace hybridgate::sensitivity
