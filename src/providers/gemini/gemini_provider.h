// Provider type `gemini`: Google's Gemini API (POST {base_url}/models/{id}:generateContent, and
// :streamGenerateContent?alt=sse for streams). Requests are encoded by api::gemini::EncodeRequest;
// answers, stream chunks and errors are translated back to OpenAI's format for the executor.
#pragma once

#include "providers/provider.h"

namespace hybridgate::providers {

class GeminiProvider : public Provider {
 public:
  using Provider::Provider;

  Result<http::UpstreamRequest> EncodeChat(const api::ChatRequest& req,
                                           const config::ModelConfig& model,
                                           std::string_view request_id) const override;
  bool SpeaksOpenAi() const override { return false; }
  // What api::gemini::EncodeRequest leaves out.
  void ReportDropped(const api::ChatRequest& req, api::Dropped& out) const override;
  Result<std::string> DecodeChat(const http::UpstreamResponse& response,
                                 const config::ModelConfig& model,
                                 std::string_view request_id) const override;
  std::unique_ptr<StreamDecoder> NewStreamDecoder(const config::ModelConfig& model,
                                                  std::string_view request_id) const override;
  // /completions and /embeddings are not served (Gemini's embedContent is another shape:
  // EncodeNativeEmbed).
  Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body, bool stream,
                                          std::string_view request_id) const override;
  // POST {base_url}/models/{id}:countTokens with the whole generateContent request.
  Result<http::UpstreamRequest> EncodeCountTokens(const api::ChatRequest& req,
                                                  const config::ModelConfig& model,
                                                  std::string_view request_id) const override;
  Result<int64_t> DecodeTokenCount(const http::UpstreamResponse& response) const override;
  // A Gemini client's embedContent / batchEmbedContents: POST {base_url}/models/{id}:embedContent
  // or :batchEmbedContents with the client's body, the model put in (api::gemini::
  // EmbedRequestForGemini).
  Result<http::UpstreamRequest> EncodeNativeEmbed(api::ChatRequest::Dialect api,
                                                  std::string_view body, bool batch,
                                                  const config::ModelConfig& model,
                                                  std::string_view request_id) const override;
  Error ClassifyError(const http::UpstreamResponse& response) const override;
  http::UpstreamRequest HealthProbe() const override;

 private:
  void AddHeaders(http::UpstreamRequest& r, bool stream, std::string_view request_id) const;
};

}  // namespace hybridgate::providers
