// Payment cards: the rule behind the number pass's card trigger (numbers.h). Re-parses the run of
// digit groups around a trigger and decides which group-aligned slices are cards: Luhn always;
// then a known brand printed like a card, or card context nearby. Internal to the sensitivity
// library; pure, bounded work per trigger.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "classify/sensitivity/rules.h"

namespace hybridgate::sensitivity {

// What joins two digit groups of a card candidate: the bytes text[p, q) between two digit runs
// (text[p - 1] and text[q] are digits, no digit lies between). kSeparator: a run of 1..3 card
// separators (rules.h). kBridge: a line break, as between two strings of a request joined one
// per line (classify/body_strings.h): up to two spaces, a line break, at most two `key: value`
// lines without digits ("role: user"), and a `key: ` prefix ("content: "), in at most
// kMaxCardGap bytes. A slice of groups joined by a bridge is a card only with card context.
enum class CardGap : uint8_t { kNone, kSeparator, kBridge };
inline constexpr std::size_t kMaxCardGap = 64;
CardGap CardGapKind(std::string_view text, std::size_t p, std::size_t q);
// The same, inlined for the common cases: a short separator run, or no line break near `p`.
inline CardGap CardGapKindFast(std::string_view text, std::size_t p, std::size_t q) {
  if (q <= p || q - p > kMaxCardGap) return CardGap::kNone;
  if (q - p <= kMaxCardSeparatorRun) {
    for (std::size_t i = p; i < q; ++i) {
      if (!IsCardSeparator(text[i])) return CardGap::kNone;
    }
    return CardGap::kSeparator;
  }
  // A bridge starts with [ \t]{0,2} and a line break.
  std::size_t i = p;
  while (i < p + 2 && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (text[i] != '\n' && text[i] != '\r') return CardGap::kNone;
  return CardGapKind(text, p, q);
}

// The chain of digit groups that ends at env.text[to - 1]; appends the cards in it to env.out.
void CardTrigger(RuleEnv& env, uint32_t type, std::size_t to);

}  // namespace hybridgate::sensitivity
