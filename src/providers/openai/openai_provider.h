// Provider type `openai`: any OpenAI-compatible server (OpenAI, vLLM, TGI, Ollama, llama.cpp's
// llama-server, hosted open-model APIs). Requests are re-encoded from ChatRequest (model id
// substituted, usage always requested on streams); responses pass through untouched.
// With `responses_api: true` (an upstream that also serves OpenAI's Responses API, as OpenAI
// does), a Responses client's request goes to POST {base_url}/responses as the client wrote it
// (ChatRequest::native_body, as the dialect prepared it: the gateway keeps the conversation, see
// dialects/openai_responses/responses.h), only the model id replaced, with the client's
// OpenAI-Beta; its answer and events come back unchanged, read for usage by
// responses_upstream.h.
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
  // A Responses client's request that nothing rewrote (not redacted), with `responses_api` on.
  bool PassesThrough(const api::ChatRequest& req) const override;
  // Called only for requests it passes through: the Responses answer / event stream translated
  // for usage, the text's size and escalation (responses_upstream.h).
  Result<std::string> DecodeChat(const http::UpstreamResponse& response,
                                 const config::ModelConfig& model,
                                 std::string_view request_id) const override;
  std::unique_ptr<StreamDecoder> NewStreamDecoder(const config::ModelConfig& model,
                                                  std::string_view request_id) const override;
  // Another dialect's client: what api::EncodeOpenAiChat leaves out (api::ReportOpenAiChatDropped).
  void ReportDropped(const api::ChatRequest& req, api::Dropped& out) const override;
  Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body, bool stream,
                                          std::string_view request_id) const override;
  Error ClassifyError(const http::UpstreamResponse& response) const override;
  http::UpstreamRequest HealthProbe() const override;

 private:
  void AddHeaders(http::UpstreamRequest& r, bool stream, std::string_view request_id) const;

  const std::string authorization_;  // "Bearer <api_key>", viewed by every request's headers
};

}  // namespace hybridgate::providers
