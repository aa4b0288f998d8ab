// ChatRequest -> Gemini generateContent body. Each non-system message becomes a list of parts
// (serialised as it is built); consecutive turns of the same Gemini role are merged, since Gemini
// expects user and model turns to alternate and function responses to follow their calls.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "api/gemini/gemini.h"
#include "api/gemini/internal.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini {
namespace {

struct Turn {
  std::string_view role;           // "user" | "model"
  std::vector<std::string> parts;  // serialised Part objects
};

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Parses `text` as JSON with the nested parser; returns false when invalid.
bool ParseNested(std::string_view text, simdjson::dom::element& out) {
  return !internal::NestedParser().parse(text.data(), text.size(), true).get(out);
}

std::string_view MimeFromUrl(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t dot = url.rfind('.');
  if (dot == std::string_view::npos || url.find('/', dot) != std::string_view::npos) {
    return "image/jpeg";
  }
  std::string ext(url.substr(dot + 1));
  std::ranges::transform(ext, ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == "png") return "image/png";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  if (ext == "heic") return "image/heic";
  if (ext == "heif") return "image/heif";
  if (ext == "pdf") return "application/pdf";
  return "image/jpeg";
}

std::string ImagePart(std::string_view url) {
  std::string s;
  JsonWriter w(s);
  // data:<mime type>;base64,<data>
  if (url.starts_with("data:")) {
    const size_t semi = url.find(';');
    const size_t comma = url.find(',');
    if (semi != std::string_view::npos && comma != std::string_view::npos && semi < comma) {
      w.BeginObject().Key("inlineData").BeginObject();
      w.Field("mimeType", url.substr(5, semi - 5)).Field("data", url.substr(comma + 1));
      w.EndObject().EndObject();
      return s;
    }
  }
  w.BeginObject().Key("fileData").BeginObject();
  w.Field("mimeType", MimeFromUrl(url)).Field("fileUri", url).EndObject().EndObject();
  return s;
}

std::string TextPart(std::string_view text) {
  std::string s;
  JsonWriter(s).BeginObject().Field("text", text).EndObject();
  return s;
}

// The message's content as plain text (text parts joined), for system and tool messages.
std::string PlainText(const Message& m) {
  if (!m.content_is_parts) return m.text;
  std::string text;
  for (const ContentPart& p : m.parts) {
    if (p.kind == ContentPart::Kind::kText) text += p.text;
  }
  return text;
}

Status ContentParts(const Message& m, size_t i, std::vector<std::string>& parts) {
  if (!m.content_is_parts) {
    if (!m.text.empty()) parts.push_back(TextPart(m.text));
    return {};
  }
  for (size_t j = 0; j < m.parts.size(); ++j) {
    const ContentPart& p = m.parts[j];
    switch (p.kind) {
      case ContentPart::Kind::kText:
        if (!p.text.empty()) parts.push_back(TextPart(p.text));
        break;
      case ContentPart::Kind::kImage:
        parts.push_back(ImagePart(p.image_url));
        break;
      case ContentPart::Kind::kOther:
        return Fail(MakeError(ErrorCode::kInvalidRequest,
                              "this content part type is not supported by Gemini models",
                              fmt::format("messages[{}].content[{}]", i, j)));
    }
  }
  return {};
}

Status FunctionCallPart(const ToolCall& tc, size_t i, size_t j, std::string_view signature,
                        std::string& out) {
  JsonWriter w(out);
  if (!signature.empty()) {
    // Gemini 3 rejects function-call history without the signature it sent with the call.
    w.BeginObject().Field("thoughtSignature", signature);
  } else {
    w.BeginObject();
  }
  w.Key("functionCall").BeginObject().Field("name", tc.name).Key("args");
  if (IsBlank(tc.arguments)) {
    w.Raw("{}");
  } else {
    simdjson::dom::element e;
    if (!ParseNested(tc.arguments, e) || !e.is_object()) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("tool call arguments must be a JSON object, got '{}'",
                                        tc.arguments.substr(0, 64)),
                            fmt::format("messages[{}].tool_calls[{}].function.arguments", i, j)));
    }
    w.Raw(simdjson::minify(e));
  }
  w.EndObject().EndObject();
  return {};
}

std::string FunctionResponsePart(std::string_view name, const std::string& result) {
  std::string s;
  JsonWriter w(s);
  w.BeginObject().Key("functionResponse").BeginObject().Field("name", name).Key("response");
  simdjson::dom::element e;
  if (ParseNested(result, e) && e.is_object()) {
    w.Raw(simdjson::minify(e));
  } else {
    w.BeginObject().Field("content", result).EndObject();
  }
  w.EndObject().EndObject();
  return s;
}

const RawField* FindExtra(const std::vector<RawField>& extra, std::string_view key) {
  for (const RawField& f : extra) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

// Reads the strings of the JSON array `json` into `sigs` (by position; non-strings skipped).
void ReadSignatureArray(std::string_view json, std::vector<std::string>& sigs) {
  simdjson::dom::element e;
  simdjson::dom::array arr;
  if (!ParseNested(json, e) || e.get_array().get(arr)) return;
  size_t j = 0;
  for (simdjson::dom::element s : arr) {
    std::string_view sig;
    if (j < sigs.size() && !s.get_string().get(sig)) sigs[j].assign(sig);
    ++j;
  }
}

// The thought signatures of an assistant turn's tool calls ("" = none): those a Gemini client
// sent (kept by DecodeRequest), else those an OpenAI client sent back the way Google's
// OpenAI-compatible API and our own answers carry them — tool_calls[i].extra_content.google.
// thought_signature, or message.extra_content.google.thought_signatures[i].
std::vector<std::string> CallSignatures(const Message& m) {
  std::vector<std::string> sigs(m.tool_calls.size());
  if (const RawField* f = FindExtra(m.extra, kToolCallSignaturesKey)) {
    ReadSignatureArray(f->json, sigs);
    return sigs;
  }
  simdjson::dom::element e;
  std::string_view sig;
  if (const RawField* f = FindExtra(m.extra, "extra_content"); f && ParseNested(f->json, e)) {
    if (simdjson::dom::element list; !e["google"]["thought_signatures"].get(list)) {
      ReadSignatureArray(simdjson::minify(list), sigs);
    }
  }
  for (size_t j = 0; j < m.tool_calls.size(); ++j) {
    const std::string& extra = m.tool_calls[j].extra_content;
    if (!extra.empty() && ParseNested(extra, e) &&
        !e["google"]["thought_signature"].get_string().get(sig)) {
      sigs[j].assign(sig);
    }
  }
  return sigs;
}

// The assistant turn's parts; a text signature goes on its last text part, as Gemini sent it.
Status AssistantParts(const Message& m, size_t i, std::vector<std::string>& parts) {
  HG_TRY(ContentParts(m, i, parts));
  if (const RawField* sig = FindExtra(m.extra, kTextSignatureKey);
      sig != nullptr && !parts.empty() && parts.back().starts_with("{\"text\"")) {
    parts.back().pop_back();  // the closing brace of a part this file wrote
    parts.back() += ",\"thoughtSignature\":" + sig->json + "}";
  }
  const std::vector<std::string> sigs = CallSignatures(m);
  for (size_t j = 0; j < m.tool_calls.size(); ++j) {
    HG_TRY(FunctionCallPart(m.tool_calls[j], i, j, sigs[j], parts.emplace_back()));
  }
  return {};
}

void AddTurn(std::vector<Turn>& turns, std::string_view role, std::vector<std::string> parts) {
  if (parts.empty()) return;
  if (turns.empty() || turns.back().role != role) turns.push_back({role, {}});
  auto& dst = turns.back().parts;
  dst.insert(dst.end(), std::make_move_iterator(parts.begin()),
             std::make_move_iterator(parts.end()));
}

Status BuildContents(const ChatRequest& req, std::vector<std::string>& system,
                     std::vector<Turn>& turns) {
  std::unordered_map<std::string_view, std::string_view> call_names;  // tool_call_id -> name
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const Message& m = req.messages[i];
    std::vector<std::string> parts;
    if (m.role == "system" || m.role == "developer") {
      if (std::string text = PlainText(m); !text.empty()) system.push_back(std::move(text));
    } else if (m.role == "assistant") {
      for (const ToolCall& tc : m.tool_calls) call_names[tc.id] = tc.name;
      HG_TRY(AssistantParts(m, i, parts));
      AddTurn(turns, "model", std::move(parts));
    } else if (m.role == "tool" || m.role == "function") {
      std::string_view name = m.role == "function" ? std::string_view(m.name) : "";
      if (auto it = call_names.find(m.tool_call_id); it != call_names.end()) name = it->second;
      if (name.empty()) {
        return Fail(
            MakeError(ErrorCode::kInvalidRequest,
                      fmt::format("no earlier assistant tool call has id '{}'", m.tool_call_id),
                      fmt::format("messages[{}].tool_call_id", i)));
      }
      parts.push_back(FunctionResponsePart(name, PlainText(m)));
      AddTurn(turns, "user", std::move(parts));
    } else {
      HG_TRY(ContentParts(m, i, parts));
      AddTurn(turns, "user", std::move(parts));
    }
  }
  return {};
}

void WriteTools(const ChatRequest& req, JsonWriter& w) {
  bool any = false;
  for (const Tool& t : req.tools) any |= t.type == "function";
  if (any) {
    w.Key("tools").BeginArray().BeginObject().Key("functionDeclarations").BeginArray();
    for (const Tool& t : req.tools) {
      if (t.type != "function") continue;
      w.BeginObject().Field("name", t.name);
      if (!t.description.empty()) w.Field("description", t.description);
      // JSON Schema, which Gemini takes as parametersJsonSchema: its `parameters` is Google's
      // OpenAPI subset (upper-case types, no type arrays), which refuses JSON Schema's forms.
      if (!t.parameters_json.empty()) w.RawField("parametersJsonSchema", t.parameters_json);
      w.EndObject();
    }
    w.EndArray().EndObject().EndArray();
  }
  std::string_view mode;
  switch (req.tool_choice.kind) {
    case ToolChoice::Kind::kUnset:
      return;
    case ToolChoice::Kind::kAuto:
      mode = "AUTO";
      break;
    case ToolChoice::Kind::kNone:
      mode = "NONE";
      break;
    case ToolChoice::Kind::kRequired:
    case ToolChoice::Kind::kFunction:
      mode = "ANY";
      break;
  }
  w.Key("toolConfig").BeginObject().Key("functionCallingConfig").BeginObject();
  w.Field("mode", mode);
  if (req.tool_choice.kind == ToolChoice::Kind::kFunction) {
    w.Key("allowedFunctionNames").BeginArray().String(req.tool_choice.function_name).EndArray();
  }
  w.EndObject().EndObject();
}

void WriteGenerationConfig(const ChatRequest& req, JsonWriter& w) {
  std::string cfg;
  JsonWriter g(cfg);
  g.BeginObject();
  if (req.temperature) g.Field("temperature", *req.temperature);
  if (req.top_p) g.Field("topP", *req.top_p);
  if (req.top_k) g.Field("topK", *req.top_k);
  if (auto max = req.MaxOutputTokens()) g.Field("maxOutputTokens", *max);
  if (!req.stop.empty()) {
    g.Key("stopSequences").BeginArray();
    for (const std::string& s : req.stop) g.String(s);
    g.EndArray();
  }
  if (req.seed) g.Field("seed", *req.seed);
  if (req.n) g.Field("candidateCount", *req.n);
  if (req.presence_penalty) g.Field("presencePenalty", *req.presence_penalty);
  if (req.frequency_penalty) g.Field("frequencyPenalty", *req.frequency_penalty);
  // A Gemini client's own generationConfig members (kGenerationConfigKey), its schema included.
  const RawField* kept = req.ingress == ChatRequest::Dialect::kGemini
                             ? FindExtra(req.extra, kGenerationConfigKey)
                             : nullptr;
  simdjson::dom::element own;
  simdjson::dom::object own_members;
  const bool has_own =
      kept != nullptr && ParseNested(kept->json, own) && !own.get_object().get(own_members);
  bool own_thinking = false;
  bool own_schema = false;
  if (has_own) {
    for (auto [key, value] : own_members) {
      g.RawField(key, simdjson::minify(value));
      own_thinking |= internal::KeyIs(key, "thinkingConfig");
      own_schema |= internal::IsResponseSchemaKey(key);
    }
  }
  const auto kind = req.response_format.kind;
  if (kind == ResponseFormat::Kind::kJsonObject || kind == ResponseFormat::Kind::kJsonSchema) {
    g.Field("responseMimeType", "application/json");
  }
  if (kind == ResponseFormat::Kind::kJsonSchema && !req.response_format.schema_json.empty() &&
      !own_schema) {
    // JSON Schema, from any other dialect: responseJsonSchema.
    g.RawField("responseJsonSchema", req.response_format.schema_json);
  }
  if (auto budget = ReasoningBudget(req.reasoning_effort); budget && !own_thinking) {
    g.Key("thinkingConfig").BeginObject().Field("thinkingBudget", *budget);
    if (*budget > 0) g.Field("includeThoughts", true);
    g.EndObject();
  }
  g.EndObject();
  if (cfg != "{}") w.RawField("generationConfig", cfg);
}

static_assert(kGenerationConfigKey == "gemini_generation_config",
              "api/dropped.cc reads the kept generationConfig members by this key");

}  // namespace

void ReportDropped(const ChatRequest& req, Dropped& out) {
  // Logprobs are not asked for: answers are translated without them, whatever the client.
  if (req.logprobs.value_or(false)) out.Add(Field::kLogprobs);
  if (req.top_logprobs) out.Add(Field::kTopLogprobs);
  if (req.ingress == ChatRequest::Dialect::kGemini) return;  // its own fields go along
  // thinkingConfig carries every effort ReasoningBudget knows, "none" included.
  ReportForeignFields(req, ReasoningBudget(req.reasoning_effort).has_value(), out);
  if (!req.metadata_json.empty()) out.Add(Field::kMetadata);
  if (!req.user.empty()) out.Add(Field::kUser);
  if (req.parallel_tool_calls == false && !req.tools.empty()) out.Add(Field::kParallelToolCalls);
  for (const Tool& t : req.tools) {
    if (t.strict.value_or(false)) out.Add(Field::kToolStrict);
  }
  ReportAnthropicMarkers(req, out);
  ReportOtherTools(req, out);
}

Status EncodeRequest(const ChatRequest& req, std::string& out) {
  std::vector<std::string> system;
  std::vector<Turn> turns;
  HG_TRY(BuildContents(req, system, turns));
  JsonWriter w(out);
  w.BeginObject();
  if (!system.empty()) {
    w.Key("systemInstruction").BeginObject().Key("parts").BeginArray();
    for (const std::string& s : system) w.BeginObject().Field("text", s).EndObject();
    w.EndArray().EndObject();
  }
  w.Key("contents").BeginArray();
  for (const Turn& t : turns) {
    w.BeginObject().Field("role", t.role).Key("parts").BeginArray();
    for (const std::string& p : t.parts) w.Raw(p);
    w.EndArray().EndObject();
  }
  w.EndArray();
  WriteTools(req, w);
  WriteGenerationConfig(req, w);
  if (req.ingress == ChatRequest::Dialect::kGemini) {
    // A Gemini client's own fields (safetySettings, cachedContent, ...), meant for Gemini.
    for (const RawField& f : req.extra) {
      if (!f.key.starts_with("gemini_")) w.RawField(f.key, f.json);
    }
  }
  w.EndObject();
  return {};
}

}  // namespace hybridgate::api::gemini
