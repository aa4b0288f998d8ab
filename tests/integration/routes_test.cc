// Routes and tiers through the real binary: the complexity classifier picks the tier, residency
// overrides it, failures fall back along the route, and `route explain` tells why.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

const char kHard[] =
    "Prove step by step that the algorithm below terminates, then derive its complexity. First "
    "analyze the invariants, then design a counterexample for the naive variant. You must justify "
    "each step, you should cite the lemma, and the answer must be at least three paragraphs.\\n"
    "```python\\ndef f(n):\\n    while n > 1:\\n        n = n // 2 if n % 2 == 0 else 3 * n + "
    "1\\n    return n\\n```\\nAlso compute \\\\sum_{k=1}^{n} k^2 and explain.";

std::string Chat(const std::string& text, const std::string& model = "auto") {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + text + R"("}]})";
}

// One `providers:` entry: an OpenAI-speaking fake upstream serving `model`.
std::string Provider(const std::string& name, const FakeUpstream& up, const std::string& zone,
                     const std::string& model) {
  return "  - {name: " + name + ", type: openai, base_url: '" + up.base_url() + "', zone: " + zone +
         ", models: [{name: " + model + "}]}\n";
}

// Providers small (self-hosted small-model) and cloud (external big-model).
std::string SmallAndCloud(const FakeUpstream& small, const FakeUpstream& cloud) {
  return "providers:\n" + Provider("small", small, "self_hosted", "small-model") +
         Provider("cloud", cloud, "external", "big-model");
}

std::string Config(const FakeUpstream& small, const FakeUpstream& cloud) {
  return SmallAndCloud(small, cloud) +
         "routes:\n"
         "  auto:\n"
         "    tiers:\n"
         "      - {name: small-local, deployments: [small-model], when: {max_complexity: 0.5}}\n"
         "      - {name: frontier, deployments: [big-model]}\n";
}

FakeUpstream::Script Answer(const std::string& who) {
  return [who](const Recorded&) { return Action{.body = ChatCompletionJson("from " + who)}; };
}

TEST(Routes, ComplexityPicksTheTierAndResidencyOverridesIt) {
  FakeUpstream small(Answer("small")), cloud(Answer("cloud"));
  GatewayProcess gw(Config(small, cloud));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto easy = c.Post("/v1/chat/completions", Chat("hi there"));
  ASSERT_EQ(easy.status, 200) << easy.body;
  EXPECT_EQ(easy.headers["x-hybridgate-route"], "auto");
  EXPECT_EQ(easy.headers["x-hybridgate-tier"], "small-local");
  EXPECT_EQ(easy.headers["x-hybridgate-provider"], "small");
  auto hard = c.Post("/v1/chat/completions", Chat(kHard));
  ASSERT_EQ(hard.status, 200) << hard.body;
  EXPECT_EQ(hard.headers["x-hybridgate-tier"], "frontier");
  EXPECT_EQ(hard.headers["x-hybridgate-provider"], "cloud");
  EXPECT_EQ(cloud.request_count(), 1u);
  // The same hard prompt with a card number: the external tier is out, whatever the complexity.
  auto pii =
      c.Post("/v1/chat/completions", Chat(std::string(kHard) + " My card is 4111 1111 1111 1111."));
  ASSERT_EQ(pii.status, 200) << pii.body;
  EXPECT_EQ(pii.headers["x-hybridgate-provider"], "small");
  EXPECT_EQ(cloud.request_count(), 1u) << "regulated data reached the external tier";
  // The upstream saw the upstream model id, not the route name.
  EXPECT_NE(small.requests().front().body.find(R"("model":"small-model")"), std::string::npos);
  // A route named in the header wins; an unknown one is a clear 400.
  auto bad =
      c.Request("POST", "/v1/chat/completions", Chat("hi"), {{"x-hybridgate-route", "nope"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(json::parse(bad.body).at("error").at("param").as_string(), "x-hybridgate-route");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Routes, AFailingTierFallsBackAlongTheRoute) {
  FakeUpstream small([](const Recorded&) { return Action{.status = 503, .body = "{}"}; });
  FakeUpstream cloud(Answer("cloud"));
  GatewayProcess gw(Config(small, cloud));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", Chat("hi there"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-tier"], "frontier");
  EXPECT_NE(r.body.find("from cloud"), std::string::npos);
  EXPECT_EQ(small.request_count(), 2u) << "a route retries each deployment once by default";
  EXPECT_EQ(r.headers["x-hybridgate-attempts"], "3");
  // Regulated data with the self-hosted tier failing: the fallback is NOT the external tier.
  auto pii = c.Post("/v1/chat/completions", Chat("hi there, my card is 4111 1111 1111 1111"));
  EXPECT_EQ(pii.status, 502) << pii.body;
  EXPECT_EQ(pii.headers["x-hybridgate-data-class"], "4");
  EXPECT_EQ(pii.body.find("4111"), std::string::npos);
  EXPECT_EQ(cloud.request_count(), 1u) << "regulated data reached the external tier on fallback";
  EXPECT_EQ(small.request_count(), 4u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Routes, ExplainSaysWhyEachTierWasTakenOrSkipped) {
  FakeUpstream small(Answer("small")), cloud(Answer("cloud"));
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-routes-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "gw.yaml") << "listen: 127.0.0.1:1\n" << Config(small, cloud);
  std::ofstream(dir / "req.json") << Chat(kHard);
  const std::string cmd = "'" + BinaryPath() + "' route explain --config '" +
                          (dir / "gw.yaml").string() + "' --request '" +
                          (dir / "req.json").string() + "'";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  auto v = json::parse(out).as_object();
  EXPECT_EQ(v["route"].as_string(), "auto");
  EXPECT_GT(v["features"].at("complexity").as_double(), 0.5);
  const auto& tiers = v["tiers"].as_array();
  ASSERT_EQ(tiers.size(), 2u);
  EXPECT_FALSE(tiers[0].at("eligible").as_bool());
  EXPECT_NE(std::string(tiers[0].at("why").as_string()).find("complexity"), std::string::npos);
  EXPECT_EQ(v["candidates"].as_array()[0].at("tier").as_string(), "frontier");
  std::filesystem::remove_all(dir);
}

// Two deployments of one tier behind `balance: latency_ewma`; "slow" takes 400 ms to answer.
std::string BalancedConfig(const FakeUpstream& fast, const FakeUpstream& slow) {
  return "providers:\n" + Provider("fast", fast, "self_hosted", "fast-model") +
         Provider("slow", slow, "self_hosted", "slow-model") +
         "routes:\n"
         "  pool:\n"
         "    tiers:\n"
         "      - {name: both, balance: latency_ewma, deployments: [fast-model, slow-model]}\n";
}

// The executor feeds the balancer: every attempt samples its deployment's latency (response
// time; time to first token for streams), so after one request each the fast one takes all the
// traffic. Without the samples both cost 0 and the tie rotates: half each.
void ExpectTrafficFollowsLatency(bool stream) {
  const auto script = [stream](const std::string& who, int delay_ms) {
    return [=](const Recorded&) {
      if (stream) {
        return Action{.content_type = "text/event-stream",
                      .delay = std::chrono::milliseconds(delay_ms),
                      .chunks = ChatStreamChunks({"from ", who})};
      }
      return Action{.body = ChatCompletionJson("from " + who),
                    .delay = std::chrono::milliseconds(delay_ms)};
    };
  };
  FakeUpstream fast(script("fast", 0)), slow(script("slow", 400));
  GatewayProcess gw(BalancedConfig(fast, slow));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const std::string body =
      stream ? R"({"model":"pool","stream":true,"messages":[{"role":"user","content":"hi"}]})"
             : Chat("hi", "pool");
  constexpr int kRequests = 16;
  for (int i = 0; i < kRequests; ++i) {
    auto r = c.Post("/v1/chat/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_NE(r.body.find("from "), std::string::npos) << r.body;
  }
  // Sequential requests: "slow" gets at most the first one (while neither has a sample).
  EXPECT_LE(slow.request_count(), 3u);
  EXPECT_GE(fast.request_count(), static_cast<size_t>(kRequests - 3));
  EXPECT_EQ(fast.request_count() + slow.request_count(), static_cast<size_t>(kRequests));
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Routes, LatencyEwmaSendsTrafficToTheFasterDeployment) { ExpectTrafficFollowsLatency(false); }

TEST(Routes, LatencyEwmaOfStreamsFollowsTimeToFirstToken) { ExpectTrafficFollowsLatency(true); }

// The learned router (`hybridgate router train`) behind the same Classifier seam: a route with
// `classifier: learned` sends what the model learned is hard to the strong tier.
TEST(Routes, LearnedClassifierFromRouterTrainPicksTheTier) {
  FakeUpstream small(Answer("small")), cloud(Answer("cloud"));
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-learned-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    // Weak model fails the integral questions and gets the greetings right; strong gets both.
    std::ofstream data(dir / "train.jsonl");
    for (int i = 0; i < 150; ++i) {
      data << R"({"id":"h)" << i << R"(","benchmark":"mmlu","prompt":"Evaluate the integral )"
           << "of x^" << i << R"( times log x dx","scores":{"weak":0,"strong":1}})"
           << "\n";
      data << R"({"id":"e)" << i << R"(","benchmark":"mmlu","prompt":"Say hello to my friend )"
           << "number " << i << R"(","scores":{"weak":1,"strong":1}})"
           << "\n";
    }
  }
  const std::string train = "'" + BinaryPath() + "' router train --data '" +
                            (dir / "train.jsonl").string() + "' --out '" +
                            (dir / "router.json").string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(train.c_str()), 0);
  const std::string cfg = SmallAndCloud(small, cloud) +
                          "routes:\n"
                          "  auto:\n"
                          "    classifier: learned\n"
                          "    learned_model: '" +
                          (dir / "router.json").string() +
                          "'\n"
                          "    tiers:\n"
                          "      - {name: weak, deployments: [small-model], when: {max_complexity: "
                          "0.5}}\n"
                          "      - {name: strong, deployments: [big-model]}\n";
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto easy = c.Post("/v1/chat/completions", Chat("Say hello to my friend number 7"));
  ASSERT_EQ(easy.status, 200) << easy.body;
  EXPECT_EQ(easy.headers["x-hybridgate-tier"], "weak");
  auto hard = c.Post("/v1/chat/completions", Chat("Evaluate the integral of x^3 times log x dx"));
  ASSERT_EQ(hard.status, 200) << hard.body;
  EXPECT_EQ(hard.headers["x-hybridgate-tier"], "strong");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hybridgate::testing
