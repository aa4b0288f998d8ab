#include "tests/support/fake_dialects.h"

#include <boost/json.hpp>
#include <set>

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

Action AnthropicError(int status, std::string_view type, std::string_view message) {
  json::object err{{"type", type}, {"message", message}};
  return Action{.status = status,
                .body = json::serialize(json::object{{"type", "error"}, {"error", err}}),
                .headers = {{"request-id", "req_fake"}}};
}

Action GoogleError(int status, std::string_view code, std::string_view message,
                   std::string_view reason = {}) {
  json::object err{{"code", status}, {"message", message}, {"status", code}};
  if (!reason.empty()) {
    err["details"] = json::array{json::object{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                              {"reason", reason},
                                              {"domain", "googleapis.com"}}};
  }
  return Action{.status = status, .body = json::serialize(json::object{{"error", err}})};
}

std::string Header(const Recorded& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

std::optional<json::value> ParseBody(const Recorded& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v;
}

std::optional<Action> AnthropicMessage(const json::object& body) {
  static const std::set<std::string, std::less<>> kFields = {
      "model",          "messages",    "max_tokens",  "system",       "metadata",
      "stop_sequences", "stream",      "temperature", "top_k",        "top_p",
      "tools",          "tool_choice", "thinking",    "service_tier", "container"};
  for (const auto& kv : body) {
    if (!kFields.contains(kv.key())) {
      return AnthropicError(400, "invalid_request_error",
                            std::string(kv.key()) + ": Extra inputs are not permitted");
    }
  }
  for (const char* required : {"model", "max_tokens", "messages"}) {
    if (!body.contains(required)) {
      return AnthropicError(400, "invalid_request_error",
                            std::string(required) + ": Field required");
    }
  }
  if (!body.at("max_tokens").is_int64() || body.at("max_tokens").as_int64() < 1) {
    return AnthropicError(400, "invalid_request_error", "max_tokens: must be a positive integer");
  }
  if (const auto* tools = body.if_contains("tools")) {
    for (const auto& t : tools->as_array()) {
      if (!t.as_object().contains("name") || !t.as_object().contains("input_schema")) {
        return AnthropicError(400, "invalid_request_error",
                              "tools.0.custom.input_schema: Field required");
      }
    }
  }
  if (const auto* tc = body.if_contains("tool_choice")) {
    static const std::set<std::string, std::less<>> kKinds = {"auto", "any", "tool", "none"};
    if (!tc->is_object() || !tc->as_object().contains("type") ||
        !kKinds.contains(tc->at("type").as_string())) {
      return AnthropicError(400, "invalid_request_error", "tool_choice: Input tag is invalid");
    }
  }
  const auto& messages = body.at("messages").as_array();
  if (messages.empty()) {
    return AnthropicError(400, "invalid_request_error",
                          "messages: at least one message is required");
  }
  std::set<std::string, std::less<>> previous_tool_uses;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i].as_object();
    const auto& role = m.at("role").as_string();
    if (role != "user" && role != "assistant") {
      return AnthropicError(
          400, "invalid_request_error",
          "messages: Unexpected role \"" + std::string(role) +
              "\". The Messages API accepts a top-level `system` parameter, not \"system\" as "
              "an input message role.");
    }
    std::set<std::string, std::less<>> tool_uses;
    if (m.at("content").is_array()) {
      for (const auto& block : m.at("content").as_array()) {
        const auto& type = block.at("type").as_string();
        if (type == "tool_use") tool_uses.insert(std::string(block.at("id").as_string()));
        if (type == "tool_result" &&
            !previous_tool_uses.contains(block.at("tool_use_id").as_string())) {
          return AnthropicError(
              400, "invalid_request_error",
              "messages." + std::to_string(i) +
                  ".content: unexpected `tool_use_id` found in `tool_result` blocks: " +
                  std::string(block.at("tool_use_id").as_string()) +
                  ". Each `tool_result` block must have a corresponding `tool_use` block in the "
                  "previous message.");
        }
      }
    }
    previous_tool_uses = std::move(tool_uses);
  }
  return std::nullopt;
}

std::optional<Action> GeminiContent(const json::object& body) {
  static const std::set<std::string, std::less<>> kFields = {
      "contents",         "tools",        "toolConfig", "safetySettings", "systemInstruction",
      "generationConfig", "cachedContent"};
  for (const auto& kv : body) {
    if (!kFields.contains(kv.key())) {
      return GoogleError(400, "INVALID_ARGUMENT",
                         "Invalid JSON payload received. Unknown name \"" + std::string(kv.key()) +
                             "\": Cannot find field.");
    }
  }
  const auto* contents = body.if_contains("contents");
  if (!contents || !contents->is_array() || contents->as_array().empty()) {
    return GoogleError(400, "INVALID_ARGUMENT",
                       "* GenerateContentRequest.contents: contents is not specified\n");
  }
  for (const auto& c : contents->as_array()) {
    const auto* role = c.as_object().if_contains("role");
    if (role && role->as_string() != "user" && role->as_string() != "model") {
      return GoogleError(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.");
    }
    const auto* parts = c.as_object().if_contains("parts");
    if (!parts || !parts->is_array() || parts->as_array().empty()) {
      return GoogleError(
          400, "INVALID_ARGUMENT",
          "* GenerateContentRequest.contents.parts: contents.parts must not be empty.\n");
    }
    for (const auto& p : parts->as_array()) {
      if (const auto* fr = p.as_object().if_contains("functionResponse")) {
        if (!fr->as_object().contains("name")) {
          return GoogleError(400, "INVALID_ARGUMENT",
                             "* GenerateContentRequest.contents.parts.function_response.name: "
                             "Name cannot be empty.\n");
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Action> AnthropicRejects(const Recorded& r) {
  const std::string key = Header(r, "x-api-key");
  if (key.empty()) {
    return AnthropicError(401, "authentication_error", "x-api-key header is required");
  }
  if (key != kFakeAnthropicKey) {
    return AnthropicError(401, "authentication_error", "invalid x-api-key");
  }
  if (Header(r, "anthropic-version").empty()) {
    return AnthropicError(400, "invalid_request_error", "anthropic-version: header is required");
  }
  if (r.method == "GET") return std::nullopt;
  auto body = ParseBody(r);
  if (!body) {
    return AnthropicError(400, "invalid_request_error",
                          "There was an error parsing the body of your request");
  }
  try {
    return AnthropicMessage(body->as_object());
  } catch (const std::exception& e) {  // a wrong type somewhere: the API says which, we say what
    return AnthropicError(400, "invalid_request_error",
                          std::string("invalid request: ") + e.what());
  }
}

std::optional<Action> GeminiRejects(const Recorded& r) {
  const std::string key = Header(r, "x-goog-api-key");
  if (key.empty()) {
    return GoogleError(403, "PERMISSION_DENIED",
                       "Method doesn't allow unregistered callers (callers without established "
                       "identity). Please use API Key or other form of API consumer identity to "
                       "call this API.");
  }
  if (key != kFakeGeminiKey) {
    return GoogleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                       "API_KEY_INVALID");
  }
  if (r.method == "GET") return std::nullopt;
  if (r.target.find(":streamGenerateContent") != std::string::npos &&
      r.target.find("alt=sse") == std::string::npos) {
    return GoogleError(400, "INVALID_ARGUMENT", "this fake streams only with alt=sse");
  }
  auto body = ParseBody(r);
  if (!body) {
    return GoogleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
  }
  try {
    return GeminiContent(body->as_object());
  } catch (const std::exception& e) {
    return GoogleError(400, "INVALID_ARGUMENT", std::string("Invalid value: ") + e.what());
  }
}

FakeUpstream::Script ValidatingAnthropic(FakeUpstream::Script answer) {
  return [answer = std::move(answer)](const Recorded& r) {
    if (auto reject = AnthropicRejects(r)) return *reject;
    if (r.method == "GET") return Action{.body = R"({"data":[],"has_more":false})"};
    return answer(r);
  };
}

FakeUpstream::Script ValidatingGemini(FakeUpstream::Script answer) {
  return [answer = std::move(answer)](const Recorded& r) {
    if (auto reject = GeminiRejects(r)) return *reject;
    if (r.method == "GET") return Action{.body = R"({"models":[]})"};
    return answer(r);
  };
}

std::string AnthropicEvent(std::string_view data) {
  const json::value v = json::parse(data);
  return "event: " + std::string(v.at("type").as_string()) + "\ndata: " + std::string(data) +
         "\n\n";
}

std::string SseData(std::string_view data) { return "data: " + std::string(data) + "\n\n"; }

}  // namespace hybridgate::testing
