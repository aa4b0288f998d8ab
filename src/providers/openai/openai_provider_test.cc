#include "providers/openai/openai_provider.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/openai_chat.h"

namespace hybridgate::providers {
namespace {

config::ProviderConfig MakeConfig() {
  config::ProviderConfig c;
  c.name = "vllm";
  c.type = "openai";
  c.base_url = "http://127.0.0.1:8000/v1/";
  c.api_key = "sk-secret";
  c.headers = {{"x-team", "ml"}};
  c.models.push_back({.name = "llama", .id = "meta-llama/Llama-3.1-8B-Instruct"});
  return c;
}

std::string Header(const http::UpstreamRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return std::string(v);
  }
  return "<absent>";
}

TEST(OpenAiProvider, EncodesChatForTheUpstream) {
  auto cfg = MakeConfig();
  Registry reg;
  RegisterBuiltins(reg);
  auto p = reg.Create(cfg);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->endpoint().port, 8000);
  std::string body =
      R"({"model":"llama","messages":[{"role":"user","content":"hi"}],"stream":true})";
  auto req = api::DecodeOpenAiChat(body);
  ASSERT_TRUE(req);
  auto up = (*p)->EncodeChat(*req, cfg.models[0], "req-1");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, "/v1/chat/completions");
  EXPECT_EQ(Header(*up, "authorization"), "Bearer sk-secret");
  EXPECT_EQ(Header(*up, "x-hybridgate-request-id"), "req-1");
  EXPECT_EQ(Header(*up, "accept"), "text/event-stream");
  EXPECT_EQ(Header(*up, "x-team"), "ml");
  auto v = boost::json::parse(up->body);
  EXPECT_EQ(v.at("model").as_string(), "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_TRUE(v.at("stream_options").at("include_usage").as_bool());
}

TEST(OpenAiProvider, ClassifiesUpstreamErrors) {
  auto cfg = MakeConfig();
  OpenAiProvider p(cfg, *http::Endpoint::FromUrl(cfg.base_url));
  struct Row {
    int status;
    std::string body;
    ErrorCode code;
    bool retryable;
  };
  const Row rows[] = {
      {429, R"({"error":{"message":"slow down"}})", ErrorCode::kRateLimited, true},
      {500, "oops", ErrorCode::kUpstreamUnavailable, true},
      {503, "", ErrorCode::kUpstreamUnavailable, true},
      {504, "", ErrorCode::kUpstreamTimeout, true},
      {401, R"({"error":{"message":"Incorrect API key provided: sk-secret"}})",
       ErrorCode::kUpstreamAuth, false},
      {400, R"({"error":{"message":"This model's maximum context length is 8192 tokens"}})",
       ErrorCode::kContextLength, false},
      {422, R"({"error":{"message":"bad enum"}})", ErrorCode::kUpstreamError, false},
  };
  for (const Row& r : rows) {
    http::UpstreamResponse res;
    res.status = r.status;
    res.body = r.body;
    res.retry_after_ms = 1500;
    Error e = p.ClassifyError(res);
    EXPECT_EQ(e.code, r.code) << r.status;
    EXPECT_EQ(e.Retryable(), r.retryable) << r.status;
    EXPECT_EQ(e.message.find("sk-secret"), std::string::npos) << "key leaked: " << e.message;
    EXPECT_EQ(e.retry_after_ms, 1500);
  }
  http::UpstreamResponse res;
  res.status = 422;
  res.body = R"({"error":{"message":"bad enum"}})";
  EXPECT_EQ(p.ClassifyError(res).HttpStatus(), 422);
}

}  // namespace
}  // namespace hybridgate::providers
