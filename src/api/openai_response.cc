#include "api/openai_response.h"

#include <algorithm>

#include "api/json.h"

namespace hybridgate::api {

int64_t GeneratedTextBytes(std::string_view json) {
  static constexpr std::string_view kFields[] = {
      "\"content\":", "\"reasoning_content\":", "\"refusal\":", "\"arguments\":", "\"text\":"};
  int64_t total = 0;
  for (std::string_view field : kFields) {
    for (size_t at = json.find(field); at != std::string_view::npos; at = json.find(field, at)) {
      size_t i = at + field.size();
      while (i < json.size() && (json[i] == ' ' || json[i] == '\t')) ++i;
      if (i >= json.size() || json[i] != '"') {
        at = i;
        continue;  // null, an array of parts: their strings are counted by their own fields
      }
      for (++i; i < json.size() && json[i] != '"'; ++total) {
        i += json[i] != '\\' ? 1 : json.compare(i, 2, "\\u") == 0 ? 6 : 2;
      }
      at = i;
    }
  }
  return total;
}

void AppendDeltaContent(std::string_view chunk, std::string& out) {
  if (chunk.find("\"content\"") == std::string_view::npos) return;
  auto root = ParseJsonView(chunk);
  if (!root) return;
  simdjson::dom::array choices;
  if ((*root)["choices"].get_array().get(choices) || choices.size() == 0) return;
  std::string_view text;
  if (!choices.at(0).at_pointer("/delta/content").get_string().get(text)) out.append(text);
}

OpenAiResponseInfo InspectOpenAiResponse(std::string_view json) {
  OpenAiResponseInfo info;
  auto root = ParseJsonView(json);
  if (!root || !root->is_object()) {
    info.valid_json = false;
    return info;
  }
  std::string_view model;
  if (!(*root)["model"].get_string().get(model)) info.model.assign(model);
  simdjson::dom::array choices;
  if (!(*root)["choices"].get_array().get(choices)) info.has_choices = choices.size() > 0;
  simdjson::dom::object usage;
  if (!(*root)["usage"].get_object().get(usage)) {
    info.usage.reported = true;
    // Counts are metered and settled against budgets: a negative one (a broken or hostile
    // upstream) would refund what was never reserved, so it reads as 0, and cached tokens are
    // at most the input.
    int64_t v;
    if (!usage["prompt_tokens"].get_int64().get(v))
      info.usage.input_tokens = std::max<int64_t>(v, 0);
    if (!usage["completion_tokens"].get_int64().get(v)) {
      info.usage.output_tokens = std::max<int64_t>(v, 0);
    }
    if (!usage.at_pointer("/prompt_tokens_details/cached_tokens").get_int64().get(v)) {
      info.usage.cached_input_tokens = std::clamp<int64_t>(v, 0, info.usage.input_tokens);
    }
  }
  return info;
}

void WriteAssistantMessage(JsonWriter& w, const AssistantMessage& m) {
  w.BeginObject().Field("role", "assistant").Key("content");
  if (m.text.empty() && !m.tool_calls.empty()) {
    w.Null();
  } else {
    w.String(m.text);
  }
  if (!m.reasoning.empty()) w.Field("reasoning_content", m.reasoning);
  if (!m.tool_calls.empty()) {
    w.Key("tool_calls").BeginArray();
    for (const AssistantToolCall& c : m.tool_calls) {
      w.BeginObject().Field("id", c.id).Field("type", "function");
      w.Key("function").BeginObject().Field("name", c.name).Field("arguments", c.arguments);
      w.EndObject().EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

std::string UpstreamErrorMessage(std::string_view body) {
  auto root = ParseJsonView(body);
  if (root) {
    std::string_view msg;
    if (!root->at_pointer("/error/message").get_string().get(msg)) return std::string(msg);
    if (!(*root)["message"].get_string().get(msg)) return std::string(msg);
    if (!root->at_pointer("/error").get_string().get(msg)) return std::string(msg);
  }
  constexpr size_t kMax = 200;
  std::string s(body.substr(0, kMax));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

}  // namespace hybridgate::api
