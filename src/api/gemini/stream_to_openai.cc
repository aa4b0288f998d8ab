// Gemini stream chunks -> OpenAI chat.completion.chunk documents. Each Gemini chunk is a whole
// GenerateContentResponse holding only the new parts; functionCall parts arrive complete, so each
// becomes one tool_call delta with its full arguments. usageMetadata is cumulative: the last one
// seen is the stream's usage.
#include <fmt/format.h>

#include "api/gemini/gemini.h"
#include "api/gemini/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini {

using internal::Str;
using simdjson::dom::array;
using simdjson::dom::element;

void StreamToOpenAi::Begin(JsonWriter& w) const {
  w.BeginObject().Field("id", id_).Field("object", "chat.completion.chunk");
  w.Field("created", created_).Field("model", model_);
}

Status StreamToOpenAi::Feed(std::string_view chunk_json, std::vector<std::string>& out) {
  auto root = ParseJsonView(chunk_json);
  if (!root) {
    return Fail(
        MakeError(ErrorCode::kUpstreamUnavailable,
                  fmt::format("malformed upstream stream chunk: {}", root.error().message)));
  }
  const element r = *root;
  if (element e; !r["error"].get(e)) return Fail(ErrorFromGemini(0, chunk_json));
  if (id_.empty()) {
    const std::string_view rid = Str(r, "responseId");
    id_ = fmt::format("chatcmpl-{}", rid.empty() ? "gemini" : rid);
  }
  if (element u; !r["usageMetadata"].get(u)) {
    const internal::Usage usage = internal::ReadUsage(u);
    prompt_tokens_ = usage.prompt;
    completion_tokens_ = usage.completion;
    reasoning_tokens_ = usage.reasoning;
    cached_tokens_ = usage.cached;
    usage_known_ = true;
  }
  array candidates;
  if (r["candidates"].get_array().get(candidates) || candidates.size() == 0) return {};
  const element c = candidates.at(0).value_unsafe();

  std::string delta;
  JsonWriter d(delta);
  d.BeginObject();
  bool has_delta = false;
  if (!started_) {
    d.Field("role", "assistant");
    started_ = true;
    has_delta = true;
  }
  std::string text, reasoning;
  std::vector<element> calls;
  std::vector<std::string_view> signatures;
  if (array parts; !c["content"]["parts"].get_array().get(parts)) {
    for (element p : parts) {
      if (element fc; !p["functionCall"].get(fc)) {
        calls.push_back(fc);
        signatures.push_back(Str(p, "thoughtSignature"));
      } else if (internal::Bool(p, "thought")) {
        reasoning += Str(p, "text");
      } else {
        text += Str(p, "text");
      }
    }
  }
  if (!text.empty()) d.Field("content", text);
  if (!reasoning.empty()) d.Field("reasoning_content", reasoning);
  if (!calls.empty()) {
    d.Key("tool_calls").BeginArray();
    for (size_t i = 0; i < calls.size(); ++i) {
      element args;
      const std::string json =
          calls[i]["args"].get(args) ? std::string("{}") : std::string(simdjson::minify(args));
      const int index = next_tool_index_++;
      d.BeginObject().Field("index", index).Field("id", fmt::format("call_{}", index));
      d.Field("type", "function").Key("function").BeginObject();
      d.Field("name", Str(calls[i], "name")).Field("arguments", json).EndObject();
      if (!signatures[i].empty()) {  // Google's OpenAI-compatible shape (see gemini.h)
        d.Key("extra_content").BeginObject().Key("google").BeginObject();
        d.Field("thought_signature", signatures[i]).EndObject().EndObject();
      }
      d.EndObject();
    }
    d.EndArray();
    saw_tool_call_ = true;
  }
  d.EndObject();
  has_delta |= !text.empty() || !reasoning.empty() || !calls.empty();
  const std::string_view gemini_finish = Str(c, "finishReason");
  finished_ |= !gemini_finish.empty();
  if (!has_delta && gemini_finish.empty()) return {};

  std::string chunk;
  JsonWriter w(chunk);
  Begin(w);
  w.Key("choices").BeginArray().BeginObject().Field("index", 0).RawField("delta", delta);
  w.Key("finish_reason");
  if (gemini_finish.empty()) {
    w.Null();
  } else {
    w.String(saw_tool_call_ ? "tool_calls" : FinishReason(gemini_finish));
  }
  w.EndObject().EndArray().EndObject();
  out.push_back(std::move(chunk));
  if (!gemini_finish.empty() && usage_known_) EmitUsage(out);
  return {};
}

void StreamToOpenAi::EmitUsage(std::vector<std::string>& out) {
  if (usage_sent_ || !usage_known_) return;
  usage_sent_ = true;
  if (id_.empty()) id_ = "chatcmpl-gemini";
  std::string chunk;
  JsonWriter w(chunk);
  Begin(w);
  w.Key("choices").BeginArray().EndArray();
  internal::WriteUsage(w, {.prompt = prompt_tokens_,
                           .completion = completion_tokens_,
                           .reasoning = reasoning_tokens_,
                           .cached = cached_tokens_});
  w.EndObject();
  out.push_back(std::move(chunk));
}

void StreamToOpenAi::Finish(std::vector<std::string>& out) { EmitUsage(out); }

}  // namespace hybridgate::api::gemini
