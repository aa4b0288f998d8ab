// Helpers shared by the Gemini dialect's translation units. Not part of the public API.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "api/json.h"
#include "common/json_writer.h"
#include "common/result.h"

namespace hybridgate::api::gemini::internal {

using ::hybridgate::api::NestedParser;

// Lenient readers (api/json.h).
inline std::string_view Str(simdjson::dom::element v, std::string_view key) {
  return StrField(v, key);
}
inline int64_t Int(simdjson::dom::element v, std::string_view key) { return IntField(v, key); }
inline bool Bool(simdjson::dom::element v, std::string_view key) { return BoolField(v, key); }

// Usage numbers in OpenAI terms from a usageMetadata object.
struct Usage {
  int64_t prompt = 0;
  int64_t completion = 0;  // candidates + thoughts
  int64_t reasoning = 0;
  int64_t cached = 0;
};
Usage ReadUsage(simdjson::dom::element usage_metadata);
void WriteUsage(JsonWriter& w, const Usage& u);

// The other way (ingress): an OpenAI "usage" object -> Usage, and Usage -> a usageMetadata value.
Usage ReadOpenAiUsage(simdjson::dom::element usage);
void WriteUsageMetadata(JsonWriter& w, const Usage& u);

// OpenAI finish_reason -> Gemini finishReason.
std::string_view FinishToGemini(std::string_view finish_reason);

// A functionCall part {"functionCall":{"id","name","args"},"thoughtSignature"}; `arguments` is
// the OpenAI tool call's JSON text ({} when it is not a JSON object).
void WriteFunctionCallPart(JsonWriter& w, std::string_view id, std::string_view name,
                           std::string_view arguments, std::string_view signature);
// tool_calls[i].extra_content.google.thought_signature, "" when absent.
std::string_view ToolCallSignature(simdjson::dom::element tool_call);

// Ingress decoding (request_decode.cc, request_decode_config.cc).
// Google's Schema (OpenAPI subset: upper-case types, nullable) -> JSON Schema, minified.
std::string SchemaToJsonSchema(simdjson::dom::element schema);
Status ReadTools(simdjson::dom::element tools, std::vector<Tool>& out);
Status ReadToolConfig(simdjson::dom::element tool_config, ToolChoice& out);
Status ReadGenerationConfig(simdjson::dom::element generation_config, ChatRequest& req);
// A generationConfig member that holds the response schema (responseSchema, responseJsonSchema
// and the SDKs' _responseJsonSchema, in either case style).
bool IsResponseSchemaKey(std::string_view key);

// Google's JSON mapping accepts snake_case for every field: `key` equals `camel` up to that.
bool KeyIs(std::string_view key, std::string_view camel);
// obj[camel] or obj[snake_case of camel]; false when absent or `obj` is not an object.
bool Find(simdjson::dom::element obj, std::string_view camel, simdjson::dom::element& out);

}  // namespace hybridgate::api::gemini::internal
