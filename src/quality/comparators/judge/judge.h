// The pairwise LLM judge: asks a model which of two answers to the same question is better,
// once in each order, so that a judge that prefers a position (always "A") cancels out to a tie.
// The rubric is versioned (kRubricVersion): scores of different rubrics are not comparable, and
// the version is stored with every verdict. The comparator "judge" asks through the caller's
// ModelCalls (through the egress gate, metered); the rest is pure: building the judge's request
// and reading its answers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "quality/comparators/comparator.h"
#include "quality/comparison.h"

namespace hybridgate::quality {

inline constexpr std::string_view kRubricVersion = "pairwise-v1";

// The judge's request to `model`: the rubric as the system message, the question and the two
// answers (labelled A and B, in that order) as the user's; JSON mode, temperature 0.
api::ChatRequest JudgeRequest(std::string_view model, std::string_view question,
                              std::string_view answer_a, std::string_view answer_b);

// The question a request asks: its last user message's text.
std::string QuestionOf(const api::ChatRequest& request);

struct Verdict {
  enum class Winner { kA, kB, kTie, kUnreadable };
  Winner winner = Winner::kUnreadable;
  std::string rationale;
};
// Reads the judge's answer: {"winner": "A" | "B" | "tie", "rationale": "..."} (also inside a
// ```json fence, or with lower-case a/b).
Verdict ParseVerdict(std::string_view answer);

// The "judge" score of the shadow against the primary from both orders — `primary_first` asked
// with A = primary, `shadow_first` with A = shadow: 1 when both say the shadow is better, 0 when
// both say the primary is, 0.5 for a tie or when the verdicts flip with the order (position
// bias). Unreadable verdicts give no score (nullopt).
std::optional<Score> CombineVerdicts(const Verdict& primary_first, const Verdict& shadow_first,
                                     double cost_usd);

// "judge": both orders asked of spec.model; the score is CombineVerdicts' (nullopt when a call
// was refused or failed, or a verdict is unreadable), its cost what the two calls cost.
std::unique_ptr<Comparator> MakeJudgeComparator(const ComparatorSpec& spec);

}  // namespace hybridgate::quality
