// The built-in complexity classifier: a fixed logistic score over hand-picked signals of how hard
// a request is (length, code, maths, multi-step instructions, constraints, conversation depth,
// "prove/derive/design" verbs). One forward pass over the bytes of each text, no regexes, no
// allocation beyond the caller's `why` vector: microseconds for a typical prompt.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "classify/complexity/classifier.h"

namespace hybridgate::complexity {

// Raw counts gathered over the task texts (system, developer and user messages).
struct Signals {
  int64_t bytes = 0;          // task text
  int64_t context_bytes = 0;  // assistant and tool text (context, not task)
  int words = 0;
  int numbers = 0;           // runs of digits ("3", "1,250", "0.5")
  int math_ops = 0;          // + * / = ^ < > % next to an operand
  int latex = 0;             // \command, $
  int code_fences = 0;       // ```
  int inline_code = 0;       // `…` spans
  int code_punct = 0;        // { } ; (code density)
  int code_words = 0;        // def, return, #include, lambda, …
  int numbered_lines = 0;    // lines opening with "1." or "2)"
  int bullet_lines = 0;      // lines opening with "- ", "* "
  int step_words = 0;        // first, then, next, finally, "step by step"
  int constraint_words = 0;  // must, should, exactly, "at least", "no more than", except, …
  int quantity_words = 0;    // each, per, total, percent, twice, remaining, … (word problems)
  int hard_words = 0;        // prove, derive, analyze, design, optimize, theorem, …
  int easy_words = 0;        // hi, thanks, translate, define, …
  int questions = 0;         // '?'
  int turns = 0;             // user messages (0 for a bare prompt counts as 1)
};

// Adds the signals of one text. `task` false: only its length counts (context_bytes).
void MeasureText(std::string_view text, bool task, Signals& s);
// Signals of a whole request.
Signals MeasureRequest(const api::ChatRequest& req);

class HeuristicClassifier final : public Classifier {
 public:
  std::string_view Name() const override { return "heuristic"; }
  double Score(const api::ChatRequest& req, const Features& base,
               std::vector<Contribution>* why = nullptr) const override;

  // The score of measured signals; also used on bare prompts (evaluation).
  static double ScoreSignals(const Signals& s, std::vector<Contribution>* why = nullptr);
  static double ScorePrompt(std::string_view prompt);
};

}  // namespace hybridgate::complexity
