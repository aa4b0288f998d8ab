// The Response object, from an upstream's OpenAI chat completion, and the dialect's registration.
#include <fmt/format.h>

#include <algorithm>

#include "api/json.h"
#include "api/openai_chat.h"
#include "common/json_writer.h"
#include "dialects/openai_responses/response_object.h"
#include "dialects/openai_responses/responses.h"
#include "dialects/translated.h"

namespace hybridgate::dialects {

namespace responses {

using simdjson::dom::array;
using simdjson::dom::element;

void WriteUsage(JsonWriter& w, const Usage& u) {
  w.Key("usage").BeginObject().Field("input_tokens", u.input);
  w.Key("input_tokens_details").BeginObject().Field("cached_tokens", u.cached).EndObject();
  w.Field("output_tokens", u.output);
  w.Key("output_tokens_details").BeginObject().Field("reasoning_tokens", u.reasoning).EndObject();
  w.Field("total_tokens", u.input + u.output).EndObject();
}

Usage ReadUsage(element usage) {
  // An upstream's negative count is no count.
  auto count = [](element v, std::string_view key) {
    return std::max<int64_t>(api::IntField(v, key), 0);
  };
  Usage u;
  u.input = count(usage, "prompt_tokens");
  u.output = count(usage, "completion_tokens");
  element details;
  if (!usage["prompt_tokens_details"].get(details)) u.cached = count(details, "cached_tokens");
  if (!usage["completion_tokens_details"].get(details)) {
    u.reasoning = count(details, "reasoning_tokens");
  }
  return u;
}

void WriteResponse(std::string& out, const ResponsesContext& ctx, const ResponseState& state) {
  JsonWriter w(out);
  w.BeginObject().Field("id", ctx.conv.id).Field("object", "response");
  w.Field("created_at", ctx.created_at).Field("status", state.status);
  w.Field("background", false);
  if (state.error_json.empty()) {
    w.Key("error").Null();
  } else {
    w.RawField("error", state.error_json);
  }
  if (state.incomplete_reason.empty()) {
    w.Key("incomplete_details").Null();
  } else {
    w.Key("incomplete_details").BeginObject().Field("reason", state.incomplete_reason).EndObject();
  }
  w.RawField("instructions", ctx.instructions);
  if (ctx.max_output_tokens) {
    w.Field("max_output_tokens", *ctx.max_output_tokens);
  } else {
    w.Key("max_output_tokens").Null();
  }
  w.Field("model", state.model);
  w.Key("output").Raw(state.output_items.empty() ? std::string_view("[]") : state.output_items);
  w.Field("parallel_tool_calls", ctx.parallel_tool_calls);
  if (ctx.conv.previous_id.empty()) {
    w.Key("previous_response_id").Null();
  } else {
    w.Field("previous_response_id", ctx.conv.previous_id);
  }
  w.RawField("reasoning", ctx.reasoning).Field("store", ctx.conv.store);
  w.Key("temperature").Double(ctx.temperature.value_or(1.0));
  w.RawField("text", ctx.text).RawField("tool_choice", ctx.tool_choice);
  w.RawField("tools", ctx.tools).Key("top_p").Double(ctx.top_p.value_or(1.0));
  w.Field("truncation", "disabled");
  if (state.usage) {
    WriteUsage(w, *state.usage);
  } else {
    w.Key("usage").Null();
  }
  if (ctx.user.empty()) {
    w.Key("user").Null();
  } else {
    w.Field("user", ctx.user);
  }
  w.RawField("metadata", ctx.metadata).EndObject();
}

void WriteMessageItem(JsonWriter& w, std::string_view id, std::string_view status,
                      std::string_view text, std::string_view refusal) {
  w.BeginObject().Field("id", id).Field("type", "message").Field("status", status);
  w.Field("role", "assistant").Key("content").BeginArray();
  if (!refusal.empty()) {
    w.BeginObject().Field("type", "refusal").Field("refusal", refusal).EndObject();
  } else {
    w.BeginObject().Field("type", "output_text").Field("text", text);
    w.Key("annotations").BeginArray().EndArray().Key("logprobs").BeginArray().EndArray();
    w.EndObject();
  }
  w.EndArray().EndObject();
}

void WriteReasoningItem(JsonWriter& w, std::string_view id, std::string_view text) {
  w.BeginObject().Field("id", id).Field("type", "reasoning").Key("summary").BeginArray();
  if (!text.empty()) {
    w.BeginObject().Field("type", "summary_text").Field("text", text).EndObject();
  }
  w.EndArray().EndObject();
}

void WriteCallItem(JsonWriter& w, std::string_view id, std::string_view status,
                   std::string_view call_id, std::string_view name, std::string_view arguments) {
  w.BeginObject().Field("id", id).Field("type", "function_call").Field("status", status);
  w.Field("arguments", arguments).Field("call_id", call_id).Field("name", name).EndObject();
}

std::string_view IncompleteReason(std::string_view finish_reason) {
  if (finish_reason == "length") return "max_output_tokens";
  if (finish_reason == "content_filter") return "content_filter";
  return {};
}

Result<std::string> EncodeResponse(std::string_view openai_body, ResponsesContext& ctx) {
  auto root = api::ParseJsonView(openai_body);
  if (!root) return Fail(std::move(root.error()));
  ResponseState state;
  state.model = api::StrField(*root, "model");
  element usage;
  if (!(*root)["usage"].get(usage) && usage.is_object()) state.usage = ReadUsage(usage);
  array choices;
  element choice, msg;
  if ((*root)["choices"].get_array().get(choices) || choices.at(0).get(choice) ||
      choice["message"].get(msg)) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable, "upstream answer has no choices"));
  }
  state.incomplete_reason = IncompleteReason(api::StrField(choice, "finish_reason"));
  state.status = state.incomplete_reason.empty() ? "completed" : "incomplete";
  JsonWriter w(state.output_items);
  w.BeginArray();
  std::string_view reasoning = api::StrField(msg, "reasoning_content");
  if (reasoning.empty()) reasoning = api::StrField(msg, "reasoning");
  if (!reasoning.empty()) WriteReasoningItem(w, NewId("rs_"), reasoning);
  const std::string_view text = api::StrField(msg, "content");
  const std::string_view refusal = api::StrField(msg, "refusal");
  if (!text.empty() || !refusal.empty()) {
    WriteMessageItem(w, NewId("msg_"), "completed", text, refusal);
  }
  array calls;
  if (!msg["tool_calls"].get_array().get(calls)) {
    for (element tc : calls) {
      element fn;
      const bool has_fn = !tc["function"].get(fn);
      WriteCallItem(w, NewId("fc_"), "completed", api::StrField(tc, "id"),
                    has_fn ? api::StrField(fn, "name") : "",
                    has_fn ? api::StrField(fn, "arguments") : "");
    }
  }
  w.EndArray();
  std::string out;
  WriteResponse(out, ctx, state);
  ctx.conv.output_items = state.output_items;
  ctx.conv.response = out;
  return out;
}

std::string RewriteNativeResponse(element response, ResponsesContext& ctx) {
  simdjson::dom::object obj;
  if (response.get_object().get(obj)) return simdjson::minify(response);
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  for (auto [key, value] : obj) {
    if (key == "id") {
      w.Field(key, ctx.conv.id);
    } else if (key == "store") {
      w.Field(key, ctx.conv.store);
    } else if (key == "previous_response_id") {
      if (ctx.conv.previous_id.empty()) {
        w.Key(key).Null();
      } else {
        w.Field(key, ctx.conv.previous_id);
      }
    } else {
      w.RawField(key, simdjson::minify(value));
    }
  }
  w.EndObject();
  const std::string_view status = api::StrField(response, "status");
  if (status == "completed" || status == "incomplete") {
    element output;
    ctx.conv.output_items =
        !response["output"].get(output) && output.is_array() ? simdjson::minify(output) : "[]";
    ctx.conv.response = out;
  }
  return out;
}

}  // namespace responses

Status OpenAiResponses::Decode(const http::Request& request, std::string_view, std::string& body,
                               api::ChatRequest& out,
                               std::unique_ptr<RequestContext>& context) const {
  auto ctx = std::make_unique<ResponsesContext>();
  // The canonical body (duplicate keys resolved to the first) is what is decoded and, prepared
  // by UpstreamBody, what an upstream of this API is sent: the gateway's reading of the request
  // and the upstream's agree.
  auto canonical = api::CanonicalJson(body);
  Status s = responses::DecodeRequest(canonical ? *canonical : body, out, *ctx);
  context = std::move(ctx);
  out.responses_api = true;
  if (!s || !canonical) return s;
  if (auto native = responses::UpstreamBody(*canonical, {})) out.native_body = std::move(*native);
  // The client's beta opt-ins, for an upstream of this API (providers/openai).
  if (const std::string_view beta = request["openai-beta"]; !beta.empty()) {
    out.dialect_headers.emplace_back("openai-beta", beta);
  }
  return s;
}

Status OpenAiResponses::EncodeNativeAnswer(std::string& body, RequestContext* context) const {
  auto& ctx = static_cast<ResponsesContext&>(*context);
  ctx.native = true;
  return ReplaceBody(body, [&](std::string_view b) -> Result<std::string> {
    auto root = api::ParseJsonView(b);
    if (!root || !root->is_object()) {
      return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                            "the upstream's answer is not a Response object"));
    }
    return responses::RewriteNativeResponse(*root, ctx);
  });
}

Status OpenAiResponses::EncodeAnswer(std::string& body, const api::ChatRequest&,
                                     RequestContext* context) const {
  auto& ctx = static_cast<ResponsesContext&>(*context);
  return ReplaceBody(body, [&](std::string_view b) { return responses::EncodeResponse(b, ctx); });
}

Status OpenAiResponses::Replay(std::string_view items, api::ChatRequest& request) const {
  // The history goes after the request's instructions (a system message) and before its input;
  // the previous response's instructions are not carried over (as OpenAI does).
  const bool has_instructions =
      !request.messages.empty() && request.messages.front().role == "system";
  api::ChatRequest history;
  if (auto s = responses::AppendItems(items, history); !s) return s;
  request.messages.insert(request.messages.begin() + (has_instructions ? 1 : 0),
                          std::make_move_iterator(history.messages.begin()),
                          std::make_move_iterator(history.messages.end()));
  if (!request.native_body.empty()) {
    // An upstream of this API gets the conversation whole: it keeps none (store: false).
    auto native = responses::UpstreamBody(request.native_body, items);
    if (!native) return Fail(std::move(native.error()));
    request.native_body = std::move(*native);
  }
  return {};
}

std::string OpenAiResponses::EncodeError(const Error& error) const {
  return api::EncodeOpenAiError(error);
}

}  // namespace hybridgate::dialects
