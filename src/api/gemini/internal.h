// Helpers shared by the Gemini dialect's translation units. Not part of the public API.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_writer.h"

namespace hybridgate::api::gemini::internal {

// A parser separate from the thread's main one (api/json.h), for JSON nested in a request
// (tool-call arguments, tool results), so neither invalidates the other's document.
simdjson::dom::parser& NestedParser();

// Lenient readers: "" / 0 / false when the key is absent or of another type.
std::string_view Str(simdjson::dom::element v, std::string_view key);
int64_t Int(simdjson::dom::element v, std::string_view key);
bool Bool(simdjson::dom::element v, std::string_view key);

// Usage numbers in OpenAI terms from a usageMetadata object.
struct Usage {
  int64_t prompt = 0;
  int64_t completion = 0;  // candidates + thoughts
  int64_t reasoning = 0;
  int64_t cached = 0;
};
Usage ReadUsage(simdjson::dom::element usage_metadata);
void WriteUsage(JsonWriter& w, const Usage& u);

}  // namespace hybridgate::api::gemini::internal
