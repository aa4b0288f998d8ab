// Gemini's endpoints besides generateContent: countTokens, embedContent and batchEmbedContents,
// both directions where the gateway needs them (a Gemini client served by an OpenAI-compatible
// upstream; a Gemini upstream asked to count). Pure translation, like the rest of api/gemini.
// Wire format: Google's Gemini API reference (CountTokensRequest/Response,
// EmbedContentRequest, BatchEmbedContentsRequest, ContentEmbedding).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "common/result.h"

namespace hybridgate::api::gemini {

// ".../models/{model}:{method}" (no query) -> model (percent-decoded) and method; kNotFound
// when the path has neither.
struct ModelMethod {
  std::string model;
  std::string method;
};
Result<ModelMethod> ParseModelMethod(std::string_view path);

// A countTokens body ({"contents": [...]}, or {"generateContentRequest": {...}} with
// systemInstruction, tools, ...) -> ChatRequest, with generateContent's rules and errors.
Status DecodeCountTokensInto(std::string_view body, std::string_view model, ChatRequest& req);
// The countTokens body a Gemini upstream takes for `req`: {"generateContentRequest": {"model":
// "models/<model_id>", contents, systemInstruction, tools, ...}}.
Result<std::string> EncodeCountTokensRequest(const ChatRequest& req, std::string_view model_id);
// {"totalTokens": N}.
std::string EncodeTokenCount(int64_t tokens);
// An upstream's {"totalTokens": N} -> N.
Result<int64_t> DecodeTokenCount(std::string_view body);

// embedContent ({content: {parts: [{text}]}, taskType, title, outputDimensionality}) or, with
// `batch`, batchEmbedContents ({requests: [that, ...]}) -> an OpenAI /embeddings body for
// `model`: input (one string: the content's text parts joined by "\n"; batch: one per request),
// dimensions from outputDimensionality. Only text parts can be embedded; a request naming
// another model than the path's is an Error (as Google's API answers).
Result<std::string> EmbedRequestToOpenAi(std::string_view body, std::string_view model, bool batch);
// The same request for a Gemini upstream's own :embedContent / :batchEmbedContents (`batch`) as
// model `model_id`: `body` (the client's, canonical JSON) with only the model put in — the
// top-level `model` when present, and each batch request's `model` (which Google requires, and
// requires to be the path's): "models/<model_id>". Every other field is kept as sent.
Result<std::string> EmbedRequestForGemini(std::string_view body, std::string_view model_id,
                                          bool batch);
// An OpenAI embeddings answer -> {"embedding": {"values": [...]}} or, with `batch`,
// {"embeddings": [{"values": [...]}, ...]} in input order.
Result<std::string> EmbedAnswerFromOpenAi(std::string_view openai_body, bool batch);

}  // namespace hybridgate::api::gemini
