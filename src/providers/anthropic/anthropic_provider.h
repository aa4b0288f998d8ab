// Provider type `anthropic`: Anthropic's Messages API (POST {base_url}/messages). Requests are
// encoded from ChatRequest by api::anthropic::EncodeRequest; answers, streams and errors are
// translated back to OpenAI's format, which is what the executor and every sink consume.
#pragma once

#include "api/anthropic/anthropic.h"
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
  // An Anthropic client's request that was not rewritten (not redacted): its canonical body is
  // sent with only `model` replaced, so cache_control, system blocks, is_error and every beta
  // field reach Anthropic.
  bool PassesThrough(const api::ChatRequest& req) const override;
  // Re-encoded requests: what api::anthropic::EncodeRequest leaves out.
  void ReportDropped(const api::ChatRequest& req, api::Dropped& out) const override;
  Result<std::string> DecodeChat(const http::UpstreamResponse& response,
                                 const config::ModelConfig& model,
                                 std::string_view request_id) const override;
  std::unique_ptr<StreamDecoder> NewStreamDecoder(const config::ModelConfig& model,
                                                  std::string_view request_id) const override;
  // /completions and /embeddings have no Anthropic equivalent: an invalid_request Error.
  Result<http::UpstreamRequest> EncodeRaw(std::string_view path, std::string body, bool stream,
                                          std::string_view request_id) const override;
  // POST {base_url}/messages/count_tokens (count_tokens.cc).
  Result<http::UpstreamRequest> EncodeCountTokens(const api::ChatRequest& req,
                                                  const config::ModelConfig& model,
                                                  std::string_view request_id) const override;
  Result<int64_t> DecodeTokenCount(const http::UpstreamResponse& response) const override;
  Error ClassifyError(const http::UpstreamResponse& response) const override;
  http::UpstreamRequest HealthProbe() const override;

 private:
  // How EncodeChat (and ReportDropped, which must agree) encode `req` for `model_id`.
  static api::anthropic::EncodeOptions Options(const api::ChatRequest& req,
                                               std::string_view model_id);
  // `req`: the request whose client's anthropic-beta and anthropic-version go along (an
  // Anthropic client's; null: the adapter's own anthropic-version).
  void AddHeaders(http::UpstreamRequest& r, bool stream, std::string_view request_id,
                  const api::ChatRequest* req = nullptr) const;
};

}  // namespace hybridgate::providers
