// The number pass: values anchored on digits and colons (NANP phones, payment cards, IBANs, IPv4
// and IPv6 addresses, ICD-10 codes, dotted SSNs), found by one plain loop over the text instead of
// Hyperscan (why: the throughput rule in patterns.cc). Each shape is the expression quoted next
// to it in numbers.cc, starts included (the leftmost one per end, as HS_FLAG_SOM_LEFTMOST
// reports); the rules in rules.cc then validate.
// Internal to the sensitivity library.
#pragma once

#include <cstdint>

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

// Finds the values above in env.text and applies their rules (which append to env.out).
void ScanNumbers(const NumberTypes& types, RuleEnv& env);

}  // namespace hybridgate::sensitivity
