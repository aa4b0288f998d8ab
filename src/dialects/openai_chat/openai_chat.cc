#include "dialects/openai_chat/openai_chat.h"

#include "api/openai_chat.h"
#include "api/sse.h"

namespace hybridgate::dialects {

namespace {

class Passthrough final : public StreamEncoder {
 public:
  Status Feed(std::string_view chunk, std::string& out) override {
    api::AppendSseData(out, chunk);
    return {};
  }
  void Finish(std::string& out) override {
    if (done_) return;
    done_ = true;
    out.append("data: [DONE]\n\n");
  }
  void Fail(const Error& error, std::string& out) override {
    api::AppendSseData(out, api::EncodeOpenAiError(error));
  }

 private:
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamEncoder> NewOpenAiPassthroughStream() {
  return std::make_unique<Passthrough>();
}

Status OpenAiChat::Decode(const http::Request& request, std::string_view, std::string& body,
                          api::ChatRequest& out, std::unique_ptr<RequestContext>&) const {
  if (auto s = api::DecodeOpenAiChatInto(body, out); !s) return s;
  // OpenAI's beta opt-ins, for OpenAI-compatible upstreams (providers/openai).
  if (const std::string_view beta = request["openai-beta"]; !beta.empty()) {
    out.dialect_headers.emplace_back("openai-beta", beta);
  }
  return {};
}

Status OpenAiChat::EncodeAnswer(std::string&, const api::ChatRequest&, RequestContext*) const {
  return {};
}

std::string OpenAiChat::EncodeError(const Error& error) const {
  return api::EncodeOpenAiError(error);
}

std::unique_ptr<StreamEncoder> OpenAiChat::NewStream(const api::ChatRequest&,
                                                     RequestContext*) const {
  return NewOpenAiPassthroughStream();
}

}  // namespace hybridgate::dialects
