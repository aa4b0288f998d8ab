// Shadow traffic through the real binary (routes.<name>.shadow): a sampled share of a route's
// answered requests also goes to a candidate deployment, in the background, held to residency,
// its concurrency and its daily budget, and metered in the ledger as `shadow` rows charged to no
// key; a shutdown with shadows in flight loses none of their rows.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"
#include "tests/support/sqlite_text.h"

namespace hybridgate::testing {
namespace {

using namespace std::chrono_literals;
const auto& LedgerText = SqliteText;

std::string Chat(const std::string& model, const std::string& text) {
  return R"({"model":")" + model + R"(","max_tokens":100,"messages":[{"role":"user","content":")" +
         text + R"("}]})";
}

// hybridgate_shadow_requests_total for one route, deployment and outcome (0 when absent).
double ShadowCount(TestClient& c, const std::string& route, const std::string& deployment,
                   const std::string& outcome) {
  const std::string text = c.Get("/metrics").body;
  const std::regex line("hybridgate_shadow_requests_total\\{([^}]*)\\} ([0-9.e+]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it) {
    const std::string labels = (*it)[1];
    if (labels.find("route=\"" + route + "\"") != std::string::npos &&
        labels.find("deployment=\"" + deployment + "\"") != std::string::npos &&
        labels.find("outcome=\"" + outcome + "\"") != std::string::npos) {
      return std::stod((*it)[2]);
    }
  }
  return 0;
}

// Waits until `up` has seen `n` requests (or 10 s passed); returns what it saw.
size_t AwaitRequests(const FakeUpstream& up, size_t n) {
  for (int i = 0; i < 200 && up.request_count() < n; ++i) std::this_thread::sleep_for(50ms);
  return up.request_count();
}

struct ShadowGateway {
  explicit ShadowGateway(const std::string& routes, FakeUpstream::Script cloud_script = nullptr,
                         FakeUpstream::Script local_script = nullptr,
                         const std::string& more_providers = "")
      : local(local_script ? local_script
                           : [](const Recorded&) {
                               return Action{.body = ChatCompletionJson("from local", "llama")};
                             }),
        cloud(cloud_script ? cloud_script : [](const Recorded&) {
          return Action{.body = ChatCompletionJson("from cloud", "gpt-4o")};
        }) {
    config = "providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
             "', zone: self_hosted, models: [{name: llama, input_per_mtok: 1, output_per_mtok: "
             "10}]}\n  - {name: cloud, type: openai, base_url: '" +
             cloud.base_url() +
             "', zone: external, models: [{name: gpt-4o, input_per_mtok: 1, output_per_mtok: "
             "10}]}\n" +
             more_providers + "ledger: {path: '" + s.Path("ledger.db") +
             "', flush_interval_ms: 20}\nquality: {path: '" + s.Path("quality.db") +
             "'}\nroutes:\n" + routes;
    gw = std::make_unique<GatewayProcess>(config);
  }
  std::string Ledger(const std::string& sql) const { return LedgerText(s.Path("ledger.db"), sql); }
  std::string Quality(const std::string& sql) const {
    return LedgerText(s.Path("quality.db"), sql);
  }

  Scratch s{"hg-shadow"};
  FakeUpstream local, cloud;
  std::string config;
  std::unique_ptr<GatewayProcess> gw;
};

TEST(Shadow, ASampleShadowsItsShareAndTheLedgerChargesNoKey) {
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 0.1, max_usd_per_day: 100}]\n");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  constexpr int kRequests = 1000;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      TestClient c(g.gw->port());
      for (int i = 0; i < kRequests / 4; ++i) {
        ok += c.Post("/v1/chat/completions", Chat("support", "hello")).status == 200;
      }
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(ok.load(), kRequests);
  EXPECT_EQ(g.cloud.request_count(), static_cast<size_t>(kRequests));
  std::this_thread::sleep_for(300ms);  // the last shadows
  const size_t shadowed = g.local.request_count();
  EXPECT_GE(shadowed, 70u);
  EXPECT_LE(shadowed, 130u);
  TestClient c(g.gw->port());
  EXPECT_EQ(ShadowCount(c, "support", "local/llama", "answered"), static_cast<double>(shadowed));
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  // One ledger row per shadow call: endpoint shadow, the route, no key, the shadow's cost.
  EXPECT_EQ(g.Ledger("SELECT count(*) FROM requests WHERE endpoint = 'shadow'"),
            std::to_string(shadowed));
  EXPECT_EQ(g.Ledger("SELECT count(*) FROM requests WHERE endpoint = 'shadow' AND (route != "
                     "'support' OR key_name != '' OR provider != 'local' OR status != 200 OR "
                     "cost_usd <= 0 OR id NOT LIKE '%/shadow/local/llama')"),
            "0");
  EXPECT_EQ(g.Ledger("SELECT count(*) FROM requests WHERE endpoint != 'shadow'"),
            std::to_string(kRequests));
  // One comparison per shadow call: both answers, both texts (class 1), the exact score.
  EXPECT_EQ(g.Quality("SELECT count(*) FROM comparisons"), std::to_string(shadowed));
  EXPECT_EQ(
      g.Quality("SELECT route || '|' || primary_deployment || '|' || shadow_deployment || "
                "'|' || primary_text || '|' || shadow_text || '|' || primary_finish_reason || "
                "'|' || scores FROM comparisons LIMIT 1"),
      "support|cloud/gpt-4o|local/llama|from cloud|from local|stop|[{\"comparator\":"
      "\"exact\",\"value\":0E0,\"detail\":\"different text\"}]");
  EXPECT_EQ(g.Quality("SELECT count(*) FROM comparisons WHERE route = 'support' AND "
                      "primary_deployment = 'cloud/gpt-4o' AND shadow_deployment = 'local/llama' "
                      "AND primary_text = 'from cloud' AND shadow_text = 'from local' AND "
                      "shadow_ok = 1 AND shadow_cost_usd > 0 AND scores LIKE "
                      "'%\"comparator\":\"exact\",\"value\":0E0,%'"),
            std::to_string(shadowed));
}

// A stream is shadowed as one answer, and compared with what the client was streamed.
TEST(Shadow, AStreamIsComparedWithWhatWasStreamed) {
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100}]\n",
      [](const Recorded&) {
        return Action{.content_type = "text/event-stream",
                      .chunks = ChatStreamChunks({"from ", "the ", "cloud"}, "gpt-4o")};
      },
      [](const Recorded& r) {
        const bool streamed = r.body.find("\"stream\":true") != std::string::npos;
        return Action{
            .body = ChatCompletionJson(streamed ? "asked to stream" : "From the  cloud", "llama")};
      });
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  auto r =
      c.Post("/v1/chat/completions",
             R"({"model":"support","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(AwaitRequests(g.local, 1), 1u);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  EXPECT_EQ(g.Quality("SELECT primary_text || '|' || shadow_text || '|' || scores FROM "
                      "comparisons"),
            "from the cloud|From the  cloud|[{\"comparator\":\"exact\",\"value\":1E0,"
            "\"detail\":\"same text\"}]");
}

TEST(Shadow, RegulatedDataIsNeverShadowedToAnExternalProvider) {
  ShadowGateway g(
      "  private:\n    tiers: [{name: main, deployments: [llama]}]\n"
      "    shadow: [{deployment: gpt-4o, sample: 1, max_usd_per_day: 100}]\n");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  for (int i = 0; i < 5; ++i) {
    auto r = c.Post("/v1/chat/completions", Chat("private", "charge 4111 1111 1111 1111 now"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The control: a harmless request on the same route is shadowed to the cloud.
  ASSERT_EQ(c.Post("/v1/chat/completions", Chat("private", "hello")).status, 200);
  EXPECT_EQ(AwaitRequests(g.cloud, 1), 1u);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(g.cloud.request_count(), 1u) << "a class-4 request was shadowed to the cloud";
  for (const auto& r : g.cloud.requests()) EXPECT_EQ(r.body.find("4111"), std::string::npos);
  EXPECT_EQ(ShadowCount(c, "private", "cloud/gpt-4o", "residency"), 5);
  EXPECT_EQ(ShadowCount(c, "private", "cloud/gpt-4o", "answered"), 1);
}

TEST(Shadow, TheDailyBudgetStopsShadowing) {
  // Each shadow reserves 100 output tokens at 10 USD per million (0.001 USD) and costs ~0.0001;
  // 0.0025 a day lets a dozen or so through, then none.
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 0.0025}]\n");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(c.Post("/v1/chat/completions", Chat("support", "hello")).status, 200);
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(300ms);
  const size_t shadowed = g.local.request_count();
  EXPECT_GE(shadowed, 1u);
  EXPECT_LT(shadowed, 25u);
  EXPECT_GT(ShadowCount(c, "support", "local/llama", "spend_cap"), 0);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  const double spent =
      std::stod(g.Ledger("SELECT sum(cost_usd) FROM requests WHERE endpoint = 'shadow'"));
  EXPECT_LE(spent, 0.0025);
  // A restart does not hand the target a fresh day: what was spent today still counts.
  GatewayProcess again(g.config);
  ASSERT_TRUE(again.started()) << again.Log();
  TestClient c2(again.port());
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c2.Post("/v1/chat/completions", Chat("support", "hello")).status, 200);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ShadowCount(c2, "support", "local/llama", "spend_cap"), 10);
  EXPECT_EQ(g.local.request_count(), shadowed);
}

// An answer that holds regulated data keeps both texts out of the comparison store (only their
// hashes), though the request itself was harmless.
TEST(Shadow, AnAnswerWithRegulatedDataIsStoredAsHashesOnly) {
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100}]\n",
      [](const Recorded&) {
        return Action{.body = ChatCompletionJson("your card is 4111 1111 1111 1111", "gpt-4o")};
      });
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  ASSERT_EQ(c.Post("/v1/chat/completions", Chat("support", "which card is on file?")).status, 200);
  EXPECT_EQ(AwaitRequests(g.local, 1), 1u);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  EXPECT_EQ(g.Quality("SELECT (data_class >= 4) || '|' || primary_text || '|' || shadow_text || "
                      "'|' || length(primary_sha256) FROM comparisons"),
            "1|||64");
}

TEST(Shadow, ASlowShadowNeverHoldsTheClientAndItsConcurrencyIsCapped) {
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_concurrency: 2, max_usd_per_day: 100}]\n",
      nullptr, [](const Recorded&) {
        return Action{.body = ChatCompletionJson("slow local", "llama"), .delay = 1500ms};
      });
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  for (int i = 0; i < 6; ++i) {
    auto r = c.Post("/v1/chat/completions", Chat("support", "hello"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("from cloud"), std::string::npos);
  }
  // Six answers came while the first two shadows still wait on their slow upstream.
  EXPECT_LE(g.local.request_count(), 2u);
  EXPECT_EQ(ShadowCount(c, "support", "local/llama", "concurrency"), 4);
}

TEST(Shadow, AFullRunnerShedsAndCounts) {
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100}]\n"
      "background: {max_queue: 1, max_concurrency: 1}\n",
      nullptr, [](const Recorded&) {
        return Action{.body = ChatCompletionJson("slow local", "llama"), .delay = 1500ms};
      });
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(c.Post("/v1/chat/completions", Chat("support", "hello")).status, 200);
  }
  // One keep-alive connection: one worker, one runner. One runs, one waits, four are shed —
  // and the client never noticed.
  EXPECT_EQ(ShadowCount(c, "support", "local/llama", "submitted"), 2);
  EXPECT_EQ(ShadowCount(c, "support", "local/llama", "shed"), 4);
  EXPECT_NE(c.Get("/metrics").body.find("hybridgate_background_jobs_total{result=\"shed\"} 4"),
            std::string::npos);
  // The shed ones gave their budget back: only the two taken hold any.
  EXPECT_EQ(AwaitRequests(g.local, 2), 2u);
}

// A judge that reads which answer came from the cloud and prefers it, whichever label it has;
// or one that always says "A" (position bias).
FakeUpstream::Script Judge(bool biased) {
  return [biased](const Recorded& r) {
    const auto body = boost::json::parse(r.body);
    const std::string user(body.at("messages").at(1).at("content").as_string());
    const size_t a = user.find("[Answer A]"), b = user.find("[Answer B]");
    const bool cloud_is_a = user.find("from cloud", a) < b;
    const std::string winner = biased ? "A" : cloud_is_a ? "A" : "B";
    return Action{.body = ChatCompletionJson(
                      R"({"winner":")" + winner + R"(","rationale":"the cloud's is better"})",
                      "judge-model")};
  };
}

TEST(Shadow, AJudgeAsksInBothOrdersAndAFlipIsATie) {
  for (const bool biased : {false, true}) {
    FakeUpstream judge(Judge(biased));
    ShadowGateway g(
        "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
        "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100, judge: "
        "judge-model}]\n",
        nullptr, nullptr,
        "  - {name: judge, type: openai, base_url: '" + judge.base_url() +
            "', zone: external, models: [{name: judge-model, input_per_mtok: 2, "
            "output_per_mtok: 2}]}\n");
    ASSERT_TRUE(g.gw->started()) << g.gw->Log();
    TestClient c(g.gw->port());
    ASSERT_EQ(c.Post("/v1/chat/completions", Chat("support", "which is better?")).status, 200);
    EXPECT_EQ(AwaitRequests(judge, 2), 2u);
    ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
    // Both orders: the primary first, then the shadow first.
    const auto first = boost::json::parse(judge.requests()[0].body);
    const std::string ask(first.at("messages").at(1).at("content").as_string());
    EXPECT_LT(ask.find("from cloud"), ask.find("from local")) << ask;
    EXPECT_NE(ask.find("which is better?"), std::string::npos);
    const std::string scores = g.Quality("SELECT scores FROM comparisons");
    if (biased) {
      EXPECT_NE(
          scores.find(R"("comparator":"judge","value":5E-1,"detail":"tie (the verdict flipped)"),
          std::string::npos)
          << scores;
    } else {
      EXPECT_NE(scores.find(R"("comparator":"judge","value":0E0,"detail":"primary better)"),
                std::string::npos)
          << scores;
    }
    EXPECT_NE(scores.find("pairwise-v1"), std::string::npos);
    EXPECT_NE(scores.find("\"cost_usd\":"), std::string::npos);
    // Each judge call is a ledger row of its own, charged to no key.
    EXPECT_EQ(g.Ledger("SELECT count(*) FROM requests WHERE endpoint = 'judge' AND key_name = '' "
                       "AND provider = 'judge' AND cost_usd > 0"),
              "2");
  }
}

// A judge is held to residency like any call, with the class of the request: regulated data
// compared between two self-hosted deployments never reaches an external judge, and the pair
// is still stored with the scores the other comparators gave.
TEST(Shadow, AnExternalJudgeNeverSeesRegulatedData) {
  FakeUpstream judge(Judge(false));
  FakeUpstream local2(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("from local2", "llama2")}; });
  ShadowGateway g(
      "  private:\n    tiers: [{name: main, deployments: [llama]}]\n"
      "    shadow: [{deployment: llama2, sample: 1, max_usd_per_day: 100, judge: "
      "judge-model}]\n",
      nullptr, nullptr,
      "  - {name: local2, type: openai, base_url: '" + local2.base_url() +
          "', zone: self_hosted, models: [{name: llama2}]}\n"
          "  - {name: judge, type: openai, base_url: '" +
          judge.base_url() +
          "', zone: external, models: [{name: judge-model, input_per_mtok: 2, "
          "output_per_mtok: 2}]}\n");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.Post("/v1/chat/completions", Chat("private", "charge 4111 1111 1111 1111 now"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(judge.request_count(), 0u) << "a class-4 pair went to an external judge";
  // The control: a harmless request's pair is judged, in both orders.
  ASSERT_EQ(c.Post("/v1/chat/completions", Chat("private", "hello")).status, 200);
  EXPECT_EQ(AwaitRequests(judge, 2), 2u);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  for (const auto& r : judge.requests()) EXPECT_EQ(r.body.find("4111"), std::string::npos);
  EXPECT_EQ(g.Ledger("SELECT count(*) FROM requests WHERE endpoint = 'judge'"), "2");
  EXPECT_EQ(g.Quality("SELECT count(*) FROM comparisons"), "4") << "every pair is stored";
  EXPECT_EQ(g.Quality("SELECT count(*) FROM comparisons WHERE data_class = 4 AND scores LIKE "
                      "'%\"comparator\":\"exact\"%'"),
            "3");
}

TEST(Shadow, ShutdownWithShadowsInFlightLosesNoLedgerRow) {
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100}]\n",
      nullptr, [](const Recorded&) {
        return Action{.body = ChatCompletionJson("slow local", "llama"), .delay = 700ms};
      });
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(c.Post("/v1/chat/completions", Chat("support", "hello")).status, 200);
  }
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();  // SIGTERM while the five shadows wait
  EXPECT_EQ(g.local.request_count(), 5u);
  EXPECT_EQ(g.Ledger("SELECT count(*) FROM requests WHERE endpoint = 'shadow' AND status = 200"),
            "5");
}

// A shadow still waiting when the shutdown deadline passes is cancelled, and its row charges
// the prompt the candidate already had (estimated), not $0.
TEST(Shadow, AShadowCancelledAtTheShutdownDeadlineIsChargedItsPrompt) {
  ShadowGateway g(
      "  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100}]\n",
      nullptr, [](const Recorded&) { return Action{.stall = true}; });
  g.config = "server: {shutdown_grace_ms: 300}\n" + g.config;
  g.gw = std::make_unique<GatewayProcess>(g.config);
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  std::string prompt;
  for (int i = 0; i < 400; ++i) prompt += "word " + std::to_string(i) + ' ';
  const auto answer = c.Post("/v1/chat/completions", Chat("support", prompt));
  ASSERT_EQ(answer.status, 200) << answer.body << g.gw->Log();
  ASSERT_EQ(AwaitRequests(g.local, 1), 1u);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  EXPECT_NE(g.gw->Log().find("cancelling them"), std::string::npos) << g.gw->Log();
  EXPECT_EQ(g.Ledger("SELECT count(*) FROM requests WHERE endpoint = 'shadow' AND "
                     "usage_estimated = 1 AND output_tokens = 0 AND input_tokens > 500 AND "
                     "abs(cost_usd - input_tokens * 1e-6) < 1e-12"),
            "1")
      << g.Ledger(
             "SELECT group_concat(endpoint || ' ' || status || ' ' || input_tokens || ' ' || "
             "output_tokens || ' ' || usage_estimated || ' ' || cost_usd, '; ') FROM requests");
}

}  // namespace
}  // namespace hybridgate::testing
