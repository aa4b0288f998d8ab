// Feedback and the quality report through the real binary: POST /v1/feedback as clients see it
// (status, OpenAI-shaped errors, who may rate what), and `hybridgate quality report` over what a
// shadowed route and its ratings left in the stores, checked against a recomputation from the
// same databases.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"
#include "tests/support/sqlite_text.h"

namespace hybridgate::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
const auto& Sql = SqliteText;

double SqlNumber(const std::string& path, const std::string& sql) {
  const std::string v = Sql(path, sql);
  return v.empty() ? 0 : std::stod(v);
}

std::string Chat(const std::string& model, const std::string& text) {
  return R"({"model":")" + model + R"(","max_tokens":50,"messages":[{"role":"user","content":")" +
         text + R"("}]})";
}

std::string Feedback(const std::string& request_id, const std::string& score,
                     const std::string& kind = "thumbs") {
  return R"({"request_id":")" + request_id + R"(","score":)" + score + R"(,"kind":")" + kind +
         R"("})";
}

// A gateway whose route `support` answers from the cloud and is shadowed, every request, by the
// local model — which gives the cloud's answer to a prompt that says "same" and its own to the
// rest. Ledger and quality store are SQLite files in the scratch folder; the config is also
// written there (gw.yaml) for the CLI. `auth`: requests need a virtual key; `feedback`: the
// config's quality.feedback.
struct QualityGateway {
  explicit QualityGateway(bool auth = false, bool feedback = true)
      : local([](const Recorded& r) {
          const bool same = r.body.find("same") != std::string::npos;
          return Action{.body = ChatCompletionJson(same ? "from cloud" : "from local", "llama")};
        }),
        cloud([](const Recorded&) {
          return Action{.body = ChatCompletionJson("from cloud", "gpt-4o", 20, 30)};
        }) {
    config = "providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
             "', zone: self_hosted, models: [{name: llama, input_per_mtok: 1, output_per_mtok: "
             "2}]}\n  - {name: cloud, type: openai, base_url: '" +
             cloud.base_url() +
             "', zone: external, models: [{name: gpt-4o, input_per_mtok: 5, output_per_mtok: "
             "15}]}\nledger: {path: '" +
             s.Path("ledger.db") +
             "', flush_interval_ms: 20}\nquality: {feedback: " + (feedback ? "true" : "false") +
             ", path: '" + s.Path("quality.db") +
             "'}\nroutes:\n  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
             "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100}]\n";
    if (auth) config += "limits: {auth_required: true, keys_db: '" + s.Path("keys.db") + "'}\n";
    std::ofstream(s.Path("gw.yaml")) << config;
  }
  void Start() {
    gw = std::make_unique<GatewayProcess>(config);
    ASSERT_TRUE(gw->started()) << gw->Log();
  }
  // `hybridgate quality ARGS`: stdout and stderr, and the exit status.
  std::string Quality(const std::string& args, int* status) const {
    return Shell("'" + BinaryPath() + "' quality " + args + " 2>&1", status);
  }

  Scratch s{"hg-quality"};
  FakeUpstream local, cloud;
  std::string config;
  std::unique_ptr<GatewayProcess> gw;
};

TEST(Feedback, TheBodyIsCheckedStrictlyAndAnUnknownRequestIs404) {
  QualityGateway g;
  g.Start();
  TestClient c(g.gw->port());
  auto answer = c.Post("/v1/chat/completions", Chat("support", "hello"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const std::string id = answer.headers["x-hybridgate-request-id"];
  ASSERT_FALSE(id.empty());
  struct Bad {
    std::string body;
    std::string param;
  };
  const Bad bad[] = {
      {"{", ""},
      {Feedback(id, "2"), "score"},
      {Feedback(id, "-0.5"), "score"},
      {Feedback(id, "1", "love"), "kind"},
      {R"({"request_id":")" + id + R"(","score":1,"kind":"thumbs","comment":")" +
           std::string(5000, 'x') + "\"}",
       "comment"},
      {R"({"request_id":")" + id + R"(","score":1,"kind":"thumbs","user":"me"})", "user"},
      {R"({"score":1,"kind":"thumbs"})", "request_id"},
  };
  for (const Bad& b : bad) {
    auto r = c.Post("/v1/feedback", b.body);
    EXPECT_EQ(r.status, 400) << b.body.substr(0, 100) << ": " << r.body;
    const json::value e = json::parse(r.body);
    EXPECT_EQ(e.at("error").at("type"), "invalid_request_error") << r.body;
    if (!b.param.empty()) {
      EXPECT_EQ(e.at("error").at("param"), b.param.c_str()) << r.body;
    }
  }
  auto unknown = c.Post("/v1/feedback", Feedback("hg-0000000000000000", "1"));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(unknown.body.find("hg-0000000000000000"), std::string::npos) << unknown.body;
  EXPECT_EQ(json::parse(unknown.body).at("error").at("param"), "request_id");
  EXPECT_EQ(c.Get("/v1/feedback").status, 405);

  auto ok = c.Request(
      "POST", "/v1/feedback",
      R"({"request_id":")" + id + R"(","score":0.8,"kind":"rating","comment":"good enough"})",
      {{"content-type", "application/json"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body),
            json::parse(R"({"object":"feedback","request_id":")" + id +
                        R"(","kind":"rating","score":0.8,"comment_stored":true})"));
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  EXPECT_EQ(Sql(g.s.Path("quality.db"),
                "SELECT route || '|' || kind || '|' || score || '|' || comment FROM feedback"),
            "support|rating|0.8|good enough");
}

TEST(Feedback, OffIsA404ThatSaysSo) {
  QualityGateway g(/*auth=*/false, /*feedback=*/false);
  g.Start();
  TestClient c(g.gw->port());
  auto answer = c.Post("/v1/chat/completions", Chat("support", "hello"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  auto r = c.Post("/v1/feedback", Feedback(answer.headers["x-hybridgate-request-id"], "1"));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("set quality: {feedback: true}"), std::string::npos) << r.body;
}

TEST(Feedback, AKeyRatesOnlyItsOwnRequests) {
  QualityGateway g(/*auth=*/true);
  const Key a = CreateKey(g.s.Path("gw.yaml"), "--team a");
  const Key b = CreateKey(g.s.Path("gw.yaml"), "--team b");
  g.Start();
  TestClient c(g.gw->port());
  auto as = [&](const Key& k, const std::string& path, const std::string& body) {
    return c.Request("POST", path, body, {{"authorization", "Bearer " + k.secret}});
  };
  auto answer = as(a, "/v1/chat/completions", Chat("support", "hello"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const std::string id = answer.headers["x-hybridgate-request-id"];
  EXPECT_EQ(c.Post("/v1/feedback", Feedback(id, "1")).status, 401);  // no key
  auto other = as(b, "/v1/feedback", Feedback(id, "-1"));
  EXPECT_EQ(other.status, 404) << other.body;  // b cannot tell a's request from no request
  auto own = as(a, "/v1/feedback", Feedback(id, "1"));
  EXPECT_EQ(own.status, 200) << own.body;
  // The shadow call's row is the gateway's own: nobody rates it.
  EXPECT_EQ(as(a, "/v1/feedback", Feedback(id + "/shadow/local/llama", "1")).status, 404);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  EXPECT_EQ(Sql(g.s.Path("quality.db"), "SELECT count(*) || '|' || min(key_id) FROM feedback"),
            "1|" + a.id);
}

TEST(QualityReport, TheCommandsNumbersAreTheStoresNumbers) {
  QualityGateway g;
  g.Start();
  TestClient c(g.gw->port());
  constexpr int kRequests = 12;
  std::vector<std::string> ids;
  for (int i = 0; i < kRequests; ++i) {
    // A third of the prompts get the same answer from the shadow.
    auto r = c.Post("/v1/chat/completions",
                    Chat("support", i % 3 == 0 ? "say the same" : "hello " + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    ids.push_back(r.headers["x-hybridgate-request-id"]);
  }
  // Ratings: thumbs up, thumbs down, a graded score, and a replaced one (up, then down).
  const std::pair<int, std::string> ratings[] = {
      {0, "1"}, {1, "-1"}, {2, "0.25"}, {3, "1"}, {3, "-1"}};
  for (const auto& [i, score] : ratings) {
    auto r = c.Post("/v1/feedback", Feedback(ids[static_cast<size_t>(i)], score,
                                             score == "0.25" ? "rating" : "thumbs"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  for (int i = 0; i < 200 && g.local.request_count() < kRequests; ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();  // every row written

  int status = -1;
  const std::string out =
      g.Quality("report --config '" + g.s.Path("gw.yaml") + "' --format json", &status);
  ASSERT_EQ(status, 0) << out;
  const json::value report = json::parse(out);
  ASSERT_EQ(report.at("routes").as_array().size(), 1u) << out;
  const json::value& route = report.at("routes").at(0);
  EXPECT_EQ(route.at("route"), "support");

  // The recomputation, from the ledger and the quality store themselves.
  const std::string ledger = g.s.Path("ledger.db"), quality = g.s.Path("quality.db");
  const std::string answered_sql =
      "FROM requests WHERE route = 'support' AND endpoint != 'shadow' AND status BETWEEN 200 AND "
      "299";
  const double answered = SqlNumber(ledger, "SELECT count(*) " + answered_sql);
  EXPECT_EQ(answered, kRequests);
  EXPECT_EQ(route.at("answered").as_int64(), kRequests);
  EXPECT_NEAR(route.at("usd_per_1k").to_number<double>(),
              SqlNumber(ledger, "SELECT sum(cost_usd) " + answered_sql) / answered * 1000, 1e-9);
  const json::value& feedback = route.at("feedback");
  EXPECT_EQ(feedback.at("count"), 4);  // the replaced thumbs counts once
  EXPECT_EQ(feedback.at("rated_requests"), 4);
  EXPECT_NEAR(feedback.at("rate").to_number<double>(), 4 / answered, 1e-12);
  const double feedback_mean =
      SqlNumber(quality, "SELECT avg(CASE WHEN score < 0 THEN 0 ELSE score END) FROM feedback");
  EXPECT_NEAR(feedback_mean, (1 + 0 + 0.25 + 0) / 4.0, 1e-12);
  EXPECT_NEAR(feedback.at("mean").to_number<double>(), feedback_mean, 1e-12);
  EXPECT_EQ(feedback.at("interval"), "normal");  // 0.25 is not a 0/1 score
  EXPECT_NEAR(feedback.at("usd_per_quality_point").to_number<double>(),
              route.at("usd_per_1k").to_number<double>() / feedback_mean, 1e-9);

  ASSERT_EQ(route.at("shadows").as_array().size(), 1u);
  const json::value& shadow = route.at("shadows").at(0);
  EXPECT_EQ(shadow.at("deployment"), "local/llama");
  const double shadowed = SqlNumber(quality, "SELECT count(*) FROM comparisons");
  EXPECT_EQ(shadowed, kRequests);
  EXPECT_EQ(shadow.at("shadowed").as_int64(), kRequests);
  EXPECT_EQ(shadow.at("compared").as_int64(), kRequests);
  const double same = SqlNumber(quality,
                                "SELECT count(*) FROM comparisons WHERE scores LIKE "
                                "'%\"exact\",\"value\":1E0%'");
  EXPECT_EQ(same, kRequests / 3);
  EXPECT_EQ(shadow.at("tie").as_int64(), kRequests / 3);
  EXPECT_EQ(shadow.at("undecided").as_int64(), kRequests - kRequests / 3);
  EXPECT_EQ(shadow.at("win").as_int64(), 0);
  EXPECT_NEAR(shadow.at("primary_usd_per_1k").to_number<double>(),
              SqlNumber(quality, "SELECT avg(primary_cost_usd) FROM comparisons") * 1000, 1e-9);
  const double shadow_per_1k =
      SqlNumber(quality, "SELECT avg(shadow_cost_usd) FROM comparisons") * 1000;
  EXPECT_GT(shadow_per_1k, 0);
  EXPECT_NEAR(shadow.at("shadow_usd_per_1k").to_number<double>(), shadow_per_1k, 1e-9);
  const json::value& exact = shadow.at("comparators").at(0);
  EXPECT_EQ(exact.at("comparator"), "exact");
  const double p = same / shadowed, n = shadowed, z = 1.959963984540054;
  EXPECT_NEAR(exact.at("mean").to_number<double>(), p, 1e-12);
  // Wilson's interval for a 0/1 score.
  const double center = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
  EXPECT_EQ(exact.at("interval"), "wilson");
  EXPECT_NEAR(exact.at("ci95").at(0).to_number<double>(), center - half, 1e-9);
  EXPECT_NEAR(exact.at("ci95").at(1).to_number<double>(), center + half, 1e-9);
  EXPECT_NEAR(exact.at("usd_per_quality_point").to_number<double>(), shadow_per_1k / p, 1e-9);

  // The other formats, a route filter, and bad input.
  const std::string table = g.Quality("report --config '" + g.s.Path("gw.yaml") + "'", &status);
  EXPECT_EQ(status, 0) << table;
  EXPECT_NE(table.find("local/llama"), std::string::npos) << table;
  const std::string wtlu =
      "0/" + std::to_string(kRequests / 3) + "/0/" + std::to_string(kRequests - kRequests / 3);
  EXPECT_NE(table.find(wtlu), std::string::npos) << table;
  const std::string csv =
      g.Quality("report --config '" + g.s.Path("gw.yaml") + "' --format csv", &status);
  EXPECT_EQ(status, 0) << csv;
  EXPECT_TRUE(csv.starts_with("route,deployment,comparator,")) << csv;
  const std::string other = g.Quality(
      "report --config '" + g.s.Path("gw.yaml") + "' --route other --format json", &status);
  EXPECT_EQ(status, 0) << other;
  EXPECT_EQ(json::parse(other).at("routes").at(0).at("answered"), 0);
  const std::string bad =
      g.Quality("report --config '" + g.s.Path("gw.yaml") + "' --format xml", &status);
  EXPECT_EQ(status, 2) << bad;
  EXPECT_NE(bad.find("unknown format 'xml'"), std::string::npos) << bad;
  const std::string missing = g.Quality("report", &status);
  EXPECT_EQ(status, 2) << missing;
  EXPECT_NE(missing.find("--config"), std::string::npos) << missing;
}

// The stores' hash key is checked at start whether or not a store opens yet (no shadows, no
// feedback): a later reload must not be the first to find its variable unset.
TEST(Feedback, AnUnsetHashKeyVariableStopsTheStart) {
  Scratch s{"hg-hash-key"};
  std::ofstream(s.Path("gw.yaml"))
      << "listen: 127.0.0.1:0\nproviders:\n  - {name: local, type: openai, base_url: "
         "'http://127.0.0.1:1/v1', zone: self_hosted, models: [{name: llama}]}\nquality: "
         "{hash_key_env: HG_TEST_NEVER_SET}\n";
  int status = -1;
  const std::string out = Shell(
      "timeout 20 '" + BinaryPath() + "' serve --config '" + s.Path("gw.yaml") + "' 2>&1", &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("quality.hash_key_env: the variable HG_TEST_NEVER_SET is not set"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace hybridgate::testing
