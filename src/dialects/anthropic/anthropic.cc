#include "dialects/anthropic/anthropic.h"

#include "api/anthropic/anthropic.h"
#include "api/sse.h"
#include "dialects/translated.h"

namespace hybridgate::dialects {

namespace {

void FailEvent(const Error& error, std::string& out) {
  api::AppendSseEvent(out, "error", api::anthropic::EncodeError(error));
}

}  // namespace

Status AnthropicMessages::Decode(const http::Request&, std::string_view, std::string& body,
                                 api::ChatRequest& out, std::unique_ptr<RequestContext>&) const {
  return api::anthropic::DecodeRequestInto(body, out);
}

Status AnthropicMessages::EncodeAnswer(std::string& body, const api::ChatRequest&,
                                       RequestContext*) const {
  return ReplaceBody(body, [](std::string_view b) { return api::anthropic::EncodeResponse(b); });
}

std::string AnthropicMessages::EncodeError(const Error& error) const {
  return api::anthropic::EncodeError(error);
}

std::unique_ptr<StreamEncoder> AnthropicMessages::NewStream(const api::ChatRequest& request,
                                                            RequestContext*) const {
  return std::make_unique<TranslatedStream<api::anthropic::StreamFromOpenAi>>(request.model,
                                                                              &FailEvent);
}

}  // namespace hybridgate::dialects
