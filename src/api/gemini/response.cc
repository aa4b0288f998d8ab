// Non-stream responses and errors. A Gemini response carries candidates, each with one Content
// of parts (text, thought text, functionCall); OpenAI's chat completion carries one message with
// content, tool_calls and (vLLM/DeepSeek style) reasoning_content.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "api/gemini/gemini.h"
#include "api/gemini/internal.h"
#include "api/json.h"
#include "api/openai_response.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini {
namespace internal {

Usage ReadUsage(simdjson::dom::element u) {
  Usage usage;
  usage.prompt = Int(u, "promptTokenCount");  // includes cachedContentTokenCount
  usage.reasoning = Int(u, "thoughtsTokenCount");
  usage.completion = Int(u, "candidatesTokenCount") + usage.reasoning;
  usage.cached = Int(u, "cachedContentTokenCount");
  return usage;
}

void WriteUsage(JsonWriter& w, const Usage& u) {
  w.Key("usage").BeginObject().Field("prompt_tokens", u.prompt);
  w.Field("completion_tokens", u.completion).Field("total_tokens", u.prompt + u.completion);
  if (u.cached > 0) {
    w.Key("prompt_tokens_details").BeginObject().Field("cached_tokens", u.cached).EndObject();
  }
  if (u.reasoning > 0) {
    w.Key("completion_tokens_details").BeginObject().Field("reasoning_tokens", u.reasoning);
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace internal

namespace {

using internal::Str;
using simdjson::dom::array;
using simdjson::dom::element;

Error Malformed(std::string_view what) {
  return MakeError(ErrorCode::kUpstreamUnavailable,
                   fmt::format("malformed upstream response: {}", what));
}

std::string Lower(std::string_view s) {
  std::string l(s);
  std::ranges::transform(l, l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l;
}

}  // namespace

std::string_view FinishReason(std::string_view r) {
  if (r == "MAX_TOKENS") return "length";
  if (r == "SAFETY" || r == "RECITATION" || r == "BLOCKLIST" || r == "PROHIBITED_CONTENT" ||
      r == "SPII" || r == "IMAGE_SAFETY") {
    return "content_filter";
  }
  return "stop";  // STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, unspecified
}

Result<std::string> DecodeResponse(std::string_view gemini_json, std::string_view model,
                                   int64_t created) {
  auto root = ParseJsonView(gemini_json);
  if (!root) return Fail(Malformed(root.error().message));
  const element r = *root;
  if (element e; !r["error"].get(e)) return Fail(ErrorFromGemini(0, gemini_json));
  std::string text, reasoning;
  std::vector<element> calls;
  std::vector<std::string_view> signatures;  // per call, "" when none
  std::string_view finish = "stop";
  array candidates;
  if (!r["candidates"].get_array().get(candidates) && candidates.size() > 0) {
    const element c = candidates.at(0).value_unsafe();
    array parts;
    if (!c["content"]["parts"].get_array().get(parts)) {
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
    finish = calls.empty() ? FinishReason(Str(c, "finishReason")) : "tool_calls";
  } else if (element pf; !r["promptFeedback"].get(pf) && !Str(pf, "blockReason").empty()) {
    finish = "content_filter";  // the prompt itself was blocked: no candidates at all
  } else {
    return Fail(Malformed("no 'candidates'"));
  }
  std::string out;
  out.reserve(gemini_json.size() + 256);
  JsonWriter w(out);
  const std::string_view response_id = Str(r, "responseId");
  w.BeginObject().Field("id",
                        fmt::format("chatcmpl-{}", response_id.empty() ? "gemini" : response_id));
  w.Field("object", "chat.completion").Field("created", created).Field("model", model);
  w.Key("choices").BeginArray().BeginObject().Field("index", 0);
  AssistantMessage message{.text = text, .reasoning = reasoning};
  for (size_t i = 0; i < calls.size(); ++i) {
    element args;
    message.tool_calls.push_back(
        {fmt::format("call_{}", i), Str(calls[i], "name"),
         calls[i]["args"].get(args) ? std::string("{}") : std::string(simdjson::minify(args))});
  }
  std::string msg;
  JsonWriter m(msg);
  WriteAssistantMessage(m, message);
  if (std::ranges::any_of(signatures, [](std::string_view s) { return !s.empty(); })) {
    // Thought signatures, parallel to tool_calls (see gemini.h), inside the message object.
    msg.pop_back();
    msg += R"(,"extra_content":{"google":{"thought_signatures":[)";
    for (size_t i = 0; i < signatures.size(); ++i) {
      if (i > 0) msg += ',';
      AppendJsonString(msg, signatures[i]);
    }
    msg += "]}}}";
  }
  w.RawField("message", msg);
  w.Field("finish_reason", finish).EndObject().EndArray();
  if (element u; !r["usageMetadata"].get(u)) internal::WriteUsage(w, internal::ReadUsage(u));
  w.EndObject();
  return out;
}

Error ErrorFromGemini(int http_status, std::string_view body) {
  std::string status, message;
  if (auto root = ParseJsonView(body); root) {
    element r = *root;
    // streamGenerateContent without alt=sse wraps everything, errors included, in an array.
    if (array a; !r.get_array().get(a) && a.size() > 0) r = a.at(0).value_unsafe();
    if (element e; !r["error"].get(e)) {
      status.assign(Str(e, "status"));
      message.assign(Str(e, "message"));
      if (http_status == 0) http_status = static_cast<int>(internal::Int(e, "code"));
    }
  }
  if (message.empty()) message.assign(body.substr(0, 512));
  const std::string lower = Lower(message);
  Error err;
  if (http_status == 429 || status == "RESOURCE_EXHAUSTED") {
    err = MakeError(ErrorCode::kRateLimited, fmt::format("gemini: {}", message));
  } else if (http_status == 401 || http_status == 403 || status == "UNAUTHENTICATED" ||
             status == "PERMISSION_DENIED") {
    // Google's message may quote the key that was sent: keep only the status.
    err = MakeError(ErrorCode::kUpstreamAuth,
                    fmt::format("gemini rejected the gateway's credentials ({})",
                                status.empty() ? std::to_string(http_status) : status));
  } else if ((http_status == 400 || status == "INVALID_ARGUMENT") &&
             (lower.find("token count") != std::string::npos ||
              lower.find("exceeds the maximum number of tokens") != std::string::npos)) {
    err = MakeError(ErrorCode::kContextLength, fmt::format("gemini: {}", message));
  } else if (http_status == 504 || status == "DEADLINE_EXCEEDED") {
    err = MakeError(ErrorCode::kUpstreamTimeout, fmt::format("gemini: {}", message));
  } else if (http_status >= 500 || http_status == 0 || status == "UNAVAILABLE" ||
             status == "INTERNAL") {
    err = MakeError(ErrorCode::kUpstreamUnavailable, fmt::format("gemini: {}", message));
  } else {
    err = MakeError(ErrorCode::kUpstreamError, fmt::format("gemini: {}", message));
    err.upstream_body.assign(body);
  }
  err.upstream_status = http_status;
  return err;
}

}  // namespace hybridgate::api::gemini
