// Reading an upstream's answers in OpenAI's Responses API (POST /responses at an `openai` provider
// with `responses_api`): the executor hands every sink and the ledger OpenAI chat documents, so a
// Response object becomes a chat.completion and the Responses event stream becomes
// chat.completion.chunks. The client of such a request gets the upstream's own answer; these
// translations serve usage (input, cached, output and reasoning tokens), the generated text's
// size and escalation. Pure; wire format: OpenAI's Responses API reference (Response,
// ResponseUsage, the response.* streaming events).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.h"

namespace hybridgate::providers::responses_upstream {

// A Response object -> an OpenAI chat.completion body: its output_text and refusal parts as the
// message's content, reasoning summaries as reasoning_content, function_call items as tool_calls,
// finish_reason from status and incomplete_details (length, content_filter, tool_calls, stop) and
// usage (prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens). A
// failed response is its error.
Result<std::string> ToChatCompletion(std::string_view response_json);

// One Responses event stream -> OpenAI chunks: text, refusal and reasoning deltas, function calls
// (opened by response.output_item.added, their arguments by function_call_arguments.delta), and
// on response.completed / response.incomplete the finish chunk and the usage chunk. An `error`
// event or response.failed is the stream's Error.
class StreamToChat final : public StreamDecoder {
 public:
  Status Feed(const api::SseEvent& event, std::vector<std::string>& chunks) override;
  bool Done() const override { return done_; }
  bool End(std::vector<std::string>&) override { return done_; }

 private:
  // A chunk of this stream whose choices[0] is `delta` (JSON) and `finish` ("" for null).
  std::string Chunk(std::string_view delta, std::string_view finish) const;

  std::string id_ = "resp";
  std::string model_;
  int64_t created_ = 0;
  bool done_ = false;
  // The function calls opened so far, by output_index: their tool_calls index is the position.
  std::vector<int64_t> calls_;
};

}  // namespace hybridgate::providers::responses_upstream
