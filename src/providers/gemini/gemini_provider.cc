#include "providers/gemini/gemini_provider.h"

#include <fmt/format.h>

#include <chrono>

#include "api/gemini/extras.h"
#include "api/gemini/gemini.h"

namespace hybridgate::providers {
namespace {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class GeminiStreamDecoder : public StreamDecoder {
 public:
  explicit GeminiStreamDecoder(std::string model) : translator_(std::move(model), UnixNow()) {}

  Status Feed(const api::SseEvent& event, std::vector<std::string>& chunks) override {
    if (event.data.empty()) return {};
    return translator_.Feed(event.data, chunks);
  }
  bool Done() const override { return false; }  // no end marker: the body's end says it
  bool End(std::vector<std::string>& chunks) override {
    if (!translator_.Finished()) return false;
    translator_.Finish(chunks);
    return true;
  }

 private:
  api::gemini::StreamToOpenAi translator_;
};

// Config ids may be written as Google lists them ("models/gemini-2.0-flash").
std::string_view ModelPath(std::string_view id) {
  if (id.starts_with("models/")) id.remove_prefix(7);
  return id;
}

std::string_view Detail(std::string_view message) {
  constexpr std::string_view kPrefix = "gemini: ";
  if (message.starts_with(kPrefix)) message.remove_prefix(kPrefix.size());
  return message;
}

}  // namespace

void GeminiProvider::AddHeaders(http::UpstreamRequest& r, bool stream,
                                std::string_view request_id) const {
  r.headers.emplace_back("content-type", "application/json");
  r.headers.emplace_back("accept", stream ? "text/event-stream" : "application/json");
  // In a header, not the ?key= query parameter, so it never lands in an access log.
  if (!config().api_key.empty()) r.headers.emplace_back("x-goog-api-key", config().api_key);
  if (!request_id.empty()) r.headers.emplace_back("x-hybridgate-request-id", request_id);
  for (const auto& [k, v] : config().headers) r.headers.emplace_back(k, v);
}

Result<http::UpstreamRequest> GeminiProvider::EncodeChat(const api::ChatRequest& req,
                                                         const config::ModelConfig& model,
                                                         std::string_view request_id) const {
  http::UpstreamRequest r;
  r.target = fmt::format("{}/models/{}:{}", endpoint().base_path, ModelPath(model.id),
                         req.stream ? "streamGenerateContent?alt=sse" : "generateContent");
  AddHeaders(r, req.stream, request_id);
  if (auto s = api::gemini::EncodeRequest(req, r.body); !s) return Fail(std::move(s.error()));
  return r;
}

void GeminiProvider::ReportDropped(const api::ChatRequest& req, api::Dropped& out) const {
  api::gemini::ReportDropped(req, out);
}

Result<std::string> GeminiProvider::DecodeChat(const http::UpstreamResponse& response,
                                               const config::ModelConfig& model,
                                               std::string_view) const {
  auto body = api::gemini::DecodeResponse(response.body, model.id, UnixNow());
  if (!body) {
    Error e = std::move(body.error());
    e.message = fmt::format("provider '{}': {}", name(), Detail(e.message));
    return Fail(std::move(e));
  }
  return body;
}

std::unique_ptr<StreamDecoder> GeminiProvider::NewStreamDecoder(const config::ModelConfig& model,
                                                                std::string_view) const {
  return std::make_unique<GeminiStreamDecoder>(model.id);
}

Result<http::UpstreamRequest> GeminiProvider::EncodeRaw(std::string_view path, std::string, bool,
                                                        std::string_view) const {
  return Fail(
      MakeError(ErrorCode::kInvalidRequest,
                fmt::format("provider '{}' (gemini) has no {} endpoint; use /v1/chat/completions",
                            name(), path)));
}

Result<http::UpstreamRequest> GeminiProvider::EncodeCountTokens(const api::ChatRequest& req,
                                                                const config::ModelConfig& model,
                                                                std::string_view request_id) const {
  http::UpstreamRequest r;
  r.target = fmt::format("{}/models/{}:countTokens", endpoint().base_path, ModelPath(model.id));
  AddHeaders(r, false, request_id);
  auto body = api::gemini::EncodeCountTokensRequest(req, ModelPath(model.id));
  if (!body) return Fail(std::move(body.error()));
  r.body = std::move(*body);
  return r;
}

Result<http::UpstreamRequest> GeminiProvider::EncodeNativeEmbed(api::ChatRequest::Dialect api,
                                                                std::string_view body, bool batch,
                                                                const config::ModelConfig& model,
                                                                std::string_view request_id) const {
  if (api != api::ChatRequest::Dialect::kGemini) {
    return Fail(MakeError(ErrorCode::kNotFound, "only a Gemini client's embeddings go as sent"));
  }
  http::UpstreamRequest r;
  r.target = fmt::format("{}/models/{}:{}", endpoint().base_path, ModelPath(model.id),
                         batch ? "batchEmbedContents" : "embedContent");
  AddHeaders(r, false, request_id);
  auto encoded = api::gemini::EmbedRequestForGemini(body, ModelPath(model.id), batch);
  if (!encoded) return Fail(std::move(encoded.error()));
  r.body = std::move(*encoded);
  return r;
}

Result<int64_t> GeminiProvider::DecodeTokenCount(const http::UpstreamResponse& response) const {
  return api::gemini::DecodeTokenCount(response.body);
}

Error GeminiProvider::ClassifyError(const http::UpstreamResponse& response) const {
  Error e = api::gemini::ErrorFromGemini(response.status, response.body);
  e.retry_after_ms = response.retry_after_ms;
  // Google's error body looks enough like OpenAI's ({"error":{...}}) to be passed through as is;
  // clients get the error in their own dialect instead, with Google's message.
  e.upstream_body.clear();
  // A wrong key is a 400 INVALID_ARGUMENT whose details say API_KEY_INVALID.
  if (response.body.find("\"API_KEY_INVALID\"") != std::string::npos) {
    e.code = ErrorCode::kUpstreamAuth;
  }
  AttributeToProvider(e, name(), response.status, "gemini: ", "rate limiting");
  return e;
}

http::UpstreamRequest GeminiProvider::HealthProbe() const {
  http::UpstreamRequest r;
  r.method = boost::beast::http::verb::get;
  r.target = endpoint().base_path + "/models";
  AddHeaders(r, false, {});
  return r;
}

}  // namespace hybridgate::providers
