// Provider type `local`: the embedded llama.cpp engine (src/engine) behind the Provider seam. It
// renders the conversation with the model's chat template, maps OpenAI sampling parameters, and
// answers in OpenAI's chat format (chunks, logprobs, usage), so every ingress dialect and the
// executor's fallback logic treat it like any OpenAI-compatible upstream — minus the socket.
#pragma once

#include <memory>

#include "engine/engine.h"
#include "providers/provider.h"

namespace hybridgate::providers {

class LocalProvider : public Provider, public InProcess {
 public:
  // Resolves the model (see engine/model_files.h) and loads it; slow for big models.
  static Result<std::unique_ptr<Provider>> Create(const config::ProviderConfig& config,
                                                  http::Endpoint endpoint);

  Result<http::UpstreamRequest> EncodeChat(const api::ChatRequest& req,
                                           const config::ModelConfig& model,
                                           std::string_view request_id) const override;
  bool SpeaksOpenAi() const override { return true; }
  Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body, bool stream,
                                          std::string_view request_id) const override;
  Error ClassifyError(const http::UpstreamResponse& response) const override;
  http::UpstreamRequest HealthProbe() const override { return {}; }
  InProcess* in_process() const override { return const_cast<LocalProvider*>(this); }
  std::string Describe() const override;

  boost::asio::awaitable<Result<std::string>> Complete(const api::ChatRequest& req,
                                                       const config::ModelConfig& model,
                                                       std::string_view request_id,
                                                       http::CancelToken* cancel,
                                                       api::Usage& usage) override;
  boost::asio::awaitable<Result<std::unique_ptr<InProcessStream>>> Stream(
      const api::ChatRequest& req, const config::ModelConfig& model, std::string_view request_id,
      bool include_usage, http::CancelToken* cancel) override;

  // POST /v1/embeddings: mean-pooled, normalised vectors (float or base64 encoding_format).
  boost::asio::awaitable<Result<std::string>> Raw(std::string_view path, const std::string& body,
                                                  const config::ModelConfig& model,
                                                  http::CancelToken* cancel,
                                                  api::Usage& usage) override;

  // The engine's tokenizer over the prompt Complete would render: exact.
  Result<int64_t> CountTokens(const api::ChatRequest& req) const override;

  const engine::Engine& engine() const { return *engine_; }

 private:
  LocalProvider(const config::ProviderConfig& config, http::Endpoint endpoint,
                std::unique_ptr<engine::Engine> engine, std::string model_path)
      : Provider(config, std::move(endpoint)),
        engine_(std::move(engine)),
        model_path_(std::move(model_path)) {}

  std::unique_ptr<engine::Engine> engine_;
  std::string model_path_;
};

// Exposed for tests: the prompt and sampling a request maps to.
Result<std::string> RenderPrompt(const engine::Engine& engine, const api::ChatRequest& req);
Result<engine::Sampling> SamplingFor(const api::ChatRequest& req);

}  // namespace hybridgate::providers
