#include "classify/request_texts.h"

namespace hybridgate::classify {

void CollectTexts(const api::ChatRequest& req, std::vector<std::string_view>& out) {
  for (const api::Message& m : req.messages) {
    if (!m.text.empty()) out.push_back(m.text);
    for (const api::ContentPart& p : m.parts) {
      if (p.kind == api::ContentPart::Kind::kText && !p.text.empty()) out.push_back(p.text);
      if (p.kind == api::ContentPart::Kind::kOther && !p.raw.empty()) out.push_back(p.raw);
    }
    for (const api::ToolCall& tc : m.tool_calls) {
      if (!tc.arguments.empty()) out.push_back(tc.arguments);
    }
    if (!m.reasoning_content.empty()) out.push_back(m.reasoning_content);
    for (const api::RawField& f : m.extra) out.push_back(f.json);
  }
  for (const api::Tool& t : req.tools) {
    if (!t.description.empty()) out.push_back(t.description);
    if (!t.parameters_json.empty()) out.push_back(t.parameters_json);
    if (!t.raw.empty()) out.push_back(t.raw);
  }
  if (!req.metadata_json.empty()) out.push_back(req.metadata_json);
  for (const api::RawField& f : req.extra) out.push_back(f.json);
}

}  // namespace hybridgate::classify
