#include "classify/complexity/features.h"

namespace hybridgate::complexity {
namespace {

// Per-message framing (role markers) and per-image costs, as chat templates and OpenAI's
// accounting roughly charge them; an estimate, used only to compare with context windows.
constexpr int64_t kMessageOverhead = 4;
constexpr int64_t kImageTokens = 765;

}  // namespace

int64_t EstimateTokens(std::string_view text) {
  if (text.empty()) return 0;
  return static_cast<int64_t>(text.size() + 3) / 4;
}

Features ExtractBaseFeatures(const api::ChatRequest& req) {
  Features f;
  f.has_tools = req.HasTools();
  const auto format = req.response_format.kind;
  f.wants_json_schema = format == api::ResponseFormat::Kind::kJsonSchema;
  f.wants_json = f.wants_json_schema || format == api::ResponseFormat::Kind::kJsonObject;
  int64_t tokens = 0;
  for (const api::Message& m : req.messages) {
    ++f.messages;
    if (m.role == "user") ++f.turns;
    if (m.role == "tool" || !m.tool_calls.empty()) f.has_tools = true;
    tokens += kMessageOverhead + EstimateTokens(m.text) + EstimateTokens(m.reasoning_content);
    for (const api::ContentPart& p : m.parts) {
      switch (p.kind) {
        case api::ContentPart::Kind::kText:
          tokens += EstimateTokens(p.text);
          break;
        case api::ContentPart::Kind::kImage:
          f.has_images = true;
          tokens += kImageTokens;
          break;
        case api::ContentPart::Kind::kOther:
          tokens += EstimateTokens(p.raw);
          break;
      }
    }
    for (const api::ToolCall& tc : m.tool_calls) {
      tokens += EstimateTokens(tc.name) + EstimateTokens(tc.arguments);
    }
  }
  for (const api::Tool& t : req.tools) {
    tokens += EstimateTokens(t.name) + EstimateTokens(t.description) +
              EstimateTokens(t.parameters_json) + EstimateTokens(t.raw);
  }
  tokens += EstimateTokens(req.response_format.schema_json);
  f.est_input_tokens = tokens;
  return f;
}

}  // namespace hybridgate::complexity
