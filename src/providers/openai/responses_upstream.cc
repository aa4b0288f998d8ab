#include "providers/openai/responses_upstream.h"

#include <fmt/format.h>

#include <algorithm>

#include "api/json.h"
#include "api/openai_response.h"
#include "common/json_writer.h"

namespace hybridgate::providers::responses_upstream {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;

int64_t Count(element v, std::string_view pointer) {
  int64_t n = 0;
  if (v.at_pointer(pointer).get_int64().get(n)) return 0;
  return std::max<int64_t>(n, 0);  // an upstream's negative count is no count
}

// ResponseUsage -> chat completion usage, details included.
void WriteUsage(JsonWriter& w, element usage) {
  const int64_t input = Count(usage, "/input_tokens");
  const int64_t output = Count(usage, "/output_tokens");
  int64_t total = Count(usage, "/total_tokens");
  if (total == 0) total = input + output;
  w.Key("usage").BeginObject().Field("prompt_tokens", input).Field("completion_tokens", output);
  w.Field("total_tokens", total).Key("prompt_tokens_details").BeginObject();
  w.Field("cached_tokens", Count(usage, "/input_tokens_details/cached_tokens")).EndObject();
  w.Key("completion_tokens_details").BeginObject();
  w.Field("reasoning_tokens", Count(usage, "/output_tokens_details/reasoning_tokens"));
  w.EndObject().EndObject();
}

// A Response's status (and incomplete_details) -> a chat finish_reason.
std::string_view FinishReason(element response, bool has_calls) {
  if (api::StrField(response, "status") == "incomplete") {
    std::string_view reason;
    if (!response.at_pointer("/incomplete_details/reason").get_string().get(reason) &&
        reason == "content_filter") {
      return "content_filter";
    }
    return "length";
  }
  return has_calls ? "tool_calls" : "stop";
}

// A failed response's error ({"code","message"}), or an `error` event, as the Error a client sees.
Error Failed(element error) {
  std::string_view message = api::StrField(error, "message");
  if (message.empty()) message = api::StrField(error, "code");
  if (message.empty()) message = "no reason given";
  return MakeError(ErrorCode::kUpstreamUnavailable,
                   fmt::format("the upstream's response failed: {}", message));
}

Error NotJson() {
  return MakeError(ErrorCode::kUpstreamUnavailable,
                   "the upstream's Responses API answer is not a JSON object");
}

}  // namespace

Result<std::string> ToChatCompletion(std::string_view response_json) {
  auto root = api::ParseJsonView(response_json);
  if (!root || !root->is_object()) return Fail(NotJson());
  const element response = *root;
  if (api::StrField(response, "status") == "failed") {
    element error;
    if (response["error"].get(error) || !error.is_object()) error = response;
    return Fail(Failed(error));
  }
  std::string text, reasoning;
  api::AssistantMessage message;
  array output;
  if (!response["output"].get_array().get(output)) {
    for (element item : output) {
      const std::string_view type = api::StrField(item, "type");
      array parts;
      if (type == "message" && !item["content"].get_array().get(parts)) {
        for (element part : parts) {
          const std::string_view kind = api::StrField(part, "type");
          text += api::StrField(part, kind == "refusal" ? "refusal" : "text");
        }
      } else if (type == "reasoning" && !item["summary"].get_array().get(parts)) {
        for (element part : parts) {
          const std::string_view t = api::StrField(part, "text");
          if (!reasoning.empty() && !t.empty()) reasoning += "\n\n";
          reasoning += t;
        }
      } else if (type == "function_call") {
        message.tool_calls.push_back({.id = std::string(api::StrField(item, "call_id")),
                                      .name = api::StrField(item, "name"),
                                      .arguments = std::string(api::StrField(item, "arguments"))});
      }
    }
  }
  message.text = text;
  message.reasoning = reasoning;
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("id", api::StrField(response, "id")).Field("object", "chat.completion");
  w.Field("created", api::IntField(response, "created_at"));
  w.Field("model", api::StrField(response, "model")).Key("choices").BeginArray();
  w.BeginObject().Field("index", 0).Key("message");
  api::WriteAssistantMessage(w, message);
  w.Field("finish_reason", FinishReason(response, !message.tool_calls.empty()));
  w.EndObject().EndArray();
  element usage;
  if (!response["usage"].get(usage) && usage.is_object()) WriteUsage(w, usage);
  w.EndObject();
  return out;
}

std::string StreamToChat::Chunk(std::string_view delta, std::string_view finish) const {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Field("id", id_).Field("object", "chat.completion.chunk");
  w.Field("created", created_).Field("model", model_).Key("choices").BeginArray();
  w.BeginObject().Field("index", 0).RawField("delta", delta).Key("finish_reason");
  if (finish.empty()) {
    w.Null();
  } else {
    w.String(finish);
  }
  w.EndObject().EndArray().EndObject();
  return out;
}

Status StreamToChat::Feed(const api::SseEvent& event, std::vector<std::string>& chunks) {
  if (done_ || event.data.empty()) return {};
  auto root = api::ParseJsonView(event.data);
  if (!root || !root->is_object()) return Fail(NotJson());
  std::string_view type = api::StrField(*root, "type");
  if (type.empty()) type = event.event;
  if (type == "error") return Fail(Failed(*root));
  element response;
  const bool has_response = !(*root)["response"].get(response) && response.is_object();
  if (has_response) {
    if (const std::string_view id = api::StrField(response, "id"); !id.empty()) id_ = id;
    if (const std::string_view model = api::StrField(response, "model"); !model.empty()) {
      model_ = model;
    }
    if (const int64_t created = api::IntField(response, "created_at"); created > 0) {
      created_ = created;
    }
  }
  std::string delta;
  JsonWriter w(delta);
  if (type == "response.output_text.delta" || type == "response.refusal.delta") {
    w.BeginObject().Field("content", api::StrField(*root, "delta")).EndObject();
    chunks.push_back(Chunk(delta, {}));
  } else if (type == "response.reasoning_summary_text.delta" ||
             type == "response.reasoning_text.delta") {
    w.BeginObject().Field("reasoning_content", api::StrField(*root, "delta")).EndObject();
    chunks.push_back(Chunk(delta, {}));
  } else if (type == "response.output_item.added") {
    element item;
    if ((*root)["item"].get(item) || api::StrField(item, "type") != "function_call") return {};
    calls_.push_back(api::IntField(*root, "output_index"));
    w.BeginObject().Key("tool_calls").BeginArray().BeginObject();
    w.Field("index", static_cast<int64_t>(calls_.size() - 1));
    w.Field("id", api::StrField(item, "call_id")).Field("type", "function");
    w.Key("function").BeginObject().Field("name", api::StrField(item, "name"));
    w.Field("arguments", api::StrField(item, "arguments")).EndObject();
    w.EndObject().EndArray().EndObject();
    chunks.push_back(Chunk(delta, {}));
  } else if (type == "response.function_call_arguments.delta") {
    const auto at = std::find(calls_.begin(), calls_.end(), api::IntField(*root, "output_index"));
    if (at == calls_.end()) return {};  // arguments of a call that was never opened
    w.BeginObject().Key("tool_calls").BeginArray().BeginObject();
    w.Field("index", static_cast<int64_t>(at - calls_.begin()));
    w.Key("function").BeginObject().Field("arguments", api::StrField(*root, "delta")).EndObject();
    w.EndObject().EndArray().EndObject();
    chunks.push_back(Chunk(delta, {}));
  } else if (type == "response.completed" || type == "response.incomplete") {
    done_ = true;
    if (!has_response) return {};
    chunks.push_back(Chunk("{}", FinishReason(response, !calls_.empty())));
    element usage;
    if (response["usage"].get(usage) || !usage.is_object()) return {};
    std::string last;
    JsonWriter u(last);
    u.BeginObject().Field("id", id_).Field("object", "chat.completion.chunk");
    u.Field("created", created_).Field("model", model_).Key("choices").BeginArray().EndArray();
    WriteUsage(u, usage);
    u.EndObject();
    chunks.push_back(std::move(last));
  } else if (type == "response.failed") {
    element error = *root, inner;
    if (has_response && !response["error"].get(inner) && inner.is_object()) error = inner;
    return Fail(Failed(error));
  }
  return {};
}

}  // namespace hybridgate::providers::responses_upstream
