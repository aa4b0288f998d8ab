#include "api/anthropic/count_tokens.h"

#include <array>

#include "api/anthropic/anthropic.h"
#include "api/json.h"
#include "common/json_writer.h"

namespace hybridgate::api::anthropic {

Status DecodeCountTokensInto(std::string_view body, ChatRequest& req) {
  // The Messages decoder requires max_tokens, which count_tokens does not take: give it one in
  // front, where a client's own (decoded after it) wins.
  const size_t open = body.find_first_not_of(" \t\r\n");
  if (open == std::string_view::npos || body[open] != '{') {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object"));
  }
  const size_t next = body.find_first_not_of(" \t\r\n", open + 1);
  const bool empty = next != std::string_view::npos && body[next] == '}';
  std::string copy;
  copy.reserve(body.size() + 20 + simdjson::SIMDJSON_PADDING);
  copy.append(body.substr(0, open + 1)).append(empty ? R"("max_tokens":1)" : R"("max_tokens":1,)");
  copy.append(body.substr(open + 1));
  return DecodeRequestInto(copy, req);
}

Result<std::string> EncodeCountTokensRequest(const ChatRequest& req, std::string_view model_id) {
  std::string messages;
  const EncodeOptions options{.model = model_id,
                              .forward_extra = req.ingress == ChatRequest::Dialect::kAnthropic};
  if (auto s = EncodeRequest(req, options, messages); !s) return Fail(std::move(s.error()));
  auto root = ParseJson(messages);
  if (!root) return Fail(std::move(root.error()));
  static constexpr std::array<std::string_view, 10> kKept = {
      "model",         "messages",     "system",      "tools",
      "tool_choice",   "thinking",     "mcp_servers", "context_management",
      "output_config", "output_format"};
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  simdjson::dom::object obj;
  if (root->get_object().get(obj)) {
    return Fail(MakeError(ErrorCode::kInternal, "count_tokens: the encoded request is no object"));
  }
  for (auto [key, value] : obj) {
    for (std::string_view k : kKept) {
      if (key == k) {
        w.RawField(key, simdjson::minify(value));
        break;
      }
    }
  }
  w.EndObject();
  return out;
}

std::string EncodeTokenCount(int64_t tokens) {
  std::string out;
  JsonWriter(out).BeginObject().Field("input_tokens", tokens).EndObject();
  return out;
}

Result<int64_t> DecodeTokenCount(std::string_view body) {
  auto root = ParseJsonView(body);
  int64_t n = 0;
  if (!root || (*root)["input_tokens"].get_int64().get(n) || n < 0) {
    return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                          "the upstream's count_tokens answer carries no input_tokens"));
  }
  return n;
}

}  // namespace hybridgate::api::anthropic
