// Decoding of Responses API requests into the internal ChatRequest.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <random>

#include "api/json.h"
#include "common/json_writer.h"
#include "dialects/openai_responses/responses.h"

namespace hybridgate::dialects::responses {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Error Invalid(std::string message, std::string_view param) {
  return MakeError(ErrorCode::kInvalidRequest, std::move(message), std::string(param));
}

// Text of a content array's text parts (input_text, output_text, text, refusal) or a string.
Status ReadContent(element v, const std::string& field, api::Message& msg) {
  if (v.is_string()) return api::ReadString(v, field, msg.text);
  array parts;
  if (v.get_array().get(parts)) return Fail(api::FieldError(field, "a string or an array", v));
  msg.content_is_parts = true;
  size_t i = 0;
  for (element p : parts) {
    const std::string f = api::IndexedField(field, i++);
    object obj;
    if (p.get_object().get(obj)) return Fail(api::FieldError(f, "an object", p));
    std::string_view type;
    if (obj["type"].get_string().get(type)) return Fail(api::MissingField(f + ".type"));
    api::ContentPart& part = msg.parts.emplace_back();
    if (type == "input_text" || type == "output_text" || type == "text") {
      part.kind = api::ContentPart::Kind::kText;
      element text;
      if (obj["text"].get(text)) return Fail(api::MissingField(f + ".text"));
      if (auto s = api::ReadString(text, f + ".text", part.text); !s) return s;
    } else if (type == "refusal") {
      part.kind = api::ContentPart::Kind::kText;
      element text;
      if (obj["refusal"].get(text)) return Fail(api::MissingField(f + ".refusal"));
      if (auto s = api::ReadString(text, f + ".refusal", part.text); !s) return s;
    } else if (type == "input_image") {
      part.kind = api::ContentPart::Kind::kImage;
      element url;
      if (obj["image_url"].get(url) || url.is_null()) {
        return Fail(Invalid(f + ": only images given by image_url (an https or data: URL) are "
                                "supported; file_id needs OpenAI's Files API",
                            f + ".image_url"));
      }
      if (auto s = api::ReadString(url, f + ".image_url", part.image_url); !s) return s;
      std::string_view detail;
      if (!obj["detail"].get_string().get(detail)) part.detail = detail;
    } else if (type == "input_file") {
      // Chat completions' file part: {"type":"file","file":{"filename","file_data"}}.
      std::string_view data;
      if (obj["file_data"].get_string().get(data)) {
        return Fail(
            Invalid(f + ": only files given inline by file_data are supported", f + ".file_data"));
      }
      std::string_view name;
      if (obj["filename"].get_string().get(name)) name = {};
      part.kind = api::ContentPart::Kind::kOther;
      JsonWriter w(part.raw);
      w.BeginObject().Field("type", "file").Key("file").BeginObject();
      if (!name.empty()) w.Field("filename", name);
      w.Field("file_data", data).EndObject().EndObject();
    } else {
      return Fail(Invalid(fmt::format("{}: content part type '{}' is not supported", f, type),
                          f + ".type"));
    }
  }
  return {};
}

// A function_call_output's output: a string, or content parts whose texts are joined.
Status ReadOutput(element v, const std::string& field, std::string& out) {
  if (v.is_string()) return api::ReadString(v, field, out);
  api::Message tmp;
  if (auto s = ReadContent(v, field, tmp); !s) return s;
  for (const api::ContentPart& p : tmp.parts) {
    if (p.kind != api::ContentPart::Kind::kText) {
      return Fail(
          Invalid(field + ": only text parts are supported in a function call output", field));
    }
    out += p.text;
  }
  return {};
}

// The assistant message the next function_call joins: the last message when it is an
// assistant turn not yet followed by anything else, else a new one.
api::Message& AssistantForCall(api::ChatRequest& out, bool& last_is_assistant) {
  if (!last_is_assistant) {
    api::Message& m = out.messages.emplace_back();
    m.role = "assistant";
    m.content_is_null = true;
    last_is_assistant = true;
  }
  return out.messages.back();
}

Status ReadItem(element item, const std::string& f, api::ChatRequest& out,
                bool& last_is_assistant) {
  object obj;
  if (item.get_object().get(obj)) return Fail(api::FieldError(f, "an object", item));
  std::string_view type;
  if (obj["type"].get_string().get(type)) type = "message";  // the easy input message
  if (type == "message") {
    std::string role;
    element r;
    if (obj["role"].get(r)) return Fail(api::MissingField(f + ".role"));
    if (auto s = api::ReadString(r, f + ".role", role); !s) return s;
    if (role != "user" && role != "system" && role != "developer" && role != "assistant") {
      return Fail(Invalid(fmt::format("{}.role must be user, system, developer or assistant, got "
                                      "'{}'",
                                      f, role),
                          f + ".role"));
    }
    element content;
    if (obj["content"].get(content)) return Fail(api::MissingField(f + ".content"));
    // An assistant turn opened by a reasoning item takes the message that follows it.
    const bool reuse = role == "assistant" && last_is_assistant &&
                       out.messages.back().tool_calls.empty() && out.messages.back().text.empty() &&
                       out.messages.back().parts.empty();
    api::Message& m = reuse ? out.messages.back() : out.messages.emplace_back();
    m.role = role;
    if (auto s = ReadContent(content, f + ".content", m); !s) return s;
    last_is_assistant = role == "assistant";
    return {};
  }
  if (type == "function_call") {
    api::ToolCall call;
    element v;
    if (obj["call_id"].get(v)) return Fail(api::MissingField(f + ".call_id"));
    if (auto s = api::ReadString(v, f + ".call_id", call.id); !s) return s;
    if (obj["name"].get(v)) return Fail(api::MissingField(f + ".name"));
    if (auto s = api::ReadString(v, f + ".name", call.name); !s) return s;
    if (obj["arguments"].get(v)) return Fail(api::MissingField(f + ".arguments"));
    if (auto s = api::ReadString(v, f + ".arguments", call.arguments); !s) return s;
    AssistantForCall(out, last_is_assistant).tool_calls.push_back(std::move(call));
    return {};
  }
  if (type == "function_call_output") {
    api::Message& m = out.messages.emplace_back();
    m.role = "tool";
    element v;
    if (obj["call_id"].get(v)) return Fail(api::MissingField(f + ".call_id"));
    if (auto s = api::ReadString(v, f + ".call_id", m.tool_call_id); !s) return s;
    if (obj["output"].get(v)) return Fail(api::MissingField(f + ".output"));
    if (auto s = ReadOutput(v, f + ".output", m.text); !s) return s;
    last_is_assistant = false;
    return {};
  }
  if (type == "reasoning") {
    // A previous turn's reasoning: its summary text goes with the assistant turn it preceded;
    // encrypted content only OpenAI can read, so it is not replayed elsewhere.
    std::string summary;
    array parts;
    if (!obj["summary"].get_array().get(parts)) {
      for (element p : parts) {
        std::string_view t = api::StrField(p, "text");
        if (!summary.empty() && !t.empty()) summary += "\n\n";
        summary += t;
      }
    }
    api::Message& m = AssistantForCall(out, last_is_assistant);
    if (!m.reasoning_content.empty() && !summary.empty()) m.reasoning_content += "\n\n";
    m.reasoning_content += summary;
    return {};
  }
  if (type == "item_reference") {
    return Fail(Invalid(f + ": item_reference is not supported; send the item itself, or continue "
                            "with previous_response_id",
                        f + ".type"));
  }
  return Fail(Invalid(fmt::format("{}: input item type '{}' is not supported by this gateway "
                                  "(it serves messages, function_call, function_call_output and "
                                  "reasoning items)",
                                  f, type),
                      f + ".type"));
}

// Fixes up the assistant turns built from items: one with text is not null content, and one
// that only carried a reasoning summary (nothing followed it) goes.
void Normalize(api::ChatRequest& out) {
  std::erase_if(out.messages, [](const api::Message& m) {
    return m.role == "assistant" && m.text.empty() && m.parts.empty() && m.tool_calls.empty();
  });
  for (api::Message& m : out.messages) {
    if (m.role == "assistant" && (!m.text.empty() || !m.parts.empty())) m.content_is_null = false;
    if (m.role == "developer") m.role = "system";  // every chat upstream knows system
  }
}

void AddDropped(ResponsesContext& ctx, std::string_view key);

// One function tool (also those inside a namespace, which chat upstreams know only flat).
Status ReadFunctionTool(object obj, const std::string& f, api::ChatRequest& out) {
  api::Tool& tool = out.tools.emplace_back();
  element n;
  if (obj["name"].get(n)) return Fail(api::MissingField(f + ".name"));
  if (auto s = api::ReadString(n, f + ".name", tool.name); !s) return s;
  std::string_view d;
  if (!obj["description"].get_string().get(d)) tool.description = d;
  element params;
  if (!obj["parameters"].get(params) && !params.is_null()) {
    tool.parameters_json = simdjson::minify(params);
  }
  bool strict = false;
  if (!obj["strict"].get_bool().get(strict)) tool.strict = strict;
  return {};
}

// Function tools, and namespaces of them, are served. A built-in tool (web_search,
// file_search, code_interpreter, ...) is OpenAI's own: an upstream of another kind has none, so
// one the model may merely use is dropped (named in x-hybridgate-dropped-fields), and one that
// tool_choice requires is a 400 (ReadToolChoice).
Status ReadTools(element v, api::ChatRequest& out, ResponsesContext& ctx) {
  array tools;
  if (v.get_array().get(tools)) return Fail(api::FieldError("tools", "an array", v));
  ctx.tools = simdjson::minify(v);
  size_t i = 0;
  for (element t : tools) {
    const std::string f = api::IndexedField("tools", i++);
    object obj;
    if (t.get_object().get(obj)) return Fail(api::FieldError(f, "an object", t));
    std::string_view type;
    if (obj["type"].get_string().get(type)) return Fail(api::MissingField(f + ".type"));
    if (type == "function") {
      if (auto s = ReadFunctionTool(obj, f, out); !s) return s;
    } else if (type == "namespace") {
      array inner;
      if (obj["tools"].get_array().get(inner)) return Fail(api::MissingField(f + ".tools"));
      size_t j = 0;
      for (element it : inner) {
        const std::string g = api::IndexedField(f + ".tools", j++);
        object io;
        std::string_view itype;
        if (it.get_object().get(io)) return Fail(api::FieldError(g, "an object", it));
        if (io["type"].get_string().get(itype) || itype != "function") {
          AddDropped(ctx, "tools:" + std::string(itype));
          continue;
        }
        if (auto s = ReadFunctionTool(io, g, out); !s) return s;
      }
    } else {
      AddDropped(ctx, "tools:" + std::string(type));
    }
  }
  return {};
}

Status ReadToolChoice(element v, api::ChatRequest& out, ResponsesContext& ctx) {
  ctx.tool_choice = simdjson::minify(v);
  api::ToolChoice& tc = out.tool_choice;
  std::string_view mode;
  if (!v.get_string().get(mode)) {
    if (mode == "auto") {
      tc.kind = api::ToolChoice::Kind::kAuto;
    } else if (mode == "none") {
      tc.kind = api::ToolChoice::Kind::kNone;
    } else if (mode == "required") {
      tc.kind = api::ToolChoice::Kind::kRequired;
    } else {
      return Fail(Invalid("tool_choice must be auto, none, required or a function", "tool_choice"));
    }
    tc.raw = ctx.tool_choice;
    return {};
  }
  std::string_view type, name;
  if (v["type"].get_string().get(type)) {
    return Fail(Invalid("tool_choice must be auto, none, required or an object with a type",
                        "tool_choice.type"));
  }
  if (type == "allowed_tools") {
    // The mode holds; the subset is not enforced on a chat upstream (every tool stays offered).
    std::string_view m;
    if (v["mode"].get_string().get(m)) m = "auto";
    tc.kind = m == "required" ? api::ToolChoice::Kind::kRequired : api::ToolChoice::Kind::kAuto;
    tc.raw = m == "required" ? "\"required\"" : "\"auto\"";
    return {};
  }
  if (type != "function") {
    // Only an upstream of OpenAI's Responses API has it (`responses_api: true`, the request
    // passed through as written); every other candidate is skipped with this message.
    out.native_only = fmt::format(
        "tool_choice requires the built-in tool '{}', which only a provider with "
        "responses_api: true serves (none of this model's could take the request as written)",
        type.substr(0, 64));
    tc.kind = api::ToolChoice::Kind::kRequired;
    tc.raw = "\"required\"";
    return {};
  }
  if (v["name"].get_string().get(name)) return Fail(api::MissingField("tool_choice.name"));
  tc.kind = api::ToolChoice::Kind::kFunction;
  tc.function_name = name;
  JsonWriter w(tc.raw);
  w.BeginObject().Field("type", "function").Key("function").BeginObject().Field("name", name);
  w.EndObject().EndObject();
  return {};
}

// text: {"format": {"type": "text" | "json_object" | "json_schema", name, schema, strict}}.
Status ReadText(element v, api::ChatRequest& out, ResponsesContext& ctx) {
  object text;
  if (v.get_object().get(text)) return Fail(api::FieldError("text", "an object", v));
  ctx.text = simdjson::minify(v);
  element format;
  if (text["format"].get(format) || format.is_null()) return {};
  std::string_view type;
  if (format["type"].get_string().get(type)) return Fail(api::MissingField("text.format.type"));
  api::ResponseFormat& rf = out.response_format;
  if (type == "text") {
    rf.kind = api::ResponseFormat::Kind::kText;
    rf.raw = R"({"type":"text"})";
  } else if (type == "json_object") {
    rf.kind = api::ResponseFormat::Kind::kJsonObject;
    rf.raw = R"({"type":"json_object"})";
  } else if (type == "json_schema") {
    rf.kind = api::ResponseFormat::Kind::kJsonSchema;
    std::string_view name;
    if (format["name"].get_string().get(name)) return Fail(api::MissingField("text.format.name"));
    element schema;
    if (format["schema"].get(schema)) return Fail(api::MissingField("text.format.schema"));
    rf.schema_name = name;
    rf.schema_json = simdjson::minify(schema);
    JsonWriter w(rf.raw);
    w.BeginObject().Field("type", "json_schema").Key("json_schema").BeginObject();
    w.Field("name", name).RawField("schema", rf.schema_json);
    bool strict = false;
    if (!format["strict"].get_bool().get(strict)) w.Field("strict", strict);
    std::string_view description;
    if (!format["description"].get_string().get(description)) {
      w.Field("description", description);
    }
    w.EndObject().EndObject();
  } else {
    return Fail(
        Invalid(fmt::format("text.format.type '{}' is not supported", type), "text.format.type"));
  }
  return {};
}

void AddDropped(ResponsesContext& ctx, std::string_view key) {
  if (ctx.dropped.size() > 512) return;  // the header stays bounded
  if (!ctx.dropped.empty()) ctx.dropped += ',';
  for (char c : key.substr(0, 64)) {
    ctx.dropped += (c >= 0x21 && c <= 0x7e && c != ',') ? c : '_';
  }
}

// The request's input as stored items: each item minified, with an id when it had none.
void AppendStoredItem(std::string& items, element item) {
  if (items.size() > 1) items += ',';
  object obj;
  if (!item.get_object().get(obj) && obj["id"].error()) {
    std::string_view type;
    const bool message = obj["type"].get_string().get(type) || type == "message";
    std::string body = simdjson::minify(item);
    items += R"({"id":")";
    items += NewId(message ? "msg_" : type == "function_call_output" ? "fco_" : "item_");
    items += "\",";
    items.append(body, 1);  // drop the object's '{'
    if (message && obj["type"].error()) {
      items.pop_back();  // '}'
      items += R"(,"type":"message"})";
    }
    return;
  }
  items += simdjson::minify(item);
}

}  // namespace

std::string NewId(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (int i = 0; i < 2; ++i) {
    uint64_t v = rng();
    for (int j = 0; j < 16; ++j, v >>= 4) id += kHex[v & 15];
  }
  return id;
}

Status AppendItems(std::string_view items, api::ChatRequest& out) {
  auto root = api::ParseJsonView(items);
  if (!root) return Fail(std::move(root.error()));
  array arr;
  if (root->get_array().get(arr)) return Fail(api::FieldError("input", "an array", *root));
  bool last_is_assistant = !out.messages.empty() && out.messages.back().role == "assistant";
  size_t i = 0;
  for (element item : arr) {
    object obj;
    std::string_view type;
    // Output items of a stored response that are not replayed: their text already is.
    if (!item.get_object().get(obj) && !obj["type"].get_string().get(type) && type != "message" &&
        type != "function_call" && type != "function_call_output" && type != "reasoning") {
      continue;
    }
    if (auto s = ReadItem(item, api::IndexedField("input", i++), out, last_is_assistant); !s) {
      return s;
    }
  }
  Normalize(out);
  return {};
}

namespace {

// One stored item as it is replayed to an upstream of this API (UpstreamBody), appended to
// `items` (comma-separated); nothing when it is not replayed.
void AppendReplayedItem(std::string& items, element item) {
  object obj;
  if (item.get_object().get(obj)) return;
  std::string_view type;
  if (obj["type"].get_string().get(type)) type = "message";
  if (type == "reasoning") {
    element encrypted;
    if (obj["encrypted_content"].get(encrypted) || encrypted.is_null()) return;
    if (!items.empty()) items += ',';
    items += simdjson::minify(item);  // its id goes with its encrypted content
    return;
  }
  if (type != "message" && type != "function_call" && type != "function_call_output") return;
  if (!items.empty()) items += ',';
  JsonWriter w(items);
  w.BeginObject();
  for (auto [key, value] : obj) {
    if (key != "id" && key != "status") w.RawField(key, simdjson::minify(value));
  }
  w.EndObject();
}

}  // namespace

Result<std::string> UpstreamBody(std::string_view body, std::string_view history) {
  std::string replayed;  // the history's items, comma-separated
  if (!history.empty()) {
    auto items = api::ParseJsonView(history);
    if (!items) return Fail(std::move(items.error()));
    array arr;
    if (items->get_array().get(arr)) {
      return Fail(MakeError(ErrorCode::kInternal, "a stored conversation is not an array"));
    }
    for (element item : arr) AppendReplayedItem(replayed, item);
  }
  auto root = api::ParseJsonView(body);  // after the history's: one parser per thread
  if (!root) return Fail(std::move(root.error()));
  object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  std::string out;
  out.reserve(body.size() + replayed.size() + 32);
  JsonWriter w(out);
  w.BeginObject();
  bool store = false, input = false;
  for (auto [key, value] : obj) {
    if (key == "previous_response_id") continue;
    if (key == "store") {
      w.Field(key, false);
      store = true;
    } else if (key == "input" && !history.empty()) {
      input = true;
      std::string all = "[" + replayed;
      if (value.is_string()) {
        if (!replayed.empty()) all += ',';
        JsonWriter m(all);
        m.BeginObject().Field("role", "user").RawField("content", simdjson::minify(value));
        m.EndObject();
      } else if (array own; !value.get_array().get(own) && own.size() > 0) {
        const std::string items = simdjson::minify(value);
        if (!replayed.empty()) all += ',';
        all.append(items, 1, items.size() - 2);  // the array's elements
      }
      all += ']';
      w.RawField(key, all);
    } else {
      w.RawField(key, simdjson::minify(value));
    }
  }
  if (!store) w.Field("store", false);
  if (!input && !history.empty()) w.RawField("input", "[" + replayed + "]");
  w.EndObject();
  return out;
}

Status DecodeRequest(std::string& body, api::ChatRequest& out, ResponsesContext& ctx) {
  auto root = api::ParseJson(body);
  if (!root) return Fail(std::move(root.error()));
  object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  out.ingress = api::ChatRequest::Dialect::kOpenAi;
  ctx.conv.id = NewId("resp_");
  ctx.conv.store = true;  // the API's default
  ctx.created_at = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  element input;
  bool has_input = false;
  std::string instructions;
  for (auto [key, value] : obj) {
    if (key == "model") {
      if (auto s = api::ReadString(value, "model", out.model); !s) return s;
    } else if (key == "input") {
      input = value;
      has_input = true;
    } else if (key == "instructions") {
      if (value.is_null()) continue;
      if (auto s = api::ReadString(value, "instructions", instructions); !s) return s;
      ctx.instructions = simdjson::minify(value);
    } else if (key == "tools") {
      if (auto s = ReadTools(value, out, ctx); !s) return s;
    } else if (key == "tool_choice") {
      if (auto s = ReadToolChoice(value, out, ctx); !s) return s;
    } else if (key == "text") {
      if (auto s = ReadText(value, out, ctx); !s) return s;
    } else if (key == "reasoning") {
      if (value.is_null()) continue;
      if (!value.is_object()) return Fail(api::FieldError("reasoning", "an object", value));
      ctx.reasoning = simdjson::minify(value);
      std::string_view effort;
      if (!value["effort"].get_string().get(effort)) out.reasoning_effort = effort;
    } else if (key == "max_output_tokens") {
      if (auto s = api::ReadInt(value, "max_output_tokens", out.max_completion_tokens); !s) {
        return s;
      }
      if (out.max_completion_tokens && *out.max_completion_tokens < 1) {
        return Fail(Invalid("max_output_tokens must be at least 1", "max_output_tokens"));
      }
      ctx.max_output_tokens = out.max_completion_tokens;
    } else if (key == "temperature") {
      if (auto s = api::ReadDouble(value, "temperature", out.temperature); !s) return s;
      ctx.temperature = out.temperature;
    } else if (key == "top_p") {
      if (auto s = api::ReadDouble(value, "top_p", out.top_p); !s) return s;
      ctx.top_p = out.top_p;
    } else if (key == "top_logprobs") {
      if (auto s = api::ReadInt(value, "top_logprobs", out.top_logprobs); !s) return s;
      if (out.top_logprobs) out.logprobs = true;
    } else if (key == "parallel_tool_calls") {
      if (auto s = api::ReadBool(value, "parallel_tool_calls", out.parallel_tool_calls); !s) {
        return s;
      }
      ctx.parallel_tool_calls = out.parallel_tool_calls.value_or(true);
    } else if (key == "stream") {
      std::optional<bool> stream;
      if (auto s = api::ReadBool(value, "stream", stream); !s) return s;
      out.stream = stream.value_or(false);
    } else if (key == "store") {
      std::optional<bool> store;
      if (auto s = api::ReadBool(value, "store", store); !s) return s;
      ctx.conv.store = store.value_or(true);
    } else if (key == "previous_response_id") {
      if (value.is_null()) continue;
      if (auto s = api::ReadString(value, "previous_response_id", ctx.conv.previous_id); !s) {
        return s;
      }
    } else if (key == "metadata") {
      if (value.is_null()) continue;
      if (!value.is_object()) return Fail(api::FieldError("metadata", "an object", value));
      ctx.metadata = out.metadata_json = simdjson::minify(value);
    } else if (key == "user") {
      if (value.is_null()) continue;
      if (auto s = api::ReadString(value, "user", out.user); !s) return s;
      ctx.user = out.user;
    } else if (key == "prompt_cache_key" || key == "safety_identifier" || key == "service_tier") {
      // Chat completions take them too (named in x-hybridgate-dropped-fields where another
      // dialect's upstream answers: it never sees extra fields).
      if (value.is_null()) continue;
      if (!value.is_string()) return Fail(api::FieldError(std::string(key), "a string", value));
      out.extra.push_back({std::string(key), simdjson::minify(value)});
    } else if (key == "background") {
      bool background = false;
      if (!value.get_bool().get(background) && background) {
        return Fail(
            Invalid("background responses are not supported by this gateway", "background"));
      }
    } else if (key == "conversation" || key == "prompt") {
      // State kept at the upstream: only an upstream of OpenAI's Responses API has it
      // (`responses_api: true`); the gateway keeps its own through previous_response_id.
      if (value.is_null()) continue;
      out.native_only = fmt::format(
          "'{}' is kept by OpenAI's Responses API: only a provider with responses_api: true "
          "serves it (none of this model's could take the request as written; "
          "previous_response_id works with every provider)",
          key);
    } else if (key == "include" || key == "truncation" || key == "max_tool_calls") {
      // No chat equivalent: what include asks for (encrypted reasoning, sources, logprobs as
      // output items) is not made, truncation stays "disabled", the tool calls are not
      // counted. Named as dropped when they ask for something.
      bool asks = !value.is_null();
      if (key == "include") {
        array names;
        asks = !value.get_array().get(names) && names.size() > 0;
      } else if (key == "truncation") {
        std::string_view mode;
        asks = !value.get_string().get(mode) && mode != "disabled";
      }
      if (asks) AddDropped(ctx, key);
    } else if (key == "stream_options") {
      // include_obfuscation: the gateway's streams carry no obfuscation padding either way.
    } else {
      AddDropped(ctx, key);
    }
  }
  if (out.model.empty()) return Fail(api::MissingField("model"));
  if (!instructions.empty()) {
    ctx.has_instructions = true;
    api::Message& m = out.messages.emplace_back();
    m.role = "system";
    m.text = std::move(instructions);
  }
  ctx.conv.input_items = "[";
  if (has_input) {
    if (input.is_string()) {
      api::Message& m = out.messages.emplace_back();
      m.role = "user";
      if (auto s = api::ReadString(input, "input", m.text); !s) return s;
      JsonWriter w(ctx.conv.input_items);
      w.BeginObject().Field("id", NewId("msg_")).Field("type", "message").Field("role", "user");
      w.Key("content").BeginArray().BeginObject().Field("type", "input_text");
      w.Field("text", m.text).EndObject().EndArray().EndObject();
    } else {
      array items;
      if (input.get_array().get(items)) {
        return Fail(api::FieldError("input", "a string or an array", input));
      }
      bool last_is_assistant = false;
      size_t i = 0;
      std::vector<std::string_view> ids;  // an item's id names it in input_items: one each
      for (element item : items) {
        const std::string f = api::IndexedField("input", i++);
        if (auto s = ReadItem(item, f, out, last_is_assistant); !s) return s;
        element id;
        if (!item["id"].get(id) && !id.is_null()) {
          std::string_view v;
          if (id.get_string().get(v)) return Fail(api::FieldError(f + ".id", "a string", id));
          if (std::find(ids.begin(), ids.end(), v) != ids.end()) {
            return Fail(Invalid(fmt::format("{}.id: duplicate item id '{}'", f, v.substr(0, 64)),
                                f + ".id"));
          }
          ids.push_back(v);
        }
        AppendStoredItem(ctx.conv.input_items, item);
      }
    }
  }
  ctx.conv.input_items += ']';
  Normalize(out);
  if (out.messages.size() == (ctx.has_instructions ? 1u : 0u) && ctx.conv.previous_id.empty()) {
    return Fail(Invalid("input is required", "input"));
  }
  // The answer's usage comes from the stream's last chunk.
  if (out.stream) out.include_usage = true;
  return {};
}

}  // namespace hybridgate::dialects::responses
