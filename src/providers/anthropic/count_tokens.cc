// The Anthropic provider's token counting: POST {base_url}/messages/count_tokens, with the same
// key and anthropic-version as its Messages calls.
#include "api/anthropic/count_tokens.h"

#include "providers/anthropic/anthropic_provider.h"

namespace hybridgate::providers {

Result<http::UpstreamRequest> AnthropicProvider::EncodeCountTokens(
    const api::ChatRequest& req, const config::ModelConfig& model,
    std::string_view request_id) const {
  http::UpstreamRequest r;
  r.target = endpoint().base_path + "/messages/count_tokens";
  AddHeaders(r, false, request_id);
  auto body = api::anthropic::EncodeCountTokensRequest(req, model.id);
  if (!body) return Fail(std::move(body.error()));
  r.body = std::move(*body);
  return r;
}

Result<int64_t> AnthropicProvider::DecodeTokenCount(const http::UpstreamResponse& response) const {
  return api::anthropic::DecodeTokenCount(response.body);
}

}  // namespace hybridgate::providers
