// OpenAI chat.completion.chunk documents -> streamGenerateContent?alt=sse events. Text and thought
// deltas become one event each as they arrive; tool-call fragments are collected until the call
// is complete, because a Gemini client expects each functionCall part whole.
#include <fmt/format.h>

#include "api/gemini/gemini.h"
#include "api/gemini/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini {

using internal::Str;
using simdjson::dom::array;
using simdjson::dom::element;

void StreamFromOpenAi::Emit(std::string& out, std::string_view parts_json, bool last) {
  std::string d;
  JsonWriter w(d);
  w.BeginObject().Key("candidates").BeginArray().BeginObject().Key("content").BeginObject();
  w.RawField("parts", parts_json).Field("role", "model").EndObject();
  if (last) w.Field("finishReason", finish_);
  w.Field("index", 0).EndObject().EndArray();
  if (last && !usage_metadata_.empty()) w.RawField("usageMetadata", usage_metadata_);
  w.Field("modelVersion", model_).Field("responseId", id_).EndObject();
  out += "data: ";
  out += d;
  out += "\r\n\r\n";
}

void StreamFromOpenAi::FlushCalls(std::string& out, bool last) {
  if (ended_) return;
  std::string parts;
  JsonWriter w(parts);
  w.BeginArray();
  for (const PendingCall& c : calls_) {
    internal::WriteFunctionCallPart(w, c.id, c.name, c.arguments, c.signature);
  }
  if (calls_.empty() && last) w.BeginObject().Field("text", "").EndObject();
  w.EndArray();
  const bool any = !calls_.empty();
  calls_.clear();
  if (last) {
    ended_ = true;
    Emit(out, parts, true);
  } else if (any) {
    Emit(out, parts, false);
  }
}

Status StreamFromOpenAi::Feed(std::string_view chunk_json, std::string& out) {
  if (chunk_json == "[DONE]") {
    Finish(out);
    return {};
  }
  if (ended_) return {};
  auto root = ParseOpenAiChunk(chunk_json);
  if (!root) return Fail(std::move(root.error()));
  const element c = *root;
  if (id_.empty()) id_.assign(Str(c, "id"));
  if (model_.empty()) model_.assign(Str(c, "model"));
  if (element u; !c["usage"].get(u) && u.is_object()) {
    usage_metadata_.clear();
    JsonWriter w(usage_metadata_);
    internal::WriteUsageMetadata(w, internal::ReadOpenAiUsage(u));
  }
  array choices;
  element choice, delta;
  if (c["choices"].get_array().get(choices) || choices.at(0).get(choice)) {
    // The usage-only chunk that follows finish_reason: the answer can end now.
    if (!finish_.empty()) FlushCalls(out, true);
    return {};
  }
  if (!choice["delta"].get(delta)) {
    std::string_view reasoning = Str(delta, "reasoning_content");
    if (reasoning.empty()) reasoning = Str(delta, "reasoning");
    const std::string_view text = Str(delta, "content");
    if (!reasoning.empty() || !text.empty()) {
      FlushCalls(out, false);  // keeps the parts in the order the model produced them
      std::string parts;
      JsonWriter w(parts);
      w.BeginArray();
      if (!reasoning.empty())
        w.BeginObject().Field("text", reasoning).Field("thought", true).EndObject();
      if (!text.empty()) w.BeginObject().Field("text", text).EndObject();
      w.EndArray();
      Emit(out, parts, false);
    }
    array calls;
    if (!delta["tool_calls"].get_array().get(calls)) {
      for (element tc : calls) {
        const int index = static_cast<int>(internal::Int(tc, "index"));
        // A new index means every earlier call's arguments are complete.
        if (calls_.empty() || calls_.back().index != index) {
          FlushCalls(out, false);
          calls_.push_back({.index = index});
        }
        PendingCall& p = calls_.back();
        if (p.id.empty()) p.id.assign(Str(tc, "id"));
        if (element fn; !tc["function"].get(fn)) {
          if (p.name.empty()) p.name.assign(Str(fn, "name"));
          p.arguments += Str(fn, "arguments");
        }
        if (const std::string_view sig = internal::ToolCallSignature(tc); !sig.empty()) {
          p.signature.assign(sig);
        }
      }
    }
  }
  if (const std::string_view finish = Str(choice, "finish_reason"); !finish.empty()) {
    finish_.assign(internal::FinishToGemini(finish));
    FlushCalls(
        out,
        !usage_metadata_.empty());  // the final event waits for usage unless it is here already
  }
  return {};
}

void StreamFromOpenAi::Finish(std::string& out) {
  if (ended_) return;
  if (finish_.empty()) finish_ = "STOP";
  FlushCalls(out, true);
}

}  // namespace hybridgate::api::gemini
