#include "dialects/anthropic/anthropic.h"

#include "api/anthropic/anthropic.h"
#include "api/anthropic/count_tokens.h"
#include "api/json.h"
#include "api/sse.h"
#include "dialects/translated.h"

namespace hybridgate::dialects {

namespace {

void FailEvent(const Error& error, std::string& out) {
  api::AppendSseEvent(out, "error", api::anthropic::EncodeError(error));
}

}  // namespace

Status AnthropicMessages::Decode(const http::Request& request, std::string_view, std::string& body,
                                 api::ChatRequest& out, std::unique_ptr<RequestContext>&) const {
  // The canonical body (duplicate keys resolved to the first) is both what is decoded and what
  // an Anthropic upstream is sent as is (ChatRequest::native_body): the gateway's reading of the
  // request and the upstream's agree.
  auto canonical = api::CanonicalJson(body);
  if (!canonical) return api::anthropic::DecodeRequestInto(body, out);  // its error names the field
  if (auto s = api::anthropic::DecodeRequestInto(*canonical, out); !s) return s;
  out.native_body = std::move(*canonical);
  for (std::string_view name : {"anthropic-beta", "anthropic-version"}) {
    if (const std::string_view v = request[name]; !v.empty()) {
      out.dialect_headers.emplace_back(name, v);
    }
  }
  return {};
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

Status AnthropicMessages::DecodeCountTokens(const Extra&, std::string& body,
                                            api::ChatRequest& out) const {
  return api::anthropic::DecodeCountTokensInto(body, out);
}

std::string AnthropicMessages::EncodeTokenCount(int64_t tokens) const {
  return api::anthropic::EncodeTokenCount(tokens);
}

}  // namespace hybridgate::dialects
