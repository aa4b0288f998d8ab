// Confidence escalation's checks on a non-streaming OpenAI-format answer: how sure the model was
// (from the token logprobs the executor asked the upstream for), whether an answer that had to
// be JSON is JSON, and removing the logprobs again before a client that did not ask sees them.
// Pure functions over the body text; the executor decides what to do with the verdict.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "routing/route_config.h"

namespace hybridgate::routing {

// exp(mean token logprob) of choices[0].logprobs.content, in (0, 1]; nullopt when the answer
// carries no token logprobs (the upstream ignored the request, or produced no tokens).
std::optional<double> AnswerConfidence(std::string_view body);

// Whether choices[0].message.content parses as a JSON object. An answer that is only tool calls
// (content null or absent) passes: there is no text to check.
bool AnswerIsJsonObject(std::string_view body);

struct EscalationVerdict {
  bool escalate = false;
  std::string why;  // e.g. "confidence 0.31 < 0.60", "answer is not valid JSON"
};

// Applies the route's triggers to an answer to `req`. invalid_json applies only when the request
// asked for json_object or json_schema output; low_logprob only when logprobs were present.
EscalationVerdict CheckAnswer(const EscalationConfig& config, const api::ChatRequest& req,
                              std::string_view body);

// `body` with every choice's "logprobs" set to null (what an upstream sends when logprobs were
// not requested). Unchanged when it is not a JSON object with choices.
std::string StripLogprobs(std::string_view body);

}  // namespace hybridgate::routing
