// Ingress direction, answers: an OpenAI-format chat completion (whatever upstream produced it) ->
// a GenerateContentResponse, and errors -> Google's error body.
#include <fmt/format.h>

#include "api/gemini/gemini.h"
#include "api/gemini/internal.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::gemini {
namespace internal {

using simdjson::dom::element;

Usage ReadOpenAiUsage(element u) {
  Usage usage;
  usage.prompt = Int(u, "prompt_tokens");
  usage.completion = Int(u, "completion_tokens");  // includes reasoning tokens
  if (element d; !u["prompt_tokens_details"].get(d)) usage.cached = Int(d, "cached_tokens");
  if (element d; !u["completion_tokens_details"].get(d)) {
    usage.reasoning = Int(d, "reasoning_tokens");
  }
  return usage;
}

void WriteUsageMetadata(JsonWriter& w, const Usage& u) {
  w.BeginObject().Field("promptTokenCount", u.prompt);
  w.Field("candidatesTokenCount", u.completion - u.reasoning);
  w.Field("totalTokenCount", u.prompt + u.completion);
  if (u.cached > 0) w.Field("cachedContentTokenCount", u.cached);
  if (u.reasoning > 0) w.Field("thoughtsTokenCount", u.reasoning);
  w.EndObject();
}

std::string_view FinishToGemini(std::string_view finish_reason) {
  if (finish_reason == "length") return "MAX_TOKENS";
  if (finish_reason == "content_filter") return "SAFETY";
  return "STOP";  // stop, tool_calls (Gemini ends function-call turns with STOP too)
}

void WriteFunctionCallPart(JsonWriter& w, std::string_view id, std::string_view name,
                           std::string_view arguments, std::string_view signature) {
  w.BeginObject().Key("functionCall").BeginObject();
  if (!id.empty()) w.Field("id", id);
  w.Field("name", name).Key("args");
  // Model-produced arguments may be invalid JSON; a functionCall's args must be an object.
  element args;
  if (arguments.empty() || NestedParser().parse(arguments.data(), arguments.size()).get(args) ||
      !args.is_object()) {
    w.Raw("{}");
  } else {
    w.Raw(simdjson::minify(args));
  }
  w.EndObject();
  if (!signature.empty()) w.Field("thoughtSignature", signature);
  w.EndObject();
}

std::string_view ToolCallSignature(element tool_call) {
  std::string_view sig;
  if (tool_call.at_pointer("/extra_content/google/thought_signature").get_string().get(sig)) {
    return {};
  }
  return sig;
}

}  // namespace internal

namespace {

using internal::Str;
using simdjson::dom::array;
using simdjson::dom::element;

// Google's canonical status string for an HTTP status (google.rpc.Code's HTTP mapping).
std::string_view StatusName(int http_status) {
  switch (http_status) {
    case 400:
    case 413:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 405:
    case 501:
      return "UNIMPLEMENTED";
    case 409:
      return "ABORTED";
    case 412:
      return "FAILED_PRECONDITION";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 499:
      return "CANCELLED";
    case 502:
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return http_status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

}  // namespace

Result<std::string> EncodeResponse(std::string_view openai_json) {
  auto root = ParseJsonView(openai_json);
  if (!root) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          fmt::format("malformed upstream response: {}", root.error().message)));
  }
  const element r = *root;
  element choice, msg;
  if (r["choices"].at(0).get(choice) || choice["message"].get(msg)) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          "malformed upstream response: no choices[0].message"));
  }
  std::string out;
  out.reserve(openai_json.size() + 256);
  JsonWriter w(out);
  w.BeginObject().Key("candidates").BeginArray().BeginObject().Key("content").BeginObject();
  w.Key("parts").BeginArray();
  std::string_view reasoning = Str(msg, "reasoning_content");
  if (reasoning.empty()) reasoning = Str(msg, "reasoning");
  if (!reasoning.empty())
    w.BeginObject().Field("text", reasoning).Field("thought", true).EndObject();
  const std::string_view text = Str(msg, "content");
  array calls;
  const bool has_calls = !msg["tool_calls"].get_array().get(calls) && calls.size() > 0;
  if (!text.empty() || (reasoning.empty() && !has_calls)) {
    w.BeginObject().Field("text", text).EndObject();
  }
  if (has_calls) {
    // Signatures come per tool call, or (non-stream answers) as a list parallel to tool_calls.
    array listed;
    const bool has_listed =
        !msg.at_pointer("/extra_content/google/thought_signatures").get_array().get(listed);
    size_t i = 0;
    for (element tc : calls) {
      std::string_view sig = internal::ToolCallSignature(tc);
      if (sig.empty() && has_listed && listed.size() > i && listed.at(i).get_string().get(sig)) {
        sig = {};
      }
      element fn;
      const bool has_fn = !tc["function"].get(fn);
      internal::WriteFunctionCallPart(w, Str(tc, "id"), has_fn ? Str(fn, "name") : "",
                                      has_fn ? Str(fn, "arguments") : "", sig);
      ++i;
    }
  }
  w.EndArray().Field("role", "model").EndObject();
  w.Field("finishReason", internal::FinishToGemini(Str(choice, "finish_reason")));
  w.Field("index", 0).EndObject().EndArray();
  if (element u; !r["usage"].get(u) && u.is_object()) {
    w.Key("usageMetadata");
    internal::WriteUsageMetadata(w, internal::ReadOpenAiUsage(u));
  }
  w.Field("modelVersion", Str(r, "model")).Field("responseId", Str(r, "id")).EndObject();
  return out;
}

std::string EncodeError(const Error& error) {
  // An upstream 4xx that is already a Google error passes through verbatim.
  if (error.code == ErrorCode::kUpstreamError && error.upstream_body.starts_with("{") &&
      error.upstream_body.find("\"status\"") != std::string::npos) {
    element e;
    if (auto root = ParseJsonView(error.upstream_body);
        root && !(*root)["error"].get(e) && !Str(e, "status").empty()) {
      return error.upstream_body;
    }
  }
  const int http = error.HttpStatus();
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("error").BeginObject().Field("code", http);
  w.Field("message", error.message).Field("status", StatusName(http)).EndObject().EndObject();
  return out;
}

}  // namespace hybridgate::api::gemini
