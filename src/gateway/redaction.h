// The residency `redact` action on the request path: findings in a ChatRequest are replaced by
// typed placeholders (<EMAIL_1>) before it is planned and sent, and the upstream's answer gets the
// originals back before the client sees it — a whole OpenAI body, or OpenAI stream chunks whose
// text may split a placeholder anywhere. Plain functions and values (no coroutines): the gateway
// calls them from ServeChat and from its client-dialect sinks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "api/chat_request.h"
#include "classify/sensitivity/finding.h"
#include "classify/sensitivity/redactor.h"
#include "common/error.h"
#include "config/config.h"

namespace hybridgate::gateway {

// Whether a failed plan should be retried on the redacted request: the plan was refused by
// residency (policy_blocked), the request's class has the `redact` action and there is something
// to replace. `key_max_class` is the caller's key ceiling (a key's own limit is never redacted
// around; 0: no key).
bool RedactionApplies(const config::ResidencyConfig& residency,
                      const sensitivity::Classification& cls, const Error& plan_error,
                      int key_max_class);

// Restores the originals in an upstream's OpenAI-format answer (chat or text completion). One per
// request; owns the Redactor whose mapping it uses. Not thread-safe (one request, one task).
class ResponseRestorer {
 public:
  ResponseRestorer() = default;
  ResponseRestorer(const ResponseRestorer&) = delete;
  ResponseRestorer& operator=(const ResponseRestorer&) = delete;

  sensitivity::Redactor& redactor() { return redactor_; }
  // Findings replaced in the request (the x-hybridgate-redacted header).
  int replaced() const { return replaced_; }
  void set_replaced(int n) { replaced_ = n; }

  // A whole chat.completion body: every JSON string (message content, tool-call arguments …)
  // gets its placeholders restored. Unknown placeholders stay as they are.
  std::string RestoreBody(std::string_view body) const;

  // One chat.completion.chunk or text_completion chunk (the JSON of one SSE data event). Appends
  // the chunk(s) to send in its place to `out`: the chunk with its text restored, minus a trailing
  // fragment that may still become a placeholder (held until the next chunk of the same choice and
  // field). A chunk that ends a choice (finish_reason) is preceded by one carrying what was held
  // for it.
  void FeedChunk(std::string_view chunk, std::vector<std::string>& out);
  // The stream ended: a chunk for every fragment still held.
  void FinishStream(std::vector<std::string>& out);

 private:
  // A streamed text field: choice index, tool-call index (-1 for content), field name.
  using Slot = std::tuple<int64_t, int64_t, std::string>;
  std::string HeldChunk(const Slot& slot, std::string_view text) const;

  sensitivity::Redactor redactor_;
  int replaced_ = 0;
  std::map<Slot, sensitivity::StreamRestorer> streams_;
  std::string id_json_, model_json_, created_json_;  // from the chunks, for held-text chunks
};

// Replaces the findings of `cls` (offsets into the texts of `req` in classify::CollectTexts
// order) in place with placeholders from `restorer`'s redactor, and records how many were
// replaced. In a JSON text (tool-call arguments, raw fields; a tool result that parses as JSON)
// a finding inside a string literal is replaced in the literal's decoded text, which is then
// re-encoded: the original is kept decoded (`pa"ss`, not `pa\"ss`), so it restores as the value
// it is, also into new tool-call arguments (escaped once for them). Views into `req`'s texts are
// invalid afterwards. The client's own body (ChatRequest::native_body) is dropped: a redacted
// request is always re-encoded.
void RedactRequest(api::ChatRequest& req, const sensitivity::Classification& cls,
                   ResponseRestorer& restorer);

// The `redact` action for /v1/completions and /v1/embeddings, whose bodies HybridGate passes
// through without modelling them. `cls` holds the findings of the body scanned whole as one text
// (offsets into `body`). Those inside the JSON strings of the top-level `prompt` (completions) or
// `input` (embeddings), a string or an array of strings, are replaced by placeholders from
// `restorer`'s redactor (the originals kept decoded, so they restore as text); each such string is
// re-encoded, every other byte of the body stays as it was. Findings anywhere else are left:
// classify the redacted body again and refuse what is still not allowed. Returns the number
// replaced (also added to restorer.replaced()).
//
// A completions answer is restored like a chat one: RestoreBody for a whole body (every string,
// so choices[].text), FeedChunk / FinishStream for `text_completion` stream chunks (choices[].text
// with placeholders split across chunks). Embeddings have nothing to restore: the external
// provider embeds the text with its placeholders, so the vector of a redacted input is that of
// "<EMAIL_1>", not of the address.
int RedactRawBody(std::string& body, const sensitivity::Classification& cls,
                  ResponseRestorer& restorer);

}  // namespace hybridgate::gateway
