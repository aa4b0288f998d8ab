#include "classify/sensitivity/cards.h"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "classify/sensitivity/keywords.h"
#include "classify/sensitivity/validators.h"

namespace hybridgate::sensitivity {
namespace {

constexpr std::size_t kMaxCardRun = 80;   // bytes re-parsed each way from a trigger
constexpr std::size_t kCardContext = 40;  // "card number: 3712 …", "… (Visa)"
constexpr std::size_t kLabelBefore = 3;   // "order #7147…", "PO: 2041…"
constexpr std::size_t kMaxGroups = kMaxCardRun + 2;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// One digit group of a card candidate, with its Luhn sums: its digits at even and odd positions
// (counted from the group's start), plain and doubled. Which positions are doubled (every second
// from the right) depends on the length of the whole slice, so a slice combines its groups'
// sums in O(1) instead of re-reading digits. No default initialisers: CardTrigger keeps an
// array of these on the stack per trigger.
struct CardGroup {
  std::size_t start;
  std::size_t end;
  int plain[2];
  int doubled[2];
  CardGap gap;  // what joins it to the group before (kNone for the first)
};

CardGroup MakeCardGroup(std::string_view text, std::size_t start, std::size_t end) {
  static constexpr int kDoubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
  int plain_even = 0, plain_odd = 0, doubled_even = 0, doubled_odd = 0;
  std::size_t k = start;
  for (; k + 1 < end; k += 2) {
    const int even = text[k] - '0';
    const int odd = text[k + 1] - '0';
    plain_even += even;
    doubled_even += kDoubled[even];
    plain_odd += odd;
    doubled_odd += kDoubled[odd];
  }
  if (k < end) {
    plain_even += text[k] - '0';
    doubled_even += kDoubled[text[k] - '0'];
  }
  return CardGroup{
      start, end, {plain_even, plain_odd}, {doubled_even, doubled_odd}, CardGap::kNone};
}

// The Luhn check of a slice of groups that grows at its end.
class LuhnSums {
 public:
  void Add(const CardGroup& g) {
    for (std::size_t q = 0; q < 2; ++q) {
      plain_[(n_ + q) & 1] += g.plain[q];
      doubled_[(n_ + q) & 1] += g.doubled[q];
    }
    n_ += g.end - g.start;
  }
  bool Valid() const {
    const std::size_t p = n_ & 1;  // doubled: positions of the same parity as the length
    return n_ > 0 && (doubled_[p] + plain_[1 - p]) % 10 == 0;
  }

 private:
  std::size_t n_ = 0;
  int plain_[2] = {0, 0};
  int doubled_[2] = {0, 0};
};

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }
bool IsKeyByte(char c) { return IsAlpha(c) || c == '_' || c == '.' || c == '-'; }

// `key:` at text[i] (an identifier without digits, then ':'): the end of the ':', or 0.
std::size_t KeyPrefixEnd(std::string_view text, std::size_t i, std::size_t q) {
  if (i >= q || !(IsAlpha(text[i]) || text[i] == '_')) return 0;
  std::size_t j = i + 1;
  while (j < q && j - i <= 32 && IsKeyByte(text[j])) ++j;
  if (j < q && IsSpaceOrTab(text[j])) ++j;
  return j < q && text[j] == ':' ? j + 1 : 0;
}

// A line break at text[i] ("\n" or "\r\n"): the offset after it, or 0.
std::size_t LineBreakEnd(std::string_view text, std::size_t i, std::size_t q) {
  if (i < q && text[i] == '\n') return i + 1;
  if (i + 1 < q && text[i] == '\r' && text[i + 1] == '\n') return i + 2;
  return 0;
}

// Length of the gap that ends at text[i - 1] and has a digit before it; 0 when there is none.
// Cheap when there is none: a separator run is at most three bytes, and a bridge ends with a
// line break and at most a `key: ` prefix and spaces, checked before walking back to a digit.
std::size_t GapBefore(std::string_view text, std::size_t i) {
  if (i == 0 || !IsCardSeparator(text[i - 1])) return 0;
  std::size_t k = 0;
  while (k <= kMaxCardSeparatorRun && k < i && IsCardSeparator(text[i - 1 - k])) ++k;
  if (k <= kMaxCardSeparatorRun && k < i && IsDigit(text[i - 1 - k])) return k;
  // A bridge: [ \t]{0,2} (key[ \t]?:)? [ \t]{0,2} before i, and a line break before that.
  std::size_t j = i;
  for (int n = 0; n < 2 && j > 0 && IsSpaceOrTab(text[j - 1]); ++n) --j;
  if (j > 0 && text[j - 1] == ':') {
    --j;
    if (j > 0 && IsSpaceOrTab(text[j - 1])) --j;
    const std::size_t key_end = j;
    while (j > 0 && key_end - j <= 33 && IsKeyByte(text[j - 1])) --j;
    if (j == key_end) return 0;
    for (int n = 0; n < 2 && j > 0 && IsSpaceOrTab(text[j - 1]); ++n) --j;
  }
  if (j == 0 || text[j - 1] != '\n') return 0;
  while (j > 0 && i - j <= kMaxCardGap && !IsDigit(text[j - 1])) --j;
  if (j == 0 || !IsDigit(text[j - 1]) || CardGapKind(text, j, i) == CardGap::kNone) return 0;
  return i - j;
}

// The same for the gap that starts at text[i] and has a digit after it.
std::size_t GapAfter(std::string_view text, std::size_t i) {
  if (i >= text.size() || !IsCardSeparator(text[i])) return 0;
  std::size_t k = 0;
  while (k <= kMaxCardSeparatorRun && i + k < text.size() && IsCardSeparator(text[i + k])) ++k;
  if (k <= kMaxCardSeparatorRun && i + k < text.size() && IsDigit(text[i + k])) return k;
  // A bridge starts with [ \t]{0,2} and a line break.
  std::size_t j = i;
  for (int n = 0; n < 2 && j < text.size() && IsSpaceOrTab(text[j]); ++n) ++j;
  if (j >= text.size() || (text[j] != '\n' && text[j] != '\r')) return 0;
  while (j < text.size() && j - i <= kMaxCardGap && !IsDigit(text[j])) ++j;
  if (j >= text.size() || !IsDigit(text[j]) || CardGapKind(text, i, j) == CardGap::kNone) return 0;
  return j - i;
}

// Whether the gap before group k is a run of separators that holds an exotic one.
bool ExoticGap(std::string_view text, const CardGroup* groups, int k) {
  if (groups[k].gap != CardGap::kSeparator) return false;
  for (std::size_t p = groups[k - 1].end; p < groups[k].start; ++p) {
    if (IsExoticCardSeparator(text[p])) return true;
  }
  return false;
}

// Whether the digit groups [first, last] of a card candidate are written the way cards are
// printed, which is what lets a known brand count without card context: one group; or groups
// joined by one and the same single space or dash ("4111 1111 …", "4111-1111-…", a last group of
// three digits or more, or all groups of one or two); or groups of 3..6 digits ("4111.1111.…",
// "3782 822463 10005", "4111\r\n1111 …") with any separator runs.
bool PrintedLikeACard(std::string_view text, const CardGroup* groups, int first, int last,
                      bool whole_run) {
  if (first == last) return true;
  bool exotic = false;
  for (int k = first + 1; k <= last; ++k) exotic = exotic || ExoticGap(text, groups, k);
  if (exotic) {
    // "4111_1111_1111_1111", "4111 | 1111 | …": '_', ',', '|', ':', ';', '+', '*' also join
    // fields and list items ("5432,6432,8080,9090"), so the groups must be 3..6 digits, joined
    // by one and the same run, and be the whole run: not a slice of a longer list.
    if (!whole_run) return false;
    const std::string_view sep =
        text.substr(groups[first].end, groups[first + 1].start - groups[first].end);
    for (int k = first; k <= last; ++k) {
      const std::size_t len = groups[k].end - groups[k].start;
      if (len < 3 || len > 6) return false;
      if (k > first && text.substr(groups[k - 1].end, groups[k].start - groups[k - 1].end) != sep) {
        return false;
      }
    }
    return true;
  }
  const char sep = text[groups[first].end];
  bool same_separator = sep == ' ' || sep == '-';
  bool grouped = true;  // every group 3..6 digits
  std::size_t longest = 0;
  for (int k = first; k <= last; ++k) {
    const std::size_t len = groups[k].end - groups[k].start;
    grouped = grouped && len >= 3 && len <= 6;
    longest = std::max(longest, len);
    if (k > first) {
      same_separator = same_separator && groups[k].start - groups[k - 1].end == 1 &&
                       text[groups[k - 1].end] == sep;
    }
  }
  // A last group of one or two digits after longer ones ("9303 9405 4880 4298 4956 6") is the
  // tail of a longer number more often than a card's; digits spaced out one or two at a time
  // ("4 1 1 1 …") are not.
  const std::size_t last_len = groups[last].end - groups[last].start;
  return grouped || (same_separator && (last_len >= 3 || longest <= 2));
}

// The digit groups of the run around a trigger, bounded to kMaxCardRun bytes each way; the
// first / last group is dropped when the run goes on past the bound (it may be cut).
struct CardRun {
  CardGroup groups[kMaxGroups];
  int first = 0;
  int last = 0;  // one past
  int count = 0;
  bool cut = false;  // the run goes on past the bound on either side
  std::size_t end = 0;
};

void ParseCardRun(std::string_view text, std::size_t to, CardRun& run) {
  std::size_t lo = to - 1;
  const std::size_t lo_limit = to > kMaxCardRun ? to - kMaxCardRun : 0;
  while (true) {
    if (lo > lo_limit && IsDigit(text[lo - 1])) {
      --lo;
    } else if (std::size_t k = GapBefore(text, lo); k > 0 && lo >= lo_limit + k + 1) {
      lo -= k + 1;
    } else {
      break;
    }
  }
  const bool cut_left = lo > 0 && (IsDigit(text[lo - 1]) || GapBefore(text, lo) > 0);
  std::size_t hi = to;
  const std::size_t hi_limit = std::min(text.size(), to + kMaxCardRun);
  while (true) {
    if (hi < hi_limit && IsDigit(text[hi])) {
      ++hi;
    } else if (std::size_t k = GapAfter(text, hi); k > 0 && hi + k < hi_limit) {
      hi += k + 1;
    } else {
      break;
    }
  }
  const bool cut_right = hi < text.size() && (IsDigit(text[hi]) || GapAfter(text, hi) > 0);
  int count = 0;
  for (std::size_t i = lo; i < hi && count < static_cast<int>(kMaxGroups);) {
    std::size_t j = i;
    while (j < hi && IsDigit(text[j])) ++j;
    run.groups[count] = MakeCardGroup(text, i, j);
    if (count > 0) run.groups[count].gap = CardGapKind(text, run.groups[count - 1].end, i);
    ++count;
    i = j;
    while (i < hi && !IsDigit(text[i])) ++i;  // the gap
  }
  run.first = cut_left ? 1 : 0;
  run.last = cut_right ? count - 1 : count;
  run.count = count;
  run.cut = cut_left || cut_right;
  run.end = hi;
}

// Whether letters glued to a card candidate at text[at] (before it when `before`) leave it a
// candidate: a card word itself ("card4111…", "…1111exp"), or at most three letters next to
// card context ("Nr4111…"). Longer tokens are hashes, ids and base64.
bool GluedLettersOk(std::string_view text, std::size_t at, bool before) {
  if (before ? CardWordEndsAt(text, at) : CardWordStartsAt(text, at)) return true;
  std::size_t n = 0;
  if (before) {
    while (n < 4 && n < at && IsAlpha(text[at - 1 - n])) ++n;
  } else {
    while (n < 4 && at + n < text.size() && IsAlpha(text[at + n])) ++n;
  }
  return n <= 3;
}

// A known brand glued to words of letters on one side or both ("4111…USD", "pay4111…"), where
// the letters are not all hex digits: "deadbeef4111…" is a slice of a hash.
bool GluedToWord(std::string_view text, std::size_t start, std::size_t end) {
  const bool before = start > 0 && IsAlpha(text[start - 1]);
  const bool after = end < text.size() && IsAlpha(text[end]);
  if ((before && !LetterWordAt(text, start, true)) || (after && !LetterWordAt(text, end, false))) {
    return false;
  }
  const auto hex_letter = [](char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'f'; };
  for (std::size_t k = start; k > 0 && IsAlpha(text[k - 1]); --k) {
    if (!hex_letter(text[k - 1])) return true;
  }
  for (std::size_t k = end; k < text.size() && IsAlpha(text[k]); ++k) {
    if (!hex_letter(text[k])) return true;
  }
  return false;
}

// The longest card among the slices that start at group i (its last group), or -1.
int LongestCardFrom(std::string_view text, const CardRun& run, int i, int& context) {
  const CardGroup* groups = run.groups;
  const std::size_t start = groups[i].start;
  // "X4111…": glued to letters, a number is a card with card context when the letters are a
  // card word or few; by its brand only when it is the whole run and the letters a word of their
  // own, not all hex digits (GluedToWord). "+4915112345678" is an international phone number.
  const bool glued_before = start > 0 && IsAlpha(text[start - 1]);
  const bool context_glue_before = !glued_before || GluedLettersOk(text, start, true);
  const bool phone_like = start > 0 && text[start - 1] == '+';
  char iin[4];  // the slice's first digits, all a brand check reads
  std::size_t iin_size = 0;
  for (int g = i; g < run.last && iin_size < 4; ++g) {
    for (std::size_t k = groups[g].start; k < groups[g].end && iin_size < 4; ++k) {
      iin[iin_size++] = text[k];
    }
  }
  // "order 7147…", "IMEI 3569…": a number labelled as something else needs a known brand.
  // Looked up only for a Luhn-valid slice outside the brand table.
  int labelled = -1;
  auto is_labelled = [&] {
    if (labelled < 0) {
      const std::size_t at = groups[i].start;
      labelled = KeywordEndsIn(text, KeywordSet::kNumberLabel,
                               at > kLabelBefore ? at - kLabelBefore : 0, at);
    }
    return labelled == 1;
  };
  // Card context is looked up once per run, for the first Luhn-valid slice that needs it.
  auto has_context = [&] {
    if (context < 0) {
      const std::size_t lo = groups[run.first].start;
      const std::size_t hi = groups[run.last - 1].end;
      context = CardContextIn(text, lo > kCardContext ? lo - kCardContext : 0, lo) ||
                CardContextIn(text, hi, std::min(text.size(), hi + kCardContext));
    }
    return context == 1;
  };
  int best = -1;
  LuhnSums luhn;
  std::size_t n = 0;
  bool bridged = false;
  for (int j = i; j < run.last; ++j) {
    n += groups[j].end - groups[j].start;
    if (n > 19) break;
    luhn.Add(groups[j]);
    bridged = bridged || (j > i && groups[j].gap == CardGap::kBridge);
    const std::size_t end = groups[j].end;
    if (n < 13 || !luhn.Valid()) continue;
    const bool glued_after = end < text.size() && IsAlpha(text[end]);
    const bool whole_run = !run.cut && i == 0 && j == run.count - 1;
    const bool glued = glued_before || glued_after;
    if ((!bridged && !phone_like && KnownCardIin(std::string_view(iin, iin_size), n) &&
         PrintedLikeACard(text, groups, i, j, whole_run) &&
         (!glued || (whole_run && GluedToWord(text, start, end) && !is_labelled()))) ||
        (context_glue_before && (!glued_after || GluedLettersOk(text, end, false)) &&
         !is_labelled() && has_context())) {
      best = j;
    }
  }
  return best;
}

}  // namespace

CardGap CardGapKind(std::string_view text, std::size_t p, std::size_t q) {
  if (q <= p || q - p > kMaxCardGap) return CardGap::kNone;
  if (q - p <= kMaxCardSeparatorRun &&
      std::all_of(text.begin() + p, text.begin() + q, IsCardSeparator)) {
    return CardGap::kSeparator;
  }
  // [ \t]{0,2} \r?\n (key: [^\n]{0,40} \r?\n){0,2} [ \t]{0,2} (key: [ \t]{0,2})?
  std::size_t i = p;
  while (i < q && i - p < 2 && IsSpaceOrTab(text[i])) ++i;
  i = LineBreakEnd(text, i, q);
  if (i == 0) return CardGap::kNone;
  for (int line = 0; line < 2; ++line) {
    const std::size_t key_end = KeyPrefixEnd(text, i, q);
    if (key_end == 0) break;
    std::size_t eol = key_end;
    while (eol < q && eol - key_end <= 40 && text[eol] != '\n' && text[eol] != '\r') ++eol;
    const std::size_t next = LineBreakEnd(text, eol, q);
    if (next == 0) break;
    i = next;
  }
  for (int k = 0; k < 2 && i < q && IsSpaceOrTab(text[i]); ++k) ++i;
  if (std::size_t key_end = KeyPrefixEnd(text, i, q); key_end != 0) {
    i = key_end;
    for (int k = 0; k < 2 && i < q && IsSpaceOrTab(text[i]); ++k) ++i;
  }
  return i == q ? CardGap::kBridge : CardGap::kNone;
}

// Left to right, the longest group-aligned slice that is a card: 13..19 Luhn-valid digits, not
// glued to letters, and either card context within kCardContext bytes (any issuer, any grouping;
// not for a number labelled as an order, shipment, IMEI …) or a known IIN with a length its
// network issues, printed like a card (PrintedLikeACard).
void CardTrigger(RuleEnv& env, uint32_t type, std::size_t to) {
  const std::string_view text = env.text;
  if (to <= env.card_run_end) return;
  CardRun run;
  ParseCardRun(text, to, run);
  env.card_run_end = run.end;
  int context = -1;
  for (int i = run.first; i < run.last;) {
    const int best = LongestCardFrom(text, run, i, context);
    if (best >= 0) {
      env.out->push_back(Candidate{type, run.groups[i].start, run.groups[best].end});
      i = best + 1;
    } else {
      ++i;
    }
  }
}

}  // namespace hybridgate::sensitivity
