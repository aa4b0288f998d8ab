#include "providers/openai/openai_provider.h"

#include <fmt/format.h>

#include "api/json.h"
#include "api/openai_chat.h"
#include "api/openai_response.h"
#include "providers/openai/responses_upstream.h"

namespace hybridgate::providers {

void OpenAiProvider::AddHeaders(http::UpstreamRequest& r, bool stream,
                                std::string_view request_id) const {
  r.headers.emplace_back("content-type", "application/json");
  r.headers.emplace_back("accept", stream ? "text/event-stream" : "application/json");
  if (!authorization_.empty()) r.headers.emplace_back("authorization", authorization_);
  if (!request_id.empty()) r.headers.emplace_back("x-hybridgate-request-id", request_id);
  for (const auto& [k, v] : config().headers) r.headers.emplace_back(k, v);
}

bool OpenAiProvider::PassesThrough(const api::ChatRequest& req) const {
  return config().responses_api && req.responses_api && !req.native_body.empty();
}

Result<http::UpstreamRequest> OpenAiProvider::EncodeChat(const api::ChatRequest& req,
                                                         const config::ModelConfig& model,
                                                         std::string_view request_id) const {
  const bool native = PassesThrough(req);
  http::UpstreamRequest r;
  r.target = endpoint().base_path + (native ? "/responses" : "/chat/completions");
  AddHeaders(r, req.stream, request_id);
  // An OpenAI client's beta opt-ins (OpenAI-Beta) go to an OpenAI-compatible upstream: a chat
  // client's to /chat/completions, a Responses client's to /responses (its betas are that API's).
  const bool beta_applies =
      req.ingress == api::ChatRequest::Dialect::kOpenAi && (!req.responses_api || native);
  if (const std::string_view beta = beta_applies ? req.DialectHeader("openai-beta") : "";
      !beta.empty()) {
    r.headers.emplace_back("openai-beta", beta);
  }
  if (native) {
    // The client's body as the dialect prepared it, only the deployment's model id put in.
    if (model.id.empty() || model.id == req.model) {
      r.body = req.native_body;
      return r;
    }
    auto body = api::ReplaceStringField(req.native_body, "model", model.id);
    if (!body) return Fail(std::move(body.error()));
    r.body = std::move(*body);
    return r;
  }
  api::EncodeOpenAiChat(req, {.model = model.id}, r.body);
  return r;
}

Result<std::string> OpenAiProvider::DecodeChat(const http::UpstreamResponse& response,
                                               const config::ModelConfig&, std::string_view) const {
  auto body = responses_upstream::ToChatCompletion(response.body);
  if (!body) {
    Error e = std::move(body.error());
    e.message = fmt::format("provider '{}': {}", name(), e.message);
    return Fail(std::move(e));
  }
  return body;
}

std::unique_ptr<StreamDecoder> OpenAiProvider::NewStreamDecoder(const config::ModelConfig&,
                                                                std::string_view) const {
  return std::make_unique<responses_upstream::StreamToChat>();
}

void OpenAiProvider::ReportDropped(const api::ChatRequest& req, api::Dropped& out) const {
  if (!PassesThrough(req)) api::ReportOpenAiChatDropped(req, out);
}

Result<http::UpstreamRequest> OpenAiProvider::EncodeRaw(std::string_view path, std::string body,
                                                        bool stream,
                                                        std::string_view request_id) const {
  http::UpstreamRequest r;
  r.target = endpoint().base_path + std::string(path);
  AddHeaders(r, stream, request_id);
  r.body = std::move(body);
  return r;
}

Error OpenAiProvider::ClassifyError(const http::UpstreamResponse& response) const {
  const int s = response.status;
  const std::string detail = api::UpstreamErrorMessage(response.body);
  Error e;
  e.upstream_status = s;
  e.retry_after_ms = response.retry_after_ms;
  if (s == 401 || s == 403) {
    // Never echo the key; name the provider so the operator knows which credential to fix.
    e.code = ErrorCode::kUpstreamAuth;
    e.message = fmt::format("provider '{}' rejected HybridGate's credentials (HTTP {})", name(), s);
    return e;
  }
  if (s == 429) {
    e.code = ErrorCode::kRateLimited;
    e.message = fmt::format("provider '{}' is rate limiting: {}", name(), detail);
    return e;
  }
  if (s == 408 || s == 504) {
    e.code = ErrorCode::kUpstreamTimeout;
    e.message = fmt::format("provider '{}' timed out (HTTP {})", name(), s);
    return e;
  }
  if (s >= 500) {
    e.code = ErrorCode::kUpstreamUnavailable;
    e.message = fmt::format("provider '{}' failed (HTTP {}): {}", name(), s, detail);
    return e;
  }
  if (detail.find("context length") != std::string::npos ||
      detail.find("context_length") != std::string::npos ||
      detail.find("maximum context") != std::string::npos) {
    e.code = ErrorCode::kContextLength;
    e.message = detail;
    return e;
  }
  // Other 4xx: the client's problem, passed through with the upstream's own body.
  e.code = ErrorCode::kUpstreamError;
  e.message = detail;
  e.upstream_body = response.body;
  return e;
}

http::UpstreamRequest OpenAiProvider::HealthProbe() const {
  http::UpstreamRequest r;
  r.method = boost::beast::http::verb::get;
  r.target = endpoint().base_path + "/models";
  AddHeaders(r, false, {});
  return r;
}

}  // namespace hybridgate::providers
