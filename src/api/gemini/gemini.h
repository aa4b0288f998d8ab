// The Google Gemini dialect (generateContent / streamGenerateContent?alt=sse), both directions.
// Egress: ChatRequest -> Gemini request body, Gemini responses and stream chunks -> OpenAI chat
// completions, Google error bodies -> Error. Ingress: Gemini request bodies -> ChatRequest, OpenAI
// completions and chunks -> Gemini responses and SSE, Error -> Google error body. Pure
// translation: no I/O, no clock, no globals.
// Wire format: Google's Gemini API reference (Content, Part, GenerationConfig, usageMetadata).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "api/dropped.h"
#include "common/json_writer.h"
#include "common/result.h"

namespace hybridgate::api::gemini {

// Thought signatures (Gemini 3 rejects function-call history without them) have no ChatRequest
// field. DecodeRequest keeps them in Message::extra under these keys so that a Gemini client's
// history round-trips to a Gemini upstream; other egress encoders skip "gemini_*" keys.
// - kToolCallSignaturesKey: JSON array of strings parallel to Message::tool_calls ("" = none);
// - kTextSignatureKey: JSON string, the signature of the turn's last text part.
inline constexpr std::string_view kToolCallSignaturesKey = "gemini_tool_call_signatures";
inline constexpr std::string_view kTextSignatureKey = "gemini_text_signature";
// ChatRequest::extra key: generationConfig members ChatRequest does not model (thinkingConfig,
// responseModalities, ...) as one JSON object, merged back by EncodeRequest for a Gemini
// upstream when the ingress was Gemini too. Other top-level unknown fields (safetySettings,
// cachedContent, ...) are kept in ChatRequest::extra under their own names for the same purpose.
inline constexpr std::string_view kGenerationConfigKey = "gemini_generation_config";

// In OpenAI-shaped answers decoded from a Gemini upstream, a function call's thought signature
// travels as a vendor field: in stream deltas the way Google's OpenAI-compatible endpoint sends
// it, tool_calls[i].extra_content = {"google":{"thought_signature":"..."}}; in non-stream
// messages as message.extra_content = {"google":{"thought_signatures":[...]}}, parallel to
// tool_calls (the message is written by the shared api::WriteAssistantMessage). EncodeResponse
// and StreamFromOpenAi turn either back into the part's thoughtSignature.

// ChatRequest (OpenAI-shaped) -> Gemini generateContent body, appended to `out`. The model is
// part of the URL, not the body, so req.model is not written.
// - system/developer messages (wherever they are) -> "systemInstruction" {parts:[{text}]};
// - user -> role "user", assistant -> role "model"; consecutive same-role turns are merged;
// - assistant tool_calls -> functionCall parts (arguments must be a JSON object, else an Error
//   naming messages[i].tool_calls[j].function.arguments);
// - tool results -> functionResponse parts in a "user" turn; the function name is looked up from
//   the tool_call_id of an earlier assistant tool call (Error naming messages[i].tool_call_id if
//   none); the response is the result when it is a JSON object, else {"content": text};
// - images: data: URLs -> inlineData, http(s) URLs -> fileData (mime type guessed from the
//   extension, image/jpeg by default); other content parts (audio, files) are an Error;
// - reasoning_content is dropped (Gemini thought parts cannot be replayed without signatures);
//   non-function tools and logprobs are dropped;
// - reasoning_effort -> generationConfig.thinkingConfig {thinkingBudget: ReasoningBudget(effort),
//   includeThoughts: true unless "none"} (thoughts are returned as reasoning_content);
// - thought signatures kept by DecodeRequest (kToolCallSignaturesKey, kTextSignatureKey) are
//   written back as the parts' thoughtSignature;
// - tool parameters and a json_schema response_format are JSON Schema: parametersJsonSchema and
//   responseJsonSchema (responseMimeType application/json), never `parameters` /
//   `responseSchema`, which take only Google's OpenAPI subset;
// - when the ingress was Gemini, ChatRequest::extra (safetySettings, cachedContent, ...) and the
//   client's own thinkingConfig and other generationConfig members (kGenerationConfigKey) are
//   forwarded; otherwise ChatRequest::extra is dropped, and so are OpenAI's metadata and user, a
//   tool's strict, parallel_tool_calls false and Anthropic's cache_control and is_error:
//   ReportDropped names them.
Status EncodeRequest(const ChatRequest& req, std::string& out);
// What EncodeRequest leaves out of `req`, named as the client wrote it, in `out` (the answer's
// x-hybridgate-dropped-fields).
void ReportDropped(const ChatRequest& req, Dropped& out);

// Gemini GenerateContentResponse -> OpenAI chat.completion JSON. Only candidates[0] is read.
// Text parts -> content, `thought: true` parts -> reasoning_content, functionCall parts ->
// tool_calls with ids call_<index>. completion_tokens includes thoughtsTokenCount.
// `model` and `created` are the caller's (Gemini echoes neither reliably).
Result<std::string> DecodeResponse(std::string_view gemini_json, std::string_view model,
                                   int64_t created = 0);

// --- ingress: a Gemini client served by any upstream -------------------------------------------

// generateContent / streamGenerateContent request body -> ChatRequest. `model` comes from the URL
// path (models/{model}:generateContent), `stream` from the method called. Errors name the
// offending field in Gemini's own terms ("contents[2].parts[0].functionResponse.name"); keys are
// accepted in camelCase and snake_case, as Google's JSON mapping does.
// - systemInstruction -> a leading system message; roles user/function -> user, model ->
//   assistant; parts: text, thought text -> reasoning_content, inlineData/fileData images -> image
//   parts (data: URL / file URL; other MIME types are an Error), functionCall -> tool_calls (its
//   id, else "call_<content>_<part>", stable across turns of one history), functionResponse ->
//   role "tool" messages placed before the turn's other content, matched to an earlier
//   unanswered call by id, else by name;
// - tools[].functionDeclarations (parameters: Google's Schema, converted to JSON Schema: lower-case
//   types, nullable -> type [t,"null"]; parametersJsonSchema taken as is) -> tools; other tool
//   kinds (googleSearch, codeExecution) are an Error;
// - toolConfig.functionCallingConfig: AUTO/VALIDATED -> auto, NONE -> none, ANY -> required, or
//   the one function when allowedFunctionNames names exactly one;
// - generationConfig: temperature, topP, topK, maxOutputTokens, stopSequences, seed,
//   presencePenalty, frequencyPenalty, responseLogprobs/logprobs; candidateCount > 1 is an
//   Error; responseMimeType application/json -> json_object, or json_schema with responseSchema
//   / responseJsonSchema; thinkingConfig -> reasoning_effort: thinkingLevel MINIMAL/LOW/MEDIUM/
//   HIGH -> the same effort, thinkingBudget 0 -> none, -1 (dynamic) -> medium, <= 1024 -> low,
//   <= 8192 -> medium, larger -> high;
// - thoughtSignature on parts -> Message::extra (kToolCallSignaturesKey, kTextSignatureKey).
// `body` may have its capacity grown for the parser's padding.
Result<ChatRequest> DecodeRequest(std::string& body, std::string_view model, bool stream);

// OpenAI chat.completion JSON -> GenerateContentResponse JSON: candidates[0].content.parts
// (thought part from reasoning_content, text, functionCall parts with the tool call's id and
// thoughtSignature), finishReason (stop/tool_calls -> STOP, length -> MAX_TOKENS,
// content_filter -> SAFETY), usageMetadata (candidatesTokenCount excludes thoughtsTokenCount,
// cachedContentTokenCount from prompt_tokens_details.cached_tokens), modelVersion, responseId.
Result<std::string> EncodeResponse(std::string_view openai_json);

// Google's error body {"error":{"code","message","status"}} for `error`; the status string
// (INVALID_ARGUMENT, UNAUTHENTICATED, RESOURCE_EXHAUSTED, ...) follows the HTTP status. An
// upstream 4xx that is already a Google error passes through verbatim.
std::string EncodeError(const Error& error);

// The model and method of a generateContent path (".../models/{model}:{method}", without the
// query). The model is percent-decoded (malformed escapes kept) and may itself contain ':' (the
// last one separates the method) or an escaped '/'.
struct ModelPath {
  std::string model;
  bool stream = false;  // :streamGenerateContent rather than :generateContent
};
// kNotFound when the path names no "/models/", another method, or an empty model.
Result<ModelPath> ParseModelPath(std::string_view path);

// OpenAI chat.completion.chunk JSON documents (or "[DONE]") -> the SSE text of
// streamGenerateContent?alt=sse ("data: {GenerateContentResponse}\r\n\r\n" each). Text and thought
// deltas are forwarded as they arrive; a tool call's functionCall part is emitted whole once its
// arguments are complete (the next call starts, or the choice finishes), since Gemini streams
// functionCall parts whole; the last chunk carries finishReason and usageMetadata and waits for
// the usage chunk (or "[DONE]", or Finish). One instance per stream.
class StreamFromOpenAi {
 public:
  // `model` is the modelVersion written when not empty (else the chunks' model).
  explicit StreamFromOpenAi(std::string model = {}) : model_(std::move(model)) {}
  Status Feed(std::string_view chunk_json, std::string& out);
  // Flushes pending functionCall parts and the final chunk if the upstream didn't (idempotent).
  void Finish(std::string& out);

 private:
  struct PendingCall {
    int index = -1;
    std::string id;
    std::string name;
    std::string arguments;
    std::string signature;
  };
  // Writes one "data: {...}\r\n\r\n" event; `parts_json` is the parts array.
  void Emit(std::string& out, std::string_view parts_json, bool last);
  void FlushCalls(std::string& out, bool last);

  std::string model_;
  std::string id_;
  std::vector<PendingCall> calls_;
  std::string finish_;          // Gemini finishReason once the choice finished
  std::string usage_metadata_;  // the latest usage, as the "usageMetadata" object
  bool ended_ = false;
};

// --- egress helpers ------------------------------------------------------------------------------

// Gemini finishReason -> OpenAI finish_reason (without the tool_calls override).
std::string_view FinishReason(std::string_view gemini_finish_reason);

// Google error body ({"error":{"code","message","status"}}) and HTTP status -> Error.
// 429/RESOURCE_EXHAUSTED -> kRateLimited; 401/403/UNAUTHENTICATED/PERMISSION_DENIED ->
// kUpstreamAuth (the upstream message is not echoed: it may quote the key); 400 about the token
// count -> kContextLength; 504/DEADLINE_EXCEEDED -> kUpstreamTimeout; 5xx -> kUpstreamUnavailable;
// other 4xx -> kUpstreamError with the body kept. `http_status` 0 (an error inside a stream)
// maps by the status string alone.
Error ErrorFromGemini(int http_status, std::string_view body);

// Gemini stream chunks (the JSON of each SSE "data:" of streamGenerateContent?alt=sse, one
// GenerateContentResponse each) -> OpenAI chat.completion.chunk JSON documents. One per stream.
class StreamToOpenAi {
 public:
  StreamToOpenAi(std::string model, int64_t created = 0)
      : model_(std::move(model)), created_(created) {}
  // Appends the chunks for one Gemini chunk to `out`: the first carries role "assistant"; text
  // and thought deltas; one tool_call delta (complete arguments) per functionCall part;
  // finish_reason on the chunk that has finishReason, followed by the usage chunk
  // (choices: []) when usageMetadata is known. An error chunk or malformed JSON is an Error.
  Status Feed(std::string_view gemini_chunk_json, std::vector<std::string>& out);
  // Emits the usage chunk if it has not been sent (idempotent).
  void Finish(std::vector<std::string>& out);
  // True once a candidate carried a finishReason: Gemini's stream has no end marker, so an answer
  // is complete when the body ends after such a chunk.
  bool Finished() const { return finished_; }

 private:
  void Begin(JsonWriter& w) const;  // opens a chunk object: id, object, created, model
  void EmitUsage(std::vector<std::string>& out);

  std::string model_;
  int64_t created_;
  std::string id_;
  bool started_ = false;
  bool saw_tool_call_ = false;
  bool finished_ = false;
  int next_tool_index_ = 0;
  bool usage_known_ = false;
  bool usage_sent_ = false;
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;
  int64_t reasoning_tokens_ = 0;
  int64_t cached_tokens_ = 0;
};

}  // namespace hybridgate::api::gemini
