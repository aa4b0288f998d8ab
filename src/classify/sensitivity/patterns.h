// The built-in Hyperscan expressions and the rule that post-processes each of their matches.
// Internal to the sensitivity library; the table is the one place to read what a detector matches.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hybridgate::sensitivity {

// Built-in detectors; the order matches BuiltinTypes().
enum class Detector : uint8_t {
  kEmail,
  kPhone,
  kCreditCard,
  kIban,
  kUsSsn,
  kIpv4,
  kIpv6,
  kApiKey,
  kPrivateKey,
  kJwt,
  kSecret,
  kDateOfBirth,
  kMedicalRecordNumber,
  kIcd10,
};
inline constexpr int kBuiltinDetectorCount = 14;

// Keyword sets whose Hyperscan hits give context to values looked for around them (dates of
// birth, MRNs, spaced SSNs). Context that is only checked around a value found otherwise is in
// keywords.h.
enum class Context : uint8_t {
  kBirth,
  kMrn,
  kSsn,
  kNone,
};
inline constexpr int kContextCount = 3;

// What to do with a match of one expression.
enum class Rule : uint8_t {
  kEmail,        // end offset only; the start is found by walking back over the local part
  kEmailSpaced,  // end offset only; `name @ example.com`: spaces around the '@'
  kEmailIdn,     // end offset only, inside the domain: a non-ASCII domain, parsed by the rule
  kPhoneIntl,
  kPhoneNanp,
  kPhoneNational,  // needs phone context
  kCardTrigger,    // end offset only; the card is re-parsed from the digit run around it
  kIban,
  kSsn,
  kIpv4,
  kIpv6Trigger,    // end offset only; the address is re-parsed from the hex/colon run
  kIcd10,          // needs clinical context
  kApiKey,         // optionally extended over `extend`
  kApiKeyChecked,  // like kApiKey, and the random part must not look like a placeholder
  kAwsKey,         // AWS key id in any case; a retyped lower-case one needs a digit
  kPrivateKey,     // the BEGIN line; the block runs to its END line
  kPrivateKeyEnd,  // the END line of a block pasted without its BEGIN line: the body before it
  kPrivateKeyDer,  // from the encoded pass: a private key's DER header ("MIIEowIBAAK…") starts
                   // a base64 run at `from`; the body after it
  kOpenAiLegacy,   // from the encoded pass: `T3BlbkFJ` (base64 "OpenAI") at `from`, inside an
                   // OpenAI key
  kAwsSecret,      // end offset only: `aws_secret_access_key =`, then 40 base64 characters
  kJwt,
  kSecretAssign,  // end offset only: the value follows
  kSecretProse,  // end offset only: "my password is …": the value follows, with a digit or symbol
  kBearer,       // end offset only: whitespace, then the value
  kContext,      // a keyword; values near it are found by ContextWindows()
  kCustom,
};

struct BuiltinPattern {
  const char* expression;
  unsigned flags;  // HS_FLAG_*
  Detector detector;
  Rule rule;
  Context context = Context::kNone;
  std::string_view extend = {};  // bytes a match is greedily extended over
};

// The Hyperscan expressions. Values anchored on digits and colons (NANP and national phones,
// cards, IBANs, IPv4/IPv6 addresses, ICD-10 codes) are not among them: numbers.h finds those.
std::span<const BuiltinPattern> BuiltinPatterns();

// Which backend a user regex compiles with.
enum class RegexBackend : uint8_t { kHyperscan, kRe2 };
// Hyperscan when it accepts the pattern with start-of-match reporting; RE2 when only RE2 does.
// Errors (naming `name`) for patterns neither accepts or that match the empty string.
Result<RegexBackend> ChooseRegexBackend(std::string_view name, const std::string& pattern);

// The Hyperscan expression for one dictionary word: escaped, whitespace runs generalised, word
// boundaries on the sides that start or end with a word character.
std::string DictionaryWordExpression(std::string_view word);

}  // namespace hybridgate::sensitivity
