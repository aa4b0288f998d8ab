// Helpers shared by the Anthropic dialect's translation units. Not part of the public API.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace hybridgate::api::anthropic::internal {

// A second parser, for JSON nested inside a document held by the thread's main parser
// (tool-call arguments): a Parse on the main parser would invalidate the outer document.
simdjson::dom::parser& NestedParser();

// Writes `args` minified to `out` when it is a JSON object (blank counts as {}).
// Returns false when `args` is not a JSON object.
bool MinifyObject(std::string_view args, std::string& out);

// Anthropic stop_reason <-> OpenAI finish_reason.
std::string_view StopToFinish(std::string_view stop_reason);
std::string_view FinishToStop(std::string_view finish_reason);

// Lenient readers: "" / 0 / false when the key is absent or of another type.
std::string_view Str(simdjson::dom::element v, std::string_view key);
int64_t Int(simdjson::dom::element v, std::string_view key);

}  // namespace hybridgate::api::anthropic::internal
