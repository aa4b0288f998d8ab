// Parsing JSON at the edge: one simdjson DOM parser per thread (reused, so no allocation once
// warm), with UTF-8 validation and a nesting limit. The returned element is valid only until the
// next Parse on the same thread: decode it synchronously, never across a co_await.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hybridgate::api {

inline constexpr size_t kMaxJsonDepth = 64;

// Parses `body`; may grow its capacity for simdjson's padding (no copy when capacity allows).
Result<simdjson::dom::element> ParseJson(std::string& body);
// Same for a view: copies into a padded buffer (use for small upstream chunks).
Result<simdjson::dom::element> ParseJsonView(std::string_view json);

// One OpenAI chat.completion.chunk of an upstream stream, for the dialect translators: malformed
// JSON, or an in-stream {"error":{...}} event, is a kUpstreamUnavailable Error.
Result<simdjson::dom::element> ParseOpenAiChunk(std::string_view chunk_json);

// Re-serialises a JSON object with top-level `key` set to the string `value` (other fields kept
// verbatim, minified). For forwarding bodies HybridGate does not model.
Result<std::string> ReplaceStringField(std::string_view json, std::string_view key,
                                       std::string_view value);

// Re-serialises the JSON document `json` minified, each object keeping only the FIRST of
// duplicate keys — the one simdjson's lookup (and so every check the gateway makes) reads. For a
// body forwarded as received, so that what is scanned, checked and priced is what is sent, not
// what an upstream that takes the last duplicate would read.
Result<std::string> CanonicalJson(std::string_view json);

// A parser separate from the thread's main one, for JSON nested inside JSON (tool-call arguments,
// tool results), so parsing it does not invalidate the outer document.
simdjson::dom::parser& NestedParser();

// Lenient readers for upstream documents: "" / 0 / false when the key is absent or of another
// type (an upstream's omission is not the client's error).
std::string_view StrField(simdjson::dom::element v, std::string_view key);
int64_t IntField(simdjson::dom::element v, std::string_view key);
bool BoolField(simdjson::dom::element v, std::string_view key);

// Field readers shared by the ingress decoders: errors name the field path in `param` and say
// what was expected and what came ("'max_tokens' must be an integer, got a string").
Error FieldError(const std::string& field, std::string_view expectation,
                 simdjson::dom::element got);
Error MissingField(const std::string& field);
// "field[index]": the name of an array element, built for every element a decoder reads (so by
// hand, not with fmt).
std::string IndexedField(std::string_view field, size_t index);
Status ReadString(simdjson::dom::element v, const std::string& field, std::string& out);
// The same for the field `base` + `suffix` ("messages[0]" + ".role"), whose name is only put
// together for an error: on the usual path it would cost an allocation per field.
Status ReadString(simdjson::dom::element v, const std::string& base, std::string_view suffix,
                  std::string& out);
// null leaves `out` unset.
Status ReadDouble(simdjson::dom::element v, const std::string& field, std::optional<double>& out);
Status ReadInt(simdjson::dom::element v, const std::string& field, std::optional<int64_t>& out);
Status ReadBool(simdjson::dom::element v, const std::string& field, std::optional<bool>& out);

// "a string", "an integer", ... for error messages.
std::string_view JsonTypeName(simdjson::dom::element_type t);

}  // namespace hybridgate::api
