#include "providers/anthropic/anthropic_provider.h"

#include <fmt/format.h>

#include <boost/beast/core/string.hpp>
#include <chrono>

#include "api/anthropic/anthropic.h"
#include "api/json.h"

namespace hybridgate::providers {
namespace {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class AnthropicStreamDecoder : public StreamDecoder {
 public:
  Status Feed(const api::SseEvent& event, std::vector<std::string>& chunks) override {
    return translator_.Feed(event, chunks);
  }
  bool Done() const override { return translator_.Done(); }
  bool End(std::vector<std::string>&) override { return translator_.Done(); }

 private:
  api::anthropic::StreamToOpenAi translator_{UnixNow()};
};

// "anthropic: <detail>" as ErrorFromAnthropic words it -> "<detail>".
std::string_view Detail(std::string_view message) {
  constexpr std::string_view kPrefix = "anthropic: ";
  if (message.starts_with(kPrefix)) message.remove_prefix(kPrefix.size());
  return message;
}

}  // namespace

bool AnthropicProvider::PassesThrough(const api::ChatRequest& req) const {
  return req.ingress == api::ChatRequest::Dialect::kAnthropic && !req.native_body.empty();
}

void AnthropicProvider::AddHeaders(http::UpstreamRequest& r, bool stream,
                                   std::string_view request_id, const api::ChatRequest* req) const {
  r.headers.emplace_back("content-type", "application/json");
  r.headers.emplace_back("accept", stream ? "text/event-stream" : "application/json");
  // An Anthropic client's own version and betas (prompt caching, context management, ...) go
  // along, unless the provider's configuration sets that header itself.
  const bool client = req && req->ingress == api::ChatRequest::Dialect::kAnthropic;
  auto configured = [&](std::string_view name) {
    for (const auto& [k, v] : config().headers) {
      if (boost::beast::iequals(k, name)) return true;
    }
    return false;
  };
  std::string_view version = client ? req->DialectHeader("anthropic-version") : "";
  if (version.empty()) version = kApiVersion;
  if (!configured("anthropic-version")) r.headers.emplace_back("anthropic-version", version);
  if (const std::string_view beta = client ? req->DialectHeader("anthropic-beta") : "";
      !beta.empty() && !configured("anthropic-beta")) {
    r.headers.emplace_back("anthropic-beta", beta);
  }
  if (!config().api_key.empty()) r.headers.emplace_back("x-api-key", config().api_key);
  if (!request_id.empty()) r.headers.emplace_back("x-hybridgate-request-id", request_id);
  for (const auto& [k, v] : config().headers) r.headers.emplace_back(k, v);
}

Result<http::UpstreamRequest> AnthropicProvider::EncodeChat(const api::ChatRequest& req,
                                                            const config::ModelConfig& model,
                                                            std::string_view request_id) const {
  http::UpstreamRequest r;
  r.target = endpoint().base_path + "/messages";
  AddHeaders(r, req.stream, request_id, &req);
  if (PassesThrough(req)) {
    // The client's body (canonical JSON, as decoded), only the deployment's model id put in.
    if (model.id.empty() || model.id == req.model) {
      r.body = req.native_body;
      return r;
    }
    auto body = api::ReplaceStringField(req.native_body, "model", model.id);
    if (!body) return Fail(std::move(body.error()));
    r.body = std::move(*body);
    return r;
  }
  if (auto s = api::anthropic::EncodeRequest(req, Options(req, model.id), r.body); !s) {
    return Fail(std::move(s.error()));
  }
  return r;
}

api::anthropic::EncodeOptions AnthropicProvider::Options(const api::ChatRequest& req,
                                                         std::string_view model_id) {
  return {.model = model_id,
          .default_max_tokens = kDefaultMaxTokens,
          .forward_extra = req.ingress == api::ChatRequest::Dialect::kAnthropic};
}

void AnthropicProvider::ReportDropped(const api::ChatRequest& req, api::Dropped& out) const {
  if (!PassesThrough(req)) api::anthropic::ReportDropped(req, Options(req, {}), out);
}

Result<std::string> AnthropicProvider::DecodeChat(const http::UpstreamResponse& response,
                                                  const config::ModelConfig&,
                                                  std::string_view) const {
  auto body = api::anthropic::DecodeResponse(response.body, UnixNow());
  if (!body) {
    Error e = std::move(body.error());
    e.message = fmt::format("provider '{}': {}", name(), Detail(e.message));
    return Fail(std::move(e));
  }
  return body;
}

std::unique_ptr<StreamDecoder> AnthropicProvider::NewStreamDecoder(const config::ModelConfig&,
                                                                   std::string_view) const {
  return std::make_unique<AnthropicStreamDecoder>();
}

Result<http::UpstreamRequest> AnthropicProvider::EncodeRaw(std::string_view path, std::string, bool,
                                                           std::string_view) const {
  return Fail(MakeError(
      ErrorCode::kInvalidRequest,
      fmt::format("provider '{}' (anthropic) has no {} endpoint; use /v1/chat/completions", name(),
                  path)));
}

Error AnthropicProvider::ClassifyError(const http::UpstreamResponse& response) const {
  Error e = api::anthropic::ErrorFromAnthropic(response.status, response.body);
  e.retry_after_ms = response.retry_after_ms;
  AttributeToProvider(e, name(), response.status, "anthropic: ", "rate limiting or overloaded");
  return e;
}

http::UpstreamRequest AnthropicProvider::HealthProbe() const {
  http::UpstreamRequest r;
  r.method = boost::beast::http::verb::get;
  r.target = endpoint().base_path + "/models";
  AddHeaders(r, false, {});
  return r;
}

}  // namespace hybridgate::providers
