// The `anthropic` and `gemini` adapters without I/O: upstream request shape, error classification
// (a table per provider) and the stream decoders' completion rules.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/openai_chat.h"
#include "providers/provider.h"

namespace hybridgate::providers {
namespace {

config::ProviderConfig MakeConfig(std::string type, std::string base_url) {
  config::ProviderConfig c;
  c.name = "up";
  c.type = std::move(type);
  c.base_url = std::move(base_url);
  c.api_key = "secret-key";
  c.models.push_back({.name = "m", .id = "models/gemini-2.5-flash"});
  return c;
}

std::string Header(const http::UpstreamRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return std::string(v);
  }
  return "<absent>";
}

// The provider keeps a reference to `c`.
std::unique_ptr<Provider> Make(const config::ProviderConfig& c) {
  Registry reg;
  RegisterBuiltins(reg);
  auto p = reg.Create(c);
  EXPECT_TRUE(p) << p.error().message;
  return std::move(*p);
}

api::ChatRequest Chat(std::string body) {
  auto req = api::DecodeOpenAiChat(body);
  EXPECT_TRUE(req) << req.error().message;
  return std::move(*req);
}

TEST(AnthropicProvider, EncodesMessagesWithItsHeadersAndADefaultMaxTokens) {
  const auto cfg = MakeConfig("anthropic", "https://api.anthropic.com/v1");
  auto p = Make(cfg);
  EXPECT_FALSE(p->SpeaksOpenAi());
  auto up =
      p->EncodeChat(Chat(R"({"model":"m","seed":3,"messages":[{"role":"user","content":"hi"}]})"),
                    cfg.models[0], "req-1");
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->target, "/v1/messages");
  EXPECT_EQ(Header(*up, "x-api-key"), "secret-key");
  EXPECT_EQ(Header(*up, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(Header(*up, "authorization"), "<absent>");
  auto v = boost::json::parse(up->body);
  EXPECT_EQ(v.at("max_tokens").as_int64(), 4096);
  EXPECT_FALSE(v.as_object().contains("seed")) << "OpenAI-only fields never reach Anthropic";
  EXPECT_FALSE(p->EncodeRaw("/embeddings", "{}", false, "r"));
  EXPECT_EQ(p->HealthProbe().target, "/v1/models");
}

TEST(AnthropicProvider, ClassifiesErrors) {
  const auto cfg = MakeConfig("anthropic", "https://api.anthropic.com/v1");
  auto p = Make(cfg);
  struct Case {
    int status;
    std::string body;
    ErrorCode code;
    std::string message_part;
  };
  const Case cases[] = {
      {429, R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})",
       ErrorCode::kRateLimited, "provider 'up' is rate limiting"},
      {529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
       ErrorCode::kRateLimited, "Overloaded"},
      {401, R"({"type":"error","error":{"type":"authentication_error","message":"bad"}})",
       ErrorCode::kUpstreamAuth, "provider 'up' rejected HybridGate's credentials (HTTP 401)"},
      {403, R"({"type":"error","error":{"type":"permission_error","message":"no"}})",
       ErrorCode::kUpstreamAuth, "provider 'up'"},
      {400,
       R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 300000 tokens > 200000 maximum"}})",
       ErrorCode::kContextLength, "prompt is too long"},
      {400, R"({"type":"error","error":{"type":"invalid_request_error","message":"bad field"}})",
       ErrorCode::kUpstreamError, "bad field"},
      {500, R"({"type":"error","error":{"type":"api_error","message":"oops"}})",
       ErrorCode::kUpstreamUnavailable, "provider 'up' failed (HTTP 500)"},
  };
  for (const Case& c : cases) {
    const Error e = p->ClassifyError({.status = c.status, .retry_after_ms = 7000, .body = c.body});
    EXPECT_EQ(e.code, c.code) << c.body;
    EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.message;
    EXPECT_EQ(e.retry_after_ms, 7000);
  }
}

TEST(AnthropicProvider, StreamIsCompleteOnlyAfterMessageStop) {
  const auto cfg = MakeConfig("anthropic", "https://api.anthropic.com/v1");
  auto p = Make(cfg);
  auto d = p->NewStreamDecoder(cfg.models[0], "r");
  ASSERT_NE(d, nullptr);
  std::vector<std::string> chunks;
  ASSERT_TRUE(d->Feed({.event = "message_start",
                       .data = R"({"type":"message_start","message":{"id":"msg","model":"c",)"
                               R"("usage":{"input_tokens":3,"output_tokens":1}}})"},
                      chunks));
  EXPECT_EQ(chunks.size(), 1u);
  EXPECT_FALSE(d->Done());
  EXPECT_FALSE(d->End(chunks)) << "cut before message_stop";
  ASSERT_TRUE(d->Feed({.event = "message_stop", .data = R"({"type":"message_stop"})"}, chunks));
  EXPECT_TRUE(d->Done());
  auto err = d->Feed(
      {.event = "error",
       .data = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"},
      chunks);
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, ErrorCode::kRateLimited);
}

TEST(GeminiProvider, EncodesGenerateContentAndStreamUrls) {
  const auto cfg = MakeConfig("gemini", "https://generativelanguage.googleapis.com/v1beta");
  auto p = Make(cfg);
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  auto up = p->EncodeChat(Chat(R"({"model":"m",)" + msgs + "}"), cfg.models[0], "r");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(Header(*up, "x-goog-api-key"), "secret-key");
  up = p->EncodeChat(Chat(R"({"model":"m","stream":true,)" + msgs + "}"), cfg.models[0], "r");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(Header(*up, "accept"), "text/event-stream");
  EXPECT_EQ(p->HealthProbe().target, "/v1beta/models");
}

TEST(GeminiProvider, ClassifiesErrors) {
  const auto cfg = MakeConfig("gemini", "https://generativelanguage.googleapis.com/v1beta");
  auto p = Make(cfg);
  struct Case {
    int status;
    std::string body;
    ErrorCode code;
    std::string message_part;
  };
  const Case cases[] = {
      {429, R"({"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}})",
       ErrorCode::kRateLimited, "provider 'up' is rate limiting (HTTP 429): quota"},
      {403, R"({"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}})",
       ErrorCode::kUpstreamAuth, "provider 'up' rejected"},
      {400,
       R"({"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}})",
       ErrorCode::kUpstreamAuth, "provider 'up' rejected"},
      {400, R"({"error":{"code":400,"message":"bad role","status":"INVALID_ARGUMENT"}})",
       ErrorCode::kUpstreamError, "bad role"},
      {503, R"({"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}})",
       ErrorCode::kUpstreamUnavailable, "provider 'up' failed (HTTP 503): overloaded"},
  };
  for (const Case& c : cases) {
    const Error e = p->ClassifyError({.status = c.status, .body = c.body});
    EXPECT_EQ(e.code, c.code) << c.body;
    EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.message;
    EXPECT_TRUE(e.upstream_body.empty()) << "Google's body is not passed through as OpenAI's";
  }
}

TEST(GeminiProvider, StreamIsCompleteWhenTheBodyEndsAfterAFinishReason) {
  const auto cfg = MakeConfig("gemini", "https://generativelanguage.googleapis.com/v1beta");
  auto p = Make(cfg);
  auto d = p->NewStreamDecoder(cfg.models[0], "r");
  ASSERT_NE(d, nullptr);
  std::vector<std::string> chunks;
  ASSERT_TRUE(
      d->Feed({.data = R"({"candidates":[{"content":{"parts":[{"text":"a"}]}}]})"}, chunks));
  EXPECT_FALSE(d->Done());
  EXPECT_FALSE(d->End(chunks));
  ASSERT_TRUE(d->Feed({.data = R"({"candidates":[{"content":{"parts":[{"text":"b"}]},)"
                               R"("finishReason":"STOP"}]})"},
                      chunks));
  EXPECT_FALSE(d->Done()) << "Gemini has no end marker";
  EXPECT_TRUE(d->End(chunks));
}

// A Gemini client's embeddings go to Gemini's own endpoints, only the model put in; other
// providers have none and say so (kNotFound: the gateway sends them OpenAI's /embeddings body).
TEST(GeminiProvider, EncodesAGeminiClientsEmbeddingsForItsOwnEndpoints) {
  const auto cfg = MakeConfig("gemini", "https://generativelanguage.googleapis.com/v1beta");
  auto p = Make(cfg);
  const auto kGemini = api::ChatRequest::Dialect::kGemini;
  auto up = p->EncodeNativeEmbed(
      kGemini, R"({"model":"models/m","content":{"parts":[{"text":"a"}]},"taskType":"CLUSTERING"})",
      false, cfg.models[0], "req-1");
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->target, "/v1beta/models/gemini-2.5-flash:embedContent");
  EXPECT_EQ(Header(*up, "x-goog-api-key"), "secret-key");
  EXPECT_EQ(boost::json::parse(up->body), boost::json::parse(R"({"model":"models/gemini-2.5-flash",
                                   "content":{"parts":[{"text":"a"}]},"taskType":"CLUSTERING"})"));
  up = p->EncodeNativeEmbed(kGemini,
                            R"({"requests":[{"content":{"parts":[{"text":"a"}]}},
                                {"model":"models/m","content":{"parts":[{"text":"b"}]},
                                 "outputDimensionality":8}]})",
                            true, cfg.models[0], "req-1");
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->target, "/v1beta/models/gemini-2.5-flash:batchEmbedContents");
  EXPECT_EQ(boost::json::parse(up->body), boost::json::parse(R"({"requests":[
      {"model":"models/gemini-2.5-flash","content":{"parts":[{"text":"a"}]}},
      {"model":"models/gemini-2.5-flash","content":{"parts":[{"text":"b"}]},
       "outputDimensionality":8}]})"));
  // Not a Gemini client's body, or not a Gemini upstream: not sent natively.
  EXPECT_EQ(
      p->EncodeNativeEmbed(api::ChatRequest::Dialect::kOpenAi, "{}", false, cfg.models[0], "r")
          .error()
          .code,
      ErrorCode::kNotFound);
  const auto anthropic = MakeConfig("anthropic", "https://api.anthropic.com/v1");
  EXPECT_EQ(Make(anthropic)
                ->EncodeNativeEmbed(kGemini, "{}", false, anthropic.models[0], "r")
                .error()
                .code,
            ErrorCode::kNotFound);
}

TEST(DialectProviders, ConfigDefaultsTheBaseUrlPerType) {
  auto cfg = config::ParseConfig(
      "providers:\n"
      "  - {name: a, type: anthropic, models: [{name: c, id: claude-sonnet-4-5}]}\n"
      "  - {name: g, type: gemini, models: [{name: f, id: gemini-2.5-flash}]}\n"
      "  - {name: o, type: openai, base_url: 'http://127.0.0.1:1/v1', models: [{name: m}]}\n",
      "test.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->providers[0].base_url, "https://api.anthropic.com/v1");
  EXPECT_EQ(cfg->providers[1].base_url, "https://generativelanguage.googleapis.com/v1beta");
  auto p = Make(cfg->providers[1]);
  EXPECT_TRUE(p->endpoint().tls);
  EXPECT_EQ(p->endpoint().base_path, "/v1beta");
  // An OpenAI-compatible server has no default address.
  EXPECT_FALSE(config::ParseConfig("providers: [{name: o, type: openai, models: [{name: m}]}]\n",
                                   "test.yaml"));
}

}  // namespace
}  // namespace hybridgate::providers
