// Every text a ChatRequest carries, in a fixed order, as views into the request: the input of the
// sensitivity scan (and of the complexity classifier). Nothing a client sends escapes the scan:
// system and developer prompts, every message's text parts, tool results, tool-call arguments,
// reasoning content, tool definitions' descriptions and schemas.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "api/chat_request.h"

namespace hybridgate::classify {

// What a text is, for whoever edits it: its findings' offsets are always bytes into the text as
// it stands, but a value inside a JSON text's string literal means its decoded characters.
enum class TextKind : uint8_t {
  kText,        // plain text (a message's content, a description)
  kJson,        // JSON text: tool-call arguments, raw parts and fields, schemas, metadata
  kToolResult,  // a tool message's content: plain text, or JSON text when it parses as JSON
};

// Calls `f(text, kind)` for every text of `req`, in the order CollectTexts lists them (so the
// i-th call is text index i of a Classification). `Req` may be non-const: the gateway's
// redaction rewrites the texts in place through this one definition of the order.
template <class Req, class F>
requires std::is_same_v<std::remove_const_t<Req>, api::ChatRequest>
void ForEachText(Req& req, F&& f) {
  for (auto& m : req.messages) {
    if (!m.text.empty()) f(m.text, m.role == "tool" ? TextKind::kToolResult : TextKind::kText);
    for (auto& p : m.parts) {
      if (p.kind == api::ContentPart::Kind::kText && !p.text.empty()) f(p.text, TextKind::kText);
      if (p.kind == api::ContentPart::Kind::kOther && !p.raw.empty()) f(p.raw, TextKind::kJson);
    }
    for (auto& tc : m.tool_calls) {
      if (!tc.arguments.empty()) f(tc.arguments, TextKind::kJson);
    }
    if (!m.reasoning_content.empty()) f(m.reasoning_content, TextKind::kText);
    for (auto& x : m.extra) f(x.json, TextKind::kJson);
  }
  for (auto& t : req.tools) {
    if (!t.description.empty()) f(t.description, TextKind::kText);
    if (!t.parameters_json.empty()) f(t.parameters_json, TextKind::kJson);
    if (!t.raw.empty()) f(t.raw, TextKind::kJson);
  }
  if (!req.metadata_json.empty()) f(req.metadata_json, TextKind::kJson);
  for (auto& x : req.extra) f(x.json, TextKind::kJson);
}

// Appends the texts of `req` to `out` (views stay valid while `req` lives unchanged).
void CollectTexts(const api::ChatRequest& req, std::vector<std::string_view>& out);

// What the sensitivity scan reads: CollectTexts's texts, in the same order and of the same
// lengths (so findings' indexes and offsets hold for the request's texts, e.g. for redaction),
// except that a JSON text with whitespace escapes is read through sensitivity::JsonScanView.
// Such views point into strings appended to `storage` (a list: they do not move, and an empty one
// allocates nothing), the others into `req`; both must outlive `out`'s use. Texts without such
// escapes cost no allocation.
void CollectScanTexts(const api::ChatRequest& req, std::vector<std::string_view>& out,
                      std::list<std::string>& storage);

// The scan view of one text of the given kind (the text itself unless it is JSON text with
// whitespace escapes, then a view of a string appended to `storage`). A tool result is read as
// JSON only when it looks like it (starts with `{` or `[`), as the redaction treats it.
std::string_view ScanView(std::string_view text, TextKind kind, std::list<std::string>& storage);

}  // namespace hybridgate::classify
