#include "api/dropped.h"

#include <simdjson.h>

#include <algorithm>
#include <array>

namespace hybridgate::api {
namespace {

// One row per Field, in enum order: how an OpenAI, an Anthropic and a Gemini client write it.
struct FieldNames {
  Field field;
  std::string_view openai, anthropic, gemini;
};
constexpr std::array<FieldNames, 17> kFieldNames = {{
    {Field::kTemperature, "temperature", "temperature", "generationConfig.temperature"},
    {Field::kTopP, "top_p", "top_p", "generationConfig.topP"},
    {Field::kTopK, "top_k", "top_k", "generationConfig.topK"},
    {Field::kSeed, "seed", "seed", "generationConfig.seed"},
    {Field::kN, "n", "n", "generationConfig.candidateCount"},
    {Field::kFrequencyPenalty, "frequency_penalty", "frequency_penalty",
     "generationConfig.frequencyPenalty"},
    {Field::kPresencePenalty, "presence_penalty", "presence_penalty",
     "generationConfig.presencePenalty"},
    {Field::kLogprobs, "logprobs", "logprobs", "generationConfig.responseLogprobs"},
    {Field::kTopLogprobs, "top_logprobs", "top_logprobs", "generationConfig.logprobs"},
    {Field::kReasoning, "reasoning_effort", "thinking", "generationConfig.thinkingConfig"},
    {Field::kMetadata, "metadata", "metadata", "metadata"},
    {Field::kUser, "user", "metadata.user_id", "user"},
    {Field::kParallelToolCalls, "parallel_tool_calls", "tool_choice.disable_parallel_tool_use",
     "parallel_tool_calls"},
    {Field::kToolStrict, "tools.function.strict", "tools.strict", "tools.strict"},
    {Field::kMessageName, "messages.name", "messages.name", "messages.name"},
    {Field::kCacheControl, "cache_control", "cache_control", "cache_control"},
    {Field::kIsError, "is_error", "is_error", "is_error"},
}};

constexpr bool InEnumOrder() {
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (static_cast<size_t>(kFieldNames[i].field) != i) return false;
  }
  return true;
}
static_assert(InEnumOrder() && kFieldNames.size() == static_cast<size_t>(Field::kIsError) + 1,
              "kFieldNames must list every Field, in enum order");

// Gemini's JSON mapping takes snake_case too: `key` names `camel` either way.
bool KeyIs(std::string_view key, std::string_view camel) {
  if (key == camel) return true;
  std::string snake;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      snake += '_';
      c = static_cast<char>(c - 'A' + 'a');
    }
    snake += c;
  }
  return key == snake;
}

// A value that asks for nothing: null, "", [] or {}.
bool Unset(std::string_view json) {
  return json == "null" || json == "\"\"" || json == "[]" || json == "{}";
}

// The members of the JSON object `json` (minified, from a decoder), each given to `visit` with
// its value; nothing when it is not an object. A parser of its own: this runs while answering,
// when a caller may still hold elements of the thread's shared parsers.
template <class Visit>
void ForEachMember(std::string_view json, Visit&& visit) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(root) || root.get_object().get(obj)) return;
  for (auto [key, value] : obj) visit(key, value);
}

// Anthropic's `thinking` asks for none with {"type":"disabled"}.
bool ThinkingOff(std::string_view json) {
  bool off = false;
  ForEachMember(json, [&](std::string_view key, simdjson::dom::element value) {
    std::string_view type;
    off |= key == "type" && !value.get_string().get(type) && type == "disabled";
  });
  return off;
}

void ReportAnthropicExtra(const ChatRequest& req, const RawField& f, bool reasoning_carried,
                          Dropped& out) {
  const bool schema = req.response_format.kind == ResponseFormat::Kind::kJsonSchema;
  if (f.key == "thinking") {
    if (!reasoning_carried && !ThinkingOff(f.json)) out.Add("thinking");
  } else if (f.key == "output_format") {
    if (!schema) out.Add("output_format");  // only a json_schema one has an equivalent
  } else if (f.key == "output_config") {
    // Its format became response_format when it was a json_schema; effort and the rest have no
    // equivalent elsewhere.
    ForEachMember(f.json, [&](std::string_view key, simdjson::dom::element) {
      if (key == "format" && schema) return;
      std::string name = "output_config.";
      name += key;
      out.Add(name);
    });
  } else if (!Unset(f.json)) {
    out.Add(f.key);
  }
}

// gemini::kGenerationConfigKey (api/gemini/gemini.h, which checks that they agree).
constexpr std::string_view kGeminiGenerationConfig = "gemini_generation_config";

void ReportGeminiExtra(const ChatRequest& req, const RawField& f, bool reasoning_carried,
                       Dropped& out) {
  const bool schema = req.response_format.kind == ResponseFormat::Kind::kJsonSchema;
  if (f.key == kGeminiGenerationConfig) {
    // The generationConfig members ChatRequest does not model, as the client spelled them; the
    // response schema is kept too, and was mapped when it came with JSON's MIME type.
    ForEachMember(f.json, [&](std::string_view key, simdjson::dom::element value) {
      if (value.is_null() || (KeyIs(key, "thinkingConfig") && reasoning_carried)) return;
      if (schema && (KeyIs(key, "responseSchema") || KeyIs(key, "responseJsonSchema") ||
                     key == "_responseJsonSchema")) {
        return;
      }
      std::string name = "generationConfig.";
      name += key;
      out.Add(name);
    });
  } else if (!f.key.starts_with("gemini_") && !Unset(f.json)) {
    out.Add(f.key);
  }
}

}  // namespace

std::string_view FieldName(ChatRequest::Dialect dialect, Field field) {
  const FieldNames& row = kFieldNames[static_cast<size_t>(field)];
  if (dialect == ChatRequest::Dialect::kAnthropic) return row.anthropic;
  if (dialect == ChatRequest::Dialect::kGemini) return row.gemini;
  return row.openai;
}

void Dropped::Add(std::string_view name) {
  if (name.empty() || list_.size() > kMaxBytes) return;
  name = name.substr(0, 64);
  std::string clean;
  clean.reserve(name.size());
  for (char c : name) clean += (c >= 0x21 && c <= 0x7e && c != ',') ? c : '_';
  for (size_t at = 0; at < list_.size();) {
    const size_t end = std::min(list_.find(',', at), list_.size());
    if (std::string_view(list_).substr(at, end - at) == clean) return;
    at = end + 1;
  }
  if (!list_.empty()) list_ += ',';
  list_ += clean;
}

void Dropped::AddList(std::string_view names) {
  while (!names.empty()) {
    const size_t comma = std::min(names.find(','), names.size());
    Add(names.substr(0, comma));
    names.remove_prefix(std::min(comma + 1, names.size()));
  }
}

void ReportForeignFields(const ChatRequest& req, bool reasoning_carried, Dropped& out) {
  if (req.ingress == ChatRequest::Dialect::kAnthropic) {
    for (const RawField& f : req.extra) ReportAnthropicExtra(req, f, reasoning_carried, out);
  } else if (req.ingress == ChatRequest::Dialect::kGemini) {
    for (const RawField& f : req.extra) ReportGeminiExtra(req, f, reasoning_carried, out);
  } else {  // OpenAI's dialects
    if (!reasoning_carried && !req.reasoning_effort.empty()) out.Add(Field::kReasoning);
    for (const RawField& f : req.extra) {
      if (!Unset(f.json)) out.Add(f.key);
    }
  }
  for (const Message& m : req.messages) {
    // A tool message's name is its function's (the result is matched to its call either way).
    if (!m.name.empty() && m.role != "tool" && m.role != "function") out.Add(Field::kMessageName);
    for (const RawField& f : m.extra) {
      // Thought signatures (gemini_*, extra_content) are the model's own output, sent back.
      if (f.key.starts_with("gemini_") || f.key == "extra_content" || Unset(f.json)) continue;
      std::string name = "messages.";
      name += f.key;
      out.Add(name);
    }
  }
}

void ReportAnthropicMarkers(const ChatRequest& req, Dropped& out) {
  bool cache_control = false;
  bool is_error = false;
  for (const Message& m : req.messages) {
    cache_control |= !m.cache_control.empty();
    is_error |= m.is_error;
    for (const ContentPart& p : m.parts) cache_control |= !p.cache_control.empty();
  }
  for (const Tool& t : req.tools) cache_control |= !t.cache_control.empty();
  if (cache_control) out.Add(Field::kCacheControl);
  if (is_error) out.Add(Field::kIsError);
}

void ReportOtherTools(const ChatRequest& req, Dropped& out) {
  for (const Tool& t : req.tools) {
    if (t.raw.empty() && t.type == "function") continue;
    std::string name = "tools:";
    name += t.type;
    out.Add(name);
  }
}

}  // namespace hybridgate::api
