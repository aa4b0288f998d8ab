// Post-processing of raw Hyperscan matches into candidate findings: one function per Rule.
// Internal to the sensitivity library. Every rule looks at a bounded window of the text.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "classify/sensitivity/patterns.h"

namespace re2 {
class RE2;
}

namespace hybridgate::sensitivity {

struct Span {
  std::size_t start = 0;
  std::size_t end = 0;
};

// Bytes that may separate the digit groups of a card number ("4111 1111", "4111.1111",
// "4111\r\n1111", "4111_1111", "4111|1111"), in runs of at most kMaxCardSeparatorRun, mixed.
// The "exotic" ones (also list and field delimiters) count for a known brand without card
// context only when one and the same run joins every group of the whole run (cards.cc).
inline bool IsExoticCardSeparator(char c) {
  return c == '_' || c == ',' || c == '|' || c == ':' || c == ';' || c == '+' || c == '*';
}
inline bool IsCardSeparator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '/' || c == '\t' || c == '\r' || c == '\n' ||
         IsExoticCardSeparator(c);
}
inline constexpr std::size_t kMaxCardSeparatorRun = 3;

// A validated match before overlap resolution; `type` indexes the scanner's type table.
struct Candidate {
  uint32_t type = 0;
  std::size_t start = 0;
  std::size_t end = 0;
};

// Keyword positions per context, sorted by end offset.
class ContextIndex {
 public:
  void Clear();
  void Add(Context context, std::size_t start, std::size_t end);
  void Sort();
  bool empty() const { return !added_; }
  const std::vector<Span>& spans(Context context) const {
    return spans_[static_cast<int>(context)];
  }

 private:
  std::array<std::vector<Span>, kContextCount> spans_;
  bool added_ = false;  // since Clear()
};

// Value shapes looked for only in small windows around keywords. RE2 (linear time), compiled
// once per Scanner; a window is at most a few dozen bytes.
struct WindowPatterns {
  WindowPatterns();
  ~WindowPatterns();
  std::unique_ptr<re2::RE2> date;
  std::unique_ptr<re2::RE2> mrn;
  std::unique_ptr<re2::RE2> ssn_spaced;  // after SSN context: spaced, dotted, dashed or mixed
};

// Types (indexes into the scanner's type table) of the detectors that use windows; UINT32_MAX
// for one that is disabled.
struct WindowTypes {
  uint32_t date_of_birth = UINT32_MAX;
  uint32_t mrn = UINT32_MAX;
  uint32_t us_ssn = UINT32_MAX;
};

// Per-scan state shared by the rules of one text.
struct RuleEnv {
  std::string_view text;
  const ContextIndex* contexts = nullptr;
  double entropy_threshold = 3.0;
  std::vector<Candidate>* out = nullptr;
  // Trigger rules re-parse a whole run; later triggers inside the same run are skipped.
  std::size_t card_run_end = 0;
  std::size_t ipv6_run_end = 0;
  // PEM footers: no "-----END " starts in [pem_clear_from, pem_clear_to); the next one at or
  // after pem_clear_to starts at pem_footer (npos: none up to pem_clear_to). So a text of
  // repeated BEGIN lines is searched once, not once per line.
  std::size_t pem_clear_from = 0;
  std::size_t pem_clear_to = 0;
  std::size_t pem_footer = static_cast<std::size_t>(-1);
};

// Validates one match of a built-in pattern (`from` is meaningful only for SOM patterns) and
// appends what it finds, typed as `type`.
void ApplyRule(const BuiltinPattern& pattern, uint32_t type, std::size_t from, std::size_t to,
               RuleEnv& env);
// The same for a rule that needs nothing from its pattern (every rule but the API-key and JWT
// ones): how the number pass (numbers.h) hands over what it found.
void ApplyRule(Rule rule, uint32_t type, std::size_t from, std::size_t to, RuleEnv& env);

// Finds the keyword-anchored values (dates of birth, MRNs, spaced SSNs) around the keyword hits
// in env.contexts.
void ContextWindows(const WindowPatterns& patterns, const WindowTypes& types, RuleEnv& env);

// Whether the run of letters that ends at text[at - 1] (`before`) or starts at text[at] is a
// word of letters only: at least one and at most 24 letters, no digit or '_' beyond them. A
// value glued to such a word ("IBANDE89…", "…3000USD", and what is left of "with<ZWSP>4111…"
// once the zero-width space is dropped) is still a value; one glued into a longer alphanumeric
// token (a hash, an id, base64) is not.
bool LetterWordAt(std::string_view text, std::size_t at, bool before);

// Exposed for tests: whether a `secret` value passes the entropy and shape checks. After a
// password's own name (`password:`, `db_passwd=`, `Kennwort:`, a bare `secret:`) a value of
// lower-case letters only counts too (`password_key`).
bool SecretValueOk(std::string_view value, double entropy_threshold, bool password_key = false);
// Whether the key that ends at text[end - 1] (before the ':' or '=', quotes and spaces) names a
// password: `password`, `passwd`, `pwd`, `passphrase`, `passcode`, `Passwort`, `Kennwort`,
// `senha`, `wachtwoord`, `mot de passe`, `contraseña` at its end, or exactly `secret`.
bool PasswordKeyBefore(std::string_view text, std::size_t end);

}  // namespace hybridgate::sensitivity
