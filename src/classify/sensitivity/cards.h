// Payment cards: the rule behind the number pass's card trigger (numbers.h). Re-parses the run of
// digit groups around a trigger and decides which group-aligned slices are cards: Luhn always;
// then a known brand printed like a card, or card context nearby. Internal to the sensitivity
// library; pure, bounded work per trigger.
#pragma once

#include <cstddef>
#include <cstdint>

#include "classify/sensitivity/rules.h"

namespace hybridgate::sensitivity {

// The chain of digit groups that ends at env.text[to - 1]; appends the cards in it to env.out.
void CardTrigger(RuleEnv& env, uint32_t type, std::size_t to);

}  // namespace hybridgate::sensitivity
