// OpenAI chat completions: POST /v1/chat/completions. The internal request and the upstream's
// answer are already in this shape, so answers and stream chunks pass through as they came.
// Also the default shape of errors on paths no other dialect owns.
#pragma once

#include "dialects/dialect.h"

namespace hybridgate::dialects {

class OpenAiChat final : public ClientDialect {
 public:
  std::string_view endpoint() const override { return "chat_completions"; }
  std::string_view log_path() const override { return "/v1/chat/completions"; }
  bool Serves(std::string_view path) const override { return path == "/v1/chat/completions"; }
  // Everything no other dialect owns falls back to this one (the registry's first).
  bool Owns(std::string_view path) const override { return path == "/v1/chat/completions"; }
  Status Decode(const http::Request& request, std::string_view path, std::string& body,
                api::ChatRequest& out, std::unique_ptr<RequestContext>& context) const override;
  Status EncodeAnswer(std::string& body, const api::ChatRequest& request,
                      RequestContext* context) const override;
  std::string EncodeError(const Error& error) const override;
  std::unique_ptr<StreamEncoder> NewStream(const api::ChatRequest& request,
                                           RequestContext* context) const override;
  bool AlwaysUsage(const api::ChatRequest& request) const override {
    return request.include_usage.value_or(false);
  }
};

// The OpenAI pass-through stream: each chunk as a `data:` event, `data: [DONE]` at the end and
// an OpenAI error object on failure. /v1/completions streams use it too.
std::unique_ptr<StreamEncoder> NewOpenAiPassthroughStream();

}  // namespace hybridgate::dialects
