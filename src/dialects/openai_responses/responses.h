// OpenAI's Responses API: POST /v1/responses, served by any provider. The request's `input`
// (a string, or items: messages with text/image/file parts, function_call,
// function_call_output, reasoning), `instructions`, function tools, `tool_choice`,
// `text.format`, `reasoning.effort` and `max_output_tokens` decode into the one ChatRequest; the
// upstream's chat answer is written back as a Response object, and its chunks as the documented
// event sequence (response.created, output_item.added, content_part.added,
// output_text.delta, function_call_arguments.delta, ..., response.completed; a failure as
// `error` then response.failed).
//
// What has no chat equivalent: built-in tools (web_search, file_search, code_interpreter, ...),
// `background`, `conversation`, `prompt` templates and item references are refused with a 400
// that names them; other fields the gateway does not know are dropped and named in the answer's
// x-hybridgate-dropped-fields header (an unknown field is never forwarded to an upstream that
// would reject it). `store` and `previous_response_id` are kept by the gateway's response store
// (gateway/response_store.h), not here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dialects/dialect.h"

namespace hybridgate::dialects {

// What a Responses request keeps for its answer: the fields the Response object echoes, and
// what the store needs.
struct ResponsesContext final : RequestContext {
  std::string_view dropped_fields() const override { return dropped; }
  Conversation* conversation() override { return &conv; }

  // id ("resp_" + 32 hex digits), previous_response_id, store (default true), the input as
  // items with ids (a string input becomes one user message), and once answered the output
  // items and the Response object.
  Conversation conv;
  int64_t created_at = 0;
  // Echoed as JSON.
  std::string instructions = "null";
  std::string metadata = "{}";
  std::string tools = "[]";
  std::string tool_choice = "\"auto\"";
  std::string text = R"({"format":{"type":"text"}})";
  std::string reasoning = R"({"effort":null,"summary":null})";
  std::optional<int64_t> max_output_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  bool parallel_tool_calls = true;
  std::string user;
  std::string dropped;  // unknown top-level fields, comma-separated
  // Whether `instructions` became the request's first (system) message: replayed history goes
  // after it.
  bool has_instructions = false;
};

class OpenAiResponses final : public ClientDialect {
 public:
  std::string_view endpoint() const override { return "responses"; }
  std::string_view log_path() const override { return "/v1/responses"; }
  bool Serves(std::string_view path) const override { return path == "/v1/responses"; }
  bool Owns(std::string_view path) const override {
    return path == "/v1/responses" || path.starts_with("/v1/responses/");
  }
  Status Decode(const http::Request& request, std::string_view path, std::string& body,
                api::ChatRequest& out, std::unique_ptr<RequestContext>& context) const override;
  Status EncodeAnswer(std::string& body, const api::ChatRequest& request,
                      RequestContext* context) const override;
  std::string EncodeError(const Error& error) const override;
  std::unique_ptr<StreamEncoder> NewStream(const api::ChatRequest& request,
                                           RequestContext* context) const override;
  Status Replay(std::string_view items, api::ChatRequest& request) const override;
  // response.completed always carries usage.
  bool AlwaysUsage(const api::ChatRequest&) const override { return true; }
};

namespace responses {

// Decodes a Responses request body (exposed for tests).
Status DecodeRequest(std::string& body, api::ChatRequest& out, ResponsesContext& context);

// Appends `items` (a JSON array of Responses input or output items) to `out` as chat messages.
Status AppendItems(std::string_view items, api::ChatRequest& out);

// An OpenAI chat completion -> the Response object (also kept in `context.response`).
Result<std::string> EncodeResponse(std::string_view openai_body, ResponsesContext& context);

// A new id with `prefix` ("resp_", "msg_", "fc_", "rs_") and 32 hex digits.
std::string NewId(std::string_view prefix);

}  // namespace responses

}  // namespace hybridgate::dialects
