// The embedded engine (provider type `local`) through the real binary: llama.cpp in-process with
// the tiny random-weight model. Outputs are gibberish; what is checked is what users rely on:
// concurrent streams, cancellation, context errors, logprobs, usage, every ingress dialect, and
// residency rerouting to the in-process model.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/llama_files.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string Config(int slots, int context, const std::string& extra = "") {
  return "server: {health_interval_ms: 100}\n"
         "providers:\n"
         "  - name: embedded\n"
         "    type: local\n"
         "    engine: {model: '" +
         TinyModelPath() + "', slots: " + std::to_string(slots) +
         ", context: " + std::to_string(context) +
         "}\n"
         "    models: [{name: local}]\n" +
         extra;
}

std::string Chat(const std::string& text, int max_tokens, bool stream, std::string more = "") {
  return R"({"model":"local","max_tokens":)" + std::to_string(max_tokens) + R"(,"stream":)" +
         (stream ? "true" : "false") + more + R"(,"messages":[{"role":"user","content":")" + text +
         R"("}]})";
}

// Content deltas of an OpenAI SSE body, and whether it ended with [DONE].
struct Sse {
  std::vector<json::object> chunks;
  bool done = false;
};
// Reads until at least one whole SSE event arrived (ReadSome may return partial frames).
std::string ReadEvent(TestClient& c) {
  std::string got;
  for (int i = 0; i < 100 && got.find("\n\n") == std::string::npos; ++i) got += c.ReadSome(2s);
  return got;
}

Sse ParseSse(const std::string& body) {
  Sse out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      out.done = true;
      continue;
    }
    out.chunks.push_back(json::parse(data).as_object());
  }
  return out;
}

TEST(LocalEngine, NonStreamAnswerWithUsageAndHeaders) {
  ASSERT_FALSE(TinyModelPath().empty());
  GatewayProcess gw(Config(2, 512));
  ASSERT_TRUE(gw.started()) << gw.Log();
  EXPECT_NE(gw.Log().find("PLACEHOLDER"), std::string::npos) << "the placeholder is announced";
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", Chat("Hello", 10, false));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "embedded");
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v["object"].as_string(), "chat.completion");
  const auto& choice = v["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice.at("message").at("role").as_string(), "assistant");
  const auto& usage = v["usage"].as_object();
  EXPECT_GT(usage.at("prompt_tokens").as_int64(), 3);
  EXPECT_GE(usage.at("completion_tokens").as_int64(), 1);
  EXPECT_LE(usage.at("completion_tokens").as_int64(), 10);
  if (choice.at("finish_reason").as_string() == "length") {
    EXPECT_EQ(usage.at("completion_tokens").as_int64(), 10);
  }
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(LocalEngine, ConcurrentStreamsInterleaveAndAllComplete) {
  GatewayProcess gw(Config(4, 2048));
  ASSERT_TRUE(gw.started()) << gw.Log();
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<TestClient>(gw.port()));
    auto head = clients.back()->StartStream(
        "/v1/chat/completions",
        Chat("story " + std::to_string(i), 1500, true,
             R"(,"stream_options":{"include_usage":true},"seed":)" + std::to_string(i)));
    ASSERT_EQ(head.status, 200) << head.body;
  }
  // Every stream delivers tokens before any of them has finished: they share the decode loop.
  std::vector<std::string> bodies(4);
  for (int i = 0; i < 4; ++i) {
    bodies[i] = ReadEvent(*clients[i]);
    EXPECT_FALSE(bodies[i].empty()) << "stream " << i;
  }
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(clients[i]->stream_done()) << "stream " << i;
  for (int i = 0; i < 4; ++i) {
    bodies[i] += clients[i]->ReadAll(120s);
    const Sse sse = ParseSse(bodies[i]);
    EXPECT_TRUE(sse.done) << "stream " << i;
    ASSERT_GE(sse.chunks.size(), 3u);
    EXPECT_EQ(sse.chunks.front().at("choices").as_array()[0].at("delta").at("role").as_string(),
              "assistant");
    const auto& usage = sse.chunks.back().at("usage").as_object();
    EXPECT_GT(usage.at("completion_tokens").as_int64(), 0);
  }
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(LocalEngine, ClientThatLeavesFreesItsSlot) {
  setenv("HG_IT_ADMIN_KEY", "hg-admin-engine-test", 1);
  GatewayProcess gw(Config(1, 4096, "limits: {admin_key_env: HG_IT_ADMIN_KEY}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient leaver(gw.port());
  auto head = leaver.StartStream("/v1/chat/completions", Chat("long", 4000, true));
  ASSERT_EQ(head.status, 200);
  EXPECT_FALSE(ReadEvent(leaver).empty());
  leaver.Close();
  // The one slot is free again at once: /readyz reports the engine idle, and a new request is
  // answered without waiting for the abandoned 4000 tokens.
  TestClient c(gw.port());
  const auto ready = [&c] {  // the engine's load is a detail: for the admin key only
    return c.Request("GET", "/readyz", "", {{"authorization", "Bearer hg-admin-engine-test"}}).body;
  };
  bool idle = false;
  for (int i = 0; i < 50 && !idle; ++i) {
    std::this_thread::sleep_for(100ms);
    idle = ready().find("0 active, 0 queued") != std::string::npos;
  }
  EXPECT_TRUE(idle) << ready();
  auto r = c.Post("/v1/chat/completions", Chat("quick", 3, false));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(LocalEngine, PromptOverTheContextIsAContextLengthError) {
  GatewayProcess gw(Config(1, 64));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  std::string words;
  for (int i = 0; i < 100; ++i) words += "word ";
  auto r = c.Post("/v1/chat/completions", Chat(words, 8, false));
  EXPECT_EQ(r.status, 400) << r.body;
  auto err = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(err.at("code").as_string(), "context_length_exceeded");
  EXPECT_NE(std::string(err.at("message").as_string()).find("maximum context length is 64"),
            std::string::npos);
  // The same in the Anthropic dialect.
  auto a = c.Request("POST", "/v1/messages",
                     R"({"model":"local","max_tokens":8,"messages":[{"role":"user","content":")" +
                         words + R"("}]})",
                     {{"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(json::parse(a.body).at("type").as_string(), "error");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(LocalEngine, LogprobsForEveryToken) {
  GatewayProcess gw(Config(1, 512));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions",
                  Chat("hi", 6, false, R"(,"logprobs":true,"top_logprobs":2,"temperature":0)"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  const auto& content = v["choices"].as_array()[0].at("logprobs").at("content").as_array();
  EXPECT_EQ(static_cast<int64_t>(content.size()), v["usage"].at("completion_tokens").as_int64());
  for (const auto& t : content) {
    EXPECT_LE(t.at("logprob").as_double(), 0.0);
    ASSERT_EQ(t.at("top_logprobs").as_array().size(), 2u);
    EXPECT_DOUBLE_EQ(t.at("logprob").as_double(),
                     t.at("top_logprobs").as_array()[0].at("logprob").as_double());
  }
  // Streamed chunks carry them too.
  auto s =
      c.Post("/v1/chat/completions", Chat("hi", 6, true, R"(,"logprobs":true,"top_logprobs":1)"));
  ASSERT_EQ(s.status, 200);
  size_t streamed = 0;
  for (const auto& chunk : ParseSse(s.body).chunks) {
    const auto& lp = chunk.at("choices").as_array()[0].at("logprobs");
    if (lp.is_object()) streamed += lp.at("content").as_array().size();
  }
  EXPECT_GT(streamed, 0u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(LocalEngine, AnthropicClientsAndResidencyRerouteAreServedInProcess) {
  FakeUpstream cloud;
  GatewayProcess gw(Config(2, 512,
                           "  - {name: cloud, type: openai, base_url: '" + cloud.base_url() +
                               "', zone: external, models: [{name: gpt-4o}]}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto a =
      c.Request("POST", "/v1/messages",
                R"({"model":"local","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})",
                {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(a.status, 200) << a.body;
  auto msg = json::parse(a.body).as_object();
  EXPECT_EQ(msg["type"].as_string(), "message");
  EXPECT_EQ(msg["content"].as_array()[0].at("type").as_string(), "text");
  EXPECT_GT(msg["usage"].at("output_tokens").as_int64(), 0);
  // Regulated data asked of an external model is answered by the embedded one; the cloud
  // upstream receives nothing.
  auto r = c.Post("/v1/chat/completions",
                  R"({"model":"gpt-4o","max_tokens":4,"messages":[{"role":"user","content":)"
                  R"("card 4111 1111 1111 1111, summarise"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "embedded");
  EXPECT_EQ(cloud.request_count(), 0u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(LocalEngine, UnsupportedFeaturesAreClearErrors) {
  GatewayProcess gw(Config(1, 512));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post(
      "/v1/chat/completions",
      R"({"model":"local","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("does not support tools"), std::string::npos) << r.body;
  auto e = c.Post("/v1/completions", R"({"model":"local","prompt":"x"})");
  EXPECT_EQ(e.status, 400) << e.body;
  EXPECT_NE(e.body.find("not /completions"), std::string::npos) << e.body;
  auto tokens = c.Post("/v1/embeddings", R"({"model":"local","input":[[1,2,3]]})");
  EXPECT_EQ(tokens.status, 400) << tokens.body;
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

// A route whose first tier is the embedded engine and whose deadline the engine cannot meet:
// its one slot is taken by a long stream, so the routed request waits in the queue. At the
// deadline the executor cancels the engine job (a timeout, which falls back) and the next
// tier's fake upstream answers.
void ExpectDeadlineFallsBack(bool stream, const std::string& deadlines) {
  FakeUpstream backup([stream](const Recorded&) {
    if (stream) {
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks({"from ", "backup"})};
    }
    return Action{.body = ChatCompletionJson("from backup")};
  });
  GatewayProcess gw(Config(1, 4096,
                           "  - {name: backup, type: openai, base_url: '" + backup.base_url() +
                               "', zone: self_hosted, models: [{name: backup-model}]}\n"
                               "routes:\n"
                               "  r:\n"
                               "    retries: {attempts: 1}\n"
                               "    deadlines: " +
                               deadlines +
                               "\n"
                               "    tiers:\n"
                               "      - {name: embedded, deployments: [local]}\n"
                               "      - {name: remote, deployments: [backup-model]}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient blocker(gw.port());
  // Greedy, so it surely runs its 4000 tokens (seconds) rather than stopping at a sampled EOS.
  auto head =
      blocker.StartStream("/v1/chat/completions", Chat("long", 4000, true, R"(,"temperature":0)"));
  ASSERT_EQ(head.status, 200) << head.body;
  EXPECT_FALSE(ReadEvent(blocker).empty());
  TestClient c(gw.port());
  const auto start = std::chrono::steady_clock::now();
  auto r = c.Post("/v1/chat/completions", std::string(R"({"model":"r","max_tokens":5,"stream":)") +
                                              (stream ? "true" : "false") +
                                              R"(,"messages":[{"role":"user","content":"hi"}]})");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200) << r.body << gw.Log();
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "backup");
  EXPECT_EQ(r.headers["x-hybridgate-attempts"], "2");
  EXPECT_NE(r.body.find("backup"), std::string::npos) << r.body;
  EXPECT_EQ(backup.request_count(), 1u);
  EXPECT_LT(took, 3s) << "the engine's deadline did not cut the wait short";
  blocker.Close();
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(LocalEngine, TtftDeadlineCancelsTheJobAndFallsBack) {
  ExpectDeadlineFallsBack(true, "{ttft_ms: 300}");
}

TEST(LocalEngine, AttemptDeadlineCancelsTheJobAndFallsBack) {
  ExpectDeadlineFallsBack(false, "{attempt_ms: 300}");
}

TEST(LocalEngine, EmbeddingsAsFloatsAndBase64) {
  GatewayProcess gw(Config(1, 512));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/embeddings", R"({"model":"local","input":["the cat","a dog"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "embedded");
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v["object"].as_string(), "list");
  const auto& data = v["data"].as_array();
  ASSERT_EQ(data.size(), 2u);
  double norm = 0;
  const auto& first = data[0].at("embedding").as_array();
  for (const auto& x : first) norm += x.to_number<double>() * x.to_number<double>();
  EXPECT_NEAR(norm, 1.0, 1e-3);
  EXPECT_EQ(data[1].at("index").as_int64(), 1);
  EXPECT_GT(v["usage"].at("prompt_tokens").as_int64(), 2);
  // base64: the float32 little-endian bytes of the same vector.
  auto b =
      c.Post("/v1/embeddings", R"({"model":"local","input":"the cat","encoding_format":"base64"})");
  ASSERT_EQ(b.status, 200) << b.body;
  const std::string b64(json::parse(b.body).at("data").as_array()[0].at("embedding").as_string());
  EXPECT_EQ(b64.size(), (first.size() * 4 + 2) / 3 * 4);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

}  // namespace
}  // namespace hybridgate::testing

namespace hybridgate::testing {
namespace {

// POST /v1/messages/count_tokens for a model the embedded engine serves: its own tokenizer over
// the prompt it renders, so the count is what a generation then reports as its input.
TEST(LocalEngine, CountTokensIsTheEnginesOwnCount) {
  GatewayProcess gw(Config(1, 512));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const std::string messages =
      R"("system":"Be brief.","messages":[{"role":"user","content":"Count me, engine."}])";
  auto r = c.Request("POST", "/v1/messages/count_tokens", R"({"model":"local",)" + messages + "}",
                     {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-token-count"], "tokenizer");
  const int64_t counted = json::parse(r.body).at("input_tokens").as_int64();
  EXPECT_GT(counted, 5);
  r = c.Request("POST", "/v1/messages", R"({"model":"local","max_tokens":1,)" + messages + "}",
                {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("usage").at("input_tokens").as_int64(), counted) << r.body;
}

}  // namespace
}  // namespace hybridgate::testing
