// Encoding a ChatRequest for an OpenAI-compatible upstream. Written straight into the body string
// with JsonWriter: no intermediate DOM, raw fields copied once.
#include <algorithm>

#include "api/openai_chat.h"
#include "common/json_writer.h"

namespace hybridgate::api {
namespace {

void WritePart(JsonWriter& w, const ContentPart& p) {
  switch (p.kind) {
    case ContentPart::Kind::kText:
      w.BeginObject().Field("type", "text").Field("text", p.text).EndObject();
      return;
    case ContentPart::Kind::kImage:
      w.BeginObject().Field("type", "image_url").Key("image_url").BeginObject();
      w.Field("url", p.image_url);
      if (!p.detail.empty()) w.Field("detail", p.detail);
      w.EndObject().EndObject();
      return;
    case ContentPart::Kind::kOther:
      w.Raw(p.raw);
      return;
  }
}

void WriteMessage(JsonWriter& w, const Message& m) {
  w.BeginObject().Field("role", m.role);
  w.Key("content");
  if (m.content_is_null) {
    w.Null();
  } else if (m.content_is_parts) {
    w.BeginArray();
    for (const ContentPart& p : m.parts) WritePart(w, p);
    w.EndArray();
  } else {
    w.String(m.text);
  }
  if (!m.name.empty()) w.Field("name", m.name);
  if (!m.tool_call_id.empty()) w.Field("tool_call_id", m.tool_call_id);
  if (!m.reasoning_content.empty()) w.Field("reasoning_content", m.reasoning_content);
  if (!m.tool_calls.empty()) {
    w.Key("tool_calls").BeginArray();
    for (const ToolCall& tc : m.tool_calls) {
      w.BeginObject().Field("id", tc.id).Field("type", tc.type).Key("function").BeginObject();
      w.Field("name", tc.name).Field("arguments", tc.arguments).EndObject();
      if (!tc.extra_content.empty()) w.RawField("extra_content", tc.extra_content);
      w.EndObject();
    }
    w.EndArray();
  }
  // thinking_blocks (Anthropic's) are not sent: OpenAI rejects unknown message fields.
  for (const RawField& f : m.extra) {
    // Carried for the Gemini dialect (thought signatures); meaningless upstream.
    if (f.key.starts_with("gemini_")) continue;
    w.RawField(f.key, f.json);
  }
  w.EndObject();
}

// A tool that is not a function is sent only to the dialect it was written in (an OpenAI
// client's custom tool); another dialect's (an Anthropic server tool) is dropped and reported.
bool Sendable(const ChatRequest& req, const Tool& t) {
  return t.raw.empty() || req.ingress == ChatRequest::Dialect::kOpenAi;
}

void WriteTools(JsonWriter& w, const ChatRequest& req) {
  w.Key("tools").BeginArray();
  for (const Tool& t : req.tools) {
    if (!Sendable(req, t)) continue;
    if (!t.raw.empty()) {
      w.Raw(t.raw);
      continue;
    }
    w.BeginObject().Field("type", t.type).Key("function").BeginObject().Field("name", t.name);
    if (!t.description.empty()) w.Field("description", t.description);
    if (!t.parameters_json.empty()) w.RawField("parameters", t.parameters_json);
    if (t.strict) w.Field("strict", *t.strict);
    w.EndObject().EndObject();
  }
  w.EndArray();
}

template <class T>
void Optional(JsonWriter& w, std::string_view key, const std::optional<T>& v) {
  if (v) w.Field(key, *v);
}

}  // namespace

void EncodeOpenAiChat(const ChatRequest& req, const OpenAiEncodeOptions& options,
                      std::string& out) {
  out.reserve(out.size() + 512);
  JsonWriter w(out);
  w.BeginObject().Field("model",
                        options.model.empty() ? std::string_view(req.model) : options.model);
  w.Key("messages").BeginArray();
  for (const Message& m : req.messages) WriteMessage(w, m);
  w.EndArray();
  // OpenAI refuses tool_choice and parallel_tool_calls without tools.
  if (std::ranges::any_of(req.tools, [&](const Tool& t) { return Sendable(req, t); })) {
    WriteTools(w, req);
    if (!req.tool_choice.raw.empty()) w.RawField("tool_choice", req.tool_choice.raw);
    Optional(w, "parallel_tool_calls", req.parallel_tool_calls);
  } else if (req.ingress == ChatRequest::Dialect::kOpenAi) {
    if (!req.tool_choice.raw.empty()) w.RawField("tool_choice", req.tool_choice.raw);
    Optional(w, "parallel_tool_calls", req.parallel_tool_calls);
  }
  if (!req.response_format.raw.empty()) w.RawField("response_format", req.response_format.raw);
  Optional(w, "temperature", req.temperature);
  Optional(w, "top_p", req.top_p);
  // Not OpenAI's, but vLLM and llama.cpp take it: an OpenAI-dialect client's own top_k goes
  // along (it knows its upstream); another dialect's would be refused by OpenAI itself.
  if (req.ingress == ChatRequest::Dialect::kOpenAi) Optional(w, "top_k", req.top_k);
  Optional(w, "frequency_penalty", req.frequency_penalty);
  Optional(w, "presence_penalty", req.presence_penalty);
  Optional(w, "max_tokens", req.max_tokens);
  Optional(w, "max_completion_tokens", req.max_completion_tokens);
  Optional(w, "n", req.n);
  Optional(w, "seed", req.seed);
  if (!req.stop.empty()) {
    w.Key("stop").BeginArray();
    for (const std::string& s : req.stop) w.String(s);
    w.EndArray();
  }
  if (req.stream) {
    w.Field("stream", true);
    const bool usage = req.include_usage.value_or(false) || options.force_include_usage;
    if (usage) w.Key("stream_options").BeginObject().Field("include_usage", true).EndObject();
  }
  Optional(w, "logprobs", req.logprobs);
  Optional(w, "top_logprobs", req.top_logprobs);
  // Only an OpenAI-dialect client's own reasoning_effort: one translated from Anthropic thinking
  // or Gemini thinkingConfig would be refused by the many OpenAI-compatible models without it.
  if (!req.reasoning_effort.empty() && req.ingress == ChatRequest::Dialect::kOpenAi) {
    w.Field("reasoning_effort", req.reasoning_effort);
  }
  if (!req.user.empty()) w.Field("user", req.user);
  if (!req.metadata_json.empty()) w.RawField("metadata", req.metadata_json);
  // Another dialect's unknown fields (Anthropic's thinking, output_config, context_management;
  // Gemini's safetySettings, ...) mean nothing here, and OpenAI refuses unknown parameters: what
  // has an equivalent was mapped by the decoder (response_format, reasoning_effort, stop, ...).
  if (req.ingress == ChatRequest::Dialect::kOpenAi) {
    for (const RawField& f : req.extra) w.RawField(f.key, f.json);
  }
  w.EndObject();
}

void ReportOpenAiChatDropped(const ChatRequest& req, Dropped& out) {
  if (req.ingress == ChatRequest::Dialect::kOpenAi) return;  // its own dialect: all goes along
  // A translated reasoning_effort is not sent (see EncodeOpenAiChat).
  ReportForeignFields(req, /*reasoning_carried=*/false, out);
  if (req.top_k) out.Add(Field::kTopK);
  ReportAnthropicMarkers(req, out);
  ReportOtherTools(req, out);
}

std::string EncodeOpenAiError(const Error& error) {
  if (error.code == ErrorCode::kUpstreamError && error.upstream_body.starts_with("{\"error\"")) {
    return error.upstream_body;
  }
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("error").BeginObject().Field("message", error.message);
  w.Field("type", error.OpenAiType());
  w.Key("param");
  if (error.param.empty()) {
    w.Null();
  } else {
    w.String(error.param);
  }
  w.Field("code", error.CodeName()).EndObject().EndObject();
  return out;
}

}  // namespace hybridgate::api
