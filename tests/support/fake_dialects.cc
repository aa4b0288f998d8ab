#include "tests/support/fake_dialects.h"

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
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

// Thinking is on with {type: enabled, budget_tokens} and with {type: adaptive} (the model
// decides how much; Claude Code's default).
bool ThinkingEnabled(const json::object& body) {
  const auto* t = body.if_contains("thinking");
  if (t == nullptr || !t->is_object() || !t->as_object().contains("type")) return false;
  const auto& type = t->at("type").as_string();
  return type == "enabled" || type == "adaptive";
}

bool Signed(const json::object& block) {
  const auto* sig = block.if_contains("signature");
  return sig != nullptr && sig->is_string() && !sig->as_string().empty();
}

Action InvalidSignature(size_t message, size_t block) {
  return AnthropicError(400, "invalid_request_error",
                        "messages." + std::to_string(message) + ".content." +
                            std::to_string(block) + ": Invalid `signature` in `thinking` block");
}

// `beta`: the request carries an anthropic-beta header, which opens the beta API's fields and
// `role: "system"` messages among the turns (BetaSystemMessageParam).
std::optional<Action> AnthropicMessage(const json::object& body, bool beta) {
  const bool thinking = ThinkingEnabled(body);
  // MessageCreateParams of the pinned @anthropic-ai/sdk (resources/messages/messages.d.ts).
  static const std::set<std::string, std::less<>> kFields = {
      "model",           "messages",      "max_tokens",    "system",       "metadata",
      "stop_sequences",  "stream",        "temperature",   "top_k",        "top_p",
      "tools",           "tool_choice",   "thinking",      "service_tier", "container",
      "cache_control",   "output_config", "inference_geo", "speed",        "diagnostics",
      "user_profile_id", "workspace_id"};
  // The beta API's (resources/beta/messages/messages.d.ts), with an anthropic-beta header.
  static const std::set<std::string, std::less<>> kBetaFields = {
      "context_management", "mcp_servers",    "output_format", "compaction",
      "fallbacks",          "billing_policy", "thread",        "fallback_credit_token"};
  for (const auto& kv : body) {
    if (!kFields.contains(kv.key()) && !(beta && kBetaFields.contains(kv.key()))) {
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
      // A server tool (web_search_20250305, bash_20250124, ...) is named by its type.
      const auto* type = t.as_object().if_contains("type");
      if (type != nullptr && *type != "custom") continue;
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
    if (role == "system" && beta) continue;  // system text at its place; tool ids unaffected
    if (role != "user" && role != "assistant") {
      return AnthropicError(
          400, "invalid_request_error",
          "messages: Unexpected role \"" + std::string(role) +
              "\". The Messages API accepts a top-level `system` parameter, not \"system\" as "
              "an input message role.");
    }
    std::set<std::string, std::less<>> tool_uses;
    if (m.at("content").is_array()) {
      size_t j = 0;
      for (const auto& block : m.at("content").as_array()) {
        const auto& type = block.at("type").as_string();
        if (type == "thinking" && thinking && !Signed(block.as_object())) {
          return InvalidSignature(i, j);
        }
        ++j;
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

// Google's JSON mapping takes snake_case for every field: the camelCase name of `key`.
std::string Camel(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '_' && i > 0 && i + 1 < key.size()) {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(key[++i])));
    } else {
      out += key[i];
    }
  }
  return out;
}

Action UnknownName(std::string_view name, std::string_view at) {
  return GoogleError(400, "INVALID_ARGUMENT",
                     "Invalid JSON payload received. Unknown name \"" + std::string(name) +
                         "\" at '" + std::string(at) + "': Cannot find field.");
}

// Google's Schema (an OpenAPI subset), as responseSchema and a function's `parameters` take it:
// its own fields only, and `type` one of its upper-case Type names — JSON Schema's lower-case
// types, type arrays, additionalProperties or $ref are refused, as the real API refuses them.
std::optional<Action> GoogleSchema(const json::value& schema, const std::string& at) {
  static const std::set<std::string, std::less<>> kFields = {
      "type",      "format",    "title",      "description", "nullable",      "enum",
      "maxItems",  "minItems",  "properties", "required",    "minProperties", "maxProperties",
      "minLength", "maxLength", "pattern",    "example",     "anyOf",         "propertyOrdering",
      "default",   "items",     "minimum",    "maximum"};
  static const std::set<std::string, std::less<>> kTypes = {
      "TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"};
  if (!schema.is_object()) {
    return GoogleError(400, "INVALID_ARGUMENT", "Invalid value at '" + at + "': not an object");
  }
  for (const auto& kv : schema.as_object()) {
    const std::string key = Camel(kv.key());
    if (!kFields.contains(key)) return UnknownName(kv.key(), at);
    if (key == "type" && (!kv.value().is_string() || !kTypes.contains(kv.value().as_string()))) {
      return GoogleError(400, "INVALID_ARGUMENT",
                         "Invalid value at '" + at +
                             ".type' (type.googleapis.com/google.ai.generativelanguage.v1beta."
                             "Type), " +
                             json::serialize(kv.value()));
    }
    if (key == "properties" && kv.value().is_object()) {
      for (const auto& p : kv.value().as_object()) {
        if (auto bad = GoogleSchema(p.value(), at + ".properties[" + std::string(p.key()) + "]")) {
          return bad;
        }
      }
    }
    if (key == "items") {
      if (auto bad = GoogleSchema(kv.value(), at + ".items")) return bad;
    }
    if (key == "anyOf" && kv.value().is_array()) {
      for (const auto& sub : kv.value().as_array()) {
        if (auto bad = GoogleSchema(sub, at + ".any_of")) return bad;
      }
    }
  }
  return std::nullopt;
}

// GenerationConfig: its documented fields; a response schema only with a MIME type that takes
// one, and not in both forms.
std::optional<Action> GeminiGenerationConfig(const json::value& config) {
  static const std::set<std::string, std::less<>> kFields = {"stopSequences",
                                                             "responseMimeType",
                                                             "responseSchema",
                                                             "responseJsonSchema",
                                                             "_responseJsonSchema",
                                                             "responseModalities",
                                                             "candidateCount",
                                                             "maxOutputTokens",
                                                             "temperature",
                                                             "topP",
                                                             "topK",
                                                             "seed",
                                                             "presencePenalty",
                                                             "frequencyPenalty",
                                                             "responseLogprobs",
                                                             "logprobs",
                                                             "enableEnhancedCivicAnswers",
                                                             "speechConfig",
                                                             "thinkingConfig",
                                                             "imageConfig",
                                                             "mediaResolution"};
  if (!config.is_object()) {
    return GoogleError(400, "INVALID_ARGUMENT", "Invalid value at 'generation_config'");
  }
  std::string mime;
  int schemas = 0;
  for (const auto& kv : config.as_object()) {
    const std::string key = Camel(kv.key());
    if (!kFields.contains(key)) return UnknownName(kv.key(), "generation_config");
    if (key == "responseMimeType" && kv.value().is_string()) mime = kv.value().as_string();
    if (key == "responseSchema" || key == "responseJsonSchema" || key == "_responseJsonSchema") {
      ++schemas;
    }
    if (key == "responseSchema") {
      if (auto bad = GoogleSchema(kv.value(), "generation_config.response_schema")) return bad;
    }
  }
  if (schemas > 1) {
    return GoogleError(400, "INVALID_ARGUMENT",
                       "response_schema and response_json_schema cannot both be set");
  }
  if (schemas == 1 && mime != "application/json" && mime != "text/x.enum") {
    return GoogleError(400, "INVALID_ARGUMENT",
                       "* GenerateContentRequest.generation_config.response_mime_type: "
                       "response_mime_type must be application/json or text/x.enum when a "
                       "response schema is set\n");
  }
  return std::nullopt;
}

std::optional<Action> GeminiTools(const json::value& tools) {
  if (!tools.is_array()) return GoogleError(400, "INVALID_ARGUMENT", "Invalid value at 'tools'");
  for (const auto& t : tools.as_array()) {
    const auto* decls = t.is_object() ? t.as_object().if_contains("functionDeclarations") : nullptr;
    if (decls == nullptr || !decls->is_array()) continue;
    for (const auto& d : decls->as_array()) {
      if (const auto* p = d.as_object().if_contains("parameters")) {
        if (auto bad = GoogleSchema(*p, "tools[0].function_declarations[0].parameters")) {
          return bad;
        }
      }
    }
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
  if (const auto* g = body.if_contains("generationConfig")) {
    if (auto bad = GeminiGenerationConfig(*g)) return bad;
  }
  if (const auto* tools = body.if_contains("tools")) {
    if (auto bad = GeminiTools(*tools)) return bad;
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

// The thinking blocks a validating Anthropic fake has issued, and the check of a replay against
// them. Shared by the copies of one script; the fake calls it from its own thread.
class IssuedThinking {
 public:
  // Remembers the thinking blocks of a successful answer (a JSON message or an SSE stream).
  void Record(const Action& a) {
    if (a.status != 200) return;
    json::array content;
    if (!a.chunks.empty()) {
      std::string sse;
      for (const std::string& c : a.chunks) sse += c;
      content = AnthropicContentFromSse(sse);
    } else {
      boost::system::error_code ec;
      json::value v = json::parse(a.body, ec);
      if (ec || !v.is_object() || !v.as_object().contains("content")) return;
      content = v.at("content").as_array();
    }
    std::lock_guard lock(mu_);
    json::array blocks;
    for (const json::value& b : content) {
      const auto& type = b.at("type").as_string();
      if (type == "thinking") {
        signatures_[std::string(b.at("signature").as_string())] = b.at("thinking").as_string();
        blocks.push_back(Essential(b.as_object()));
      } else if (type == "redacted_thinking") {
        redacted_.insert(std::string(b.at("data").as_string()));
        blocks.push_back(Essential(b.as_object()));
      }
    }
    if (blocks.empty()) return;
    for (const json::value& b : content) {
      if (b.at("type") == "tool_use") turns_[std::string(b.at("id").as_string())] = blocks;
    }
  }

  // The rejection of a request (thinking enabled) that replays thinking the fake did not issue,
  // or a final assistant turn of a tool loop without exactly its issued thinking blocks.
  std::optional<Action> Check(const json::object& body) const {
    if (!ThinkingEnabled(body)) return std::nullopt;
    std::lock_guard lock(mu_);
    const json::array& messages = body.at("messages").as_array();
    size_t last_assistant = messages.size();
    for (size_t i = 0; i < messages.size(); ++i) {
      const json::object& m = messages[i].as_object();
      if (m.at("role") != "assistant" || !m.at("content").is_array()) continue;
      last_assistant = i;
      size_t j = 0;
      for (const json::value& b : m.at("content").as_array()) {
        const auto& type = b.at("type").as_string();
        if (type == "thinking") {
          auto it = signatures_.find(std::string(b.at("signature").as_string()));
          if (it == signatures_.end() || it->second != b.at("thinking").as_string()) {
            return InvalidSignature(i, j);
          }
        } else if (type == "redacted_thinking" &&
                   !redacted_.contains(std::string(b.at("data").as_string()))) {
          return AnthropicError(400, "invalid_request_error",
                                "messages." + std::to_string(i) + ".content." + std::to_string(j) +
                                    ": Invalid `data` in `redacted_thinking` block");
        }
        ++j;
      }
    }
    if (last_assistant == messages.size()) return std::nullopt;
    return CheckFinalTurn(last_assistant, messages[last_assistant].at("content").as_array());
  }

 private:
  // A thinking block's fields that the API checks (cache_control and the like left out).
  static json::object Essential(const json::object& b) {
    json::object out{{"type", b.at("type")}};
    for (const char* key : {"thinking", "signature", "data"}) {
      if (const auto* v = b.if_contains(key)) out[key] = *v;
    }
    return out;
  }

  std::optional<Action> CheckFinalTurn(size_t i, const json::array& content) const {
    const json::array* issued = nullptr;
    for (const json::value& b : content) {
      if (b.at("type") != "tool_use") continue;
      auto it = turns_.find(std::string(b.at("id").as_string()));
      if (it != turns_.end()) issued = &it->second;
    }
    if (issued == nullptr) return std::nullopt;
    json::array leading;
    for (const json::value& b : content) {
      if (b.at("type") != "thinking" && b.at("type") != "redacted_thinking") break;
      leading.push_back(Essential(b.as_object()));
    }
    if (leading.empty()) {
      return AnthropicError(
          400, "invalid_request_error",
          "messages." + std::to_string(i) +
              ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `" +
              std::string(content.at(0).at("type").as_string()) +
              "`. When `thinking` is enabled, a final `assistant` message must start with a "
              "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` "
              "blocks).");
    }
    if (leading != *issued) {
      return AnthropicError(
          400, "invalid_request_error",
          "messages." + std::to_string(i) +
              ".content: the thinking and redacted_thinking blocks of the final assistant turn "
              "must be passed back exactly as they were received");
    }
    return std::nullopt;
  }

  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> signatures_;  // signature -> thinking text
  std::set<std::string, std::less<>> redacted_;                 // redacted_thinking data
  std::map<std::string, json::array, std::less<>> turns_;       // tool_use id -> its turn's
};

// POST /v1/messages/count_tokens (MessageCountTokensParams): no max_tokens, no stream.
std::optional<Action> AnthropicCountTokens(const json::object& body) {
  static const std::set<std::string, std::less<>> kFields = {
      "model",         "messages",     "system",      "tools",
      "thinking",      "tool_choice",  "mcp_servers", "context_management",
      "output_config", "output_format"};
  for (const auto& kv : body) {
    if (!kFields.contains(kv.key())) {
      return AnthropicError(400, "invalid_request_error",
                            std::string(kv.key()) + ": Extra inputs are not permitted");
    }
  }
  for (const char* required : {"model", "messages"}) {
    if (!body.contains(required)) {
      return AnthropicError(400, "invalid_request_error",
                            std::string(required) + ": Field required");
    }
  }
  return std::nullopt;
}

// The model a Gemini path names: ".../models/{model}:method" -> "models/{model}".
std::string PathModel(const std::string& target) {
  const size_t at = target.find("/models/");
  if (at == std::string::npos) return {};
  const size_t end = target.find(':', at);
  return target.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

// One EmbedContentRequest (`field` names it in errors) for the path's `model`.
std::optional<Action> GeminiEmbedRequest(const json::object& body, const std::string& model,
                                         const std::string& field, bool model_required) {
  static const std::set<std::string, std::less<>> kFields = {"model", "content", "taskType",
                                                             "title", "outputDimensionality"};
  static const std::set<std::string, std::less<>> kTaskTypes = {
      "TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY",   "RETRIEVAL_DOCUMENT",
      "SEMANTIC_SIMILARITY",   "CLASSIFICATION",    "CLUSTERING",
      "QUESTION_ANSWERING",    "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"};
  for (const auto& kv : body) {
    const std::string key = Camel(kv.key());
    if (!kFields.contains(key)) return UnknownName(kv.key(), field);
    const json::value& v = kv.value();
    if (key == "taskType" && (!v.is_string() || !kTaskTypes.contains(v.as_string()))) {
      return GoogleError(400, "INVALID_ARGUMENT",
                         "Invalid value at '" + field +
                             ".task_type' (type.googleapis.com/"
                             "google.ai.generativelanguage.v1beta.TaskType), " +
                             json::serialize(v));
    }
    if (key == "outputDimensionality" && (!v.is_int64() || v.as_int64() < 1)) {
      return GoogleError(400, "INVALID_ARGUMENT",
                         "* " + field + ".output_dimensionality: must be a positive integer\n");
    }
    if (key == "model" && (!v.is_string() || v.as_string() != model)) {
      return GoogleError(400, "INVALID_ARGUMENT",
                         "Model in " + field + " " + json::serialize(v) +
                             " does not match the model in the path " + model + ".");
    }
  }
  if (model_required && !body.contains("model")) {
    return GoogleError(400, "INVALID_ARGUMENT", "* " + field + ".model: model is required\n");
  }
  const auto* content = body.if_contains("content");
  const auto* parts =
      content && content->is_object() ? content->as_object().if_contains("parts") : nullptr;
  if (!parts || !parts->is_array() || parts->as_array().empty()) {
    return GoogleError(400, "INVALID_ARGUMENT",
                       "* " + field + ".content.parts: contents.parts must not be empty.\n");
  }
  return std::nullopt;
}

// POST models/{m}:embedContent and :batchEmbedContents.
std::optional<Action> GeminiEmbed(const Recorded& r, const json::object& body) {
  const std::string model = PathModel(r.target);
  if (r.target.find(":batchEmbedContents") == std::string::npos) {
    return GeminiEmbedRequest(body, model, "EmbedContentRequest", false);
  }
  for (const auto& kv : body) {
    if (kv.key() != "requests") return UnknownName(kv.key(), "BatchEmbedContentsRequest");
  }
  const auto* requests = body.if_contains("requests");
  if (!requests || !requests->is_array() || requests->as_array().empty()) {
    return GoogleError(400, "INVALID_ARGUMENT",
                       "* BatchEmbedContentsRequest.requests: requests is required\n");
  }
  size_t i = 0;
  for (const auto& request : requests->as_array()) {
    const std::string field = "BatchEmbedContentsRequest.requests[" + std::to_string(i++) + "]";
    if (!request.is_object()) {
      return GoogleError(400, "INVALID_ARGUMENT", "Invalid value at '" + field + "'");
    }
    if (auto reject = GeminiEmbedRequest(request.as_object(), model, field, true)) return reject;
  }
  return std::nullopt;
}

Action OpenAiError(int status, std::string_view message, std::string_view param,
                   std::string_view code) {
  json::object err{{"message", message},
                   {"type", "invalid_request_error"},
                   {"param", param.empty() ? json::value(nullptr) : json::value(param)},
                   {"code", code.empty() ? json::value(nullptr) : json::value(code)}};
  return Action{.status = status, .body = json::serialize(json::object{{"error", err}})};
}

// POST /v1/responses: the top-level fields of ResponseCreateParams as openai-node
// (src/resources/responses/responses.ts) and the API reference list them.
std::optional<Action> OpenAiResponsesBody(const json::object& body) {
  static const std::set<std::string, std::less<>> kFields = {"background",
                                                             "context_management",
                                                             "conversation",
                                                             "include",
                                                             "input",
                                                             "instructions",
                                                             "max_output_tokens",
                                                             "max_tool_calls",
                                                             "metadata",
                                                             "model",
                                                             "moderation",
                                                             "parallel_tool_calls",
                                                             "previous_response_id",
                                                             "prompt",
                                                             "prompt_cache_key",
                                                             "prompt_cache_options",
                                                             "prompt_cache_retention",
                                                             "reasoning",
                                                             "safety_identifier",
                                                             "service_tier",
                                                             "store",
                                                             "stream",
                                                             "stream_options",
                                                             "temperature",
                                                             "text",
                                                             "tool_choice",
                                                             "tools",
                                                             "top_logprobs",
                                                             "top_p",
                                                             "truncation",
                                                             "user"};
  for (const auto& kv : body) {
    if (!kFields.contains(kv.key())) {
      return OpenAiError(400, "Unknown parameter: '" + std::string(kv.key()) + "'.", kv.key(),
                         "unknown_parameter");
    }
  }
  const auto* model = body.if_contains("model");
  if (!model || !model->is_string() || model->as_string().empty()) {
    return OpenAiError(400, "Missing required parameter: 'model'.", "model",
                       "missing_required_parameter");
  }
  if (const auto* prev = body.if_contains("previous_response_id"); prev && !prev->is_null()) {
    return OpenAiError(404, "Previous response with id '" + json::serialize(*prev) + "' not found.",
                       "previous_response_id", "previous_response_not_found");
  }
  const auto* store = body.if_contains("store");
  const bool stored = !store || !store->is_bool() || store->as_bool();
  const auto* input = body.if_contains("input");
  if (stored || !input || !input->is_array()) return std::nullopt;
  for (const auto& item : input->as_array()) {
    const auto* obj = item.if_object();
    const auto* type = obj ? obj->if_contains("type") : nullptr;
    if (!type || *type != "reasoning") continue;
    const auto* encrypted = obj->if_contains("encrypted_content");
    if (!encrypted || encrypted->is_null()) {
      const auto* id = obj->if_contains("id");
      return OpenAiError(404,
                         "Item with id " + (id ? json::serialize(*id) : std::string("''")) +
                             " not found. Items are not persisted when `store` is set to false.",
                         "input", "");
    }
  }
  return std::nullopt;
}

// POST models/{m}:countTokens: contents, or a whole generateContentRequest naming its model.
std::optional<Action> GeminiCountTokens(const json::object& body) {
  if (const auto* g = body.if_contains("generateContentRequest")) {
    if (body.size() != 1) {
      return GoogleError(400, "INVALID_ARGUMENT",
                         "contents and generateContentRequest cannot both be set");
    }
    json::object inner = g->as_object();
    if (!inner.contains("model")) {
      return GoogleError(400, "INVALID_ARGUMENT",
                         "* CountTokensRequest.generate_content_request.model: model is required");
    }
    inner.erase("model");
    return GeminiContent(inner);
  }
  return GeminiContent(body);
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
    if (r.target.ends_with("/messages/count_tokens"))
      return AnthropicCountTokens(body->as_object());
    return AnthropicMessage(body->as_object(), !Header(r, "anthropic-beta").empty());
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
    if (r.target.find(":countTokens") != std::string::npos) {
      return GeminiCountTokens(body->as_object());
    }
    if (r.target.find(":embedContent") != std::string::npos ||
        r.target.find(":batchEmbedContents") != std::string::npos) {
      return GeminiEmbed(r, body->as_object());
    }
    return GeminiContent(body->as_object());
  } catch (const std::exception& e) {
    return GoogleError(400, "INVALID_ARGUMENT", std::string("Invalid value: ") + e.what());
  }
}

std::optional<Action> OpenAiResponsesRejects(const Recorded& r) {
  if (Header(r, "authorization") != "Bearer " + std::string(kFakeOpenAiKey)) {
    return OpenAiError(401, "Incorrect API key provided.", "", "invalid_api_key");
  }
  auto body = ParseBody(r);
  if (!body) {
    return OpenAiError(400, "We could not parse the JSON body of your request.", "", "");
  }
  try {
    return OpenAiResponsesBody(body->as_object());
  } catch (const std::exception& e) {  // a wrong type somewhere
    return OpenAiError(400, std::string("Invalid request: ") + e.what(), "", "invalid_value");
  }
}

FakeUpstream::Script ValidatingOpenAiResponses(FakeUpstream::Script answer) {
  return [answer = std::move(answer)](const Recorded& r) {
    if (r.method == "POST" && r.target == "/v1/responses") {
      if (auto reject = OpenAiResponsesRejects(r)) return *reject;
    }
    if (r.method == "GET") return Action{.body = R"({"object":"list","data":[]})"};
    return answer(r);
  };
}

FakeUpstream::Script ValidatingAnthropic(FakeUpstream::Script answer) {
  auto issued = std::make_shared<IssuedThinking>();
  return [answer = std::move(answer), issued](const Recorded& r) {
    if (auto reject = AnthropicRejects(r)) return *reject;
    if (r.method == "GET") return Action{.body = R"({"data":[],"has_more":false})"};
    try {
      if (auto reject = issued->Check(ParseBody(r)->as_object())) return *reject;
    } catch (const std::exception& e) {
      return AnthropicError(400, "invalid_request_error",
                            std::string("invalid request: ") + e.what());
    }
    Action a = answer(r);
    issued->Record(a);
    return a;
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

std::string FakeThinkingSignature(std::string_view thinking) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : thinking) h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return "sig-" + std::string(hex);
}

json::array AnthropicContentFromSse(std::string_view sse) {
  json::array content;
  std::string args;
  for (size_t pos = 0; (pos = sse.find("data: ", pos)) != std::string_view::npos;) {
    const size_t end = std::min(sse.find('\n', pos), sse.size());
    const json::value v = json::parse(sse.substr(pos + 6, end - pos - 6));
    pos = end;
    const auto& type = v.at("type").as_string();
    if (type == "content_block_start") {
      content.push_back(v.at("content_block"));
      args.clear();
      continue;
    }
    if (content.empty()) continue;
    json::object& b = content.back().as_object();
    if (type == "content_block_stop" && b.at("type") == "tool_use" && !args.empty()) {
      b["input"] = json::parse(args);
    }
    if (type != "content_block_delta") continue;
    const json::object& d = v.at("delta").as_object();
    const auto& dt = d.at("type").as_string();
    auto append = [&](std::string_view key) {
      b[key] = std::string(b.at(key).as_string()) + std::string(d.at(key).as_string());
    };
    if (dt == "text_delta") append("text");
    if (dt == "thinking_delta") append("thinking");
    if (dt == "signature_delta") b["signature"] = d.at("signature");
    if (dt == "input_json_delta") args += d.at("partial_json").as_string();
  }
  return content;
}

std::string SseData(std::string_view data) { return "data: " + std::string(data) + "\n\n"; }

std::vector<std::pair<std::string, boost::json::value>> NamedSseEvents(const std::string& sse) {
  std::vector<std::pair<std::string, boost::json::value>> out;
  size_t pos = 0;
  while ((pos = sse.find("event: ", pos)) != std::string::npos) {
    const size_t eol = sse.find('\n', pos);
    const std::string name = sse.substr(pos + 7, eol - pos - 7);
    const size_t data = sse.find("data: ", eol);
    const size_t end = sse.find("\n\n", data);
    out.emplace_back(name, boost::json::parse(sse.substr(data + 6, end - data - 6)));
    pos = end;
  }
  return out;
}

}  // namespace hybridgate::testing
