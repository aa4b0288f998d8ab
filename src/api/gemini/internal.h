// Helpers shared by the Gemini dialect's translation units. Not part of the public API.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "api/json.h"
#include "common/json_writer.h"

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

}  // namespace hybridgate::api::gemini::internal
