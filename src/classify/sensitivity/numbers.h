// The number pass: values anchored on digits and colons (NANP and national phones, payment cards,
// IBANs, IPv4 and IPv6 addresses, ICD-10 codes, dotted SSNs), found by one plain loop over the
// text instead of Hyperscan (why: the throughput rule in patterns.cc). Each shape is the
// expression quoted next to it in numbers.cc, starts included (the leftmost one per end, as
// HS_FLAG_SOM_LEFTMOST reports); the rules in rules.cc then validate.
// Internal to the sensitivity library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "classify/sensitivity/byte_masks.h"
#include "classify/sensitivity/rules.h"

namespace hybridgate::sensitivity {

// Types (indexes into the scanner's type table); UINT32_MAX for a disabled detector.
struct NumberTypes {
  uint32_t phone = UINT32_MAX;
  uint32_t credit_card = UINT32_MAX;
  uint32_t iban = UINT32_MAX;
  uint32_t ipv4 = UINT32_MAX;
  uint32_t ipv6 = UINT32_MAX;
  uint32_t icd10 = UINT32_MAX;
  uint32_t us_ssn = UINT32_MAX;  // the dotted form; the dashed one is a Hyperscan pattern
};

// Matches kept until the end of a text; owned by the caller so that a scan allocates nothing once
// they have grown. One NumberPass at a time may use them.
struct NumberScratch {
  std::vector<std::size_t> ipv6;  // IPv6 trigger ends
  std::vector<Span> ibans;
  std::vector<Span> national;  // national phone numbers
};

// Finds the values above in env.text and applies their rules (which append to env.out), fed the
// text's byte masks block by block, in order (so that another pass can share them): Block() for
// every 64-byte block, then Finish(). Holds references to its arguments.
class NumberPass {
 public:
  NumberPass(const NumberTypes& types, RuleEnv& env, NumberScratch& scratch)
      : types_(types),
        env_(env),
        ipv6_(scratch.ipv6),
        ibans_(scratch.ibans),
        national_(scratch.national) {
    ipv6_.clear();
    ibans_.clear();
    national_.clear();
  }
  // Inline, in the scanner's loop over the blocks: digit-run starts and colons come from the
  // masks, so a block without them costs a few instructions and the work runs once per value.
  void Block(std::size_t base, const ByteMasks& m) {
    const uint64_t starts = m.digit & ~((m.digit << 1) | digit_carry_);
    digit_carry_ = m.digit >> 63;
    for (uint64_t s = starts; s != 0; s &= s - 1) {
      DigitRun(base + static_cast<std::size_t>(__builtin_ctzll(s)));
    }
    if (types_.ipv6 == UINT32_MAX) return;
    // Both IPv6 triggers end at a colon with another one 1..5 bytes before it: bit k of `near`
    // is set when one of bytes base + k - 5 .. base + k - 1 is a colon (the previous block's
    // last five are bits 0..4 of `tail`, for bytes base - 5 .. base - 1).
    const uint64_t c = m.colon;
    const uint64_t tail = colon_tail_;
    colon_tail_ = c >> 59;
    uint64_t spread = c | (c << 1);
    spread |= (spread << 2) | (c << 4);
    uint64_t from_tail = tail | (tail >> 1);
    from_tail |= (from_tail >> 2) | (tail >> 4);
    const uint64_t near = (spread << 1) | from_tail;
    for (uint64_t colons = c & near; colons != 0; colons &= colons - 1) {
      Colon(base + static_cast<std::size_t>(__builtin_ctzll(colons)));
    }
  }
  void Finish();

 private:
  void DigitRun(std::size_t r);  // r: where a run of digits starts
  void FlushCard();
  void Colon(std::size_t c);  // c: a colon with another one 1..5 bytes before it

  const NumberTypes& types_;
  RuleEnv& env_;
  std::size_t card_digits_ = 0;  // the current chain of card digit groups
  std::size_t card_end_ = 0;
  std::size_t icd10_end_ = 0;
  uint64_t digit_carry_ = 0;             // whether the previous block ends in a digit
  uint64_t colon_tail_ = 0;              // colons in the previous block's last 5 bytes
  std::size_t ipv6_folding_ = SIZE_MAX;  // index in ipv6_ of the hit later ones fold into
  std::vector<std::size_t>& ipv6_;
  std::vector<Span>& ibans_;
  std::vector<Span>& national_;
};

// `\b0\d{1,4}(?:[ ./\-]?\d{2,8}){1,4}\b` starting at text[r]: appends its matches (start r,
// every end) to `out`. Exposed for tests, which hold it to Hyperscan.
void NationalPhoneMatches(std::string_view text, std::size_t r, std::vector<Span>& out);

}  // namespace hybridgate::sensitivity
