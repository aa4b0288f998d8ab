// Helpers shared by the Anthropic dialect's translation units. Not part of the public API.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "api/json.h"

namespace hybridgate::api::anthropic::internal {

using ::hybridgate::api::NestedParser;

// Writes `args` minified to `out` when it is a JSON object (blank counts as {}).
// Returns false when `args` is not a JSON object.
bool MinifyObject(std::string_view args, std::string& out);

// Anthropic stop_reason <-> OpenAI finish_reason.
std::string_view StopToFinish(std::string_view stop_reason);
std::string_view FinishToStop(std::string_view finish_reason);

// Lenient readers (api/json.h).
inline std::string_view Str(simdjson::dom::element v, std::string_view key) {
  return StrField(v, key);
}
inline int64_t Int(simdjson::dom::element v, std::string_view key) { return IntField(v, key); }

}  // namespace hybridgate::api::anthropic::internal
