// OpenAI's Responses API: POST /v1/responses, served by any provider. The request's `input`
// (a string, or items: messages with text/image/file parts, function_call,
// function_call_output, reasoning), `instructions`, function tools, `tool_choice`,
// `text.format`, `reasoning.effort` and `max_output_tokens` decode into the one ChatRequest; the
// upstream's chat answer is written back as a Response object, and its chunks as the documented
// event sequence (response.created, output_item.added, content_part.added,
// output_text.delta, function_call_arguments.delta, ..., response.completed; a failure as
// `error` then response.failed).
//
// What has no chat equivalent: a built-in tool (web_search, file_search, code_interpreter, ...)
// the model may use is dropped and named; what only OpenAI's Responses API can do (a
// tool_choice that requires a built-in tool, a stored `conversation`, a `prompt` template) sets
// ChatRequest::native_only, so only a provider with `responses_api` serves it and every other
// candidate refuses it with a 400 naming why; `background` and item references are 400s;
// `include`, `truncation: auto` and `max_tool_calls` are named as dropped, `service_tier` and
// `safety_identifier` go on as chat fields; other fields the gateway does not know are dropped
// and named in the answer's x-hybridgate-dropped-fields header (an unknown field is never
// forwarded to an upstream that would reject it). `store` and `previous_response_id` are kept by
// the gateway's response store (gateway/response_store.h), not here.
//
// An `openai` provider with `responses_api` gets the request as the client wrote it instead
// (ChatRequest::native_body, UpstreamBody), only what routing must change changed: the model id
// (the provider's job), `store: false` and no `previous_response_id` — the gateway keeps the
// conversation, so a continued one is sent whole as `input` (Replay) and the upstream keeps
// nothing. Its answer and events reach the client unchanged but for the Response object's `id`
// (the gateway's, which GET /v1/responses/{id} and previous_response_id know), `store` and
// `previous_response_id` (the client's), put back by EncodeNativeAnswer and the stream's
// Native; the store keeps that answer. A request redaction rewrote is translated as usual.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dialects/dialect.h"

namespace hybridgate::dialects {

// What a Responses request keeps for its answer: the fields the Response object echoes, and
// what the store needs.
struct ResponsesContext final : RequestContext {
  // An upstream of this API got every field as sent (`native`): none was dropped.
  std::string_view dropped_fields() const override {
    return native ? std::string_view() : std::string_view(dropped);
  }
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
  // The answer is an upstream's own (same-dialect passthrough: EncodeNativeAnswer, or the
  // stream's Native), set before its headers are written.
  bool native = false;
};

class OpenAiResponses final : public ClientDialect {
 public:
  std::string_view endpoint() const override { return "responses"; }
  std::string_view log_path() const override { return "/v1/responses"; }
  bool Serves(std::string_view path) const override { return path == "/v1/responses"; }
  bool Owns(std::string_view path) const override {
    return path == "/v1/responses" || path.starts_with("/v1/responses/");
  }
  // Also keeps the canonical body, prepared for an upstream of this API (native_body), and the
  // client's OpenAI-Beta.
  Status Decode(const http::Request& request, std::string_view path, std::string& body,
                api::ChatRequest& out, std::unique_ptr<RequestContext>& context) const override;
  Status EncodeAnswer(std::string& body, const api::ChatRequest& request,
                      RequestContext* context) const override;
  Status EncodeNativeAnswer(std::string& body, RequestContext* context) const override;
  std::string EncodeError(const Error& error) const override;
  std::unique_ptr<StreamEncoder> NewStream(const api::ChatRequest& request,
                                           RequestContext* context) const override;
  // The history goes in front of the decoded messages, and into native_body's input.
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

// The body an upstream that speaks this API is sent (ChatRequest::native_body): the client's
// canonical `body` with `store: false` and without `previous_response_id`. With `history` (a
// stored conversation's items, a JSON array; "" for none) the input is that history followed by
// the request's own input (a string input becoming one user message). Replayed items lose their
// ids and statuses (the gateway's, or an upstream's that kept nothing); reasoning items without
// encrypted_content, which only the upstream that made them could resolve, and the items of
// OpenAI's built-in tools are left out (what they found is in the answers' text).
Result<std::string> UpstreamBody(std::string_view body, std::string_view history);

// A new id with `prefix` ("resp_", "msg_", "fc_", "rs_") and 32 hex digits.
std::string NewId(std::string_view prefix);

}  // namespace responses

}  // namespace hybridgate::dialects
