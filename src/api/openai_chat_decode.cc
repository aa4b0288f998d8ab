// Decoding of OpenAI chat requests. Validation follows OpenAI's own: wrong types are 400s that
// name the field; unknown fields are kept verbatim for the upstream.
#include <fmt/format.h>

#include "api/json.h"
#include "api/openai_chat.h"

namespace hybridgate::api {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

Status ReadContentPart(element v, const std::string& field, ContentPart& part) {
  object obj;
  if (v.get_object().get(obj)) return Fail(FieldError(field, "an object", v));
  std::string_view type;
  if (obj["type"].get_string().get(type)) return Fail(MissingField(field + ".type"));
  if (type == "text") {
    part.kind = ContentPart::Kind::kText;
    element text;
    if (obj["text"].get(text)) return Fail(MissingField(field + ".text"));
    return ReadString(text, field + ".text", part.text);
  }
  if (type == "image_url") {
    part.kind = ContentPart::Kind::kImage;
    element img;
    if (obj["image_url"].get(img)) return Fail(MissingField(field + ".image_url"));
    if (img.is_string()) return ReadString(img, field + ".image_url", part.image_url);
    element url;
    if (img["url"].get(url)) return Fail(MissingField(field + ".image_url.url"));
    if (auto s = ReadString(url, field + ".image_url.url", part.image_url); !s) return s;
    element detail;
    if (!img["detail"].get(detail) && !detail.is_null()) {
      return ReadString(detail, field + ".image_url.detail", part.detail);
    }
    return {};
  }
  part.kind = ContentPart::Kind::kOther;
  part.raw = simdjson::minify(v);
  return {};
}

Status ReadToolCalls(element v, const std::string& field, std::vector<ToolCall>& out) {
  array arr;
  if (v.get_array().get(arr)) return Fail(FieldError(field, "an array", v));
  size_t i = 0;
  for (element tc : arr) {
    const std::string f = IndexedField(field, i++);
    object obj;
    if (tc.get_object().get(obj)) return Fail(FieldError(f, "an object", tc));
    ToolCall& call = out.emplace_back();
    for (auto [key, value] : obj) {
      if (key == "id") {
        if (auto s = ReadString(value, f + ".id", call.id); !s) return s;
      } else if (key == "type") {
        if (auto s = ReadString(value, f + ".type", call.type); !s) return s;
      } else if (key == "function") {
        element name, args;
        if (value["name"].get(name)) return Fail(MissingField(f + ".function.name"));
        if (auto s = ReadString(name, f + ".function.name", call.name); !s) return s;
        if (!value["arguments"].get(args)) {
          if (auto s = ReadString(args, f + ".function.arguments", call.arguments); !s) return s;
        }
      } else if (key == "extra_content" && value.is_object()) {
        call.extra_content = simdjson::minify(value);
      }
    }
  }
  return {};
}

// HybridGate's `thinking_blocks` on an assistant message (an Anthropic model's thinking, as the
// gateway answered it: api/anthropic/anthropic.h, kThinkingBlocksKey), kept for an Anthropic
// upstream, which wants them back unchanged.
Status ReadThinkingBlocks(element v, const std::string& field, std::vector<ThinkingBlock>& out) {
  array arr;
  if (v.get_array().get(arr)) return Fail(FieldError(field, "an array", v));
  size_t i = 0;
  for (element b : arr) {
    const std::string f = IndexedField(field, i++);
    object obj;
    std::string_view type;
    if (b.get_object().get(obj)) return Fail(FieldError(f, "an object", b));
    if (obj["type"].get_string().get(type)) return Fail(MissingField(f + ".type"));
    ThinkingBlock& t = out.emplace_back();
    element e;
    if (type == "redacted_thinking") {
      t.redacted = true;
      if (obj["data"].get(e)) return Fail(MissingField(f + ".data"));
      if (auto s = ReadString(e, f + ".data", t.data); !s) return s;
    } else if (type == "thinking") {
      if (obj["thinking"].get(e)) return Fail(MissingField(f + ".thinking"));
      if (auto s = ReadString(e, f + ".thinking", t.thinking); !s) return s;
      if (!obj["signature"].get(e) && !e.is_null()) {
        if (auto s = ReadString(e, f + ".signature", t.signature); !s) return s;
      }
    } else {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("'{}.type' must be 'thinking' or 'redacted_thinking'", f),
                            f + ".type"));
    }
  }
  return {};
}

bool ValidRole(std::string_view role) {
  return role == "system" || role == "developer" || role == "user" || role == "assistant" ||
         role == "tool" || role == "function";
}

Status ReadContent(element v, const std::string& field, Message& msg) {
  if (v.is_null()) {
    msg.content_is_null = true;
    return {};
  }
  if (v.is_string()) return ReadString(v, field, msg.text);
  array parts;
  if (v.get_array().get(parts)) {
    return Fail(FieldError(field, "a string or an array of content parts", v));
  }
  msg.content_is_parts = true;
  size_t i = 0;
  for (element p : parts) {
    if (auto s = ReadContentPart(p, IndexedField(field, i++), msg.parts.emplace_back()); !s) {
      return s;
    }
  }
  return {};
}

Status ReadMessage(element v, const std::string& field, Message& msg) {
  object obj;
  if (v.get_object().get(obj)) return Fail(FieldError(field, "an object", v));
  bool has_content = false;
  for (auto [key, value] : obj) {
    if (key == "role") {
      if (auto s = ReadString(value, field, ".role", msg.role); !s) return s;
    } else if (key == "content") {
      has_content = true;
      std::string_view text;  // the usual case, first: no field name to put together
      if (!value.get_string().get(text)) {
        msg.text.assign(text);
      } else if (auto s = ReadContent(value, field + ".content", msg); !s) {
        return s;
      }
    } else if (key == "name") {
      if (auto s = ReadString(value, field, ".name", msg.name); !s) return s;
    } else if (key == "tool_call_id") {
      if (auto s = ReadString(value, field, ".tool_call_id", msg.tool_call_id); !s) return s;
    } else if (key == "tool_calls") {
      if (value.is_null()) continue;
      if (auto s = ReadToolCalls(value, field + ".tool_calls", msg.tool_calls); !s) return s;
    } else if (key == "reasoning_content") {
      if (value.is_null()) continue;
      if (auto s = ReadString(value, field + ".reasoning_content", msg.reasoning_content); !s) {
        return s;
      }
    } else if (key == "thinking_blocks") {
      if (value.is_null()) continue;
      if (auto s = ReadThinkingBlocks(value, field + ".thinking_blocks", msg.thinking_blocks); !s) {
        return s;
      }
    } else {
      msg.extra.push_back({std::string(key), simdjson::minify(value)});
    }
  }
  if (msg.role.empty()) return Fail(MissingField(field + ".role"));
  if (msg.reasoning_content.empty()) {  // a client that replays thinking_blocks alone
    for (const ThinkingBlock& t : msg.thinking_blocks) msg.reasoning_content += t.thinking;
  }
  if (!ValidRole(msg.role)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("'{}.role' must be one of system, developer, user, "
                                      "assistant, tool; got '{}'",
                                      field, msg.role),
                          field + ".role"));
  }
  if (!has_content && msg.role != "assistant") return Fail(MissingField(field + ".content"));
  if (!has_content) msg.content_is_null = true;
  if (msg.role == "tool" && msg.tool_call_id.empty()) {
    return Fail(MissingField(field + ".tool_call_id"));
  }
  return {};
}

Status ReadTools(element v, std::vector<Tool>& out) {
  array arr;
  if (v.get_array().get(arr)) return Fail(FieldError("tools", "an array", v));
  size_t i = 0;
  for (element t : arr) {
    const std::string f = IndexedField("tools", i++);
    object obj;
    if (t.get_object().get(obj)) return Fail(FieldError(f, "an object", t));
    Tool& tool = out.emplace_back();
    std::string_view type = "function";
    if (element ty; !obj["type"].get(ty)) {
      if (ty.get_string().get(type)) return Fail(FieldError(f + ".type", "a string", ty));
    }
    tool.type.assign(type);
    if (type != "function") {
      tool.raw = simdjson::minify(t);
      continue;
    }
    element fn;
    if (obj["function"].get(fn)) return Fail(MissingField(f + ".function"));
    element name;
    if (fn["name"].get(name)) return Fail(MissingField(f + ".function.name"));
    if (auto s = ReadString(name, f + ".function.name", tool.name); !s) return s;
    if (element d; !fn["description"].get(d) && !d.is_null()) {
      if (auto s = ReadString(d, f + ".function.description", tool.description); !s) return s;
    }
    if (element p; !fn["parameters"].get(p) && !p.is_null()) {
      if (!p.is_object()) return Fail(FieldError(f + ".function.parameters", "an object", p));
      tool.parameters_json = simdjson::minify(p);
    }
    if (element st; !fn["strict"].get(st)) {
      if (auto s = ReadBool(st, f + ".function.strict", tool.strict); !s) return s;
    }
  }
  return {};
}

Status ReadToolChoice(element v, ToolChoice& out) {
  out.raw = simdjson::minify(v);
  std::string_view s;
  if (!v.get_string().get(s)) {
    if (s == "auto")
      out.kind = ToolChoice::Kind::kAuto;
    else if (s == "none")
      out.kind = ToolChoice::Kind::kNone;
    else if (s == "required")
      out.kind = ToolChoice::Kind::kRequired;
    else {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            "'tool_choice' must be 'auto', 'none', 'required' or an object",
                            "tool_choice"));
    }
    return {};
  }
  std::string_view name;
  if (!v.is_object() || v["function"]["name"].get_string().get(name)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "'tool_choice' object must name a function: "
                          "{\"type\":\"function\",\"function\":{\"name\":...}}",
                          "tool_choice"));
  }
  out.kind = ToolChoice::Kind::kFunction;
  out.function_name.assign(name);
  return {};
}

Status ReadResponseFormat(element v, ResponseFormat& out) {
  out.raw = simdjson::minify(v);
  std::string_view type;
  if (!v.is_object() || v["type"].get_string().get(type)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "'response_format' must be an object with a 'type'",
                          "response_format.type"));
  }
  if (type == "text") {
    out.kind = ResponseFormat::Kind::kText;
  } else if (type == "json_object") {
    out.kind = ResponseFormat::Kind::kJsonObject;
  } else if (type == "json_schema") {
    out.kind = ResponseFormat::Kind::kJsonSchema;
    element js;
    if (v["json_schema"].get(js) || !js.is_object()) {
      return Fail(MissingField("response_format.json_schema"));
    }
    std::string_view name;
    if (!js["name"].get_string().get(name)) out.schema_name.assign(name);
    if (element schema; !js["schema"].get(schema)) out.schema_json = simdjson::minify(schema);
  } else {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("'response_format.type' must be text, json_object or "
                                      "json_schema; got '{}'",
                                      type),
                          "response_format.type"));
  }
  return {};
}

Status ReadStop(element v, std::vector<std::string>& out) {
  if (v.is_null()) return {};
  if (v.is_string()) return ReadString(v, "stop", out.emplace_back());
  array arr;
  if (v.get_array().get(arr)) return Fail(FieldError("stop", "a string or an array of strings", v));
  size_t i = 0;
  for (element s : arr) {
    if (auto st = ReadString(s, IndexedField("stop", i++), out.emplace_back()); !st) return st;
  }
  return {};
}

Status ReadField(std::string_view key, element value, ChatRequest& req) {
  if (key == "model") return ReadString(value, "model", req.model);
  if (key == "messages") {
    array arr;
    if (value.get_array().get(arr)) return Fail(FieldError("messages", "an array", value));
    req.messages.reserve(arr.size());
    size_t i = 0;
    for (element m : arr) {
      if (auto s = ReadMessage(m, IndexedField("messages", i++), req.messages.emplace_back()); !s) {
        return s;
      }
    }
    return {};
  }
  if (key == "stream") {
    std::optional<bool> b;
    if (auto s = ReadBool(value, "stream", b); !s) return s;
    req.stream = b.value_or(false);
    return {};
  }
  if (key == "stream_options") {
    if (value.is_null()) return {};
    if (!value.is_object()) return Fail(FieldError("stream_options", "an object", value));
    if (element u; !value["include_usage"].get(u)) {
      return ReadBool(u, "stream_options.include_usage", req.include_usage);
    }
    return {};
  }
  if (key == "temperature") return ReadDouble(value, "temperature", req.temperature);
  if (key == "top_p") return ReadDouble(value, "top_p", req.top_p);
  if (key == "top_k") return ReadInt(value, "top_k", req.top_k);
  if (key == "frequency_penalty")
    return ReadDouble(value, "frequency_penalty", req.frequency_penalty);
  if (key == "presence_penalty") return ReadDouble(value, "presence_penalty", req.presence_penalty);
  if (key == "max_tokens") return ReadInt(value, "max_tokens", req.max_tokens);
  if (key == "max_completion_tokens") {
    return ReadInt(value, "max_completion_tokens", req.max_completion_tokens);
  }
  if (key == "n") return ReadInt(value, "n", req.n);
  if (key == "seed") return ReadInt(value, "seed", req.seed);
  if (key == "stop") return ReadStop(value, req.stop);
  if (key == "logprobs") return ReadBool(value, "logprobs", req.logprobs);
  if (key == "top_logprobs") return ReadInt(value, "top_logprobs", req.top_logprobs);
  if (key == "tools") return value.is_null() ? Status{} : ReadTools(value, req.tools);
  if (key == "tool_choice")
    return value.is_null() ? Status{} : ReadToolChoice(value, req.tool_choice);
  if (key == "parallel_tool_calls") {
    return ReadBool(value, "parallel_tool_calls", req.parallel_tool_calls);
  }
  if (key == "response_format") {
    return value.is_null() ? Status{} : ReadResponseFormat(value, req.response_format);
  }
  if (key == "user") return value.is_null() ? Status{} : ReadString(value, "user", req.user);
  if (key == "reasoning_effort") {
    return value.is_null() ? Status{} : ReadString(value, "reasoning_effort", req.reasoning_effort);
  }
  if (key == "metadata") {
    if (value.is_null()) return {};
    if (!value.is_object()) return Fail(FieldError("metadata", "an object", value));
    req.metadata_json = simdjson::minify(value);
    return {};
  }
  req.extra.push_back({std::string(key), simdjson::minify(value)});
  return {};
}

Status Validate(const ChatRequest& req) {
  if (req.model.empty()) return Fail(MissingField("model"));
  if (req.messages.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "'messages' must contain at least one message", "messages"));
  }
  auto range = [](std::optional<double> v, double lo, double hi, const char* name) -> Status {
    if (v && (*v < lo || *v > hi)) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, *v),
                            name));
    }
    return {};
  };
  if (auto s = range(req.temperature, 0, 2, "temperature"); !s) return s;
  if (auto s = range(req.top_p, 0, 1, "top_p"); !s) return s;
  for (auto [v, name] :
       {std::pair{req.max_tokens, "max_tokens"},
        std::pair{req.max_completion_tokens, "max_completion_tokens"}, std::pair{req.n, "n"}}) {
    if (v && *v < 1) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("'{}' must be at least 1, got {}", name, *v), name));
    }
  }
  if (req.include_usage && !req.stream) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "'stream_options' is only allowed when 'stream' is true",
                          "stream_options"));
  }
  return {};
}

}  // namespace

Status DecodeOpenAiChatInto(std::string& body, ChatRequest& req) {
  auto root = ParseJson(body);
  if (!root) return Fail(std::move(root.error()));
  object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(
        ErrorCode::kInvalidRequest,
        fmt::format("request body must be a JSON object, got {}", JsonTypeName(root->type()))));
  }
  for (auto [key, value] : obj) {
    if (auto s = ReadField(key, value, req); !s) return s;
  }
  return Validate(req);
}

Result<ChatRequest> DecodeOpenAiChat(std::string& body) {
  Result<ChatRequest> out{std::in_place};
  if (auto s = DecodeOpenAiChatInto(body, *out); !s) out = Fail(std::move(s.error()));
  return out;
}

}  // namespace hybridgate::api
