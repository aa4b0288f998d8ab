#include "dialects/gemini/gemini.h"

#include <fmt/format.h>

#include "api/gemini/extras.h"
#include "api/gemini/gemini.h"
#include "api/sse.h"
#include "common/json_writer.h"
#include "dialects/translated.h"
#include "http/query.h"

namespace hybridgate::dialects {

namespace {

void FailEvent(const Error& error, std::string& out) {
  api::AppendSseData(out, api::gemini::EncodeError(error));
}

}  // namespace

Status GeminiGenerateContent::Decode(const http::Request& request, std::string_view path,
                                     std::string& body, api::ChatRequest& out,
                                     std::unique_ptr<RequestContext>&) const {
  auto parsed = api::gemini::ParseModelPath(path);
  if (!parsed) return Fail(std::move(parsed.error()));
  if (parsed->stream && http::QueryParam(request.target(), "alt") != "sse") {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "streamGenerateContent is served as server-sent events only: add "
                          "?alt=sse (the Google SDKs do)",
                          "alt"));
  }
  auto decoded = api::gemini::DecodeRequest(body, parsed->model, parsed->stream);
  if (!decoded) return Fail(std::move(decoded.error()));
  out = std::move(*decoded);
  return {};
}

Status GeminiGenerateContent::EncodeAnswer(std::string& body, const api::ChatRequest&,
                                           RequestContext*) const {
  return ReplaceBody(body, [](std::string_view b) { return api::gemini::EncodeResponse(b); });
}

std::string GeminiGenerateContent::EncodeError(const Error& error) const {
  return api::gemini::EncodeError(error);
}

std::unique_ptr<StreamEncoder> GeminiGenerateContent::NewStream(const api::ChatRequest& request,
                                                                RequestContext*) const {
  return std::make_unique<TranslatedStream<api::gemini::StreamFromOpenAi>>(request.model,
                                                                           &FailEvent);
}

}  // namespace hybridgate::dialects

namespace hybridgate::dialects {

Extra GeminiGenerateContent::MatchExtra(std::string_view method, std::string_view path) const {
  if (method == "GET") {
    constexpr std::string_view kModels = "/v1beta/models";
    if (path == kModels || path == "/v1beta/models/") return {.kind = Extra::Kind::kListModels};
    if (path.starts_with("/v1beta/models/") && path.find(':') == std::string_view::npos) {
      return {.kind = Extra::Kind::kGetModel,
              .model = http::PercentDecode(path.substr(kModels.size() + 1))};
    }
    return {};
  }
  if (method != "POST" ||
      !(path.starts_with("/v1beta/models/") || path.starts_with("/v1/models/"))) {
    return {};
  }
  auto parsed = api::gemini::ParseModelMethod(path);
  if (!parsed) return {};
  Extra e{.model = std::move(parsed->model), .api = api::ChatRequest::Dialect::kGemini};
  if (parsed->method == "countTokens") {
    e.kind = Extra::Kind::kCountTokens;
  } else if (parsed->method == "embedContent") {
    e.kind = Extra::Kind::kEmbed;
  } else if (parsed->method == "batchEmbedContents") {
    e.kind = Extra::Kind::kBatchEmbed;
  }
  return e;
}

Status GeminiGenerateContent::DecodeCountTokens(const Extra& extra, std::string& body,
                                                api::ChatRequest& out) const {
  return api::gemini::DecodeCountTokensInto(body, extra.model, out);
}

std::string GeminiGenerateContent::EncodeTokenCount(int64_t tokens) const {
  return api::gemini::EncodeTokenCount(tokens);
}

Result<std::string> GeminiGenerateContent::DecodeEmbed(const Extra& extra,
                                                       std::string_view body) const {
  return api::gemini::EmbedRequestToOpenAi(body, extra.model,
                                           extra.kind == Extra::Kind::kBatchEmbed);
}

Result<std::string> GeminiGenerateContent::EncodeEmbedAnswer(const Extra& extra,
                                                             std::string_view openai_body) const {
  return api::gemini::EmbedAnswerFromOpenAi(openai_body, extra.kind == Extra::Kind::kBatchEmbed);
}

std::string GeminiGenerateContent::EncodeModels(std::span<const ModelEntry> models,
                                                bool list) const {
  std::string out;
  JsonWriter w(out);
  const auto model = [&w](const ModelEntry& m) {
    w.BeginObject().Field("name", fmt::format("models/{}", m.name));
    w.Field("baseModelId", m.name).Field("version", "hybridgate");
    w.Field("displayName", m.name);
    w.Field("description",
            fmt::format("{}, served by provider '{}' through HybridGate", m.name, m.owner));
    w.Key("supportedGenerationMethods").BeginArray();
    for (const char* method : {"generateContent", "streamGenerateContent", "countTokens",
                               "embedContent", "batchEmbedContents"}) {
      w.String(method);
    }
    w.EndArray().EndObject();
  };
  if (!list) {
    if (!models.empty()) model(models.front());
    return out;
  }
  w.BeginObject().Key("models").BeginArray();
  for (const ModelEntry& m : models) model(m);
  w.EndArray().EndObject();
  return out;
}

}  // namespace hybridgate::dialects
