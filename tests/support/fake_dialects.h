// Validating fakes of the closed APIs HybridGate translates to (Anthropic Messages, Gemini
// generateContent): scripts for FakeUpstream that first check each request the way the real API
// does — required headers and fields, allowed roles, unknown fields, tool ids — and reject it
// with that API's own error body, so a gateway that sends a malformed request fails the test
// instead of getting a canned success. Only then is the test's own script asked for the answer.
// Also canned answers in those wire formats.
#pragma once

#include <boost/json.hpp>
#include <boost/json/array.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/fake_upstream.h"

namespace hybridgate::testing {

// The key the validating fakes accept.
inline constexpr std::string_view kFakeAnthropicKey = "sk-ant-test";
inline constexpr std::string_view kFakeGeminiKey = "AIza-test";
inline constexpr std::string_view kFakeOpenAiKey = "sk-openai-test";

// The rejection Anthropic's API would answer `r` with, if any: 401 authentication_error without
// a valid x-api-key; 400 invalid_request_error without anthropic-version, without model,
// max_tokens or messages, with a role other than user/assistant in messages (system too, with
// an anthropic-beta header), a top-level field that is not one of the documented
// MessageCreateParams (the beta API's too, with an anthropic-beta header: context_management,
// ...), a custom tool without name/input_schema (server tools are named by their type), a
// tool_result whose tool_use_id is not a tool_use of the previous assistant turn, or (thinking
// enabled or adaptive) a thinking block with an empty or missing signature.
std::optional<Action> AnthropicRejects(const Recorded& r);
// The rejection Gemini's API would answer `r` with, if any: 403 PERMISSION_DENIED without
// x-goog-api-key, 400 INVALID_ARGUMENT/API_KEY_INVALID with a wrong one, 400 INVALID_ARGUMENT for a
// role other than user/model, empty contents or parts, unknown fields (of the request and of its
// generationConfig), a responseSchema or a function's `parameters` that is not Google's Schema
// (upper-case types, its own fields: JSON Schema goes in responseJsonSchema and
// parametersJsonSchema), both schema forms at once or a schema without a JSON (or enum) MIME
// type, a functionResponse without a name, or streamGenerateContent without alt=sse. At
// :countTokens: contents as above, or a generateContentRequest with its model. At :embedContent
// (EmbedContentRequest): a field other than model, content, taskType, title and
// outputDimensionality, no content or empty parts, an unknown taskType, an outputDimensionality
// that is not a positive integer, or a model other than the path's; at :batchEmbedContents: a field
// other than requests, no requests, or a request as above whose model (required) is not the path's.
std::optional<Action> GeminiRejects(const Recorded& r);
// The rejection OpenAI's Responses API would answer a POST /v1/responses `r` with, if any: 401
// invalid_api_key without `Authorization: Bearer <kFakeOpenAiKey>`; 400 invalid_request_error for
// a body that is not a JSON object, a top-level field that is not one of the documented
// ResponseCreateParams (unknown_parameter, naming it), or no model; 404 for a
// previous_response_id (this fake keeps nothing: previous_response_not_found) and — store false —
// for an input item of type reasoning without encrypted_content (nothing stored resolves it).
std::optional<Action> OpenAiResponsesRejects(const Recorded& r);

// `answer` wrapped so that every request is validated first. The Anthropic one also remembers the
// thinking blocks its answers issued (non-stream and streamed: signatures, redacted_thinking
// data, and the tool_use ids of their turn) and, when a request enables thinking, rejects as the
// real API does (400 invalid_request_error) a thinking block whose signature it did not issue for
// that text, a redacted_thinking block whose data it did not issue, and a final assistant turn
// with an issued tool_use that does not start with exactly that turn's issued thinking blocks
// (one dropped, reordered or altered).
FakeUpstream::Script ValidatingAnthropic(FakeUpstream::Script answer);
FakeUpstream::Script ValidatingGemini(FakeUpstream::Script answer);
// Every POST /v1/responses is validated first (OpenAiResponsesRejects); other requests (chat
// completions, the readiness probe's GET /v1/models) go to `answer` as they are.
FakeUpstream::Script ValidatingOpenAiResponses(FakeUpstream::Script answer);

// "event: <type>\ndata: <data>\n\n" with the type read from `data`'s "type" field.
std::string AnthropicEvent(std::string_view data);
// A deterministic signature for a thinking block's text, for scripts: "sig-" and 16 hex digits.
std::string FakeThinkingSignature(std::string_view thinking);
// The content blocks of the assistant turn in an Anthropic SSE body, assembled as the SDKs do:
// text and thinking deltas appended, signature_delta sets the signature, input_json_delta
// parsed into the tool_use's input at the block's end.
boost::json::array AnthropicContentFromSse(std::string_view sse);
// "data: <data>\n\n".
std::string SseData(std::string_view data);

// Splits an SSE body of named events (Anthropic's, the Responses API's) into (event, data)
// pairs, each data parsed as JSON.
std::vector<std::pair<std::string, boost::json::value>> NamedSseEvents(const std::string& sse);

}  // namespace hybridgate::testing
