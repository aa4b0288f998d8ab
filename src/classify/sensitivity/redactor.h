// Per-request redaction: findings become typed placeholders (<EMAIL_1>, <CREDIT_CARD_2>) before a
// request leaves for a less trusted provider, and the originals are put back in the response,
// including a streamed one whose chunks may split a placeholder anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "classify/sensitivity/finding.h"

namespace hybridgate::sensitivity {

// What the text a placeholder is restored into is, so the original lands there validly.
enum class RestoreContext : uint8_t {
  kText,  // plain text (a decoded JSON string, a prompt): the original as is
  // JSON text, such as tool-call arguments (a JSON document carried inside a JSON string): an
  // original restored inside one of its string literals is JSON-escaped (`"` `\` and control
  // bytes), so the arguments still parse and give back the original byte for byte. A
  // placeholder outside any string literal (not valid JSON to begin with) gets the original as is.
  kJson,
};

// Where a streamed JSON text stands between chunks: inside a string literal, after a backslash.
struct JsonLexState {
  bool in_string = false;
  bool escaped = false;
  void Advance(std::string_view text);
};

// One Redactor per request: the mapping spans every text of the request, so the same e-mail in
// the system prompt and in the last user message gets the same placeholder. Numbering is per
// type, in order of first appearance. Not thread-safe; a request is handled by one task.
class Redactor {
 public:
  // Replaces the findings of `text` whose class is at least `min_class`. Findings must carry
  // offsets into `text` (Scanner::Scan's output); overlapping or out-of-range ones are skipped.
  std::string Redact(std::string_view text, std::span<const Finding> findings,
                     int min_class = kMinClass);
  // Every text of a request at once, with Scanner::Classify's findings (matched by text_index).
  std::vector<std::string> RedactAll(std::span<const std::string_view> texts,
                                     const Classification& classification,
                                     int min_class = kMinClass);

  // Puts originals back for every placeholder of this request; other text is unchanged. A
  // placeholder that the request's own text already contained literally is restored too; the
  // placeholder syntax is chosen to make that rare.
  std::string Restore(std::string_view text, RestoreContext context = RestoreContext::kText) const;

  std::size_t size() const { return originals_.size(); }
  std::size_t max_placeholder_size() const { return max_placeholder_; }
  // placeholder -> original, ordered by placeholder.
  const std::map<std::string, std::string, std::less<>>& mapping() const { return originals_; }

 private:
  friend class StreamRestorer;
  const std::string& PlaceholderFor(std::string_view type, std::string_view original);
  // Restores `text` into `out`. Unless `final`, stops at a trailing '<…' that may still grow
  // into a placeholder and returns its offset; otherwise returns text.size(). For kJson, `lex`
  // is where the JSON text stands at text[0] and is advanced over what was consumed.
  std::size_t RestoreInto(std::string_view text, bool final, RestoreContext context,
                          JsonLexState& lex, std::string& out) const;
  bool IsPlaceholderPrefix(std::string_view s) const;

  std::map<std::string, std::string, std::less<>> originals_;
  std::unordered_map<std::string, std::string> placeholders_;  // type '\0' original -> placeholder
  std::unordered_map<std::string, int> counters_;              // per type
  std::size_t max_placeholder_ = 0;
};

// Restores a streamed response chunk by chunk. Holds back only a trailing fragment that is a
// proper prefix of one of the request's placeholders (so never more than the longest placeholder
// minus one byte); all other text is returned at once. The Redactor must outlive the restorer
// and must not gain placeholders while it is used.
class StreamRestorer {
 public:
  explicit StreamRestorer(const Redactor& redactor, RestoreContext context = RestoreContext::kText)
      : redactor_(&redactor), context_(context) {}
  std::string Feed(std::string_view chunk);
  // Text that holds no placeholder and passes on unchanged: only followed (kJson), so a later
  // placeholder knows whether it stands inside a string literal.
  void Skip(std::string_view chunk);
  // Flushes a held fragment (the stream ended inside something that looked like a placeholder).
  std::string Finish();
  std::size_t held() const { return held_.size(); }

 private:
  const Redactor* redactor_;
  RestoreContext context_;
  JsonLexState lex_;  // kJson: over the text fed so far, placeholders as the model wrote them
  std::string held_;
};

}  // namespace hybridgate::sensitivity
