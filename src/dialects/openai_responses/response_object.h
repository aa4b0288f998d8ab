// Writing Response objects and their output items: shared by the answer and stream encoders.
// Internal to the dialect.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "dialects/openai_responses/responses.h"

namespace hybridgate::dialects::responses {

struct Usage {
  int64_t input = 0;
  int64_t cached = 0;
  int64_t output = 0;
  int64_t reasoning = 0;
};

// What a Response object says beyond its request's echo.
struct ResponseState {
  std::string_view status = "completed";  // in_progress | completed | incomplete | failed
  std::string model;
  std::string output_items;            // JSON array; empty: []
  std::optional<Usage> usage;          // null while in progress
  std::string_view incomplete_reason;  // max_output_tokens | content_filter
  std::string error_json;              // {"code","message"} when failed
};

void WriteResponse(std::string& out, const ResponsesContext& ctx, const ResponseState& state);
void WriteUsage(JsonWriter& w, const Usage& u);
Usage ReadUsage(simdjson::dom::element usage);
void WriteMessageItem(JsonWriter& w, std::string_view id, std::string_view status,
                      std::string_view text, std::string_view refusal);
void WriteReasoningItem(JsonWriter& w, std::string_view id, std::string_view text);
void WriteCallItem(JsonWriter& w, std::string_view id, std::string_view status,
                   std::string_view call_id, std::string_view name, std::string_view arguments);
// chat finish_reason -> incomplete_details.reason ("" when the answer is complete).
std::string_view IncompleteReason(std::string_view finish_reason);

// The upstream's own Response object (same-dialect passthrough) with what routing changed put
// back: the gateway's id, the client's store and previous_response_id; every other field kept.
// Once it is final (completed, incomplete), `ctx.conv` keeps its output items and the object.
std::string RewriteNativeResponse(simdjson::dom::element response, ResponsesContext& ctx);

}  // namespace hybridgate::dialects::responses
