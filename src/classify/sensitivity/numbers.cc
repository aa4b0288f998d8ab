#include "classify/sensitivity/numbers.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "classify/sensitivity/cards.h"
#include "classify/sensitivity/validators.h"

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

// `(?:\(\d{3}\)[ .\-]?|\b\d{3}[ .\-])\d{3}[ .\-]\d{4}\b` starting at or just before the digit
// run at r, where either edge may also be glued to a word of letters ("call415-555-0132",
// "(415) 555-0132USD"). The two alternatives never end at the same offset.
void Nanp(uint32_t type, std::size_t r, RuleEnv& env) {
  std::string_view text = env.text;
  auto rest = [&](std::size_t x) {  // \d{3}[ .\-]\d{4}\b
    bool ok = DigitsAt(text, x, 3) && x + 3 < text.size() && IsSeparator(text[x + 3]) &&
              DigitsAt(text, x + 4, 4) &&
              (BoundaryAfter(text, x + 8) || LetterWordAt(text, x + 8, false));
    return ok ? x + 8 : kNone;
  };
  if (r > 0 && text[r - 1] == '(' && DigitsAt(text, r, 3) && r + 3 < text.size() &&
      text[r + 3] == ')') {
    std::size_t x = r + 4;
    if (x < text.size() && IsSeparator(text[x])) ++x;
    if (std::size_t end = rest(x); end != kNone) ApplyRule(Rule::kPhoneNanp, type, r - 1, end, env);
  }
  if ((BoundaryBefore(text, r) || LetterWordAt(text, r, true)) && DigitsAt(text, r, 3) &&
      r + 3 < text.size() && IsSeparator(text[r + 3])) {
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
// keeps the looser grouping from costing false positives.) Either edge may be glued to a word of
// letters (LetterWordAt): then the country code is the two letters before the check digits, and
// the end is where the country's length is reached.
void IbanMatches(std::string_view text, std::size_t r, std::vector<Span>& out) {
  if (r < 2 || !IsAlpha(text[r - 1]) || !IsAlpha(text[r - 2]) || !DigitsAt(text, r, 2)) return;
  std::size_t start = r - 2;
  if (!BoundaryBefore(text, start) && !LetterWordAt(text, start, true)) return;
  auto skip_separator = [&](std::size_t i) {
    if (i + 1 < text.size() && text[i] == '\r' && text[i + 1] == '\n') return i + 2;
    const bool sep = i < text.size() && (text[i] == ' ' || text[i] == '-' || text[i] == '.' ||
                                         text[i] == '\t' || text[i] == '\n');
    return sep ? i + 1 : i;
  };
  const auto upper = [](char c) { return static_cast<char>(c & ~0x20); };
  if (const int length = IbanLength(upper(text[start]), upper(text[start + 1])); length > 4) {
    std::size_t q = r + 2;
    int have = 4;
    while (have < length) {
      const int want = std::min(4, length - have);
      const std::size_t g = skip_separator(q);
      if (RunAt(text, g, static_cast<std::size_t>(want), IsAlnum) !=
          static_cast<std::size_t>(want)) {
        break;
      }
      q = g + static_cast<std::size_t>(want);
      have += want;
    }
    if (have == length && q < text.size() && IsAlpha(text[q]) && LetterWordAt(text, q, false)) {
      out.push_back(Span{start, q});
    }
  }
  std::size_t q = r + 2;
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

// `\b\d{3}([.\-])\d{2}\1\d{4}\b` starting at the digit run at r, whose separator is
// text[r + 3]. Glued to letters ("SSN123-45-6789", "…6789USD") only after SSN context: part
// numbers are written that way too ("A123-45-6789B"). The spaced and mixed forms need SSN
// context (rules.cc).
void SeparatedSsn(uint32_t type, std::size_t r, RuleEnv& env) {
  std::string_view text = env.text;
  if (!DigitsAt(text, r, 3) || r + 11 > text.size()) return;
  const char sep = text[r + 3];
  if (!DigitsAt(text, r + 4, 2) || text[r + 6] != sep || !DigitsAt(text, r + 7, 4)) return;
  const bool before = BoundaryBefore(text, r);
  const bool after = BoundaryAfter(text, r + 11);
  if (!(before && after)) {
    auto ssn_context = [&] {
      if (r >= 3 && (text[r - 3] | 0x20) == 's' && (text[r - 2] | 0x20) == 's' &&
          (text[r - 1] | 0x20) == 'n') {
        return true;
      }
      for (const Span& k : env.contexts->spans(Context::kSsn)) {
        if (k.end <= r && r - k.end <= 20) return true;
      }
      return false;
    };
    if ((!before && !LetterWordAt(text, r, true)) ||
        (!after && !LetterWordAt(text, r + 11, false)) || !ssn_context()) {
      return;
    }
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

// `\b0\d{1,4}(?:[ ./\-]?\d{2,8}){1,4}\b` as a chain of digit runs joined by one separator each
// (a separator can only open a group): the first run holds the 0, 1..4 more digits and any
// number of whole groups, each later run one group or more, and a run of n digits holds g groups
// when 2g <= n <= 8g. A chain can end after any run followed by a non-word byte, with 1..4
// groups in all. Bit g of the sets below: g groups are possible.
unsigned GroupCounts(std::size_t n) {
  unsigned set = 0;
  for (std::size_t g = 1; g <= 4; ++g) {
    if (2 * g <= n && n <= 8 * g) set |= 1u << g;
  }
  return set;
}

// Matches found per start, applied as Hyperscan reported them: one per end, the leftmost start.
void ApplyLeftmost(Rule rule, uint32_t type, std::vector<Span>& spans, RuleEnv& env) {
  if (spans.empty()) return;
  std::stable_sort(spans.begin(), spans.end(),
                   [](const Span& a, const Span& b) { return a.end < b.end; });
  for (std::size_t k = 0; k < spans.size(); ++k) {
    if (k > 0 && spans[k].end == spans[k - 1].end) continue;
    ApplyRule(rule, type, spans[k].start, spans[k].end, env);
  }
}

}  // namespace

void NationalPhoneMatches(std::string_view text, std::size_t r, std::vector<Span>& out) {
  if (text[r] != '0' || !BoundaryBefore(text, r)) return;
  std::size_t q = r + 1;
  while (q < text.size() && IsDigit(text[q])) ++q;
  unsigned reach = 0;  // group counts possible at q
  for (std::size_t lead = 2; lead <= 5 && lead <= q - r; ++lead) {
    reach |= q - r == lead ? 1u : GroupCounts(q - r - lead);
  }
  for (;;) {
    reach &= 0x1f;  // at most 4 groups
    if (reach == 0) return;
    if ((reach & 0x1e) != 0 && BoundaryAfter(text, q)) out.push_back(Span{r, q});
    if (q + 1 >= text.size() || !IsDigit(text[q + 1]) ||
        (text[q] != ' ' && text[q] != '.' && text[q] != '/' && text[q] != '-')) {
      return;
    }
    const std::size_t s = q + 1;
    q = s + 1;
    while (q < text.size() && IsDigit(text[q])) ++q;
    const unsigned groups = GroupCounts(q - s);
    unsigned next = 0;
    for (unsigned g = 1; g <= 4; ++g) {
      if ((groups >> g) & 1) next |= reach << g;
    }
    reach = next;
  }
}

void NumberPass::DigitRun(std::size_t r) {
  constexpr uint32_t kOff = UINT32_MAX;
  const std::string_view text = env_.text;
  std::size_t i = r + 1;
  while (i < text.size() && IsDigit(text[i])) ++i;
  // Cheap gates first: most digit runs in text are years, counts and times.
  const std::size_t digits = i - r;
  const char after = i < text.size() ? text[i] : '\0';
  if (types_.credit_card != kOff) {
    // Chains of digit groups joined by runs of 1..3 card separators (space, '-', '.', '/', tab,
    // CR, LF, '_', ',', '|', ':', ';', '+', '*'; mixed) or by a line bridge (cards.h); a chain of
    // 13 digits or more hands its end to the card rule, which re-parses it.
    if (!(card_digits_ > 0 && r > card_end_ &&
          CardGapKindFast(text, card_end_, r) != CardGap::kNone)) {
      FlushCard();
    }
    card_digits_ += digits;
    card_end_ = i;
  }
  if (types_.phone != kOff) {
    if (digits == 3) Nanp(types_.phone, r, env_);
    if (text[r] == '0') NationalPhoneMatches(text, r, national_);
  }
  if (digits <= 3 && after == '.' && types_.ipv4 != kOff) Ipv4(types_.ipv4, r, env_);
  if (digits == 3 && (after == '.' || after == '-') && types_.us_ssn != kOff) {
    SeparatedSsn(types_.us_ssn, r, env_);
  }
  if (r > 0 && IsAlpha(text[r - 1])) {
    if (types_.icd10 != kOff && r > icd10_end_ && IsUpper(text[r - 1])) {
      if (std::size_t end = Icd10(types_.icd10, r, env_); end != kNone) icd10_end_ = end;
    }
    if (types_.iban != kOff) IbanMatches(text, r, ibans_);
  }
}

void NumberPass::FlushCard() {
  if (card_digits_ >= 13) ApplyRule(Rule::kCardTrigger, types_.credit_card, 0, card_end_, env_);
  card_digits_ = 0;
}

// IPv6 trigger ends, in the order Hyperscan reported them: `[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:`
// (consecutive ends within 2 bytes folded into one hit, as the scanner's match callback did) and
// `::[0-9A-Fa-f]`. The rule re-parses the whole run around a trigger and skips later triggers
// inside it.
void NumberPass::Colon(std::size_t c) {
  const std::string_view text = env_.text;
  std::size_t hex = 0;
  while (hex < 5 && hex < c && IsHex(text[c - 1 - hex])) ++hex;
  if (hex <= 4 && c >= hex + 2 && text[c - hex - 1] == ':' && IsHex(text[c - hex - 2])) {
    const std::size_t to = c + 1;
    if (ipv6_folding_ != kNone && to <= ipv6_[ipv6_folding_] + 2) {
      ipv6_[ipv6_folding_] = to;
    } else {
      ipv6_folding_ = ipv6_.size();
      ipv6_.push_back(to);
    }
  }
  if (c >= 1 && text[c - 1] == ':' && c + 1 < text.size() && IsHex(text[c + 1])) {
    ipv6_.push_back(c + 2);
  }
}

void NumberPass::Finish() {
  if (types_.credit_card != UINT32_MAX) FlushCard();
  for (std::size_t to : ipv6_) ApplyRule(Rule::kIpv6Trigger, types_.ipv6, 0, to, env_);
  ApplyLeftmost(Rule::kIban, types_.iban, ibans_, env_);
  ApplyLeftmost(Rule::kPhoneNational, types_.phone, national_, env_);
}

}  // namespace hybridgate::sensitivity
