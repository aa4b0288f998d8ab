#include "classify/complexity/heuristic.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace hybridgate::complexity {
namespace {

enum class Cue : uint8_t { kNone, kStep, kConstraint, kQuantity, kHard, kEasy, kCode };

// The few words that matter as part of a phrase ("at least", "step by step", "no more than").
enum class Small : uint8_t { kOther, kAt, kNo, kMore, kStep, kBy, kLeast, kMost, kThan };

struct WordCue {
  std::string_view word;
  Cue cue;
  Small small = Small::kOther;
};

// Words that hint at what a prompt asks for; looked up in the hashed copy below.
constexpr WordCue kCues[] = {
    {"afterwards", Cue::kStep},
    {"algorithm", Cue::kHard},
    {"always", Cue::kConstraint},
    {"analyse", Cue::kHard},
    {"analysis", Cue::kHard},
    {"analyze", Cue::kHard},
    {"architect", Cue::kHard},
    {"async", Cue::kCode},
    {"avoid", Cue::kConstraint},
    {"await", Cue::kCode},
    {"calculate", Cue::kHard},
    {"compare", Cue::kHard},
    {"complexity", Cue::kHard},
    {"compute", Cue::kHard},
    {"const", Cue::kCode},
    {"constraint", Cue::kConstraint},
    {"constraints", Cue::kConstraint},
    {"contrast", Cue::kHard},
    {"debug", Cue::kHard},
    {"def", Cue::kCode},
    {"define", Cue::kEasy},
    {"derivation", Cue::kHard},
    {"derive", Cue::kHard},
    {"design", Cue::kHard},
    {"determine", Cue::kHard},
    {"each", Cue::kQuantity},
    {"elif", Cue::kCode},
    {"ensure", Cue::kConstraint},
    {"estimate", Cue::kHard},
    {"evaluate", Cue::kHard},
    {"every", Cue::kQuantity},
    {"exactly", Cue::kConstraint},
    {"except", Cue::kConstraint},
    {"fewer", Cue::kQuantity},
    {"finally", Cue::kStep},
    {"first", Cue::kStep},
    {"formalize", Cue::kHard},
    {"function", Cue::kCode},
    {"half", Cue::kQuantity},
    {"hello", Cue::kEasy},
    {"hey", Cue::kEasy},
    {"hi", Cue::kEasy},
    {"implement", Cue::kHard},
    {"import", Cue::kCode},
    {"justify", Cue::kHard},
    {"lambda", Cue::kCode},
    {"lemma", Cue::kHard},
    {"less", Cue::kQuantity},
    {"must", Cue::kConstraint},
    {"never", Cue::kConstraint},
    {"next", Cue::kStep},
    {"nullptr", Cue::kCode},
    {"only", Cue::kConstraint},
    {"optimise", Cue::kHard},
    {"optimize", Cue::kHard},
    {"per", Cue::kQuantity},
    {"percent", Cue::kQuantity},
    {"percentage", Cue::kQuantity},
    {"printf", Cue::kCode},
    {"println", Cue::kCode},
    {"probability", Cue::kHard},
    {"proof", Cue::kHard},
    {"prove", Cue::kHard},
    {"ratio", Cue::kQuantity},
    {"refactor", Cue::kHard},
    {"remaining", Cue::kQuantity},
    {"require", Cue::kConstraint},
    {"required", Cue::kConstraint},
    {"requires", Cue::kConstraint},
    {"return", Cue::kCode},
    {"second", Cue::kStep},
    {"should", Cue::kConstraint},
    {"solve", Cue::kHard},
    {"spell", Cue::kEasy},
    {"steps", Cue::kStep},
    {"struct", Cue::kCode},
    {"subsequently", Cue::kStep},
    {"synonym", Cue::kEasy},
    {"thank", Cue::kEasy},
    {"thanks", Cue::kEasy},
    {"then", Cue::kStep},
    {"theorem", Cue::kHard},
    {"third", Cue::kStep},
    {"times", Cue::kQuantity},
    {"total", Cue::kQuantity},
    {"tradeoff", Cue::kHard},
    {"tradeoffs", Cue::kHard},
    {"translate", Cue::kEasy},
    {"twice", Cue::kQuantity},
    {"unless", Cue::kConstraint},
    {"void", Cue::kCode},
    {"why", Cue::kHard},
    {"without", Cue::kConstraint},
    {"yaml", Cue::kCode},
    {"average", Cue::kQuantity},
    // Phrase parts, no cue of their own.
    {"at", Cue::kNone, Small::kAt},
    {"no", Cue::kNone, Small::kNo},
    {"more", Cue::kNone, Small::kMore},
    {"step", Cue::kNone, Small::kStep},
    {"by", Cue::kNone, Small::kBy},
    {"least", Cue::kNone, Small::kLeast},
    {"most", Cue::kNone, Small::kMost},
    {"than", Cue::kNone, Small::kThan},
};

// A word of up to 16 letters, lower-cased, packed into two integers (byte k of the word is byte
// k % 8 of lo or hi, little end first; unused bytes are zero). MeasureText packs each word as it
// reads it, so a lookup compares two integers instead of calling memcmp.
constexpr size_t kPackedMax = 16;
struct PackedWord {
  uint64_t lo = 0;
  uint64_t hi = 0;
  uint32_t len = 0;  // every letter counts; only the first kPackedMax are packed

  constexpr void Add(unsigned char c) {
    if (len < 8) {
      lo |= uint64_t{c} << (8 * len);
    } else if (len < kPackedMax) {
      hi |= uint64_t{c} << (8 * (len - 8));
    }
    ++len;
  }
};

constexpr PackedWord Pack(std::string_view w) {
  PackedWord p;
  for (char c : w) p.Add(static_cast<unsigned char>(c));
  return p;
}

// The table is hashed at compile time into an open-addressing copy (linear probing) keyed by the
// packed word, so the literal above can stay readable and a word costs one multiply and usually
// one comparison: this runs for every word of every prompt.
constexpr size_t kSlots = 256;  // a power of two, over twice the cue count
static_assert(kSlots >= 2 * std::size(kCues));
constexpr size_t Slot(const PackedWord& p) {
  const uint64_t h = (p.lo ^ (p.hi * 0x9E3779B97F4A7C15ull) ^ p.len) * 0xFF51AFD7ED558CCDull;
  return static_cast<size_t>(h >> 56) & (kSlots - 1);
}

struct HashedCue {
  PackedWord word;  // len 0: an empty slot
  Cue cue = Cue::kNone;
  Small small = Small::kOther;
};
constexpr std::array<HashedCue, kSlots> kHashed = [] {
  std::array<HashedCue, kSlots> t{};
  for (const WordCue& c : kCues) {
    const PackedWord p = Pack(c.word);
    size_t i = Slot(p);
    while (t[i].word.len != 0) i = (i + 1) & (kSlots - 1);
    t[i] = {p, c.cue, c.small};
  }
  return t;
}();
static_assert(std::ranges::all_of(kCues, [](const WordCue& c) {
  return !c.word.empty() && c.word.size() <= kPackedMax;
}));

constexpr HashedCue kNoCue{};
// Longer runs of letters (base64, hashes, URLs without separators) are not counted as words.
constexpr size_t kLongestCountedWord = 24;

// `w` was packed by MeasureText (lower case, at most kPackedMax letters).
const HashedCue& Lookup(const PackedWord& w) {
  for (size_t i = Slot(w);; i = (i + 1) & (kSlots - 1)) {
    const HashedCue& c = kHashed[i];
    if (c.word.len == 0) return kNoCue;
    if (c.word.len == w.len && c.word.lo == w.lo && c.word.hi == w.hi) return c;
  }
}

// The lower-case form of each ASCII letter; 0 for every other byte.
constexpr std::array<unsigned char, 256> kLower = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<unsigned char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<unsigned char>(c - 'A' + 'a');
  return t;
}();

bool IsAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Word-level state: the last two words, for phrases.
class WordScanner {
 public:
  explicit WordScanner(Signals& s) : s_(s) {}

  // `w` is the word packed, or a word longer than kPackedMax (len set, no cue).
  void Word(const PackedWord& w) {
    ++s_.words;
    const HashedCue& found = w.len <= kPackedMax ? Lookup(w) : kNoCue;
    switch (found.cue) {
      case Cue::kStep:
        ++s_.step_words;
        break;
      case Cue::kConstraint:
        ++s_.constraint_words;
        break;
      case Cue::kQuantity:
        ++s_.quantity_words;
        break;
      case Cue::kHard:
        ++s_.hard_words;
        break;
      case Cue::kEasy:
        ++s_.easy_words;
        break;
      case Cue::kCode:
        ++s_.code_words;
        break;
      case Cue::kNone:
        break;
    }
    const Small cur = found.small;
    if (prev_ == Small::kAt && (cur == Small::kLeast || cur == Small::kMost)) ++s_.constraint_words;
    if (prev2_ == Small::kNo && prev_ == Small::kMore && cur == Small::kThan) ++s_.constraint_words;
    if (prev2_ == Small::kStep && prev_ == Small::kBy && cur == Small::kStep) s_.step_words += 2;
    prev2_ = prev_;
    prev_ = cur;
  }

 private:
  Signals& s_;
  Small prev_ = Small::kOther;
  Small prev2_ = Small::kOther;
};

}  // namespace

void MeasureText(std::string_view text, bool task, Signals& s) {
  if (!task) {
    s.context_bytes += static_cast<int64_t>(text.size());
    return;
  }
  s.bytes += static_cast<int64_t>(text.size());
  WordScanner words(s);
  bool line_start = true;
  bool in_number = false;
  int backticks = 0;           // run length of consecutive backticks
  bool in_inline = false;      // inside a single-backtick span
  unsigned char prev_sig = 0;  // last non-space byte
  auto end_backticks = [&] {
    if (backticks >= 3) {
      ++s.code_fences;
    } else if (backticks == 1) {
      if (in_inline) ++s.inline_code;
      in_inline = !in_inline;
    }
    backticks = 0;
  };
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c != '`' && backticks > 0) end_backticks();
    if (kLower[c] != 0) {
      // A whole word in one go: lower-cased and packed as it is read. One longer than
      // kLongestCountedWord letters is not counted (nor is it a cue: none is over kPackedMax).
      PackedWord w;
      size_t j = i;
      for (unsigned char lower; j < n && (lower = kLower[static_cast<unsigned char>(text[j])]) != 0;
           ++j) {
        w.Add(lower);
      }
      if (w.len <= kLongestCountedWord) words.Word(w);
      in_number = false;
      line_start = false;
      prev_sig = static_cast<unsigned char>(text[j - 1]);
      i = j - 1;
      continue;
    }
    if (IsDigit(c)) {
      if (!in_number) ++s.numbers;
      in_number = true;
      if (line_start && i + 2 < n) {
        size_t j = i;
        while (j < n && j < i + 3 && IsDigit(static_cast<unsigned char>(text[j]))) ++j;
        if (j + 1 < n && (text[j] == '.' || text[j] == ')') && text[j + 1] == ' ') {
          ++s.numbered_lines;
        }
      }
      line_start = false;
      prev_sig = c;
      continue;
    }
    // '.' and ',' inside a number ("1,250.5") keep it one number.
    if (in_number && (c == '.' || c == ',') && i + 1 < n &&
        IsDigit(static_cast<unsigned char>(text[i + 1]))) {
      continue;
    }
    in_number = false;
    if (c == '\n') {
      line_start = true;
      continue;
    }
    if (IsSpace(c)) continue;
    if (line_start && (c == '-' || c == '*') && i + 1 < n && text[i + 1] == ' ') {
      ++s.bullet_lines;
      line_start = false;
      prev_sig = c;
      continue;
    }
    line_start = false;
    switch (c) {
      case '`':
        ++backticks;
        break;
      case '?':
        ++s.questions;
        break;
      case '{':
      case '}':
      case ';':
        ++s.code_punct;
        break;
      case '$':
        ++s.latex;
        break;
      case '\\':
        if (i + 1 < n && IsAlpha(static_cast<unsigned char>(text[i + 1]))) ++s.latex;
        break;
      case '+':
      case '*':
      case '/':
      case '=':
      case '^':
      case '<':
      case '>':
      case '%':
        if (IsDigit(prev_sig) || prev_sig == ')' || IsAlpha(prev_sig)) ++s.math_ops;
        break;
      case '#':
        if (text.substr(i, 8) == "#include" || text.substr(i, 7) == "#define") ++s.code_words;
        break;
      default:
        break;
    }
    prev_sig = c;
  }
  if (backticks > 0) end_backticks();
}

Signals MeasureRequest(const api::ChatRequest& req) {
  Signals s;
  for (const api::Message& m : req.messages) {
    const bool task = m.role == "user" || m.role == "system" || m.role == "developer";
    if (m.role == "user") ++s.turns;
    MeasureText(m.text, task, s);
    for (const api::ContentPart& p : m.parts) {
      if (p.kind == api::ContentPart::Kind::kText) MeasureText(p.text, task, s);
    }
    for (const api::ToolCall& tc : m.tool_calls) MeasureText(tc.arguments, false, s);
  }
  return s;
}

namespace {

// log2(1 + x): saturating growth for counts.
double Log1p2(double x) { return std::log2(1.0 + std::max(0.0, x)); }

struct Term {
  std::string_view name;
  double value;
};

}  // namespace

double HeuristicClassifier::ScoreSignals(const Signals& s, std::vector<Contribution>* why) {
  const double words = std::max(1, s.words);
  const double per100 = 100.0 / std::max(20.0, words);  // rates, damped for very short texts
  const double code = Log1p2(s.code_fences * 4 + s.inline_code + s.code_words) +
                      std::min(2.0, s.code_punct * per100 / 4);
  const double math = Log1p2(s.math_ops + 2.0 * s.latex);
  // Each weight is a logit step; the bias puts a short plain question near 0.15.
  const std::array<Term, 12> terms = {{
      {"length", 1.5 * std::clamp(std::log2(1.0 + static_cast<double>(s.words)) - 4.5, -3.0, 7.0)},
      {"context", 0.15 * std::clamp(std::log2(1.0 + s.context_bytes / 256.0), 0.0, 5.0)},
      {"numbers", 0.10 * std::min(4.0, Log1p2(s.numbers))},
      {"math", 0.2 * std::min(4.0, math)},
      {"code", 0.45 * std::min(4.0, code)},
      {"multi_step", 0.45 * std::min(4.0, Log1p2(s.numbered_lines + s.step_words))},
      {"constraints", 0.25 * std::min(4.0, Log1p2(s.constraint_words + s.bullet_lines))},
      {"quantities", 0.10 * std::min(3.0, Log1p2(s.quantity_words))},
      {"reasoning_verbs", 0.80 * std::min(3.0, Log1p2(s.hard_words))},
      {"questions", 0.15 * std::min(3.0, Log1p2(s.questions - 1.0))},
      {"conversation_depth", 0.40 * std::min(3.0, Log1p2(s.turns - 1.0))},
      {"small_talk", -0.70 * std::min(2.0, Log1p2(s.easy_words))},
  }};
  double logit = -1.9;
  for (const Term& t : terms) logit += t.value;
  if (why != nullptr) {
    why->clear();
    why->reserve(terms.size() + 1);  // one allocation, with room for Score's bonus term
    for (const Term& t : terms) {
      if (std::abs(t.value) >= 0.05) why->push_back({t.name, t.value});
    }
    // Largest magnitude first, ties in term order: an insertion sort of at most 12 entries
    // (std::stable_sort would allocate a buffer for them).
    for (size_t i = 1; i < why->size(); ++i) {
      const Contribution c = (*why)[i];
      size_t j = i;
      for (; j > 0 && std::abs((*why)[j - 1].value) < std::abs(c.value); --j) {
        (*why)[j] = (*why)[j - 1];
      }
      (*why)[j] = c;
    }
    if (why->size() > 5) why->resize(5);
  }
  return 1.0 / (1.0 + std::exp(-logit));
}

double HeuristicClassifier::ScorePrompt(std::string_view prompt) {
  Signals s;
  s.turns = 1;
  MeasureText(prompt, true, s);
  return ScoreSignals(s);
}

double HeuristicClassifier::Score(const api::ChatRequest& req, const Features& base,
                                  std::vector<Contribution>* why) const {
  Signals s = MeasureRequest(req);
  // Tools, images and JSON schemas ask more of a model than the words alone say.
  double logit_bonus = 0;
  if (base.has_tools) logit_bonus += 0.3;
  if (base.wants_json_schema) logit_bonus += 0.3;
  double p = ScoreSignals(s, why);
  if (logit_bonus == 0) return p;
  if (why != nullptr) why->push_back({"structured_output_or_tools", logit_bonus});
  const double logit = std::log(p / (1 - p)) + logit_bonus;
  return 1.0 / (1.0 + std::exp(-logit));
}

}  // namespace hybridgate::complexity
