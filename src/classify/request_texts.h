// Every text a ChatRequest carries, in a fixed order, as views into the request: the input of the
// sensitivity scan (and of the complexity classifier). Nothing a client sends escapes the scan:
// system and developer prompts, every message's text parts, tool results, tool-call arguments,
// reasoning content, tool definitions' descriptions and schemas.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "api/chat_request.h"

namespace hybridgate::classify {

// Calls `f(text)` for every text of `req`, in the order CollectTexts lists them (so the i-th call
// is text index i of a Classification). `Req` may be non-const: the gateway's redaction rewrites
// the texts in place through this one definition of the order.
template <class Req, class F>
requires std::is_same_v<std::remove_const_t<Req>, api::ChatRequest>
void ForEachText(Req& req, F&& f) {
  for (auto& m : req.messages) {
    if (!m.text.empty()) f(m.text);
    for (auto& p : m.parts) {
      if (p.kind == api::ContentPart::Kind::kText && !p.text.empty()) f(p.text);
      if (p.kind == api::ContentPart::Kind::kOther && !p.raw.empty()) f(p.raw);
    }
    for (auto& tc : m.tool_calls) {
      if (!tc.arguments.empty()) f(tc.arguments);
    }
    if (!m.reasoning_content.empty()) f(m.reasoning_content);
    for (auto& x : m.extra) f(x.json);
  }
  for (auto& t : req.tools) {
    if (!t.description.empty()) f(t.description);
    if (!t.parameters_json.empty()) f(t.parameters_json);
    if (!t.raw.empty()) f(t.raw);
  }
  if (!req.metadata_json.empty()) f(req.metadata_json);
  for (auto& x : req.extra) f(x.json);
}

// Appends the texts of `req` to `out` (views stay valid while `req` lives unchanged).
void CollectTexts(const api::ChatRequest& req, std::vector<std::string_view>& out);

}  // namespace hybridgate::classify
