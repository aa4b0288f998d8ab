// OpenAI chat.completion.chunk documents -> Anthropic event stream. A content block is open at
// most at a time; a change of delta kind (reasoning, text, tool call i) closes it and opens the
// next, so the client sees Anthropic's start/delta/stop sequence with increasing indexes.
#include <fmt/format.h>

#include "api/anthropic/anthropic.h"
#include "api/anthropic/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::anthropic {
namespace {

using internal::Int;
using internal::Str;
using simdjson::dom::array;
using simdjson::dom::element;

void Event(std::string& out, std::string_view name, const std::string& data) {
  AppendSseEvent(out, name, data);
}

void BlockDelta(std::string& out, int index, std::string_view type, std::string_view key,
                std::string_view value) {
  std::string d;
  JsonWriter w(d);
  w.BeginObject().Field("type", "content_block_delta").Field("index", index);
  w.Key("delta").BeginObject().Field("type", type).Field(key, value).EndObject().EndObject();
  Event(out, "content_block_delta", d);
}

}  // namespace

void StreamFromOpenAi::Start(std::string& out, std::string_view id, std::string_view model) {
  started_ = true;
  std::string d;
  JsonWriter w(d);
  w.BeginObject().Field("type", "message_start").Key("message").BeginObject();
  w.Field("id", id).Field("type", "message").Field("role", "assistant");
  w.Field("model", model_.empty() ? model : std::string_view(model_));
  w.Key("content").BeginArray().EndArray().Key("stop_reason").Null().Key("stop_sequence").Null();
  w.Key("usage").BeginObject().Field("input_tokens", input_tokens_).Field("output_tokens", 0);
  w.EndObject().EndObject().EndObject();
  Event(out, "message_start", d);
}

void StreamFromOpenAi::OpenBlock(std::string& out, Open kind, int tool_index,
                                 std::string_view start_json) {
  CloseBlock(out);
  open_ = kind;
  open_tool_ = tool_index;
  ++block_index_;
  std::string d;
  JsonWriter(d)
      .BeginObject()
      .Field("type", "content_block_start")
      .Field("index", block_index_)
      .RawField("content_block", start_json)
      .EndObject();
  Event(out, "content_block_start", d);
}

void StreamFromOpenAi::CloseBlock(std::string& out) {
  if (open_ == Open::kNone) return;
  open_ = Open::kNone;
  open_tool_ = -1;
  Event(out, "content_block_stop",
        fmt::format(R"({{"type":"content_block_stop","index":{}}})", block_index_));
}

void StreamFromOpenAi::ThinkingEntry(std::string& out, std::string_view type,
                                     std::string_view signature, std::string_view data) {
  if (type == "thinking") {
    OpenBlock(out, Open::kThinking, -1, R"({"type":"thinking","thinking":"","signature":""})");
  } else if (type == "redacted_thinking") {
    std::string start;
    JsonWriter(start).BeginObject().Field("type", type).Field("data", data).EndObject();
    OpenBlock(out, Open::kRedacted, -1, start);
  }
  if (!signature.empty() && open_ == Open::kThinking) {
    BlockDelta(out, block_index_, "signature_delta", "signature", signature);
  }
}

void StreamFromOpenAi::End(std::string& out) {
  if (ended_) return;
  ended_ = true;
  CloseBlock(out);
  std::string d;
  JsonWriter w(d);
  w.BeginObject().Field("type", "message_delta").Key("delta").BeginObject();
  w.Field("stop_reason", stop_reason_.empty() ? std::string_view("end_turn") : stop_reason_);
  w.Key("stop_sequence").Null().EndObject();
  w.Key("usage").BeginObject();
  if (input_known_) {
    w.Field("input_tokens", input_tokens_);
    if (cached_tokens_ > 0) w.Field("cache_read_input_tokens", cached_tokens_);
  }
  w.Field("output_tokens", output_tokens_).EndObject().EndObject();
  Event(out, "message_delta", d);
  Event(out, "message_stop", R"({"type":"message_stop"})");
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
  array choices;
  element choice, delta;
  const bool has_choice = !c["choices"].get_array().get(choices) && !choices.at(0).get(choice);
  if (element u; !c["usage"].get(u) && u.is_object()) {
    if (element d; !u["prompt_tokens_details"].get(d)) cached_tokens_ = Int(d, "cached_tokens");
    input_tokens_ = Int(u, "prompt_tokens") - cached_tokens_;
    input_known_ = true;
    // Usage on a chunk whose choice goes on is early (an Anthropic upstream's message_start,
    // vLLM's continuous usage stats): its input tokens go into message_start; the final usage
    // comes with the finish_reason or after it.
    if (!has_choice || !Str(choice, "finish_reason").empty()) {
      usage_known_ = true;
      output_tokens_ = Int(u, "completion_tokens");
    }
  }
  if (!started_) Start(out, Str(c, "id"), Str(c, "model"));
  if (!has_choice) {
    // The usage-only chunk that follows finish_reason: the message can end now.
    if (!stop_reason_.empty()) End(out);
    return {};
  }
  if (!choice["delta"].get(delta)) {
    // Thinking block starts come before the delta's text, signatures after it.
    array thinking;
    const bool has_thinking = !delta[kThinkingBlocksKey].get_array().get(thinking);
    if (has_thinking) {
      for (element t : thinking) ThinkingEntry(out, Str(t, "type"), {}, Str(t, "data"));
    }
    std::string_view reasoning = Str(delta, "reasoning_content");
    if (reasoning.empty()) reasoning = Str(delta, "reasoning");
    if (!reasoning.empty()) {
      if (open_ != Open::kThinking) {
        OpenBlock(out, Open::kThinking, -1, R"({"type":"thinking","thinking":"","signature":""})");
      }
      BlockDelta(out, block_index_, "thinking_delta", "thinking", reasoning);
    }
    if (has_thinking) {
      for (element t : thinking) ThinkingEntry(out, {}, Str(t, "signature"), {});
    }
    if (const std::string_view text = Str(delta, "content"); !text.empty()) {
      if (open_ != Open::kText) OpenBlock(out, Open::kText, -1, R"({"type":"text","text":""})");
      BlockDelta(out, block_index_, "text_delta", "text", text);
    }
    array calls;
    if (!delta["tool_calls"].get_array().get(calls)) {
      for (element tc : calls) {
        const int index = static_cast<int>(Int(tc, "index"));
        element fn;
        const bool has_fn = !tc["function"].get(fn);
        if (open_ != Open::kTool || open_tool_ != index) {
          std::string start;
          JsonWriter(start)
              .BeginObject()
              .Field("type", "tool_use")
              .Field("id", Str(tc, "id"))
              .Field("name", has_fn ? Str(fn, "name") : std::string_view())
              .RawField("input", "{}")
              .EndObject();
          OpenBlock(out, Open::kTool, index, start);
        }
        if (const std::string_view args = has_fn ? Str(fn, "arguments") : ""; !args.empty()) {
          BlockDelta(out, block_index_, "input_json_delta", "partial_json", args);
        }
      }
    }
  }
  if (const std::string_view finish = Str(choice, "finish_reason"); !finish.empty()) {
    CloseBlock(out);
    stop_reason_.assign(internal::FinishToStop(finish));
    if (usage_known_) End(out);  // usage came with (or before) the last choice
  }
  return {};
}

void StreamFromOpenAi::Finish(std::string& out) {
  if (ended_) return;
  if (!started_) Start(out, "", "");
  End(out);
}

}  // namespace hybridgate::api::anthropic
