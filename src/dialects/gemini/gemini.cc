#include "dialects/gemini/gemini.h"

#include "api/gemini/gemini.h"
#include "api/sse.h"
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
