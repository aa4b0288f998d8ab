// The OpenAI Chat Completions dialect: decode an ingress body into ChatRequest (once, at the edge)
// and encode a ChatRequest into the body an OpenAI-compatible upstream receives.
#pragma once

#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "api/dropped.h"
#include "common/result.h"

namespace hybridgate::api {

// Parses and validates a /v1/chat/completions body. Errors name the offending field in `param`
// and in the message ("messages[1].content must be a string or an array of content parts").
// `body` may have its capacity grown for the parser's padding.
Result<ChatRequest> DecodeOpenAiChat(std::string& body);
// The same, into `req`, which must be default-constructed: the gateway decodes straight into its
// per-request state, where a returned ChatRequest cost some twenty string moves to get there.
Status DecodeOpenAiChatInto(std::string& body, ChatRequest& req);

struct OpenAiEncodeOptions {
  std::string_view model;  // the upstream's model id (replaces req.model)
  // Ask a streaming upstream for its usage chunk even when the client did not, so every request
  // has token counts; the gateway then drops that chunk for clients that did not ask.
  bool force_include_usage = true;
};

// Appends the upstream request body to `out`. A client of another dialect gets what has an
// OpenAI equivalent (response_format, stop, tool_choice, ...); its own fields, top_k (OpenAI
// refuses it; vLLM takes an OpenAI client's), Anthropic's markers and non-function tools are
// left out, and so is a reasoning_effort translated from its thinking (many OpenAI-compatible
// models refuse one).
void EncodeOpenAiChat(const ChatRequest& req, const OpenAiEncodeOptions& options, std::string& out);
// What EncodeOpenAiChat leaves out of `req` (nothing for an OpenAI client), in `out`.
void ReportOpenAiChatDropped(const ChatRequest& req, Dropped& out);

// The OpenAI error body for `error`: {"error":{"message","type","param","code"}}. An upstream 4xx
// whose body is already an OpenAI-style error is passed through verbatim.
std::string EncodeOpenAiError(const Error& error);

}  // namespace hybridgate::api
