// The Google Gemini dialect (generateContent / streamGenerateContent?alt=sse), egress direction:
// ChatRequest -> Gemini request body, Gemini responses and stream chunks -> OpenAI chat
// completions, and Google error bodies -> Error. Pure translation: no I/O, no clock, no globals.
// Wire format: Google's Gemini API reference (Content, Part, GenerationConfig, usageMetadata).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "common/json_writer.h"
#include "common/result.h"

namespace hybridgate::api::gemini {

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
//   non-function tools, logprobs and ChatRequest::extra are dropped.
Status EncodeRequest(const ChatRequest& req, std::string& out);

// Gemini GenerateContentResponse -> OpenAI chat.completion JSON. Only candidates[0] is read.
// Text parts -> content, `thought: true` parts -> reasoning_content, functionCall parts ->
// tool_calls with ids call_<index>. completion_tokens includes thoughtsTokenCount.
// `model` and `created` are the caller's (Gemini echoes neither reliably).
Result<std::string> DecodeResponse(std::string_view gemini_json, std::string_view model,
                                   int64_t created = 0);

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
