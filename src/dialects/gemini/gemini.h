// Gemini: POST /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse (codec:
// api/gemini); besides them :countTokens, :embedContent, :batchEmbedContents, GET /v1beta/models
// and GET /v1beta/models/{model} (Extra; api/gemini/extras.h). Errors under /v1beta/ take
// Google's shape.
#pragma once

#include "dialects/dialect.h"

namespace hybridgate::dialects {

class GeminiGenerateContent final : public ClientDialect {
 public:
  std::string_view endpoint() const override { return "generate_content"; }
  std::string_view log_path() const override { return "/v1beta/models:generateContent"; }
  // Also under /v1/models/: @google/genai with a /v1 base URL.
  bool Serves(std::string_view path) const override {
    return (path.starts_with("/v1beta/models/") || path.starts_with("/v1/models/")) &&
           (path.ends_with(":generateContent") || path.ends_with(":streamGenerateContent"));
  }
  bool Owns(std::string_view path) const override { return path.starts_with("/v1beta/"); }
  Status Decode(const http::Request& request, std::string_view path, std::string& body,
                api::ChatRequest& out, std::unique_ptr<RequestContext>& context) const override;
  Status EncodeAnswer(std::string& body, const api::ChatRequest& request,
                      RequestContext* context) const override;
  std::string EncodeError(const Error& error) const override;
  std::unique_ptr<StreamEncoder> NewStream(const api::ChatRequest& request,
                                           RequestContext* context) const override;
  // Every chunk carries usageMetadata.
  bool AlwaysUsage(const api::ChatRequest&) const override { return true; }

  // POST .../models/{m}:countTokens, :embedContent, :batchEmbedContents (under /v1beta/ and
  // /v1/); GET /v1beta/models and /v1beta/models/{m} (GET /v1/models/{m} stays OpenAI's).
  Extra MatchExtra(std::string_view method, std::string_view path) const override;
  Status DecodeCountTokens(const Extra& extra, std::string& body,
                           api::ChatRequest& out) const override;
  std::string EncodeTokenCount(int64_t tokens) const override;
  Result<std::string> DecodeEmbed(const Extra& extra, std::string_view body) const override;
  Result<std::string> EncodeEmbedAnswer(const Extra& extra,
                                        std::string_view openai_body) const override;
  // Google's Model resource: name "models/<name>", displayName, description (the provider),
  // supportedGenerationMethods (those HybridGate serves for any model).
  std::string EncodeModels(std::span<const ModelEntry> models, bool list) const override;
};

}  // namespace hybridgate::dialects
