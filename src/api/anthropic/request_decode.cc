// Anthropic /v1/messages ingress body -> ChatRequest. Validation mirrors Anthropic's own: a wrong
// type or missing field is a 400 that names the field.
#include <fmt/format.h>

#include "api/anthropic/anthropic.h"
#include "api/anthropic/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::anthropic {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Error Invalid(const std::string& field, std::string message) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message), field);
}
Status RequiredString(object o, std::string_view key, const std::string& field, std::string& out) {
  element v;
  if (o[key].get(v)) return Fail(MissingField(field));
  return ReadString(v, field, out);
}

Status ReadImage(object block, const std::string& field, ContentPart& part) {
  part.kind = ContentPart::Kind::kImage;
  object source;
  if (block["source"].get_object().get(source)) return Fail(MissingField(field + ".source"));
  std::string type;
  HG_TRY(RequiredString(source, "type", field + ".source.type", type));
  if (type == "base64") {
    std::string media, data;
    HG_TRY(RequiredString(source, "media_type", field + ".source.media_type", media));
    HG_TRY(RequiredString(source, "data", field + ".source.data", data));
    part.image_url = fmt::format("data:{};base64,{}", media, data);
    return {};
  }
  if (type == "url") return RequiredString(source, "url", field + ".source.url", part.image_url);
  return Fail(Invalid(field + ".source.type",
                      fmt::format("'{}.source.type' must be 'base64' or 'url'", field)));
}

// A block's cache_control, minified ("" when absent), for an Anthropic upstream that gets the
// request re-encoded (redacted) rather than as sent.
std::string CacheControl(object block) {
  element cc;
  if (block["cache_control"].get(cc) || cc.is_null()) return {};
  return simdjson::minify(cc);
}

// Text and image blocks (user turns, tool_result content). Returns false for other types.
Result<bool> ReadPart(object block, std::string_view type, const std::string& field,
                      std::vector<ContentPart>& parts) {
  if (type == "text") {
    ContentPart& p = parts.emplace_back();
    if (auto s = RequiredString(block, "text", field + ".text", p.text); !s) {
      return Fail(std::move(s.error()));
    }
    p.cache_control = CacheControl(block);
    return true;
  }
  if (type == "image") {
    ContentPart& p = parts.emplace_back();
    if (auto s = ReadImage(block, field, p); !s) return Fail(std::move(s.error()));
    p.cache_control = CacheControl(block);
    return true;
  }
  return false;
}

// Content of a Message from parts: a single text part without cache_control collapses to a
// plain string.
void SetParts(Message& m, std::vector<ContentPart>&& parts) {
  if (parts.size() == 1 && parts[0].kind == ContentPart::Kind::kText &&
      parts[0].cache_control.empty()) {
    m.text = std::move(parts[0].text);
  } else {
    m.parts = std::move(parts);
    m.content_is_parts = true;
  }
}

Status ReadToolResult(object block, const std::string& field, Message& m) {
  m.role = "tool";
  HG_TRY(RequiredString(block, "tool_use_id", field + ".tool_use_id", m.tool_call_id));
  m.cache_control = CacheControl(block);
  if (element e; !block["is_error"].get(e) && !e.is_null()) {
    if (e.get_bool().get(m.is_error)) return Fail(FieldError(field + ".is_error", "a boolean", e));
  }
  element content;
  if (block["content"].get(content)) return {};  // content is optional
  if (content.is_string()) return ReadString(content, field + ".content", m.text);
  array arr;
  if (content.get_array().get(arr)) {
    return Fail(FieldError(field + ".content", "a string or an array of content blocks", content));
  }
  std::vector<ContentPart> parts;
  size_t i = 0;
  for (element b : arr) {
    const std::string f = fmt::format("{}.content[{}]", field, i++);
    object o;
    std::string_view type;
    if (b.get_object().get(o)) return Fail(FieldError(f, "an object", b));
    if (o["type"].get_string().get(type)) return Fail(MissingField(f + ".type"));
    auto known = ReadPart(o, type, f, parts);
    if (!known) return Fail(std::move(known.error()));
    if (!*known)
      return Fail(Invalid(f + ".type", fmt::format("'{}.type' must be text or image", f)));
  }
  SetParts(m, std::move(parts));
  return {};
}

// Thinking blocks are kept whole, in order, in Message::thinking_blocks (their texts also joined
// into reasoning_content for other upstreams): Anthropic wants them back unchanged.
Status ReadAssistantBlock(object block, std::string_view type, const std::string& field, Message& m,
                          std::vector<ContentPart>& parts) {
  if (type == "tool_use") {
    ToolCall& tc = m.tool_calls.emplace_back();
    HG_TRY(RequiredString(block, "id", field + ".id", tc.id));
    HG_TRY(RequiredString(block, "name", field + ".name", tc.name));
    element input;
    if (block["input"].get(input)) return Fail(MissingField(field + ".input"));
    if (!input.is_object()) return Fail(FieldError(field + ".input", "an object", input));
    tc.arguments = simdjson::minify(input);
    return {};
  }
  if (type == "thinking") {
    ThinkingBlock& t = m.thinking_blocks.emplace_back();
    HG_TRY(RequiredString(block, "thinking", field + ".thinking", t.thinking));
    if (element sig; !block["signature"].get(sig) && !sig.is_null()) {
      HG_TRY(ReadString(sig, field + ".signature", t.signature));
    }
    m.reasoning_content += t.thinking;
    return {};
  }
  if (type == "redacted_thinking") {
    ThinkingBlock& t = m.thinking_blocks.emplace_back();
    t.redacted = true;
    return RequiredString(block, "data", field + ".data", t.data);
  }
  auto known = ReadPart(block, type, field, parts);
  if (!known) return Fail(std::move(known.error()));
  if (!*known) {
    return Fail(
        Invalid(field + ".type",
                fmt::format("'{}.type' '{}' is not supported in assistant turns", field, type)));
  }
  return {};
}

// System text: a string or an array of text blocks (joined by blank lines), as the top-level
// `system` field and a `role: "system"` message both carry it. `field` names it in errors. The
// first block's cache_control goes to `cache_control`: an encoder that joins the blocks or has
// no such marker says it dropped it.
Status ReadSystemText(element v, const std::string& field, std::string& out,
                      std::string& cache_control) {
  if (v.is_string()) return ReadString(v, field, out);
  array arr;
  if (v.get_array().get(arr)) {
    return Fail(FieldError(field, "a string or an array of text blocks", v));
  }
  size_t i = 0;
  for (element b : arr) {
    const std::string f = IndexedField(field, i++);
    std::string text;
    if (!b.is_object() || internal::Str(b, "type") != "text") {
      return Fail(Invalid(f, fmt::format("'{}' must be a text block", f)));
    }
    HG_TRY(RequiredString(b.get_object().value_unsafe(), "text", f + ".text", text));
    if (cache_control.empty()) cache_control = CacheControl(b.get_object().value_unsafe());
    if (!out.empty()) out += "\n\n";
    out += text;
  }
  return {};
}

Status ReadSystem(element v, std::vector<Message>& out) {
  Message m;
  m.role = "system";
  HG_TRY(ReadSystemText(v, "system", m.text, m.cache_control));
  out.push_back(std::move(m));
  return {};
}

// One Anthropic message -> one or more ChatRequest messages (tool results split out).
Status ReadMessage(element v, const std::string& field, std::vector<Message>& out) {
  object obj;
  if (v.get_object().get(obj)) return Fail(FieldError(field, "an object", v));
  std::string role;
  HG_TRY(RequiredString(obj, "role", field + ".role", role));
  if (role != "user" && role != "assistant" && role != "system") {
    return Fail(Invalid(
        field + ".role",
        fmt::format("'{}.role' must be 'user', 'assistant' or 'system', got '{}'", field, role)));
  }
  element content;
  if (obj["content"].get(content)) return Fail(MissingField(field + ".content"));
  Message m;
  m.role = role;
  // A system message among the turns (Claude Code's newer models send them): system text at this
  // position. Encoders place it: in place for OpenAI, into the top-level system for Anthropic.
  if (role == "system") {
    HG_TRY(ReadSystemText(content, field + ".content", m.text, m.cache_control));
    out.push_back(std::move(m));
    return {};
  }
  if (content.is_string()) {
    HG_TRY(ReadString(content, field + ".content", m.text));
    out.push_back(std::move(m));
    return {};
  }
  array blocks;
  if (content.get_array().get(blocks)) {
    return Fail(FieldError(field + ".content", "a string or an array of content blocks", content));
  }
  std::vector<ContentPart> parts;
  size_t tool_results = 0;
  size_t i = 0;
  for (element b : blocks) {
    const std::string f = fmt::format("{}.content[{}]", field, i++);
    object o;
    std::string_view type;
    if (b.get_object().get(o)) return Fail(FieldError(f, "an object", b));
    if (o["type"].get_string().get(type)) return Fail(MissingField(f + ".type"));
    if (role == "user") {
      if (type == "tool_result") {
        HG_TRY(ReadToolResult(o, f, out.emplace_back()));
        ++tool_results;
        continue;
      }
      auto known = ReadPart(o, type, f, parts);
      if (!known) return Fail(std::move(known.error()));
      if (!*known) {
        return Fail(Invalid(f + ".type",
                            fmt::format("'{}.type' '{}' is not supported in user turns", f, type)));
      }
    } else {
      HG_TRY(ReadAssistantBlock(o, type, f, m, parts));
    }
  }
  const bool has_other = !m.tool_calls.empty() || !m.thinking_blocks.empty();
  if (parts.empty() && role == "user" && tool_results > 0) return {};
  if (parts.empty() && has_other) {
    m.content_is_null = true;  // an assistant turn of only tool calls / thinking
  } else {
    SetParts(m, std::move(parts));
  }
  out.push_back(std::move(m));
  return {};
}

Status ReadTools(element v, std::vector<Tool>& out) {
  array arr;
  if (v.get_array().get(arr)) return Fail(FieldError("tools", "an array", v));
  size_t i = 0;
  for (element t : arr) {
    const std::string f = IndexedField("tools", i++);
    object o;
    if (t.get_object().get(o)) return Fail(FieldError(f, "an object", t));
    Tool& tool = out.emplace_back();
    const std::string_view type = internal::Str(t, "type");
    if (!type.empty() && type != "custom") {  // server tools (bash_..., web_search_...)
      tool.type.assign(type);
      tool.raw = simdjson::minify(t);
      continue;
    }
    HG_TRY(RequiredString(o, "name", f + ".name", tool.name));
    if (element d; !o["description"].get(d)) {
      HG_TRY(ReadString(d, f + ".description", tool.description));
    }
    element schema;
    if (o["input_schema"].get(schema)) return Fail(MissingField(f + ".input_schema"));
    if (!schema.is_object()) return Fail(FieldError(f + ".input_schema", "an object", schema));
    tool.parameters_json = simdjson::minify(schema);
    tool.cache_control = CacheControl(o);
  }
  return {};
}

Status ReadToolChoice(element v, ChatRequest& req) {
  req.tool_choice.raw = simdjson::minify(v);
  const std::string_view type = internal::Str(v, "type");
  using K = ToolChoice::Kind;
  if (type == "auto") {
    req.tool_choice.kind = K::kAuto;
  } else if (type == "any") {
    req.tool_choice.kind = K::kRequired;
  } else if (type == "none") {
    req.tool_choice.kind = K::kNone;
  } else if (type == "tool") {
    req.tool_choice.kind = K::kFunction;
    req.tool_choice.function_name.assign(internal::Str(v, "name"));
    if (req.tool_choice.function_name.empty()) return Fail(MissingField("tool_choice.name"));
  } else {
    return Fail(
        Invalid("tool_choice.type", "'tool_choice.type' must be one of auto, any, tool, none"));
  }
  // OpenAI's tool_choice.raw is forwarded to OpenAI upstreams: write it in OpenAI's shape.
  req.tool_choice.raw.clear();
  JsonWriter w(req.tool_choice.raw);
  switch (req.tool_choice.kind) {
    case K::kFunction:
      w.BeginObject().Field("type", "function").Key("function").BeginObject();
      w.Field("name", req.tool_choice.function_name).EndObject().EndObject();
      break;
    default:
      w.String(type == "any" ? "required" : type);
  }
  bool disable = false;
  if (!v["disable_parallel_tool_use"].get_bool().get(disable) && disable) {
    req.parallel_tool_calls = false;
  }
  return {};
}

Status ReadNumber(element v, const char* field, std::optional<double>& out) {
  double d;
  if (v.get_double().get(d)) return Fail(FieldError(field, "a number", v));
  out = d;
  return {};
}

Status ReadField(std::string_view key, element value, ChatRequest& req, bool& has_max_tokens) {
  if (key == "model") return ReadString(value, "model", req.model);
  if (key == "messages") {
    array arr;
    if (value.get_array().get(arr)) return Fail(FieldError("messages", "an array", value));
    size_t i = 0;
    for (element m : arr) HG_TRY(ReadMessage(m, IndexedField("messages", i++), req.messages));
    if (i == 0) return Fail(Invalid("messages", "'messages' must contain at least one message"));
    return {};
  }
  if (key == "max_tokens") {
    int64_t n;
    if (value.get_int64().get(n)) return Fail(FieldError("max_tokens", "an integer", value));
    if (n < 1) return Fail(Invalid("max_tokens", "'max_tokens' must be at least 1"));
    req.max_tokens = n;
    has_max_tokens = true;
    return {};
  }
  if (key == "temperature") return ReadNumber(value, "temperature", req.temperature);
  if (key == "top_p") return ReadNumber(value, "top_p", req.top_p);
  if (key == "top_k") {
    int64_t n;
    if (value.get_int64().get(n)) return Fail(FieldError("top_k", "an integer", value));
    req.top_k = n;
    return {};
  }
  if (key == "stream") {
    if (value.get_bool().get(req.stream)) return Fail(FieldError("stream", "a boolean", value));
    return {};
  }
  if (key == "stop_sequences") {
    array arr;
    if (value.get_array().get(arr)) return Fail(FieldError("stop_sequences", "an array", value));
    size_t i = 0;
    for (element s : arr) {
      HG_TRY(ReadString(s, IndexedField("stop_sequences", i++), req.stop.emplace_back()));
    }
    return {};
  }
  if (key == "metadata") {
    if (!value.is_object()) return Fail(FieldError("metadata", "an object", value));
    req.user.assign(internal::Str(value, "user_id"));
    return {};
  }
  if (key == "tools") return ReadTools(value, req.tools);
  if (key == "tool_choice") return ReadToolChoice(value, req);
  if (key == "thinking") {
    // Kept verbatim for an Anthropic upstream; other upstreams get the matching effort.
    if (internal::Str(value, "type") == "enabled") {
      const int64_t budget = internal::Int(value, "budget_tokens");
      req.reasoning_effort = budget <= 1024   ? "minimal"
                             : budget <= 2048 ? "low"
                             : budget <= 8192 ? "medium"
                                              : "high";
    }
  }
  if (key == "output_config" || key == "output_format") {
    // Structured output: output_config.format (output_format in the older beta) is the
    // response_format other upstreams get; an Anthropic upstream gets the field as sent.
    element format = value;
    const bool has_format = key == "output_format" || !value["format"].get(format);
    if (has_format && format.is_object() && internal::Str(format, "type") == "json_schema") {
      element schema;
      if (format["schema"].get(schema) || !schema.is_object()) {
        return Fail(Invalid(std::string(key), "output format json_schema needs a 'schema' object"));
      }
      ResponseFormat& rf = req.response_format;
      rf.kind = ResponseFormat::Kind::kJsonSchema;
      rf.schema_name = "output";
      rf.schema_json = simdjson::minify(schema);
      rf.raw.clear();
      JsonWriter w(rf.raw);
      w.BeginObject().Field("type", "json_schema").Key("json_schema").BeginObject();
      w.Field("name", "output").RawField("schema", rf.schema_json).Field("strict", true);
      w.EndObject().EndObject();
    }
  }
  req.extra.push_back({std::string(key), simdjson::minify(value)});
  return {};
}

}  // namespace

Status DecodeRequestInto(std::string& body, ChatRequest& req) {
  auto root = ParseJson(body);
  if (!root) return Fail(std::move(root.error()));
  object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  bool has_max_tokens = false;
  // The system prompt is read first so that it leads the message list wherever it appears.
  if (element sys; !obj["system"].get(sys)) {
    if (auto s = ReadSystem(sys, req.messages); !s) return s;
  }
  bool has_messages = false;
  for (auto [key, value] : obj) {
    if (key == "system") continue;
    has_messages |= key == "messages";
    if (auto s = ReadField(key, value, req, has_max_tokens); !s) return s;
  }
  if (req.model.empty()) return Fail(MissingField("model"));
  if (!has_max_tokens) return Fail(MissingField("max_tokens"));
  if (!has_messages) return Fail(MissingField("messages"));
  if (req.stream) req.include_usage = true;  // Anthropic streams always carry usage
  req.ingress = ChatRequest::Dialect::kAnthropic;
  return {};
}

Result<ChatRequest> DecodeRequest(std::string& body) {
  Result<ChatRequest> out{std::in_place};
  if (auto s = DecodeRequestInto(body, *out); !s) out = Fail(std::move(s.error()));
  return out;
}

}  // namespace hybridgate::api::anthropic
