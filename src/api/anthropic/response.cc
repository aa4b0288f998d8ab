// Non-stream responses both ways, and errors. Anthropic messages carry content blocks; OpenAI
// chat completions carry one message with content, tool_calls and (vLLM/DeepSeek style)
// reasoning_content. Ids pass through unchanged (msg_..., toolu_...): clients treat them as opaque.
#include <fmt/format.h>

#include "api/anthropic/anthropic.h"
#include "api/anthropic/internal.h"
#include "api/json.h"
#include "api/openai_response.h"
#include "common/json_writer.h"

namespace hybridgate::api::anthropic {
namespace {

using internal::Int;
using internal::Str;
using simdjson::dom::array;
using simdjson::dom::element;

Error Malformed(std::string_view what) {
  return MakeError(ErrorCode::kUpstreamUnavailable,
                   fmt::format("malformed upstream response: {}", what));
}

// One thinking / redacted_thinking block in Anthropic's shape, from either side's JSON (the
// same shape: see kThinkingBlocksKey). Other types are skipped.
void WriteThinkingBlock(JsonWriter& w, element b) {
  const std::string_view type = Str(b, "type");
  if (type == "thinking") {
    w.BeginObject().Field("type", type).Field("thinking", Str(b, "thinking"));
    w.Field("signature", Str(b, "signature")).EndObject();
  } else if (type == "redacted_thinking") {
    w.BeginObject().Field("type", type).Field("data", Str(b, "data")).EndObject();
  }
}

}  // namespace

Result<std::string> DecodeResponse(std::string_view anthropic_json, int64_t created) {
  auto root = ParseJsonView(anthropic_json);
  if (!root) return Fail(Malformed(root.error().message));
  const element r = *root;
  if (Str(r, "type") == "error") return Fail(ErrorFromAnthropic(0, anthropic_json));
  array content;
  if (r["content"].get_array().get(content)) return Fail(Malformed("no 'content' array"));
  std::string text, reasoning, thinking_blocks;
  JsonWriter blocks(thinking_blocks);
  std::vector<element> tool_uses;
  for (element b : content) {
    const std::string_view type = Str(b, "type");
    if (type == "text") {
      text += Str(b, "text");
    } else if (type == "thinking" || type == "redacted_thinking") {
      reasoning += Str(b, "thinking");
      if (thinking_blocks.empty()) blocks.BeginArray();
      WriteThinkingBlock(blocks, b);
    } else if (type == "tool_use") {
      tool_uses.push_back(b);
    }
  }
  std::string out;
  out.reserve(anthropic_json.size() + 256);
  JsonWriter w(out);
  w.BeginObject().Field("id", Str(r, "id")).Field("object", "chat.completion");
  w.Field("created", created).Field("model", Str(r, "model"));
  w.Key("choices").BeginArray().BeginObject().Field("index", 0);
  AssistantMessage message{.text = text, .reasoning = reasoning};
  for (element b : tool_uses) {
    element input;
    message.tool_calls.push_back(
        {std::string(Str(b, "id")), Str(b, "name"),
         b["input"].get(input) ? std::string("{}") : std::string(simdjson::minify(input))});
  }
  // The message object, with thinking_blocks added before its closing brace.
  std::string msg;
  JsonWriter m(msg);
  WriteAssistantMessage(m, message);
  if (!thinking_blocks.empty()) {
    blocks.EndArray();
    msg.pop_back();
    msg += ",\"";
    msg += kThinkingBlocksKey;
    msg += "\":";
    msg += thinking_blocks;
    msg += '}';
  }
  w.RawField("message", msg);
  w.Field("finish_reason", internal::StopToFinish(Str(r, "stop_reason"))).EndObject().EndArray();
  if (element u; !r["usage"].get(u)) {
    const int64_t cached = Int(u, "cache_read_input_tokens");
    const int64_t prompt = Int(u, "input_tokens") + cached + Int(u, "cache_creation_input_tokens");
    const int64_t completion = Int(u, "output_tokens");
    w.Key("usage").BeginObject().Field("prompt_tokens", prompt);
    w.Field("completion_tokens", completion).Field("total_tokens", prompt + completion);
    if (cached > 0) {
      w.Key("prompt_tokens_details").BeginObject().Field("cached_tokens", cached).EndObject();
    }
    w.EndObject();
  }
  w.EndObject();
  return out;
}

Result<std::string> EncodeResponse(std::string_view openai_json) {
  auto root = ParseJsonView(openai_json);
  if (!root) return Fail(Malformed(root.error().message));
  const element r = *root;
  element choice, msg;
  if (r["choices"].at(0).get(choice) || choice["message"].get(msg)) {
    return Fail(Malformed("no choices[0].message"));
  }
  std::string out;
  out.reserve(openai_json.size() + 256);
  JsonWriter w(out);
  w.BeginObject().Field("id", Str(r, "id")).Field("type", "message").Field("role", "assistant");
  w.Field("model", Str(r, "model")).Key("content").BeginArray();
  std::string_view reasoning = Str(msg, "reasoning_content");
  if (reasoning.empty()) reasoning = Str(msg, "reasoning");
  array thinking_blocks;
  if (!msg[kThinkingBlocksKey].get_array().get(thinking_blocks) && thinking_blocks.size() > 0) {
    for (element b : thinking_blocks) WriteThinkingBlock(w, b);
  } else if (!reasoning.empty()) {
    // No signature exists for an OpenAI-compatible model's reasoning; the field is required.
    w.BeginObject().Field("type", "thinking").Field("thinking", reasoning);
    w.Field("signature", "").EndObject();
  }
  if (const std::string_view text = Str(msg, "content"); !text.empty()) {
    w.BeginObject().Field("type", "text").Field("text", text).EndObject();
  }
  array calls;
  std::string input;
  if (!msg["tool_calls"].get_array().get(calls)) {
    for (element tc : calls) {
      element fn;
      std::string_view name, args;
      if (!tc["function"].get(fn)) {
        name = Str(fn, "name");
        args = Str(fn, "arguments");
      }
      // Model-produced arguments may be invalid JSON; Anthropic clients need an object.
      if (!internal::MinifyObject(args, input)) input = "{}";
      w.BeginObject().Field("type", "tool_use").Field("id", Str(tc, "id")).Field("name", name);
      w.RawField("input", input).EndObject();
    }
  }
  w.EndArray();
  const std::string_view finish = Str(choice, "finish_reason");
  w.Field("stop_reason", internal::FinishToStop(finish)).Key("stop_sequence").Null();
  w.Key("usage").BeginObject();
  element u;
  const bool has_usage = !r["usage"].get(u) && u.is_object();
  int64_t cached = 0;
  if (element d; has_usage && !u["prompt_tokens_details"].get(d)) cached = Int(d, "cached_tokens");
  w.Field("input_tokens", has_usage ? Int(u, "prompt_tokens") - cached : 0);
  w.Field("output_tokens", has_usage ? Int(u, "completion_tokens") : 0);
  if (cached > 0) w.Field("cache_read_input_tokens", cached);
  w.EndObject().EndObject();
  return out;
}

Error ErrorFromAnthropic(int http_status, std::string_view body) {
  std::string type, message;
  if (auto root = ParseJsonView(body); root) {
    element e;
    if (!(*root)["error"].get(e)) {
      type.assign(Str(e, "type"));
      message.assign(Str(e, "message"));
    }
  }
  if (message.empty()) message.assign(body.substr(0, 512));
  ErrorCode code;
  if (http_status == 429 || http_status == 529 || type == "rate_limit_error" ||
      type == "overloaded_error") {
    code = ErrorCode::kRateLimited;
  } else if (http_status == 401 || http_status == 403 || type == "authentication_error" ||
             type == "permission_error") {
    code = ErrorCode::kUpstreamAuth;
  } else if (message.find("prompt is too long") != std::string::npos ||
             message.find("context window") != std::string::npos) {
    code = ErrorCode::kContextLength;
  } else if (http_status == 504 || type == "timeout_error") {
    code = ErrorCode::kUpstreamTimeout;
  } else if (http_status >= 500 || type == "api_error" || http_status == 0) {
    code = ErrorCode::kUpstreamUnavailable;
  } else {
    code = ErrorCode::kUpstreamError;
  }
  Error err = MakeError(code, fmt::format("anthropic: {}", message));
  err.upstream_status = http_status;
  if (code == ErrorCode::kUpstreamError) err.upstream_body.assign(body);
  return err;
}

std::string EncodeError(const Error& error) {
  // An upstream 4xx that is already an Anthropic error passes through verbatim.
  if (error.code == ErrorCode::kUpstreamError &&
      error.upstream_body.starts_with("{\"type\":\"error\"")) {
    return error.upstream_body;
  }
  std::string out;
  JsonWriter w(out);
  const std::string_view type = error.AnthropicType();
  w.BeginObject().Field("type", "error").Key("error").BeginObject().Field("type", type);
  w.Field("message", error.message).EndObject().EndObject();
  return out;
}

}  // namespace hybridgate::api::anthropic
