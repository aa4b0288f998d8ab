// Anthropic SSE events -> OpenAI chat.completion.chunk documents. Each content block keeps the
// kind it started with; tool_use blocks get OpenAI tool-call indexes 0, 1, ... in start order.
#include <fmt/format.h>

#include "api/anthropic/anthropic.h"
#include "api/anthropic/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::anthropic {
namespace {

using internal::Int;
using internal::Str;
using simdjson::dom::element;

Error Malformed(std::string_view what) {
  return MakeError(ErrorCode::kUpstreamUnavailable,
                   fmt::format("malformed upstream stream event: {}", what));
}

std::string Delta(std::string_view key, std::string_view value) {
  std::string d;
  JsonWriter(d).BeginObject().Field(key, value).EndObject();
  return d;
}

std::string ToolDelta(int index, std::string_view id, std::string_view name,
                      std::string_view args) {
  std::string d;
  JsonWriter w(d);
  w.BeginObject().Key("tool_calls").BeginArray().BeginObject().Field("index", index);
  if (!id.empty()) w.Field("id", id).Field("type", "function");
  w.Key("function").BeginObject();
  if (!id.empty()) w.Field("name", name);
  w.Field("arguments", args).EndObject().EndObject().EndArray().EndObject();
  return d;
}

// A delta with one thinking_blocks entry (kThinkingBlocksKey); empty fields are left out.
// `reasoning` is the block's first text, when its start carries one.
std::string ThinkingDelta(int index, std::string_view type, std::string_view signature,
                          std::string_view data, std::string_view reasoning = {}) {
  std::string d;
  JsonWriter w(d);
  w.BeginObject();
  if (!reasoning.empty()) w.Field("reasoning_content", reasoning);
  w.Key(kThinkingBlocksKey).BeginArray().BeginObject().Field("index", index);
  if (!type.empty()) w.Field("type", type);
  if (!signature.empty()) w.Field("signature", signature);
  if (!data.empty()) w.Field("data", data);
  w.EndObject().EndArray().EndObject();
  return d;
}

}  // namespace

void StreamToOpenAi::Chunk(std::string& out, std::string_view delta_json,
                           std::string_view finish_reason) {
  JsonWriter w(out);
  w.BeginObject().Field("id", id_).Field("object", "chat.completion.chunk");
  w.Field("created", created_).Field("model", model_).Key("choices").BeginArray();
  if (!delta_json.empty()) {
    w.BeginObject().Field("index", 0).RawField("delta", delta_json).Key("finish_reason");
    if (finish_reason.empty()) {
      w.Null();
    } else {
      w.String(finish_reason);
    }
    w.EndObject();
  }
  w.EndArray();
  if (delta_json.empty()) {  // the usage chunk
    const int64_t prompt = input_tokens_ + cached_tokens_;
    w.Key("usage").BeginObject().Field("prompt_tokens", prompt);
    w.Field("completion_tokens", output_tokens_).Field("total_tokens", prompt + output_tokens_);
    if (cached_tokens_ > 0) {
      w.Key("prompt_tokens_details").BeginObject().Field("cached_tokens", cached_tokens_);
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndObject();
}

Status StreamToOpenAi::Feed(const SseEvent& event, std::vector<std::string>& out) {
  if (event.data.empty()) return {};
  auto root = ParseJsonView(event.data);
  if (!root) return Fail(Malformed(root.error().message));
  const element e = *root;
  const std::string_view type = Str(e, "type");
  if (type == "ping" || type == "content_block_stop") return {};
  if (type == "error") return Fail(ErrorFromAnthropic(0, event.data));
  if (type == "message_start") {
    element msg, u;
    if (e["message"].get(msg)) return Fail(Malformed("message_start without message"));
    id_.assign(Str(msg, "id"));
    model_.assign(Str(msg, "model"));
    if (!msg["usage"].get(u)) {
      usage_known_ = true;
      // cache_creation tokens are billed input too; OpenAI has no separate field for them.
      input_tokens_ = Int(u, "input_tokens") + Int(u, "cache_creation_input_tokens");
      cached_tokens_ = Int(u, "cache_read_input_tokens");
      output_tokens_ = Int(u, "output_tokens");
    }
    Chunk(out.emplace_back(), R"({"role":"assistant","content":""})", {});
    return {};
  }
  if (type == "content_block_start") {
    const int64_t index = Int(e, "index");
    element cb;
    if (index < 0 || index > 4096 || e["content_block"].get(cb)) {
      return Fail(Malformed("bad content_block_start"));
    }
    if (blocks_.size() <= static_cast<size_t>(index)) blocks_.resize(index + 1);
    Block& b = blocks_[index];
    const std::string_view kind = Str(cb, "type");
    if (kind == "text") {
      b.kind = Block::Kind::kText;
      if (const auto t = Str(cb, "text"); !t.empty())
        Chunk(out.emplace_back(), Delta("content", t), {});
    } else if (kind == "thinking") {
      b.kind = Block::Kind::kThinking;
      b.thinking_index = next_thinking_index_++;
      Chunk(out.emplace_back(),
            ThinkingDelta(b.thinking_index, kind, Str(cb, "signature"), {}, Str(cb, "thinking")),
            {});
    } else if (kind == "redacted_thinking") {
      Chunk(out.emplace_back(), ThinkingDelta(next_thinking_index_++, kind, {}, Str(cb, "data")),
            {});
    } else if (kind == "tool_use") {
      b.kind = Block::Kind::kToolUse;
      b.tool_index = next_tool_index_++;
      Chunk(out.emplace_back(), ToolDelta(b.tool_index, Str(cb, "id"), Str(cb, "name"), ""), {});
    }
    return {};
  }
  if (type == "content_block_delta") {
    const int64_t index = Int(e, "index");
    element d;
    if (index < 0 || static_cast<size_t>(index) >= blocks_.size() || e["delta"].get(d)) {
      return Fail(Malformed("content_block_delta for a block never started"));
    }
    const Block& b = blocks_[index];
    const std::string_view dt = Str(d, "type");
    if (dt == "text_delta" && b.kind == Block::Kind::kText) {
      Chunk(out.emplace_back(), Delta("content", Str(d, "text")), {});
    } else if (dt == "thinking_delta" && b.kind == Block::Kind::kThinking) {
      Chunk(out.emplace_back(), Delta("reasoning_content", Str(d, "thinking")), {});
    } else if (dt == "signature_delta" && b.kind == Block::Kind::kThinking) {
      Chunk(out.emplace_back(), ThinkingDelta(b.thinking_index, {}, Str(d, "signature"), {}), {});
    } else if (dt == "input_json_delta" && b.kind == Block::Kind::kToolUse) {
      const std::string_view part = Str(d, "partial_json");
      if (!part.empty()) Chunk(out.emplace_back(), ToolDelta(b.tool_index, {}, {}, part), {});
    }
    return {};  // citations_delta: nothing to say in OpenAI's dialect
  }
  if (type == "message_delta") {
    element u;
    if (!e["usage"].get(u)) {
      usage_known_ = true;
      // message_delta usage is cumulative; input counts appear here on newer API versions.
      output_tokens_ = Int(u, "output_tokens");
      if (int64_t in; !u["input_tokens"].get_int64().get(in)) {
        input_tokens_ = in + Int(u, "cache_creation_input_tokens");
      }
      if (int64_t c; !u["cache_read_input_tokens"].get_int64().get(c)) cached_tokens_ = c;
    }
    element d;
    std::string_view stop;
    if (!e["delta"].get(d)) stop = Str(d, "stop_reason");
    if (!stop.empty()) Chunk(out.emplace_back(), "{}", internal::StopToFinish(stop));
    return {};
  }
  if (type == "message_stop") {
    if (usage_known_ && !done_) Chunk(out.emplace_back(), {}, {});
    done_ = true;
    return {};
  }
  return {};  // unknown event types are ignored, as Anthropic's versioning policy asks
}

}  // namespace hybridgate::api::anthropic
