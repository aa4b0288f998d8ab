// ChatRequest -> Anthropic /v1/messages body. Each non-system message becomes a list of content
// blocks (serialised as it is built); consecutive turns of the same Anthropic role are merged,
// since Anthropic requires user and assistant turns to alternate.
#include <fmt/format.h>

#include <algorithm>

#include "api/anthropic/anthropic.h"
#include "api/anthropic/internal.h"
#include "common/json_writer.h"

namespace hybridgate::api::anthropic {
namespace internal {

bool MinifyObject(std::string_view args, std::string& out) {
  if (args.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out = "{}";
    return true;
  }
  simdjson::dom::element e;
  if (NestedParser().parse(args.data(), args.size(), true).get(e) || !e.is_object()) return false;
  out = simdjson::minify(e);
  return true;
}

std::string_view StopToFinish(std::string_view stop_reason) {
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

std::string_view FinishToStop(std::string_view finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

}  // namespace internal

namespace {

struct Turn {
  std::string_view role;            // "user" | "assistant"
  std::vector<std::string> blocks;  // serialised content blocks
};

// A block's cache_control (an Anthropic client's), when it has one.
void WriteCacheControl(JsonWriter& w, std::string_view cache_control) {
  if (!cache_control.empty()) w.RawField("cache_control", cache_control);
}

void WriteImage(JsonWriter& w, const ContentPart& p) {
  w.BeginObject().Field("type", "image").Key("source").BeginObject();
  std::string_view url = p.image_url;
  // data:<media type>;base64,<data>
  const size_t semi = url.find(';');
  const size_t comma = url.find(',');
  if (url.starts_with("data:") && semi != std::string_view::npos &&
      comma != std::string_view::npos && semi < comma) {
    w.Field("type", "base64").Field("media_type", url.substr(5, semi - 5));
    w.Field("data", url.substr(comma + 1));
  } else {
    w.Field("type", "url").Field("url", url);
  }
  w.EndObject();
  WriteCacheControl(w, p.cache_control);
  w.EndObject();
}

// Text and image blocks of a message's content; kOther parts have no Anthropic equivalent.
Status AppendContent(const Message& m, const std::string& field, std::vector<std::string>& out) {
  if (!m.content_is_parts) {
    // Anthropic rejects empty text blocks.
    if (!m.content_is_null && !m.text.empty()) {
      std::string& b = out.emplace_back();
      JsonWriter(b).BeginObject().Field("type", "text").Field("text", m.text).EndObject();
    }
    return {};
  }
  for (size_t i = 0; i < m.parts.size(); ++i) {
    const ContentPart& p = m.parts[i];
    if (p.kind == ContentPart::Kind::kOther) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("'{}.content[{}]': this content part type cannot be sent "
                                        "to an Anthropic model",
                                        field, i),
                            fmt::format("{}.content[{}]", field, i)));
    }
    if (p.kind == ContentPart::Kind::kText && p.text.empty()) continue;
    std::string& b = out.emplace_back();
    JsonWriter w(b);
    if (p.kind == ContentPart::Kind::kText) {
      w.BeginObject().Field("type", "text").Field("text", p.text);
      WriteCacheControl(w, p.cache_control);
      w.EndObject();
    } else {
      WriteImage(w, p);
    }
  }
  return {};
}

// Whether `m`'s thinking blocks are still what the model produced: their texts joined equal
// reasoning_content. A rewritten text (redaction) would fail Anthropic's signature check, and the
// original must not leave beside its redacted copy.
bool ThinkingIntact(const Message& m) {
  size_t at = 0;
  for (const ThinkingBlock& t : m.thinking_blocks) {
    if (t.redacted) continue;
    if (m.reasoning_content.compare(at, t.thinking.size(), t.thinking) != 0) return false;
    at += t.thinking.size();
  }
  return at == m.reasoning_content.size();
}

// A block Anthropic takes back: signed, or redacted. An unsigned one (an OpenAI-compatible
// model's reasoning, answered to an Anthropic client with signature "") would be rejected.
bool Replayable(const ThinkingBlock& t) { return t.redacted || !t.signature.empty(); }

bool HasReplayableThinking(const Message& m) {
  return ThinkingIntact(m) && std::ranges::any_of(m.thinking_blocks, Replayable);
}

// Thinking blocks first, in their order, as Anthropic requires of an assistant turn.
Status AssistantBlocks(const Message& m, const std::string& field, std::vector<std::string>& out) {
  const bool intact = ThinkingIntact(m);
  for (const ThinkingBlock& t : m.thinking_blocks) {
    if (!intact || !Replayable(t)) continue;
    JsonWriter w(out.emplace_back());
    if (t.redacted) {
      w.BeginObject().Field("type", "redacted_thinking").Field("data", t.data).EndObject();
    } else {
      w.BeginObject().Field("type", "thinking").Field("thinking", t.thinking);
      w.Field("signature", t.signature).EndObject();
    }
  }
  if (auto s = AppendContent(m, field, out); !s) return s;
  std::string input;
  for (size_t j = 0; j < m.tool_calls.size(); ++j) {
    const ToolCall& tc = m.tool_calls[j];
    if (!internal::MinifyObject(tc.arguments, input)) {
      const std::string f = fmt::format("{}.tool_calls[{}].function.arguments", field, j);
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("'{}' must be a JSON object encoded as a string", f), f));
    }
    std::string& b = out.emplace_back();
    JsonWriter w(b);
    w.BeginObject().Field("type", "tool_use").Field("id", tc.id).Field("name", tc.name);
    w.RawField("input", input).EndObject();
  }
  return {};
}

Status ToolResultBlock(const Message& m, const std::string& field, std::string& out) {
  JsonWriter w(out);
  w.BeginObject().Field("type", "tool_result").Field("tool_use_id", m.tool_call_id);
  if (m.content_is_parts) {
    std::vector<std::string> inner;
    if (auto s = AppendContent(m, field, inner); !s) return s;
    w.Key("content").BeginArray();
    for (const std::string& b : inner) w.Raw(b);
    w.EndArray();
  } else if (!m.content_is_null) {
    w.Field("content", m.text);
  }
  if (m.is_error) w.Field("is_error", true);
  WriteCacheControl(w, m.cache_control);
  w.EndObject();
  return {};
}

void SystemText(const Message& m, std::string& system) {
  auto add = [&](std::string_view t) {
    if (t.empty()) return;
    if (!system.empty()) system += "\n\n";
    system += t;
  };
  if (!m.content_is_parts) return add(m.text);
  for (const ContentPart& p : m.parts) {
    if (p.kind == ContentPart::Kind::kText) add(p.text);
  }
}

Result<std::vector<Turn>> BuildTurns(const ChatRequest& req, std::string& system) {
  std::vector<Turn> turns;
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const Message& m = req.messages[i];
    const std::string field = IndexedField("messages", i);
    if (m.role == "system" || m.role == "developer") {
      SystemText(m, system);
      continue;
    }
    const std::string_view role = m.role == "assistant" ? "assistant" : "user";
    if (turns.empty() || turns.back().role != role) turns.push_back({role, {}});
    std::vector<std::string>& blocks = turns.back().blocks;
    Status s;
    if (m.role == "tool" || m.role == "function") {
      s = ToolResultBlock(m, field, blocks.emplace_back());
    } else if (role == "assistant") {
      s = AssistantBlocks(m, field, blocks);
    } else {
      s = AppendContent(m, field, blocks);
    }
    if (!s) return Fail(std::move(s.error()));
    // An empty turn (content "" or null) is dropped: Anthropic rejects empty content.
    if (blocks.empty()) turns.pop_back();
  }
  return turns;
}

void WriteToolsAndChoice(JsonWriter& w, const ChatRequest& req, const EncodeOptions& options) {
  if (!req.tools.empty()) {
    w.Key("tools").BeginArray();
    for (const Tool& t : req.tools) {
      if (!t.raw.empty()) {
        // An Anthropic client's server tool (web_search, bash, ...) is Anthropic's own; another
        // dialect's non-function tool has no Anthropic form (ReportDropped names it).
        if (options.forward_extra) w.Raw(t.raw);
        continue;
      }
      w.BeginObject().Field("name", t.name);
      if (!t.description.empty()) w.Field("description", t.description);
      w.RawField("input_schema",
                 t.parameters_json.empty() ? R"({"type":"object"})" : t.parameters_json);
      WriteCacheControl(w, t.cache_control);
      w.EndObject();
    }
    w.EndArray();
  }
  using K = ToolChoice::Kind;
  const bool no_parallel = req.parallel_tool_calls == false;
  if (req.tool_choice.kind == K::kUnset && !no_parallel) return;
  if (req.tools.empty() && req.tool_choice.kind != K::kNone) return;
  w.Key("tool_choice").BeginObject();
  switch (req.tool_choice.kind) {
    case K::kUnset:
    case K::kAuto:
      w.Field("type", "auto");
      break;
    case K::kNone:
      w.Field("type", "none");
      break;
    case K::kRequired:
      w.Field("type", "any");
      break;
    case K::kFunction:
      w.Field("type", "tool").Field("name", req.tool_choice.function_name);
      break;
  }
  if (no_parallel && req.tool_choice.kind != K::kNone) w.Field("disable_parallel_tool_use", true);
  w.EndObject();
}

// reasoning_effort -> thinking.budget_tokens (api::ReasoningBudget; Anthropic's minimum is 1024).
// None for "none" or unknown efforts, when the client's own `thinking` is forwarded (Anthropic
// ingress), or when a tool is forced: Anthropic rejects forced tool use with thinking.
std::optional<int64_t> ThinkingBudget(const ChatRequest& req, const EncodeOptions& options) {
  const std::optional<int64_t> budget = ReasoningBudget(req.reasoning_effort);
  if (!budget || *budget < 1024) return std::nullopt;
  using K = ToolChoice::Kind;
  if (req.tool_choice.kind == K::kRequired || req.tool_choice.kind == K::kFunction) {
    return std::nullopt;
  }
  if (options.forward_extra) {
    for (const RawField& f : req.extra) {
      if (f.key == "thinking") return std::nullopt;
    }
  }
  // With thinking on, Anthropic wants the assistant turn of an ongoing tool loop to start with
  // its signed thinking block; an OpenAI-dialect history has none to send.
  for (auto m = req.messages.rbegin(); m != req.messages.rend(); ++m) {
    if (m->role != "assistant") continue;
    if (!m->tool_calls.empty() && !HasReplayableThinking(*m)) {
      return std::nullopt;
    }
    break;
  }
  return budget;
}

// Whether the thinking the client asked for (reasoning_effort, from any dialect) is what
// Anthropic gets: its budget, or none asked for ("none", a Gemini budget of 0), which is
// Anthropic's default.
bool ReasoningCarried(const ChatRequest& req, const EncodeOptions& options) {
  const std::optional<int64_t> wanted = ReasoningBudget(req.reasoning_effort);
  return (wanted && *wanted < 1024) || ThinkingBudget(req, options).has_value();
}

}  // namespace

void ReportDropped(const ChatRequest& req, const EncodeOptions& options, Dropped& out) {
  if (options.forward_extra) {
    // An Anthropic client's request, re-encoded (redacted): only its system blocks, joined into
    // one text, lose their cache_control.
    for (const Message& m : req.messages) {
      if (m.role == "system" && !m.cache_control.empty()) out.Add(Field::kCacheControl);
    }
    return;
  }
  ReportForeignFields(req, ReasoningCarried(req, options), out);
  if (req.n && *req.n > 1) out.Add(Field::kN);
  if (req.seed) out.Add(Field::kSeed);
  if (req.frequency_penalty) out.Add(Field::kFrequencyPenalty);
  if (req.presence_penalty) out.Add(Field::kPresencePenalty);
  if (req.logprobs.value_or(false)) out.Add(Field::kLogprobs);
  if (req.top_logprobs) out.Add(Field::kTopLogprobs);
  if (!req.metadata_json.empty()) out.Add(Field::kMetadata);
  if (ThinkingBudget(req, options)) {  // what EncodeRequest leaves out beside thinking
    if (req.temperature) out.Add(Field::kTemperature);
    if (req.top_k) out.Add(Field::kTopK);
    if (req.top_p && *req.top_p < 0.95) out.Add(Field::kTopP);
  }
  for (const Tool& t : req.tools) {
    if (t.strict.value_or(false)) out.Add(Field::kToolStrict);
  }
  ReportOtherTools(req, out);
}

Status EncodeRequest(const ChatRequest& req, const EncodeOptions& options, std::string& out) {
  std::string system;
  auto turns = BuildTurns(req, system);
  if (!turns) return Fail(std::move(turns.error()));
  // Anthropic rejects an empty `messages`: a request of system text or empty messages only
  // (which OpenAI answers) is refused here, in the client's dialect, before anything is sent.
  if (turns->empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "messages: no user or assistant message with content; this model's "
                          "provider (Anthropic) needs at least one",
                          "messages"));
  }
  out.reserve(out.size() + 512);
  JsonWriter w(out);
  w.BeginObject().Field("model",
                        options.model.empty() ? std::string_view(req.model) : options.model);
  const std::optional<int64_t> budget = ThinkingBudget(req, options);
  // max_completion_tokens wins over the deprecated max_tokens, as in OpenAI. Anthropic counts
  // thinking in max_tokens and requires max_tokens > budget_tokens: a smaller limit is read as
  // the answer's own and the budget added to it.
  int64_t max_tokens = req.MaxOutputTokens().value_or(options.default_max_tokens);
  if (budget && max_tokens <= *budget) max_tokens += *budget;
  w.Field("max_tokens", max_tokens);
  if (budget) {
    w.Key("thinking").BeginObject().Field("type", "enabled").Field("budget_tokens", *budget);
    w.EndObject();
  }
  if (!system.empty()) w.Field("system", system);
  w.Key("messages").BeginArray();
  for (const Turn& t : *turns) {
    w.BeginObject().Field("role", t.role).Key("content").BeginArray();
    for (const std::string& b : t.blocks) w.Raw(b);
    w.EndArray().EndObject();
  }
  w.EndArray();
  WriteToolsAndChoice(w, req, options);
  if (!req.stop.empty()) {
    w.Key("stop_sequences").BeginArray();
    for (const std::string& s : req.stop) w.String(s);
    w.EndArray();
  }
  // Extended thinking rejects temperature and top_k, and top_p below 0.95: they are dropped.
  // Anthropic's temperature goes to 1, OpenAI's and Gemini's to 2: a higher one is sent as 1,
  // the most random Anthropic allows (as rejecting it would fail a request OpenAI answers).
  if (req.temperature && !budget) w.Field("temperature", std::min(*req.temperature, 1.0));
  if (req.top_p && (!budget || *req.top_p >= 0.95)) w.Field("top_p", *req.top_p);
  if (req.top_k && !budget) w.Field("top_k", *req.top_k);
  if (!req.user.empty()) w.Key("metadata").BeginObject().Field("user_id", req.user).EndObject();
  if (req.stream) w.Field("stream", true);
  bool client_output_config = false;
  if (options.forward_extra) {
    for (const RawField& f : req.extra) {
      client_output_config |= f.key == "output_config" || f.key == "output_format";
      w.RawField(f.key, f.json);
    }
  }
  // Structured output from another dialect (response_format, text.format, responseSchema):
  // Anthropic's output_config.format. JSON mode without a schema is any object.
  using RF = ResponseFormat::Kind;
  const RF kind = req.response_format.kind;
  if (!client_output_config && (kind == RF::kJsonSchema || kind == RF::kJsonObject)) {
    w.Key("output_config").BeginObject().Key("format").BeginObject();
    w.Field("type", "json_schema");
    w.RawField("schema", kind == RF::kJsonSchema && !req.response_format.schema_json.empty()
                             ? std::string_view(req.response_format.schema_json)
                             : std::string_view(R"({"type":"object"})"));
    w.EndObject().EndObject();
  }
  w.EndObject();
  return {};
}

}  // namespace hybridgate::api::anthropic
