// Gemini: POST /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse (codec:
// api/gemini). Errors under /v1beta/ take Google's shape.
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
};

}  // namespace hybridgate::dialects
