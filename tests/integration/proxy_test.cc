// The proxy path through the real binary: what the client gets, what the upstream received.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string Config(const FakeUpstream& up, const std::string& extra_models = "") {
  return "providers:\n"
         "  - name: local\n"
         "    type: openai\n"
         "    base_url: " +
         up.base_url() +
         "\n"
         "    zone: self_hosted\n"
         "    api_key_env: HG_IT_LOCAL_KEY\n"
         "    headers: {x-team: platform}\n"
         "    models:\n"
         "      - {name: llama, id: meta-llama/Llama-3.1-8B-Instruct}\n" +
         extra_models;
}

std::string Chat(const std::string& content, bool stream = false, const std::string& extra = "") {
  return R"({"model":"llama","messages":[{"role":"user","content":")" + content + R"("}])" +
         (stream ? R"(,"stream":true)" : "") + extra + "}";
}

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("HG_IT_LOCAL_KEY", "sk-local-secret", 1); }
};

TEST_F(ProxyTest, NonStreamPassesTheAnswerThroughAndTheUpstreamSeesATranslatedRequest) {
  const std::string answer = ChatCompletionJson("Paris", "meta-llama/Llama-3.1-8B-Instruct", 11, 2);
  FakeUpstream up([&](const Recorded&) { return Action{.body = answer}; });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", Chat("capital of France?", false,
                                                    R"(,"temperature":0.1,"future_knob":{"a":1})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, answer);  // byte for byte
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "local");
  EXPECT_EQ(r.headers["x-hybridgate-model"], "meta-llama/Llama-3.1-8B-Instruct");
  ASSERT_EQ(r.headers["x-hybridgate-request-id"].rfind("hg-", 0), 0u);

  ASSERT_EQ(up.request_count(), 1u);
  const Recorded got = up.requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/v1/chat/completions");
  EXPECT_EQ(got.headers.at("authorization"), "Bearer sk-local-secret");
  EXPECT_EQ(got.headers.at("x-team"), "platform");
  EXPECT_EQ(got.headers.at("x-hybridgate-request-id"), r.headers["x-hybridgate-request-id"]);
  auto body = json::parse(got.body);
  EXPECT_EQ(body.at("model").as_string(), "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_EQ(body.at("messages").at(0).at("content").as_string(), "capital of France?");
  EXPECT_DOUBLE_EQ(body.at("temperature").as_double(), 0.1);
  EXPECT_EQ(body.at("future_knob").at("a").as_int64(), 1);  // unknown fields survive

  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  const std::string log = gw.Log();
  EXPECT_NE(log.find(R"("msg":"request","id":")" + r.headers["x-hybridgate-request-id"]),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(R"("input_tokens":11,"output_tokens":2)"), std::string::npos) << log;
  // Every line is one JSON object; the request's carries its fields with their JSON types.
  size_t request_lines = 0;
  for (size_t at = 0, nl; at < log.size(); at = nl + 1) {
    nl = log.find('\n', at);
    if (nl == std::string::npos) nl = log.size();
    const std::string line = log.substr(at, nl - at);
    if (line.empty()) continue;
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    const json::object& o = v.as_object();
    // GatewayProcess polls /healthz until the gateway is up: those requests have lines too.
    if (o.at("msg") != "request" || o.at("path") == "/healthz") continue;
    ++request_lines;
    EXPECT_EQ(o.at("id").as_string(), r.headers["x-hybridgate-request-id"]);
    EXPECT_EQ(o.at("status").as_int64(), 200);
    EXPECT_EQ(o.at("stream").as_bool(), false);
    EXPECT_EQ(o.at("attempts").as_int64(), 1);
    EXPECT_GT(o.at("latency_ms").to_number<double>(), 0.0);
    EXPECT_LE(o.at("ttft_ms").to_number<double>(), o.at("latency_ms").to_number<double>());
    EXPECT_EQ(o.at("ts").as_string().size(), 27u);  // 2026-11-21T19:30:00.123456Z
  }
  EXPECT_EQ(request_lines, 1u) << log;
  EXPECT_EQ(log.find("capital of France"), std::string::npos) << "prompt text must not be logged";
  EXPECT_EQ(log.find("sk-local-secret"), std::string::npos) << "key must not be logged";
}

TEST_F(ProxyTest, FirstStreamChunkReachesTheClientBeforeTheUpstreamFinishes) {
  auto gate = std::make_shared<Gate>();
  FakeUpstream up([&](const Recorded&) {
    return Action{.content_type = "text/event-stream",
                  .chunks = ChatStreamChunks({"Hel", "lo", " world"}),
                  .gate = gate};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream("/v1/chat/completions", Chat("hi", true));
  ASSERT_EQ(head.status, 200) << head.error << client.ReadAll();
  EXPECT_EQ(head.headers["content-type"], "text/event-stream");
  EXPECT_EQ(head.headers["x-hybridgate-provider"], "local");
  // The upstream is held after its first chunk: whatever we read now was forwarded early.
  std::string first;
  for (int i = 0; i < 50 && first.find("\n\n") == std::string::npos; ++i)
    first += client.ReadSome(2s);
  EXPECT_NE(first.find(R"("role":"assistant")"), std::string::npos) << first;
  EXPECT_EQ(first.find("[DONE]"), std::string::npos);
  gate->Open();
  const std::string rest = client.ReadAll();
  const std::string all = first + rest;
  EXPECT_TRUE(client.stream_done());
  EXPECT_NE(all.find(R"("content":"Hel")"), std::string::npos);
  EXPECT_NE(all.find(R"("content":" world")"), std::string::npos);
  EXPECT_EQ(all.substr(all.size() - 14), "data: [DONE]\n\n");
  // The client did not ask for usage: the gateway asked for it, counted it, and dropped it.
  EXPECT_EQ(all.find(R"("usage")"), std::string::npos) << all;
  auto sent = json::parse(up.requests().at(0).body);
  EXPECT_TRUE(sent.at("stream_options").at("include_usage").as_bool());
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_NE(gw.Log().find(R"("input_tokens":5,"output_tokens":3)"), std::string::npos) << gw.Log();
}

TEST_F(ProxyTest, StreamForwardsTheUsageChunkWhenTheClientAsksForIt) {
  FakeUpstream up([&](const Recorded&) {
    return Action{.content_type = "text/event-stream", .chunks = ChatStreamChunks({"a", "b"})};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream("/v1/chat/completions",
                                 Chat("hi", true, R"(,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(head.status, 200);
  const std::string all = client.ReadAll();
  EXPECT_NE(all.find(R"("usage":{"prompt_tokens":5,"completion_tokens":2)"), std::string::npos)
      << all;
  EXPECT_EQ(all.substr(all.size() - 14), "data: [DONE]\n\n");
}

// An upstream stream that completes without a single content event (only [DONE], or only a
// usage chunk) is still one well-formed HTTP answer: its head first, then the dialect's end —
// never body bytes before a status line, never a second head on the connection.
TEST_F(ProxyTest, AStreamWithoutEventsIsStillOneWellFormedAnswer) {
  FakeUpstream up([&](const Recorded& r) {
    if (r.body.find("only-usage") != std::string::npos) {
      return Action{.content_type = "text/event-stream",
                    .chunks = {R"(data: {"id":"x","object":"chat.completion.chunk","created":1,)"
                               R"("model":"m","choices":[],"usage":{"prompt_tokens":3,)"
                               R"("completion_tokens":0,"total_tokens":3}})"
                               "\n\n",
                               "data: [DONE]\n\n"}};
    }
    return Action{.content_type = "text/event-stream", .chunks = {"data: [DONE]\n\n"}};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  for (const char* text : {"only-done", "only-usage"}) {
    TestClient client(gw.port());
    auto head = client.StartStream("/v1/chat/completions", Chat(text, true));
    ASSERT_EQ(head.status, 200) << text << " " << head.error;
    EXPECT_EQ(head.headers["content-type"].rfind("text/event-stream", 0), 0u) << text;
    const std::string all = client.ReadAll();
    EXPECT_TRUE(client.stream_done()) << text;
    EXPECT_EQ(all, "data: [DONE]\n\n") << text;
    // The connection is still in step: the next request on it gets its own clean answer.
    auto next = client.Post("/v1/chat/completions", Chat("again", true));
    EXPECT_EQ(next.status, 200) << text;
    EXPECT_EQ(next.body, "data: [DONE]\n\n") << text;
  }
}

TEST_F(ProxyTest, ClientDisconnectCancelsTheUpstreamRequest) {
  auto gate = std::make_shared<Gate>();  // never opened
  FakeUpstream up([&](const Recorded& r) {
    if (r.body.find(R"("stream":true)") != std::string::npos) {
      return Action{
          .content_type = "text/event-stream", .chunks = ChatStreamChunks({"x"}), .gate = gate};
    }
    return Action{.stall = true};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  {
    TestClient client(gw.port());
    auto head = client.StartStream("/v1/chat/completions", Chat("slow", true));
    ASSERT_EQ(head.status, 200);
    client.ReadSome(2s);
    client.Close();
  }
  EXPECT_TRUE(FakeUpstream::WaitFor([&] { return up.hangups() >= 1; }, 5s))
      << "streaming upstream never saw the cancellation";
  {
    // A raw socket, so the test can hang up while the request is in flight.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), gw.port()});
    const std::string body = Chat("stall");
    boost::asio::write(s, boost::asio::buffer("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                              "Content-Length: " +
                                              std::to_string(body.size()) + "\r\n\r\n" + body));
    EXPECT_TRUE(FakeUpstream::WaitFor([&] { return up.request_count() == 2; }, 5s));
    s.close();  // hang up while the gateway waits for the upstream
  }
  EXPECT_TRUE(FakeUpstream::WaitFor([&] { return up.hangups() >= 2; }, 5s))
      << "non-streaming upstream never saw the cancellation";
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_NE(gw.Log().find(R"("status":499)"), std::string::npos) << gw.Log();
}

TEST_F(ProxyTest, KeepAliveConnectionsAreReusedOnBothSides) {
  FakeUpstream up;
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(client.Post("/v1/chat/completions", Chat("n" + std::to_string(i))).status, 200);
  }
  EXPECT_EQ(client.connects(), 1);
  // One pooled upstream connection per worker at most (plus the readiness probe's).
  EXPECT_LE(up.connections(), 3);
}

TEST_F(ProxyTest, AnUpstreamThatHangsUpIdleConnectionsCostsNoFailedRequest) {
  // The upstream closes every connection right after answering, without Connection: close (as a
  // server whose keep-alive timeout is shorter than the gap between requests). The gateway reuses
  // a pooled connection without a liveness check when it was busy a moment ago, so the next
  // request meets the closed one and must be sent again, once, on a new connection.
  FakeUpstream up([](const Recorded& r) {
    auto body = json::parse(r.body);
    const std::string content(body.at("messages").at(0).at("content").as_string());
    return Action{.body = ChatCompletionJson("echo:" + content), .hang_up = true};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  for (int i = 0; i < 10; ++i) {
    const auto r = client.Post("/v1/chat/completions", Chat("n" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("echo:n" + std::to_string(i)), std::string::npos) << r.body;
    if (i % 3 == 0) std::this_thread::sleep_for(20ms);  // the hang-up has surely arrived
  }
  EXPECT_EQ(up.request_count(), 10u) << "each request reached the upstream exactly once";
}

TEST_F(ProxyTest, LargePromptsAndAnswersPassWholeOnOneKeepAliveConnection) {
  // Bodies larger than the read buffers at both ends (the request's is grown for an announced
  // body, up to 256 KB; the upstream connection's is 4 KB), one after another on one connection.
  FakeUpstream up([](const Recorded& r) {
    auto body = json::parse(r.body);
    const std::string content(body.at("messages").at(0).at("content").as_string());
    return Action{.body =
                      ChatCompletionJson(std::string(20000, 'z') + std::to_string(content.size()))};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::vector<size_t> sizes = {40000, 300000, 10, 70000};
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string prompt(sizes[i], 'a');
    for (size_t j = 0; j < prompt.size(); j += 997) prompt[j] = static_cast<char>('b' + i);
    const auto r = client.Post("/v1/chat/completions", Chat(prompt));
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    const std::string answer(
        json::parse(r.body).at("choices").at(0).at("message").at("content").as_string());
    EXPECT_EQ(answer, std::string(20000, 'z') + std::to_string(sizes[i]));
    const auto sent = json::parse(up.requests().at(i).body);
    EXPECT_EQ(sent.at("messages").at(0).at("content").as_string(), prompt) << "request " << i;
  }
  EXPECT_EQ(client.connects(), 1);
}

TEST_F(ProxyTest, TwoHundredConcurrentRequestsEachGetTheirOwnAnswer) {
  FakeUpstream up([](const Recorded& r) {
    auto body = json::parse(r.body);
    const std::string content(body.at("messages").at(0).at("content").as_string());
    return Action{.body = ChatCompletionJson("echo:" + content), .delay = 100ms};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  constexpr int kN = 200;
  std::vector<HttpResult> results(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      TestClient c(gw.port());
      results[i] = c.Post("/v1/chat/completions", Chat("req-" + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(results[i].status, 200) << i << " " << results[i].error << results[i].body;
    EXPECT_NE(results[i].body.find("echo:req-" + std::to_string(i) + "\""), std::string::npos);
  }
}

TEST_F(ProxyTest, CompletionsAndEmbeddingsAreForwardedWithTheUpstreamModelId) {
  FakeUpstream up([](const Recorded& r) {
    if (r.target == "/v1/embeddings") {
      return Action{
          .body =
              R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"e","usage":{"prompt_tokens":2,"total_tokens":2}})"};
    }
    return Action{
        .body =
            R"({"id":"c","object":"text_completion","choices":[{"text":"ok","index":0}],"usage":{"prompt_tokens":1,"completion_tokens":1}})"};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto e = client.Post("/v1/embeddings", R"({"model":"llama","input":"hello","dimensions":2})");
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_NE(e.body.find("[0.1,0.2]"), std::string::npos);
  auto c = client.Post("/v1/completions", R"({"model":"llama","prompt":"say ok"})");
  ASSERT_EQ(c.status, 200) << c.body;
  ASSERT_EQ(up.request_count("/v1/embeddings"), 1u);
  auto emb = json::parse(up.requests("/v1/embeddings")[0].body);
  EXPECT_EQ(emb.at("model").as_string(), "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_EQ(emb.at("dimensions").as_int64(), 2);
  ASSERT_EQ(up.request_count("/v1/completions"), 1u);
  EXPECT_EQ(json::parse(up.requests("/v1/completions")[0].body).at("prompt").as_string(), "say ok");
}

TEST_F(ProxyTest, FallsBackToTheNextProviderWhenTheFirstIsUnreachable) {
  FakeUpstream up;
  const std::string cfg =
      "providers:\n"
      "  - {name: dead, type: openai, base_url: 'http://127.0.0.1:" +
      std::to_string(FreePort()) +
      "/v1', models: [{name: llama}]}\n"
      "  - {name: alive, type: openai, base_url: '" +
      up.base_url() + "', models: [{name: llama}]}\n";
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", Chat("hi"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "alive");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_NE(
      gw.Log().find(
          R"("provider":"alive","upstream_model":"llama","status":200,"stream":false,"attempts":2)"),
      std::string::npos)
      << gw.Log();
}

TEST_F(ProxyTest, ModelsAndReadinessComeFromConfigAndProbes) {
  FakeUpstream up([](const Recorded&) { return Action{.body = R"({"object":"list","data":[]})"}; });
  const std::string cfg =
      Config(up) +
      "  - name: cloud\n    type: openai\n    base_url: https://api.example.invalid/v1\n"
      "    api_key_env: HG_IT_UNSET_KEY\n    models: [{name: gpt-4o}]\n"
      "aliases: {auto: llama}\n"
      "limits: {admin_key_env: HG_IT_ADMIN_KEY}\n";
  unsetenv("HG_IT_UNSET_KEY");
  setenv("HG_IT_ADMIN_KEY", "hg-admin-proxy-test", 1);
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto models = json::parse(client.Get("/v1/models").body);
  std::vector<std::string> ids;
  for (const auto& m : models.at("data").as_array()) ids.emplace_back(m.at("id").as_string());
  EXPECT_EQ(ids, (std::vector<std::string>{"llama", "gpt-4o", "auto"}));
  HttpResult ready;
  ASSERT_TRUE(FakeUpstream::WaitFor(
      [&] {
        ready = client.Get("/readyz");
        return ready.status == 200;
      },
      5s))
      << ready.body;
  // Without the admin key: readiness, names and reachability only (no upstream addresses).
  auto body = json::parse(ready.body);
  EXPECT_TRUE(body.at("ready").as_bool());
  EXPECT_EQ(body.at("providers").at(1).at("name").as_string(), "cloud");
  EXPECT_FALSE(body.at("providers").at(1).at("reachable").as_bool());
  EXPECT_EQ(ready.body.find("base_url"), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("api.example.invalid"), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("HG_IT_UNSET_KEY"), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("config"), std::string::npos) << ready.body;
  // With it, what each probe saw.
  ready = client.Request("GET", "/readyz", "", {{"authorization", "Bearer hg-admin-proxy-test"}});
  ASSERT_EQ(ready.status, 200) << ready.body;
  body = json::parse(ready.body);
  EXPECT_TRUE(body.at("providers").at(0).at("reachable").as_bool());
  EXPECT_FALSE(body.at("providers").at(1).at("reachable").as_bool());
  EXPECT_EQ(body.at("providers").at(1).at("base_url").as_string(),
            "https://api.example.invalid/v1");
  EXPECT_NE(
      std::string(body.at("providers").at(1).at("detail").as_string()).find("HG_IT_UNSET_KEY"),
      std::string::npos);
  EXPECT_GE(up.request_count("/v1/models"), 1u);
}

}  // namespace
}  // namespace hybridgate::testing
