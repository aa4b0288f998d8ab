// The executor through the real binary (issue #5): retries of one deployment with backoff and
// Retry-After, circuit breakers that open and half-open, time-to-first-token and total deadlines,
// and confidence escalation to the next tier — against fake upstreams scripted to fail.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

const char kChat[] = R"({"model":"r","messages":[{"role":"user","content":"hi"}]})";
const char kStreamChat[] =
    R"({"model":"r","stream":true,"messages":[{"role":"user","content":"hi"}]})";

// Two providers, one model each, and route `r` with tiers weak (model-a) → strong (model-b).
// `route_extra` is YAML under the route (retries, deadlines, escalation, breaker).
std::string Config(const FakeUpstream& a, const FakeUpstream& b, const std::string& route_extra) {
  return "providers:\n"
         "  - {name: a, type: openai, base_url: '" +
         a.base_url() +
         "', zone: self_hosted, models: [{name: model-a}]}\n"
         "  - {name: b, type: openai, base_url: '" +
         b.base_url() +
         "', zone: self_hosted, models: [{name: model-b}]}\n"
         "routes:\n"
         "  r:\n"
         "    tiers:\n"
         "      - {name: weak, deployments: [model-a]}\n"
         "      - {name: strong, deployments: [model-b]}\n" +
         route_extra;
}

FakeUpstream::Script Answer(const std::string& who) {
  return [who](const Recorded&) { return Action{.body = ChatCompletionJson("from " + who)}; };
}

FakeUpstream::Script Streams(const std::string& who) {
  return [who](const Recorded&) {
    return Action{.content_type = "text/event-stream", .chunks = ChatStreamChunks({"from ", who})};
  };
}

// A chat completion whose tokens carry `logprob` each.
std::string AnswerWithLogprobs(const std::string& content, double logprob) {
  json::array tokens;
  for (const char* t : {"tok1", "tok2", "tok3"}) {
    tokens.push_back(json::object{
        {"token", t}, {"logprob", logprob}, {"bytes", json::array{}}, {"top_logprobs", {}}});
  }
  json::object o{{"id", "chatcmpl-fake"},
                 {"object", "chat.completion"},
                 {"created", 1700000000},
                 {"model", "m"},
                 {"choices", json::array{json::object{
                                 {"index", 0},
                                 {"message", {{"role", "assistant"}, {"content", content}}},
                                 {"logprobs", {{"content", tokens}}},
                                 {"finish_reason", "stop"}}}},
                 {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 3}, {"total_tokens", 8}}}};
  return json::serialize(o);
}

// Readiness probes (GET /v1/models) go through the scripts too.
bool IsChat(const Recorded& r) { return r.target.ends_with("/chat/completions"); }

double MsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

TEST(Executor, RetriesTheSameDeploymentAfterA503) {
  std::atomic<int> calls{0};
  FakeUpstream a([&calls](const Recorded& r) {
    if (IsChat(r) && calls++ == 0)
      return Action{.status = 503, .body = R"({"error":{"message":"busy"}})"};
    return Action{.body = ChatCompletionJson("from a")};
  });
  FakeUpstream b(Answer("b"));
  GatewayProcess gw(
      Config(a, b, "    retries: {attempts: 2, backoff_ms: 10, max_backoff_ms: 20}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("from a"), std::string::npos);
  EXPECT_EQ(a.request_count(), 2u);
  EXPECT_EQ(b.request_count(), 0u);
  EXPECT_EQ(r.headers["x-hybridgate-attempts"], "2");
  EXPECT_EQ(r.headers["x-hybridgate-escalated"], "0");
  EXPECT_EQ(r.headers["x-hybridgate-tier"], "weak");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

// The first chat answer is a 503 carrying `name: value`; the retry on the same upstream must wait
// at least `wait_ms` (the configured backoff alone is 10-20 ms).
void ExpectRetryWaitsFor(const std::string& name, const std::string& value, double wait_ms) {
  std::atomic<int> calls{0};
  FakeUpstream a([&](const Recorded& r) {
    if (IsChat(r) && calls++ == 0) {
      return Action{.status = 503, .body = "{}", .headers = {{name, value}}};
    }
    return Action{.body = ChatCompletionJson("from a")};
  });
  FakeUpstream b(Answer("b"));
  GatewayProcess gw(
      Config(a, b, "    retries: {attempts: 2, backoff_ms: 10, max_backoff_ms: 20}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const auto start = SteadyClock::now();
  auto r = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(MsSince(start), wait_ms) << name << ": " << value << " was not honoured";
  EXPECT_NE(r.body.find("from a"), std::string::npos);
  EXPECT_EQ(a.request_count(), 2u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Executor, HonoursRetryAfterBeforeRetrying) { ExpectRetryWaitsFor("retry-after", "1", 1000.0); }

// OpenAI sends retry-after-ms beside (or without) Retry-After: read from the response head
// like the other fields the gateway uses, whatever the name's case.
TEST(Executor, HonoursOpenAisRetryAfterMs) { ExpectRetryWaitsFor("Retry-After-Ms", "700", 700.0); }

TEST(Executor, ARetryAfterAboveTheCapMovesOnAtOnce) {
  FakeUpstream a([](const Recorded&) {
    return Action{.status = 429, .body = "{}", .headers = {{"retry-after", "30"}}};
  });
  FakeUpstream b(Answer("b"));
  GatewayProcess gw(Config(a, b,
                           "    retries: {attempts: 3, backoff_ms: 10, max_backoff_ms: 20, "
                           "max_retry_after_ms: 1000}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const auto start = SteadyClock::now();
  auto r = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LT(MsSince(start), 1000.0);
  EXPECT_NE(r.body.find("from b"), std::string::npos);
  EXPECT_EQ(a.request_count(), 1u);
  EXPECT_EQ(r.headers["x-hybridgate-attempts"], "2");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Executor, BreakerOpensSkipsTheDeploymentThenHalfOpens) {
  std::atomic<bool> healthy{false};
  FakeUpstream a([&healthy](const Recorded&) {
    if (!healthy) return Action{.status = 503, .body = "{}"};
    return Action{.body = ChatCompletionJson("from a")};
  });
  FakeUpstream b(Answer("b"));
  GatewayProcess gw(Config(a, b,
                           "    retries: {attempts: 1}\n"
                           "    breaker: {consecutive_failures: 2, cooldown_ms: 1500}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  for (int i = 0; i < 2; ++i) {
    auto r = c.Post("/v1/chat/completions", kChat);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("from b"), std::string::npos);
  }
  EXPECT_EQ(a.request_count(), 2u);
  // Open: the deployment is not asked any more.
  for (int i = 0; i < 3; ++i) {
    auto r = c.Post("/v1/chat/completions", kChat);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["x-hybridgate-attempts"], "1");
  }
  EXPECT_EQ(a.request_count(), 2u) << "an open breaker let requests through";
  auto metrics = c.Get("/metrics");
  EXPECT_NE(metrics.body.find(R"(hybridgate_circuit_breaker_state{provider="a/model-a"} 2)"),
            std::string::npos)
      << metrics.body;
  // After the cool-down one probe goes through; its success closes the breaker.
  healthy = true;
  std::this_thread::sleep_for(milliseconds(1600));
  auto probe = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(probe.status, 200) << probe.body;
  EXPECT_NE(probe.body.find("from a"), std::string::npos);
  EXPECT_EQ(a.request_count(), 3u);
  auto after = c.Post("/v1/chat/completions", kChat);
  EXPECT_NE(after.body.find("from a"), std::string::npos);
  EXPECT_EQ(a.request_count(), 4u);
  metrics = c.Get("/metrics");
  EXPECT_NE(metrics.body.find(R"(hybridgate_circuit_breaker_state{provider="a/model-a"} 0)"),
            std::string::npos)
      << metrics.body;
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

// The first upstream answers too late for ttft_ms (its head, or its first event): the client
// gets the second one's stream, and nothing of the first.
void ExpectTtftFallback(const Action& slow) {
  FakeUpstream a([slow](const Recorded&) { return slow; });
  FakeUpstream b(Streams("b"));
  GatewayProcess gw(Config(a, b, "    retries: {attempts: 1}\n    deadlines: {ttft_ms: 300}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const auto start = SteadyClock::now();
  auto head = c.StartStream("/v1/chat/completions", kStreamChat);
  ASSERT_EQ(head.status, 200) << head.body << gw.Log();
  const std::string body = head.body + c.ReadAll();
  EXPECT_LT(MsSince(start), 1500.0);
  EXPECT_EQ(head.headers["x-hybridgate-provider"], "b");
  EXPECT_EQ(head.headers["x-hybridgate-attempts"], "2");
  EXPECT_NE(body.find("from "), std::string::npos) << body;
  EXPECT_NE(body.find("\"b\""), std::string::npos) << body;
  EXPECT_EQ(body.find("\"a\""), std::string::npos) << body;
  EXPECT_NE(body.find("[DONE]"), std::string::npos) << body;
  EXPECT_EQ(a.request_count(), 1u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Executor, TtftDeadlineOnTheHeadFallsBack) {
  ExpectTtftFallback(Action{.content_type = "text/event-stream",
                            .delay = milliseconds(2000),
                            .chunks = ChatStreamChunks({"from ", "a"})});
}

TEST(Executor, TtftDeadlineOnTheFirstEventFallsBack) {
  std::vector<std::string> chunks = ChatStreamChunks({"from ", "a"});
  chunks.insert(chunks.begin(), ": keep-alive\n\n");  // the head and a comment come at once
  ExpectTtftFallback(Action{
      .content_type = "text/event-stream", .chunks = chunks, .chunk_delay = milliseconds(2000)});
}

TEST(Executor, TotalDeadlineIs504) {
  FakeUpstream a([](const Recorded&) {
    return Action{.body = ChatCompletionJson("late a"), .delay = milliseconds(3000)};
  });
  FakeUpstream b([](const Recorded&) {
    return Action{.body = ChatCompletionJson("late b"), .delay = milliseconds(3000)};
  });
  GatewayProcess gw(Config(a, b, "    retries: {attempts: 2}\n    deadlines: {total_ms: 400}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const auto start = SteadyClock::now();
  auto r = c.Post("/v1/chat/completions", kChat);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(MsSince(start), 2000.0);
  EXPECT_NE(r.body.find("deadline of 400 ms"), std::string::npos) << r.body;
  EXPECT_EQ(b.request_count(), 0u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

constexpr char kEscalation[] =
    "    retries: {attempts: 1}\n    escalation: {min_confidence: 0.6}\n";

TEST(Executor, LowConfidenceEscalatesToTheNextTier) {
  FakeUpstream a([](const Recorded&) {
    return Action{.body = AnswerWithLogprobs("unsure a", -2.0)};  // exp(-2) = 0.14
  });
  FakeUpstream b(Answer("b"));
  GatewayProcess gw(Config(a, b, kEscalation));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("from b"), std::string::npos);
  EXPECT_EQ(r.headers["x-hybridgate-escalated"], "1");
  EXPECT_EQ(r.headers["x-hybridgate-attempts"], "2");
  EXPECT_EQ(r.headers["x-hybridgate-tier"], "strong");
  ASSERT_EQ(a.request_count(), 1u);
  ASSERT_EQ(b.request_count(), 1u);
  EXPECT_TRUE(json::parse(a.requests()[0].body).at("logprobs").as_bool());
  EXPECT_EQ(json::parse(b.requests()[0].body).as_object().count("logprobs"), 0u)
      << "the last tier cannot escalate: no logprobs asked";
  auto metrics = c.Get("/metrics");
  EXPECT_NE(metrics.body.find(R"(from_tier="weak")"), std::string::npos) << metrics.body;
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Executor, AConfidentAnswerStaysAndLosesTheLogprobsTheClientDidNotAskFor) {
  FakeUpstream a(
      [](const Recorded&) { return Action{.body = AnswerWithLogprobs("sure a", -0.01)}; });
  FakeUpstream b(Answer("b"));
  GatewayProcess gw(Config(a, b, kEscalation));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("sure a"), std::string::npos);
  EXPECT_EQ(r.headers["x-hybridgate-escalated"], "0");
  EXPECT_EQ(b.request_count(), 0u);
  const auto choice = json::parse(r.body).at("choices").at(0);
  EXPECT_TRUE(choice.at("logprobs").is_null()) << r.body;
  EXPECT_EQ(r.body.find("tok1"), std::string::npos);
  // A client that asks for logprobs keeps them.
  auto asked =
      c.Post("/v1/chat/completions",
             R"({"model":"r","logprobs":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(asked.status, 200) << asked.body;
  EXPECT_NE(asked.body.find("tok1"), std::string::npos);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Executor, InvalidJsonEscalates) {
  FakeUpstream a([](const Recorded&) {
    return Action{.body = ChatCompletionJson("Sure! Here is the JSON: {\"x\": 1")};
  });
  FakeUpstream b(Answer("b"));
  b.SetScript([](const Recorded&) { return Action{.body = ChatCompletionJson(R"({"x": 1})")}; });
  GatewayProcess gw(Config(a, b, "    escalation: {on: [invalid_json]}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post(
      "/v1/chat/completions",
      R"({"model":"r","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"json please"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-escalated"], "1");
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "b");
  EXPECT_EQ(a.request_count(), 1u);
  EXPECT_EQ(json::parse(a.requests()[0].body).as_object().count("logprobs"), 0u)
      << "invalid_json alone needs no logprobs";
  // A plain-text request is not checked for JSON.
  auto text = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(text.status, 200) << text.body;
  EXPECT_EQ(text.headers["x-hybridgate-escalated"], "0");
  EXPECT_EQ(text.headers["x-hybridgate-provider"], "a");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Executor, WhenTheStrongerTierFailsTheWeakAnswerIsServed) {
  FakeUpstream a(
      [](const Recorded&) { return Action{.body = AnswerWithLogprobs("unsure a", -2.0)}; });
  FakeUpstream b([](const Recorded&) { return Action{.status = 503, .body = "{}"}; });
  GatewayProcess gw(Config(a, b, kEscalation));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("unsure a"), std::string::npos);
  EXPECT_EQ(r.body.find("tok1"), std::string::npos) << "logprobs leaked to the client";
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "a");
  EXPECT_EQ(r.headers["x-hybridgate-escalated"], "1");
  EXPECT_EQ(b.request_count(), 1u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

// The value of the /metrics sample `name{...}` whose labels include `label`, or -1.
double MetricValue(const std::string& metrics, const std::string& name, const std::string& label) {
  size_t pos = 0;
  while ((pos = metrics.find(name + "{", pos)) != std::string::npos) {
    const size_t eol = metrics.find('\n', pos);
    const std::string line = metrics.substr(pos, eol - pos);
    pos = eol;
    if (line.find(label) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

// Both answers of an escalation were paid for: the request's cost (the ledger row's, which the
// cost counter and the key's budget get too) is the catalog arithmetic of both.
TEST(Executor, AnEscalatedRequestCostsBothAnswers) {
  FakeUpstream a([](const Recorded&) {
    return Action{.body = AnswerWithLogprobs("unsure a", -2.0)};  // usage 5 in, 3 out
  });
  FakeUpstream b(Answer("b"));  // usage 5 in, 7 out
  const std::string cfg =
      "providers:\n"
      "  - {name: a, type: openai, base_url: '" +
      a.base_url() +
      "', zone: self_hosted, models: [{name: model-a, input_per_mtok: 1000, output_per_mtok: "
      "2000}]}\n"
      "  - {name: b, type: openai, base_url: '" +
      b.base_url() +
      "', zone: self_hosted, models: [{name: model-b, input_per_mtok: 10000, output_per_mtok: "
      "20000}]}\n"
      "routes:\n"
      "  r:\n"
      "    tiers:\n"
      "      - {name: weak, deployments: [model-a]}\n"
      "      - {name: strong, deployments: [model-b]}\n" +
      std::string(kEscalation);
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-escalated"], "1");
  const double weak = (5 * 1000.0 + 3 * 2000.0) / 1e6;
  const double strong = (5 * 10000.0 + 7 * 20000.0) / 1e6;
  const std::string metrics = c.Get("/metrics").body;
  EXPECT_NEAR(MetricValue(metrics, "hybridgate_cost_usd_total", R"(provider="b")"), weak + strong,
              1e-9)
      << metrics;
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Executor, StreamsAreRetriedBeforeAnyByteIsSent) {
  std::atomic<int> calls{0};
  FakeUpstream a([&calls](const Recorded& r) {
    if (IsChat(r) && calls++ == 0) return Action{.status = 502, .body = "{}"};
    return Action{.content_type = "text/event-stream", .chunks = ChatStreamChunks({"from ", "a"})};
  });
  FakeUpstream b(Streams("b"));
  GatewayProcess gw(
      Config(a, b, "    retries: {attempts: 2, backoff_ms: 10, max_backoff_ms: 20}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto head = c.StartStream("/v1/chat/completions", kStreamChat);
  ASSERT_EQ(head.status, 200) << head.body << gw.Log();
  const std::string body = head.body + c.ReadAll();
  EXPECT_EQ(head.headers["x-hybridgate-provider"], "a");
  EXPECT_EQ(head.headers["x-hybridgate-attempts"], "2");
  EXPECT_NE(body.find("[DONE]"), std::string::npos) << body;
  EXPECT_EQ(a.request_count(), 2u);
  EXPECT_EQ(b.request_count(), 0u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

}  // namespace
}  // namespace hybridgate::testing
