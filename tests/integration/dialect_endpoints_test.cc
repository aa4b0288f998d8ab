// The dialects' endpoints besides their model calls, through the real binary: Anthropic's
// POST /v1/messages/count_tokens and Gemini's :countTokens (counted by an Anthropic or Gemini
// upstream — strict fakes —, else estimated), :embedContent and :batchEmbedContents (forwarded
// to an OpenAI-compatible upstream's /v1/embeddings under residency, or as sent to a Gemini
// upstream's own endpoints), GET /v1beta/models, and
// message_start's input tokens from an Anthropic upstream. Errors in each dialect's shape.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

std::string S(const json::value& v) { return std::string(v.as_string()); }

// `local` (self-hosted, OpenAI-compatible), `claude` (Anthropic) and `google` (Gemini), each a
// fake; `cloud` an external OpenAI-compatible one (the residency tests).
std::string Providers(const FakeUpstream& openai, const FakeUpstream& anthropic,
                      const FakeUpstream& gemini) {
  setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
  setenv("HG_IT_GEMINI_KEY", std::string(kFakeGeminiKey).c_str(), 1);
  return "providers:\n  - {name: local, type: openai, base_url: '" + openai.base_url() +
         "', zone: self_hosted, models: [{name: qwen, id: qwen2.5-7b}, {name: embed, id: "
         "bge-m3}]}\n"
         "  - {name: claude, type: anthropic, base_url: '" +
         anthropic.base_url() +
         "', api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: sonnet, id: claude-sonnet-4-5}]}\n"
         "  - {name: google, type: gemini, base_url: '" +
         gemini.base_url() +
         "', api_key_env: HG_IT_GEMINI_KEY, models: [{name: flash, id: gemini-2.5-flash}]}\n"
         "  - {name: cloud, type: openai, base_url: '" +
         openai.base_url() + "', zone: external, models: [{name: cloud-embed, id: te-3}]}\n";
}

constexpr const char* kCount = R"({"model":"%s","system":"Be brief.",
  "messages":[{"role":"user","content":"What is the weather in Paris today?"}],
  "tools":[{"name":"get_weather","description":"Current weather",
            "input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}]})";

std::string CountBody(std::string_view model) {
  std::string body = kCount;
  body.replace(body.find("%s"), 2, model);
  return body;
}

struct Fakes {
  FakeUpstream openai{[](const Recorded& r) {
    if (r.target == "/v1/embeddings") {
      const auto sent = json::parse(r.body);
      json::array data;
      const auto& input = sent.at("input");
      const size_t n = input.is_array() ? input.as_array().size() : 1;
      for (size_t i = 0; i < n; ++i) {
        data.push_back(json::object{{"object", "embedding"},
                                    {"index", static_cast<int64_t>(i)},
                                    {"embedding", json::array{0.5 + static_cast<double>(i), -1}}});
      }
      return Action{.body = json::serialize(
                        json::object{{"object", "list"},
                                     {"data", data},
                                     {"model", sent.at("model")},
                                     {"usage", {{"prompt_tokens", 6}, {"total_tokens", 6}}}})};
    }
    return Action{.body = ChatCompletionJson("ok", "qwen2.5-7b")};
  }};
  FakeUpstream anthropic{ValidatingAnthropic([](const Recorded& r) {
    if (r.target.ends_with("/messages/count_tokens"))
      return Action{.body = R"({"input_tokens":42})"};
    return Action{.status = 500, .body = "{}"};
  })};
  FakeUpstream gemini{ValidatingGemini([](const Recorded& r) {
    if (r.target.find(":countTokens") != std::string::npos) {
      return Action{.body = R"({"totalTokens":17})"};
    }
    return Action{.status = 500, .body = "{}"};
  })};
  GatewayProcess gw{Providers(openai, anthropic, gemini)};
};

HttpResult PostAnthropic(TestClient& c, const std::string& path, const std::string& body) {
  return c.Request("POST", path, body, {{"anthropic-version", "2023-06-01"}});
}

TEST(DialectEndpoints, AnthropicCountTokensIsExactFromAnAnthropicUpstream) {
  Fakes f;
  ASSERT_TRUE(f.gw.started()) << f.gw.Log();
  TestClient c(f.gw.port());
  auto r = PostAnthropic(c, "/v1/messages/count_tokens", CountBody("sonnet"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"input_tokens":42})"));
  EXPECT_EQ(r.headers["x-hybridgate-token-count"], "provider");
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "claude");
  // The strict fake took it: the count request's fields only, the model id, key and version.
  const auto sent = f.anthropic.requests("/v1/messages/count_tokens");
  ASSERT_EQ(sent.size(), 1u);
  const auto body = json::parse(sent[0].body);
  EXPECT_EQ(S(body.at("model")), "claude-sonnet-4-5");
  EXPECT_FALSE(body.as_object().contains("max_tokens")) << body;
  EXPECT_EQ(S(body.at("system")), "Be brief.");
  EXPECT_EQ(S(body.at("tools").at(0).at("name")), "get_weather");
  EXPECT_EQ(sent[0].headers.at("anthropic-version"), "2023-06-01");
  // Not a generation: nothing went to /messages.
  EXPECT_EQ(f.anthropic.request_count("/v1/messages"), 0u);
  EXPECT_EQ(f.gw.Stop(), 0);  // the log lines are written in batches: all of them by now
  EXPECT_NE(f.gw.Log().find(R"("path":"/v1/messages/count_tokens")"), std::string::npos)
      << f.gw.Log();
}

TEST(DialectEndpoints, AnthropicCountTokensIsEstimatedForAnOpenAiUpstream) {
  Fakes f;
  ASSERT_TRUE(f.gw.started()) << f.gw.Log();
  TestClient c(f.gw.port());
  auto r = PostAnthropic(c, "/v1/messages/count_tokens", CountBody("qwen"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-token-count"], "estimate");
  const int64_t n = json::parse(r.body).at("input_tokens").as_int64();
  // ~4 bytes a token over ~120 bytes of text and tool, plus 3 + 4 per message.
  EXPECT_GT(n, 20);
  EXPECT_LT(n, 80);
  EXPECT_EQ(f.openai.request_count(), 0u);  // counting calls nobody
}

TEST(DialectEndpoints, CountTokensErrorsComeInTheDialectsShape) {
  Fakes f;
  ASSERT_TRUE(f.gw.started()) << f.gw.Log();
  TestClient c(f.gw.port());
  auto r = PostAnthropic(c, "/v1/messages/count_tokens", R"({"model":"qwen"})");
  EXPECT_EQ(r.status, 400) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(S(v.at("type")), "error");
  EXPECT_EQ(S(v.at("error").at("type")), "invalid_request_error");
  EXPECT_NE(S(v.at("error").at("message")).find("messages"), std::string::npos) << r.body;
  r = PostAnthropic(c, "/v1/messages/count_tokens", CountBody("nope"));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("type")), "not_found_error") << r.body;
  r = PostAnthropic(c, "/v1/messages/count_tokens", "{not json");
  EXPECT_EQ(r.status, 400) << r.body;
  r = c.Request("GET", "/v1/messages/count_tokens", "");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("type")), "error");
  // Gemini's in Google's.
  r = c.Post("/v1beta/models/qwen:countTokens", R"({"contents":[]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("status")), "INVALID_ARGUMENT") << r.body;
  r = c.Post("/v1beta/models/nope:countTokens", R"({"contents":[{"parts":[{"text":"x"}]}]})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("status")), "NOT_FOUND") << r.body;
}

TEST(DialectEndpoints, CountTokensNeedsTheKeyWhenAuthIsOn) {
  FakeUpstream up;
  Scratch s{"hg-count"};
  GatewayProcess gw("providers:\n  - {name: local, type: openai, base_url: '" + up.base_url() +
                    "', zone: self_hosted, models: [{name: qwen}]}\nlimits: {auth_required: true, "
                    "keys_db: '" +
                    s.Path("keys.db") + "'}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = PostAnthropic(c, "/v1/messages/count_tokens", CountBody("qwen"));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("type")), "authentication_error") << r.body;
  r = c.Post("/v1beta/models/qwen:countTokens", R"({"contents":[{"parts":[{"text":"x"}]}]})");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("status")), "UNAUTHENTICATED") << r.body;
}

TEST(DialectEndpoints, GeminiCountTokensFromAGeminiUpstreamAndEstimatedElsewhere) {
  Fakes f;
  ASSERT_TRUE(f.gw.started()) << f.gw.Log();
  TestClient c(f.gw.port());
  const std::string contents = R"({"contents":[{"role":"user","parts":[{"text":"Hello there"}]}]})";
  auto r = c.Post("/v1beta/models/flash:countTokens", contents);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"totalTokens":17})"));
  EXPECT_EQ(r.headers["x-hybridgate-token-count"], "provider");
  const auto sent = f.gemini.requests("/v1/models/gemini-2.5-flash:countTokens");
  ASSERT_EQ(sent.size(), 1u);
  const auto body = json::parse(sent[0].body);
  EXPECT_EQ(S(body.at("generateContentRequest").at("model")), "models/gemini-2.5-flash");
  EXPECT_EQ(S(body.at("generateContentRequest").at("contents").at(0).at("parts").at(0).at("text")),
            "Hello there");
  // An Anthropic upstream counts a Gemini client's request too; an OpenAI one is estimated.
  r = c.Post("/v1/models/sonnet:countTokens",
             R"({"generateContentRequest":{"model":"models/sonnet",
                 "systemInstruction":{"parts":[{"text":"Be brief."}]},
                 "contents":[{"role":"user","parts":[{"text":"Hello there"}]}]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"totalTokens":42})"));
  r = c.Post("/v1beta/models/qwen:countTokens", contents);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-token-count"], "estimate");
  EXPECT_GT(json::parse(r.body).at("totalTokens").as_int64(), 3);
}

TEST(DialectEndpoints, GeminiEmbeddingsGoToTheOpenAiUpstreamsEmbeddings) {
  Fakes f;
  ASSERT_TRUE(f.gw.started()) << f.gw.Log();
  TestClient c(f.gw.port());
  auto r =
      c.Post("/v1beta/models/embed:embedContent",
             R"({"model":"models/embed","content":{"parts":[{"text":"first"},{"text":"second"}]},
                      "taskType":"RETRIEVAL_DOCUMENT","outputDimensionality":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"embedding":{"values":[0.5,-1]}})"));
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "local");
  auto sent = f.openai.requests("/v1/embeddings");
  ASSERT_EQ(sent.size(), 1u);
  auto body = json::parse(sent[0].body);
  EXPECT_EQ(S(body.at("model")), "bge-m3");
  EXPECT_EQ(S(body.at("input")), "first\nsecond");
  EXPECT_EQ(body.at("dimensions").as_int64(), 2);
  r = c.Post("/v1/models/embed:batchEmbedContents",
             R"({"requests":[{"model":"models/embed","content":{"parts":[{"text":"a"}]}},
                             {"content":{"parts":[{"text":"b"}]}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"embeddings":[{"values":[0.5,-1]},{"values":[1.5,-1]}]})"));
  sent = f.openai.requests("/v1/embeddings");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(json::parse(sent[1].body).at("input"), json::parse(R"(["a","b"])"));
  // Bad input: Google's shape, naming the field; nothing forwarded.
  r = c.Post("/v1beta/models/embed:embedContent",
             R"({"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("content.parts[0]"), std::string::npos) << r.body;
  r = c.Post("/v1beta/models/embed:batchEmbedContents",
             R"({"requests":[{"model":"models/other","content":{"parts":[{"text":"a"}]}}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("status")), "INVALID_ARGUMENT");
  EXPECT_EQ(f.openai.requests("/v1/embeddings").size(), 2u);
  EXPECT_EQ(f.gw.Stop(), 0);
  EXPECT_NE(f.gw.Log().find(R"("path":"/v1beta/models/embed:embedContent")"), std::string::npos)
      << f.gw.Log();
}

TEST(DialectEndpoints, GeminiEmbeddingsAreClassifiedOnEveryStringTheClientSent) {
  Fakes f;
  ASSERT_TRUE(f.gw.started()) << f.gw.Log();
  TestClient c(f.gw.port());
  // The external model may not get class 3 (an email): residency reroutes to the self-hosted
  // fallback (or refuses); the external model never sees it.
  auto r = c.Post("/v1beta/models/cloud-embed:embedContent",
                  R"({"content":{"parts":[{"text":"mail jane.doe@example.com"}]}})");
  EXPECT_NE(r.headers["x-hybridgate-provider"], "cloud") << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-data-class"], "3") << r.body;
  // In the title, which is not forwarded, it still counts: the request is as sensitive as what
  // the client sent.
  r = c.Post("/v1beta/models/cloud-embed:embedContent",
             R"({"title":"for jane.doe@example.com","content":{"parts":[{"text":"hello"}]}})");
  EXPECT_NE(r.headers["x-hybridgate-provider"], "cloud") << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-data-class"], "3") << r.body;
  for (const auto& sent : f.openai.requests("/v1/embeddings")) {
    EXPECT_NE(S(json::parse(sent.body).at("model")), "te-3") << sent.body;
  }
  r = c.Post("/v1beta/models/cloud-embed:embedContent",
             R"({"content":{"parts":[{"text":"hello"}]}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "cloud") << r.body;
}

// A `gemini` provider serves a Gemini client's embeddings at its own :embedContent and
// :batchEmbedContents (the strict fake checks them as Google does): the client's body as sent but
// for the model, the answer as Google wrote it. The same key, classification and residency hold.
TEST(DialectEndpoints, GeminiEmbeddingsGoToAGeminiUpstreamsOwnEndpoints) {
  setenv("HG_IT_GEMINI_KEY", std::string(kFakeGeminiKey).c_str(), 1);
  constexpr std::string_view kOne = R"({"embedding":{"values":[0.125,-0.5,0.75]}})";
  FakeUpstream gemini{ValidatingGemini([&](const Recorded& r) {
    if (r.target.find(":batchEmbedContents") != std::string::npos) {
      json::array embeddings;
      const size_t n = json::parse(r.body).at("requests").as_array().size();
      for (size_t i = 0; i < n; ++i) {
        embeddings.push_back(
            json::object{{"values", json::array{0.25 * static_cast<double>(i + 1), -0.5}}});
      }
      return Action{.body = json::serialize(json::object{{"embeddings", embeddings}})};
    }
    if (r.target.find(":embedContent") != std::string::npos)
      return Action{.body = std::string(kOne)};
    return Action{.status = 500, .body = "{}"};
  })};
  FakeUpstream local{[](const Recorded&) {
    return Action{.body = R"({"object":"list","data":[{"object":"embedding","index":0,
        "embedding":[1,2]}],"model":"bge-m3","usage":{"prompt_tokens":4,"total_tokens":4}})"};
  }};
  GatewayProcess gw("providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
                    "', zone: self_hosted, models: [{name: embed, id: bge-m3}]}\n"
                    "  - {name: google, type: gemini, base_url: '" +
                    gemini.base_url() +
                    "', api_key_env: HG_IT_GEMINI_KEY, models: [{name: gembed, id: "
                    "gemini-embedding-001}]}\nresidency: {fallback_model: embed}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());

  const std::string one = R"({"model":"models/gembed","content":{"parts":[{"text":"first"},
      {"text":"second"}]},"taskType":"RETRIEVAL_DOCUMENT","title":"Notes","outputDimensionality":3})";
  auto r = c.Post("/v1beta/models/gembed:embedContent", one);
  ASSERT_EQ(r.status, 200) << r.body << gw.Log();
  EXPECT_EQ(r.body, kOne);  // Google's answer, byte for byte
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "google");
  EXPECT_EQ(r.headers["x-hybridgate-model"], "gemini-embedding-001");
  auto sent = gemini.requests("/v1/models/gemini-embedding-001:embedContent");
  ASSERT_EQ(sent.size(), 1u);
  json::value want = json::parse(one);
  want.as_object()["model"] = "models/gemini-embedding-001";
  EXPECT_EQ(json::parse(sent[0].body), want);
  EXPECT_EQ(sent[0].headers.at("x-goog-api-key"), kFakeGeminiKey);
  // Without a model in the body, none is added (the path names it).
  r = c.Post("/v1beta/models/gembed:embedContent", R"({"content":{"parts":[{"text":"x"}]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  sent = gemini.requests("/v1/models/gemini-embedding-001:embedContent");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(json::parse(sent[1].body), json::parse(R"({"content":{"parts":[{"text":"x"}]}})"));

  // A batch: every request names the upstream's model, as Google requires.
  r = c.Post("/v1/models/gembed:batchEmbedContents",
             R"({"requests":[{"model":"models/gembed","content":{"parts":[{"text":"a"}]},
                              "taskType":"RETRIEVAL_QUERY"},
                             {"content":{"role":"user","parts":[{"text":"b"}]}}]})");
  ASSERT_EQ(r.status, 200) << r.body << gw.Log();
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"embeddings":[{"values":[0.25,-0.5]},{"values":[0.5,-0.5]}]})"));
  sent = gemini.requests("/v1/models/gemini-embedding-001:batchEmbedContents");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(json::parse(sent[0].body), json::parse(R"({"requests":[
      {"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]},
       "taskType":"RETRIEVAL_QUERY"},
      {"model":"models/gemini-embedding-001","content":{"role":"user","parts":[{"text":"b"}]}}]})"));
  EXPECT_EQ(local.request_count("/v1/embeddings"), 0u);

  // What Google refuses comes back in Google's shape, with its words.
  r = c.Post("/v1beta/models/gembed:embedContent",
             R"({"content":{"parts":[{"text":"x"}]},"taskType":"NOT_A_TASK"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("status")), "INVALID_ARGUMENT") << r.body;
  EXPECT_NE(r.body.find("task_type"), std::string::npos) << r.body;

  // Class 3 (an email, here in the title) never reaches the external Gemini: the self-hosted
  // fallback embeds it, from the translated body.
  r = c.Post("/v1beta/models/gembed:embedContent",
             R"({"title":"for jane.doe@example.com","content":{"parts":[{"text":"hello"}]}})");
  ASSERT_EQ(r.status, 200) << r.body << gw.Log();
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "local");
  EXPECT_EQ(r.headers["x-hybridgate-data-class"], "3");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"embedding":{"values":[1,2]}})"));
  for (const auto& req : gemini.requests("")) {
    EXPECT_EQ(req.body.find("jane.doe"), std::string::npos) << req.target;
  }
}

TEST(DialectEndpoints, GeminiModelListAndModel) {
  Fakes f;
  ASSERT_TRUE(f.gw.started()) << f.gw.Log();
  TestClient c(f.gw.port());
  auto r = c.Get("/v1beta/models");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto v = json::parse(r.body);
  bool saw_flash = false;
  for (const auto& m : v.at("models").as_array()) {
    if (S(m.at("name")) != "models/flash") continue;
    saw_flash = true;
    EXPECT_EQ(S(m.at("displayName")), "flash");
    const auto& methods = m.at("supportedGenerationMethods").as_array();
    EXPECT_NE(std::find(methods.begin(), methods.end(), json::value("generateContent")),
              methods.end());
    EXPECT_NE(std::find(methods.begin(), methods.end(), json::value("embedContent")),
              methods.end());
  }
  EXPECT_TRUE(saw_flash) << r.body;
  r = c.Get("/v1beta/models/qwen");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("name")), "models/qwen");
  r = c.Get("/v1beta/models/nope");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("error").at("status")), "NOT_FOUND") << r.body;
}

TEST(DialectEndpoints, MessageStartCarriesTheInputTokensOfAnAnthropicUpstream) {
  FakeUpstream openai, gemini;
  FakeUpstream anthropic(ValidatingAnthropic([](const Recorded&) {
    return Action{
        .content_type = "text/event-stream",
        .chunks = {
            AnthropicEvent(
                R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":1,"cache_read_input_tokens":8}}})"),
            AnthropicEvent(
                R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
            AnthropicEvent(
                R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"),
            AnthropicEvent(R"({"type":"content_block_stop","index":0})"),
            AnthropicEvent(
                R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}})"),
            AnthropicEvent(R"({"type":"message_stop"})")}};
  }));
  GatewayProcess gw(Providers(openai, anthropic, gemini));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto head = c.StartStream(
      "/v1/messages",
      R"({"model":"sonnet","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]})",
      {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(head.status, 200) << c.ReadAll();
  const std::string sse = c.ReadAll();
  const size_t start = sse.find("event: message_start");
  ASSERT_NE(start, std::string::npos) << sse;
  const size_t data = sse.find("data: ", start);
  const auto message_start = json::parse(sse.substr(data + 6, sse.find("\n\n", data) - data - 6));
  EXPECT_EQ(message_start.at("message").at("usage").at("input_tokens").as_int64(), 40) << sse;
}

// An OpenAI-compatible upstream that reports usage on every chunk (vLLM's
// stream_options.continuous_usage_stats): message_start has the input tokens at once, and the
// final message_delta carries them with the output tokens.
TEST(DialectEndpoints, MessageStartCarriesEarlyUsageOfAnOpenAiUpstream) {
  FakeUpstream openai([](const Recorded&) {
    const auto chunk = [](std::string_view delta, std::string_view finish, int completion) {
      return SseData(
          std::string(R"({"id":"c1","object":"chat.completion.chunk","model":"qwen2.5-7b",)") +
          R"("choices":[{"index":0,"delta":)" + std::string(delta) + R"(,"finish_reason":)" +
          std::string(finish) + R"(}],"usage":{"prompt_tokens":31,"completion_tokens":)" +
          std::to_string(completion) + R"(,"total_tokens":)" + std::to_string(31 + completion) +
          "}}");
    };
    return Action{.content_type = "text/event-stream",
                  .chunks = {chunk(R"({"role":"assistant","content":""})", "null", 0),
                             chunk(R"({"content":"Hel"})", "null", 1),
                             chunk(R"({"content":"lo"})", "null", 2), chunk("{}", R"("stop")", 2),
                             SseData("[DONE]")}};
  });
  FakeUpstream anthropic, gemini;
  GatewayProcess gw(Providers(openai, anthropic, gemini));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto head = c.StartStream(
      "/v1/messages",
      R"({"model":"qwen","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]})",
      {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(head.status, 200) << c.ReadAll();
  const std::string sse = c.ReadAll();
  const auto data_of = [&sse](std::string_view event) {
    const size_t at = sse.find("event: " + std::string(event));
    if (at == std::string::npos) return json::value();
    const size_t data = sse.find("data: ", at);
    return json::parse(sse.substr(data + 6, sse.find("\n\n", data) - data - 6));
  };
  const json::value start = data_of("message_start");
  ASSERT_TRUE(start.is_object()) << sse;
  EXPECT_EQ(start.at("message").at("usage").at("input_tokens").as_int64(), 31) << sse;
  const json::value delta = data_of("message_delta");
  ASSERT_TRUE(delta.is_object()) << sse;
  EXPECT_EQ(delta.at("usage").at("input_tokens").as_int64(), 31) << sse;
  EXPECT_EQ(delta.at("usage").at("output_tokens").as_int64(), 2) << sse;
}

}  // namespace
}  // namespace hybridgate::testing
