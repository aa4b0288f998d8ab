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

// Throughput rule: every expression needs a literal Hyperscan can prefilter on. A literal-free
// expression (a digit or code shape) becomes an automaton that runs over every byte and stays
// awake through number-dense text, and common short keywords ("pt", "call", "build") fire so often
// that each costs more than the rest together. So:
// - values anchored on digits or colons (NANP and national phones, cards, IBANs, IPv4/IPv6, ICD-10
//   codes, dashed and dotted SSNs) are found by a plain loop (numbers.cc) that emulates the
//   expressions quoted there;
// - values that only count near a keyword (dates of birth, MRNs, spaced SSNs) are not patterns
//   here: the keyword is, and the value is looked for in a small window around each keyword hit
//   (ContextWindows in rules.cc);
// - context made of common words (phone, version, clinical words) is looked up around a value
//   only when there is one (keywords.h).
// Expressions end on a word boundary or a fixed delimiter where they can, so a match has few
// distinct end offsets; a trailing `\s{1,3}` measured 4x slower than `\b` on prose. Starts come
// from SOM_LEFTMOST; the e-mail and key=value rules need only the end offset.
const BuiltinPattern kPatterns[] = {
    // Anchored on '@' without SOM: a leading unbounded class with SOM costs more than every other
    // pattern together. The rule walks back over the local part (bounded) to find the start.
    // The domain shape is checked by the rule: this loose form measured 3-4x faster in the full
    // set than the exact one.
    {R"(@[A-Za-z0-9\-]{1,63}\.[A-Za-z0-9.\-]{0,200}[A-Za-z]\b)", 0, Detector::kEmail, Rule::kEmail},
    // "name @ example.com": written apart on purpose; "name at example dot com" is not looked
    // for (README.md). One space: `@[ \t]{1,2}` measured 5x slower on prose (a literal that
    // ends in a space).
    {R"(@ [A-Za-z0-9\-]{1,63}\.[A-Za-z0-9.\-]{0,200}[A-Za-z]\b)", 0, Detector::kEmail,
     Rule::kEmailSpaced},
    // Internationalised domains (user@bücher.de, 用户@例子.广告): the first non-ASCII byte of the
    // domain; the rule parses the address around it.
    {R"(@[A-Za-z0-9.\-]{0,63}[\xC2-\xF4])", 0, Detector::kEmail, Rule::kEmailIdn},

    // No `\b` at the end: a number may be glued to a word ("…0958USD"); the rule checks the end.
    {R"(\+[1-9]\d{0,2}(?:[ .\-]?\(\d{1,4}\)|[ .\-]?\d{1,5}){2,6})", kSom, Detector::kPhone,
     Rule::kPhoneIntl},

    {R"(\b(?:ssn|social security)\b)", kSom | kCaseless, Detector::kUsSsn, Rule::kContext,
     Context::kSsn},

    // Prefixes that no word holds (`sk-proj-`, `ghp_`, `AIza`, upper-case `AKIA`) need no word
    // boundary before them: "mykeysk-proj-…" and "tokenghp_…" are keys glued to a word. `sk-`,
    // `sk_live_` and lower-case `akia`/`asia` end words (`task-`, `disk_live_`, `Eurasia`).
    {R"(\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20})", kSom, Detector::kApiKey, Rule::kApiKeyChecked,
     Context::kNone, kKeyChars},
    {R"(\Bsk-(?:proj|ant)-[A-Za-z0-9_\-]{20})", kSom, Detector::kApiKey, Rule::kApiKeyChecked,
     Context::kNone, kKeyChars},
    {R"(\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)", kSom | kCaseless, Detector::kApiKey, Rule::kAwsKey},
    // Glued to a word: the alphabet AWS issues ids in (base32: A-Z, 2-7), so upper-case prose
    // with years and other digits ("MALAYSIA2024Q3REPORT…") is not one.
    {R"((?:\B(?:AKIA|ASIA)[A-Z2-7]{16}|(?:AKIA|ASIA)[A-Z2-7]{16}\B))", kSom, Detector::kApiKey,
     Rule::kAwsKey},
    {R"(gh[pousr]_[A-Za-z0-9]{36})", kSom, Detector::kApiKey, Rule::kApiKey},
    {R"(github_pat_[A-Za-z0-9_]{22})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kAlnumUnderscore},
    {R"(xox[baprs]-[A-Za-z0-9\-]{10})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kAlnumDash},
    {R"(AIza[0-9A-Za-z_\-]{35})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kKeyChars},
    {R"(\b[rs]k_live_[0-9A-Za-z]{16})", kSom, Detector::kApiKey, Rule::kApiKey, Context::kNone,
     kAlnum},
    // AWS secret access keys: 40 base64 characters after their name (env, INI, JSON, YAML).
    {R"((?:secret_?access_?key|aws_?secret_?key)(?:\\{0,3}["'])?\s{0,3}[:=])", kCaseless,
     Detector::kApiKey, Rule::kAwsSecret},

    {R"(-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)", kSom | kCaseless,
     Detector::kPrivateKey, Rule::kPrivateKey},
    {R"(-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)", kSom | kCaseless,
     Detector::kPrivateKey, Rule::kPrivateKeyEnd},
    // A key body without its BEGIN line that starts with its DER header (`MIIEowIBAAK…`), and
    // OpenAI keys by their `T3BlbkFJ`, are found by the encoded-value pass (encoded.h), which
    // reads every base64 run anyway: as expressions, they slowed prose 1.7x.

    {R"(\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.)", kSom, Detector::kJwt, Rule::kJwt,
     Context::kNone, kKeyChars},

    {R"((?:password|passwd|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|)"
     R"(private[_\-]?key)(?:[_\-][A-Za-z0-9]+){0,3}(?:\\{0,3}["'])?\s{0,3}[:=])",
     kCaseless, Detector::kSecret, Rule::kSecretAssign},
    // Other names and languages, right before the ':' or '=' (`pwd: …`, `Passwort: …`, `mot de
    // passe: …`, `contraseña=…`): the request's fields reach the scanner as `key: value` lines.
    // Optional quotes and spaces, other verbs ("was") and languages ("Passwort ist") each made
    // Hyperscan's literal matcher 2-3x slower on prose; so did `password\s+is`.
    {R"((?:passwort|kennwort|passphrase|passcode|\bpwd|\bsenha|wachtwoord|mot de passe|)"
     R"(contrase(?:\xC3\xB1|\xC3\x91|n)a)[:=])",
     kCaseless, Detector::kSecret, Rule::kSecretAssign},
    // "my password is Xk9#…".
    {R"(password is\b)", kCaseless, Detector::kSecret, Rule::kSecretProse},
    {R"(\bbearer\b)", kCaseless, Detector::kSecret, Rule::kBearer},

    {R"(\bborn\b|\bdob\b|\bd\.o\.b|date of birth|\bbirth ?date|\bbirthday)", kSom | kCaseless,
     Detector::kDateOfBirth, Rule::kContext, Context::kBirth},

    {R"(\bmrn|medical record|\bmed rec\b|\bchart (?:no|number|#)|\bpatient id)", kSom | kCaseless,
     Detector::kMedicalRecordNumber, Rule::kContext, Context::kMrn},

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
