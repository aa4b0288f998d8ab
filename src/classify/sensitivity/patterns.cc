#include "classify/sensitivity/patterns.h"

#include <hs/hs.h>
#include <re2/re2.h>

#include <memory>

namespace hybridgate::sensitivity {
namespace {

constexpr unsigned kSom = HS_FLAG_SOM_LEFTMOST;
constexpr unsigned kCaseless = HS_FLAG_CASELESS;

constexpr std::string_view kKeyChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kAlnumUnderscore =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
constexpr std::string_view kAlnumDash =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-";

// Throughput rule: every expression should contain a literal or a rare byte Hyperscan can
// prefilter on; a literal-free pattern (a bare date or code shape) costs a pass over every byte.
// So values that only count near a keyword (dates of birth, MRNs, ICD-10 codes, spaced SSNs) are
// not patterns here: the keyword is, and the value is looked for in a small window around each
// keyword hit (see ContextWindows in rules.cc). Expressions end on a word boundary or a fixed
// delimiter where they can, so a match has few distinct end offsets. Starts come from
// SOM_LEFTMOST; the trigger, e-mail and key=value rules need only the end offset.
const BuiltinPattern kPatterns[] = {
    // Anchored on '@' without SOM: a leading unbounded class with SOM costs more than every other
    // pattern together. The rule walks back over the local part (bounded) to find the start.
    // The domain shape is checked by the rule: this loose form measured 3-4x faster in the full
    // set than the exact one.
    {R"(@[A-Za-z0-9\-]{1,63}\.[A-Za-z0-9.\-]{0,200}[A-Za-z]\b)", 0, Detector::kEmail, Rule::kEmail},

    {R"(\+[1-9]\d{0,2}(?:[ .\-]?\(\d{1,4}\)|[ .\-]?\d{1,5}){2,6}\b)", kSom, Detector::kPhone,
     Rule::kPhoneIntl},
    {R"((?:\(\d{3}\)[ .\-]?|\b\d{3}[ .\-])\d{3}[ .\-]\d{4}\b)", kSom, Detector::kPhone,
     Rule::kPhoneNanp},
    {R"(\b0\d{1,4}(?:[ ./\-]?\d{2,8}){1,4}\b)", kSom, Detector::kPhone, Rule::kPhoneNational},
    {R"(\b(?:phone|telephone|tel|mobile|mob|cell|call|fax|contact|reach|whatsapp|sms|text)\b)",
     kSom | kCaseless, Detector::kPhone, Rule::kContext, Context::kPhone},

    {R"(\d(?:[ \-]?\d){12,18})", 0, Detector::kCreditCard, Rule::kCardTrigger},

    {R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b)", kSom, Detector::kIban,
     Rule::kIban},

    {R"(\b\d{3}-\d{2}-\d{4}\b)", kSom, Detector::kUsSsn, Rule::kSsn},
    {R"(\b(?:ssn|social security)\b)", kSom | kCaseless, Detector::kUsSsn, Rule::kContext,
     Context::kSsn},

    {R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)", kSom, Detector::kIpv4, Rule::kIpv4},
    {R"(\b(?:version|ver|release|build|firmware|rev|revision)\b)", kSom | kCaseless,
     Detector::kIpv4, Rule::kContext, Context::kVersion},

    {R"([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:)", 0, Detector::kIpv6, Rule::kIpv6Trigger},
    {R"(::[0-9A-Fa-f])", 0, Detector::kIpv6, Rule::kIpv6Trigger},

    {R"(\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20})", kSom, Detector::kApiKey, Rule::kApiKeyChecked,
     Context::kNone, kKeyChars},
    {R"(\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)", kSom, Detector::kApiKey, Rule::kApiKey},
    {R"(\bgh[pousr]_[A-Za-z0-9]{36}\b)", kSom, Detector::kApiKey, Rule::kApiKey},
    {R"(\bgithub_pat_[A-Za-z0-9_]{22})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kAlnumUnderscore},
    {R"(\bxox[baprs]-[A-Za-z0-9\-]{10})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kAlnumDash},
    {R"(\bAIza[0-9A-Za-z_\-]{35})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kKeyChars},
    {R"(\b[rs]k_live_[0-9A-Za-z]{16})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kAlnum},

    {R"(-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)", kSom, Detector::kPrivateKey,
     Rule::kPrivateKey},

    {R"(\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.)", kSom, Detector::kJwt, Rule::kJwt,
     Context::kNone, kKeyChars},

    {R"((?:password|passwd|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|)"
     R"(private[_\-]?key)(?:[_\-][A-Za-z0-9]+){0,3}["']?\s{0,3}[:=])",
     kCaseless, Detector::kSecret, Rule::kSecretAssign},
    {R"(\bbearer\s{1,3})", kCaseless, Detector::kSecret, Rule::kBearer},

    {R"(\bborn\b|\bdob\b|\bd\.o\.b|date of birth|\bbirth ?date|\bbirthday)", kSom | kCaseless,
     Detector::kDateOfBirth, Rule::kContext, Context::kBirth},

    {R"(\bmrn|medical record|\bmed rec\b|\bchart (?:no|number|#)|\bpatient id)", kSom | kCaseless,
     Detector::kMedicalRecordNumber, Rule::kContext, Context::kMrn},

    {R"(\b(?:diagnos(?:is|es|ed)|dx|ddx|icd|icd-?10(?:-cm)?|patients?|pt|conditions?|hx|)"
     R"(comorbidit(?:y|ies)|history of|assessment|admitted|admission|discharged?|clinical|)"
     R"(symptoms?|chronic)\b)",
     kSom | kCaseless, Detector::kIcd10, Rule::kContext, Context::kClinical},
    {R"(\b(?:diagnos(?:is|es|ed)|dx|ddx|icd|icd-?10(?:-cm)?)\b)", kSom | kCaseless,
     Detector::kIcd10, Rule::kContext, Context::kClinicalStrong},
};

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};

}  // namespace

std::span<const BuiltinPattern> BuiltinPatterns() { return kPatterns; }

Result<RegexBackend> ChooseRegexBackend(std::string_view name, const std::string& pattern) {
  if (pattern.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "custom detector '" + std::string(name) + "': empty regex"));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile(pattern.c_str(), HS_FLAG_SOM_LEFTMOST, HS_MODE_BLOCK, nullptr, &db, &error) ==
      HS_SUCCESS) {
    std::unique_ptr<hs_database_t, HsDatabaseDeleter> owned(db);
    return RegexBackend::kHyperscan;
  }
  std::string hs_message = error != nullptr ? error->message : "unknown error";
  hs_free_compile_error(error);

  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(pattern, options);
  if (!re.ok()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "custom detector '" + std::string(name) + "': invalid regex '" + pattern +
                              "': " + re.error() + " (hyperscan: " + hs_message + ")"));
  }
  if (RE2::PartialMatch("", re)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "custom detector '" + std::string(name) +
                                                          "': regex '" + pattern +
                                                          "' matches the empty string"));
  }
  return RegexBackend::kRe2;
}

std::string DictionaryWordExpression(std::string_view word) {
  auto is_word = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!word.empty() && is_space(word.front())) word.remove_prefix(1);
  while (!word.empty() && is_space(word.back())) word.remove_suffix(1);
  std::string out;
  if (word.empty()) return out;
  if (is_word(word.front())) out += "\\b";
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (is_space(c)) {
      while (i + 1 < word.size() && is_space(word[i + 1])) ++i;
      out += "\\s+";
    } else if (is_word(c)) {
      out += c;
    } else {
      unsigned char u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  if (is_word(word.back())) out += "\\b";
  return out;
}

}  // namespace hybridgate::sensitivity
