// Anthropic Messages: POST /v1/messages (codec: api/anthropic), and POST
// /v1/messages/count_tokens (Extra; api/anthropic/count_tokens.h). Errors under /v1/messages
// take Anthropic's shape.
#pragma once

#include "dialects/dialect.h"

namespace hybridgate::dialects {

class AnthropicMessages final : public ClientDialect {
 public:
  std::string_view endpoint() const override { return "messages"; }
  std::string_view log_path() const override { return "/v1/messages"; }
  bool Serves(std::string_view path) const override { return path == "/v1/messages"; }
  bool Owns(std::string_view path) const override {
    return path == "/v1/messages" || path.starts_with("/v1/messages/");
  }
  Status Decode(const http::Request& request, std::string_view path, std::string& body,
                api::ChatRequest& out, std::unique_ptr<RequestContext>& context) const override;
  Status EncodeAnswer(std::string& body, const api::ChatRequest& request,
                      RequestContext* context) const override;
  std::string EncodeError(const Error& error) const override;
  std::unique_ptr<StreamEncoder> NewStream(const api::ChatRequest& request,
                                           RequestContext* context) const override;
  // message_delta always carries usage.
  bool AlwaysUsage(const api::ChatRequest&) const override { return true; }

  Extra MatchExtra(std::string_view method, std::string_view path) const override {
    if (method == "POST" && path == "/v1/messages/count_tokens") {
      return {.kind = Extra::Kind::kCountTokens};
    }
    return {};
  }
  Status DecodeCountTokens(const Extra& extra, std::string& body,
                           api::ChatRequest& out) const override;
  std::string EncodeTokenCount(int64_t tokens) const override;
};

}  // namespace hybridgate::dialects
