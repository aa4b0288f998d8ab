#include "learned/features.h"

#include <cmath>

namespace hybridgate::learned {

const std::array<std::string_view, kNumDense> kDenseNames = {
    "log_chars",          "log_words",          "log_numbers",    "digit_fraction",
    "log_math_symbols",   "log_question_marks", "log_sentences",  "has_options",
    "log_option_length",  "numeric_options",    "statement_pair", "negation_cue",
    "log_max_digits",     "has_decimal",        "has_percent",    "has_currency",
    "log_question_nums",  "log_longest_word",   "has_fraction",   "log_lines",
    "log_fraction_words", "log_comparatives",
};

namespace {

bool StartsWithCi(std::string_view text, size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (detail::Lower(static_cast<unsigned char>(text[pos + k])) != word[k]) return false;
  }
  return true;
}

bool IsMathSymbol(char c) {
  switch (c) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '=':
    case '^':
    case '<':
    case '>':
    case '%':
    case '$':
    case '(':
    case ')':
      return true;
    default:
      return false;
  }
}

struct Counts {
  size_t chars = 0, words = 0, numbers = 0, digits = 0, math = 0, questions = 0, sentences = 0;
  size_t options = 0, option_chars = 0, numeric_options = 0, max_digits = 0, question_numbers = 0;
  size_t longest_word = 0, lines = 1, fraction_words = 0, comparatives = 0;
  bool statement = false, negation = false, decimal = false, percent = false, currency = false;
  bool fraction = false;
};

// Per-line pass: answer-option lines are measured apart from the question text.
void CountLine(std::string_view line, Counts& c, bool& in_options) {
  if (!line.empty() && detail::IsOptionLineStart(line, 0)) {
    in_options = true;
    ++c.options;
    size_t body = line[0] == '(' ? 3 : 2;
    while (body < line.size() && line[body] == ' ') ++body;
    c.option_chars += line.size() - std::min(body, line.size());
    if (body < line.size()) {
      char f = line[body];
      if ((f >= '0' && f <= '9') || f == '-' || f == '$' || f == '.') ++c.numeric_options;
    }
  }
  size_t i = 0;
  while (i < line.size()) {
    unsigned char ch = static_cast<unsigned char>(line[i]);
    if (!detail::IsWordByte(ch)) {
      if (IsMathSymbol(line[i])) ++c.math;
      if (line[i] == '?') ++c.questions;
      if ((line[i] == '.' || line[i] == '?' || line[i] == '!') &&
          (i + 1 == line.size() || line[i + 1] == ' ')) {
        ++c.sentences;
      }
      if (line[i] == '%') c.percent = true;
      if (line[i] == '$') c.currency = true;
      ++i;
      continue;
    }
    size_t start = i;
    bool numeric = true;
    while (i < line.size() && detail::IsWordByte(static_cast<unsigned char>(line[i]))) {
      numeric = numeric && line[i] >= '0' && line[i] <= '9';
      if (line[i] >= '0' && line[i] <= '9') ++c.digits;
      ++i;
    }
    size_t len = i - start;
    ++c.words;
    c.longest_word = std::max(c.longest_word, len);
    if (numeric) {
      ++c.numbers;
      if (!in_options) ++c.question_numbers;
      c.max_digits = std::max(c.max_digits, len);
      if (i + 1 < line.size() && line[i] == '.' && line[i + 1] >= '0' && line[i + 1] <= '9') {
        c.decimal = true;
      }
      if (i + 1 < line.size() && line[i] == '/' && line[i + 1] >= '0' && line[i + 1] <= '9') {
        c.fraction = true;
      }
    }
    if (StartsWithCi(line, start, "statement 1")) c.statement = true;
    // Word-problem cues that add a reasoning step: fractions of a quantity and comparisons.
    for (std::string_view cue : {"half", "third", "quarter", "twice", "double", "triple"}) {
      if (StartsWithCi(line, start, cue)) ++c.fraction_words;
    }
    for (std::string_view cue : {"more than", "less than", "times as", "fewer", "times more"}) {
      if (StartsWithCi(line, start, cue)) ++c.comparatives;
    }
    if (len == 3 && line.substr(start, 3) == "NOT") c.negation = true;
    if (StartsWithCi(line, start, "except") || StartsWithCi(line, start, "least likely")) {
      c.negation = true;
    }
  }
}

float Log1p(size_t v) { return static_cast<float>(std::log1p(static_cast<double>(v))); }

}  // namespace

void ExtractDense(std::string_view prompt, DenseFeatures& out) {
  Counts c;
  c.chars = prompt.size();
  bool in_options = false;
  size_t pos = 0;
  while (pos <= prompt.size()) {
    size_t end = prompt.find('\n', pos);
    if (end == std::string_view::npos) end = prompt.size();
    CountLine(prompt.substr(pos, end - pos), c, in_options);
    if (end == prompt.size()) break;
    ++c.lines;
    pos = end + 1;
  }
  auto flag = [](bool b) { return b ? 1.0f : 0.0f; };
  out = {
      Log1p(c.chars),
      Log1p(c.words),
      Log1p(c.numbers),
      c.chars == 0 ? 0.0f : static_cast<float>(c.digits) / static_cast<float>(c.chars),
      Log1p(c.math),
      Log1p(c.questions),
      Log1p(c.sentences),
      flag(c.options >= 2),
      c.options == 0 ? 0.0f : Log1p(c.option_chars / c.options),
      c.options == 0 ? 0.0f : static_cast<float>(c.numeric_options) / static_cast<float>(c.options),
      flag(c.statement),
      flag(c.negation),
      Log1p(c.max_digits),
      flag(c.decimal),
      flag(c.percent),
      flag(c.currency),
      Log1p(c.question_numbers),
      Log1p(c.longest_word),
      flag(c.fraction),
      Log1p(c.lines),
      Log1p(c.fraction_words),
      Log1p(c.comparatives)};
}

}  // namespace hybridgate::learned
