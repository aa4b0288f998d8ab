// Provider type `anthropic`: Anthropic's Messages API (POST {base_url}/messages). Requests are
// encoded from ChatRequest by api::anthropic::EncodeRequest; answers, streams and errors are
// translated back to OpenAI's format, which is what the executor and every sink consume.
#pragma once

#include "providers/provider.h"

namespace hybridgate::providers {

class AnthropicProvider : public Provider {
 public:
  // Anthropic requires max_tokens. When the client gave none, 4096: every current Claude model
  // can produce that many, and it keeps a forgotten limit from running up a long bill.
  static constexpr int64_t kDefaultMaxTokens = 4096;
  // The API version this adapter's wire format follows (sent as anthropic-version).
  static constexpr std::string_view kApiVersion = "2023-06-01";

  using Provider::Provider;

  Result<http::UpstreamRequest> EncodeChat(const api::ChatRequest& req,
                                           const config::ModelConfig& model,
                                           std::string_view request_id) const override;
  bool SpeaksOpenAi() const override { return false; }
  Result<std::string> DecodeChat(const http::UpstreamResponse& response,
                                 const config::ModelConfig& model,
                                 std::string_view request_id) const override;
  std::unique_ptr<StreamDecoder> NewStreamDecoder(const config::ModelConfig& model,
                                                  std::string_view request_id) const override;
  // /completions and /embeddings have no Anthropic equivalent: an invalid_request Error.
  Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body, bool stream,
                                          std::string_view request_id) const override;
  Error ClassifyError(const http::UpstreamResponse& response) const override;
  http::UpstreamRequest HealthProbe() const override;

 private:
  void AddHeaders(http::UpstreamRequest& r, bool stream, std::string_view request_id) const;
};

}  // namespace hybridgate::providers
