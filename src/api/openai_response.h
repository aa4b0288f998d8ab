// Reading what HybridGate needs from OpenAI-format responses (non-stream bodies and stream
// chunks) without re-encoding them: usage and the model that answered. The body itself is passed
// to an OpenAI-dialect client unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json_writer.h"

namespace hybridgate::api {

struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  bool reported = false;  // false: the upstream sent no usage
};

struct OpenAiResponseInfo {
  Usage usage;
  std::string model;
  bool has_choices = true;  // false for the usage-only final chunk of a stream
  bool valid_json = true;
};

// Inspects one OpenAI chat completion (or chat.completion.chunk) JSON document.
OpenAiResponseInfo InspectOpenAiResponse(std::string_view json);

// Bytes of generated text in one OpenAI chunk (or completion): the string values of `content`,
// `reasoning_content`, `refusal`, `arguments` and `text`, an escape counted as one byte. A linear
// scan without parsing, for charging a stream that ends without usage.
int64_t GeneratedTextBytes(std::string_view json);

// Appends the first choice's `delta.content` of one chat.completion.chunk to `out` (nothing for
// a chunk without text).
void AppendDeltaContent(std::string_view chunk, std::string& out);

// One assistant turn in OpenAI's format, as the dialect translators build it from another
// provider's answer.
struct AssistantToolCall {
  std::string id;
  std::string_view name;
  std::string arguments;  // JSON text
};
struct AssistantMessage {
  std::string_view text;
  std::string_view reasoning;
  std::vector<AssistantToolCall> tool_calls;
};
// Writes the value of a choice's "message": content is null when the turn has only tool calls.
void WriteAssistantMessage(JsonWriter& w, const AssistantMessage& m);

// Extracts an upstream error's message from an OpenAI-style error body ({"error":{"message"}}),
// falling back to a trimmed prefix of the body.
std::string UpstreamErrorMessage(std::string_view body);

}  // namespace hybridgate::api
