// Provider type `openai`: any OpenAI-compatible server (OpenAI, vLLM, TGI, Ollama, llama.cpp's
// llama-server, hosted open-model APIs). Requests are re-encoded from ChatRequest (model id
// substituted, usage always requested on streams); responses pass through untouched.
#pragma once

#include "providers/provider.h"

namespace hybridgate::providers {

class OpenAiProvider : public Provider {
 public:
  OpenAiProvider(const config::ProviderConfig& config, http::Endpoint endpoint)
      : Provider(config, std::move(endpoint)),
        authorization_(config.api_key.empty() ? "" : "Bearer " + config.api_key) {}

  Result<http::UpstreamRequest> EncodeChat(const api::ChatRequest& req,
                                           const config::ModelConfig& model,
                                           std::string_view request_id) const override;
  bool SpeaksOpenAi() const override { return true; }
  Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body, bool stream,
                                          std::string_view request_id) const override;
  Error ClassifyError(const http::UpstreamResponse& response) const override;
  http::UpstreamRequest HealthProbe() const override;

 private:
  void AddHeaders(http::UpstreamRequest& r, bool stream, std::string_view request_id) const;

  const std::string authorization_;  // "Bearer <api_key>", viewed by every request's headers
};

}  // namespace hybridgate::providers
