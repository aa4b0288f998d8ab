// Scheduled evals (config `evals:`) through the real binary against scripted upstreams: a suite
// runs on its schedule as requests to the gateway itself, made and paid with the eval's key; its
// scores land in /metrics; a model that gets worse raises hybridgate_eval_regression against
// the previous run and against a pinned baseline; residency holds for eval traffic; a reload
// changes the schedule; SIGTERM mid-run publishes nothing and loses no ledger row; config
// mistakes stop the start with a message that names the eval.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"
#include "tests/support/sqlite_text.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The value of the series of `family` whose labels include every `label="value"` given, or
// nullopt when /metrics has none.
std::optional<double> Metric(uint16_t port, const std::string& family,
                             const std::vector<std::string>& labels) {
  TestClient c(port);
  const HttpResult r = c.Get("/metrics");
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(family + "{", 0) != 0) continue;
    bool all = true;
    for (const std::string& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

bool WaitMetric(uint16_t port, const std::string& family, const std::vector<std::string>& labels,
                const std::function<bool(double)>& pred, std::chrono::milliseconds timeout = 20s) {
  return FakeUpstream::WaitFor(
      [&] {
        const auto v = Metric(port, family, labels);
        return v && pred(*v);
      },
      timeout);
}

class ScheduledEvalTest : public ::testing::Test {
 protected:
  ScheduledEvalTest()
      : s_("hg-sched-eval"),
        local_([this](const Recorded& r) {
          const auto body = json::parse(r.body);
          const std::string model(body.at("model").as_string());
          return Action{.body = ChatCompletionJson(right_ ? "Paris" : "Lyon", model, 10, 5)};
        }),
        cloud_([this](const Recorded&) {
          if (cloud_down_) return Action{.status = 500, .body = R"({"error":{"message":"down"}})"};
          return Action{.body = ChatCompletionJson("Paris", "gpt-4o", 10, 5)};
        }) {
    std::ofstream(s_.Path("suite.jsonl"))
        << R"({"id":"capital","prompt":"What is the capital of France?","reference":"Paris"})"
           "\n"
           R"({"id":"card","prompt":"My card is 4111 1111 1111 1111. Capital of France?",)"
           R"("reference":"Paris"})"
           "\n";
    // The key is made before `evals:` is configured (it names the variable that holds it).
    std::ofstream(s_.Path("keys.yaml")) << Providers() << Limits();
    key_ = CreateKey(s_.Path("keys.yaml"), "--team evals");
    setenv("HG_TEST_EVAL_KEY", key_.secret.c_str(), 1);
  }
  ~ScheduledEvalTest() override { unsetenv("HG_TEST_EVAL_KEY"); }

  std::string Providers() const {
    return "providers:\n  - {name: local, type: openai, base_url: '" + local_.base_url() +
           "', zone: self_hosted, models: [{name: llama, input_per_mtok: 1, output_per_mtok: "
           "2}]}\n  - {name: cloud, type: openai, base_url: '" +
           cloud_.base_url() +
           "', zone: external, models: [{name: gpt-4o, input_per_mtok: 5, output_per_mtok: "
           "15}]}\nresidency: {fallback_model: llama}\n";
  }
  std::string Limits() const {
    return "limits: {auth_required: true, keys_db: '" + s_.Path("keys.db") + "'}\n";
  }
  std::string Config(const std::string& eval) const {
    return Providers() + Limits() + "ledger: {path: '" + s_.Path("ledger.db") +
           "', flush_interval_ms: 20}\nserver: {shutdown_grace_ms: 300}\nevals:\n  - {name: "
           "nightly, suite: '" +
           s_.Path("suite.jsonl") + "', key_env: HG_TEST_EVAL_KEY, " + eval + "}\n";
  }

  Scratch s_;
  std::atomic<bool> right_{true};
  std::atomic<bool> cloud_down_{false};
  FakeUpstream local_;
  FakeUpstream cloud_;
  Key key_;
};

const std::string kScore = "hybridgate_eval_score";
const std::string kRegression = "hybridgate_eval_regression";
const std::string kBaseline = "hybridgate_eval_baseline_score";
const std::string kRuns = "hybridgate_eval_runs_total";
const std::vector<std::string> kLlama = {"suite=\"nightly\"", "model=\"llama\""};
const std::vector<std::string> kGpt = {"suite=\"nightly\"", "model=\"gpt-4o\""};

TEST_F(ScheduledEvalTest, ScoresArePublishedAndADropAgainstThePreviousRunRaisesTheAlert) {
  GatewayProcess gw(Config("models: [llama, gpt-4o], every: 1s, run_at_start: true"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  const uint16_t port = gw.port();
  ASSERT_TRUE(WaitMetric(port, kRuns, {"suite=\"nightly\"", "outcome=\"completed\""}, [](double v) {
    return v >= 1;
  })) << gw.Log();
  EXPECT_EQ(Metric(port, kScore, kLlama), 1.0);
  EXPECT_EQ(Metric(port, kRegression, kLlama), 0.0);
  // gpt-4o answered the capital itself; the card was never sent to it (residency served it
  // from llama, so it is not gpt-4o's answer): a failed case, scored 0.
  EXPECT_EQ(Metric(port, kScore, kGpt), 0.5);
  EXPECT_EQ(Metric(port, "hybridgate_eval_failed_cases", kGpt), 1.0);
  for (const Recorded& r : cloud_.requests()) {
    EXPECT_EQ(r.body.find("4111"), std::string::npos) << r.body;
  }
  EXPECT_GE(cloud_.request_count(), 1u);

  // llama gets worse: the next run's score falls below the previous run's by more than 0.05.
  // (A run the switch falls into scores 0.5, so the previous run is 1 or 0.5.)
  right_ = false;
  ASSERT_TRUE(WaitMetric(port, kScore, kLlama, [](double v) { return v == 0.0; })) << gw.Log();
  EXPECT_EQ(Metric(port, kRegression, kLlama), 1.0);
  EXPECT_GE(Metric(port, kBaseline, kLlama).value_or(0), 0.5);
  // And better again: compared with the bad run, no regression.
  right_ = true;
  ASSERT_TRUE(WaitMetric(port, kScore, kLlama, [](double v) { return v == 1.0; })) << gw.Log();
  EXPECT_EQ(Metric(port, kRegression, kLlama), 0.0);
  EXPECT_LE(Metric(port, kBaseline, kLlama).value_or(1), 0.5);

  // gpt-4o goes down: not a score of 0 that becomes the next baseline, but an alert that stays
  // until it answers again, its last score kept.
  cloud_down_ = true;
  ASSERT_TRUE(WaitMetric(port, kRegression, kGpt, [](double v) { return v == 1.0; })) << gw.Log();
  EXPECT_EQ(Metric(port, "hybridgate_eval_failed_cases", kGpt), 2.0);
  EXPECT_EQ(Metric(port, kScore, kGpt), 0.5);
  const double completed =
      Metric(port, kRuns, {"suite=\"nightly\"", "outcome=\"completed\""}).value_or(0);
  ASSERT_TRUE(WaitMetric(port, kRuns, {"suite=\"nightly\"", "outcome=\"completed\""},
                         [&](double v) { return v >= completed + 2; }))
      << gw.Log();
  EXPECT_EQ(Metric(port, kRegression, kGpt), 1.0);
  EXPECT_EQ(Metric(port, kScore, kGpt), 0.5);
  cloud_down_ = false;
  ASSERT_TRUE(WaitMetric(port, kRegression, kGpt, [](double v) { return v == 0.0; })) << gw.Log();
  EXPECT_EQ(gw.Stop(), 0);
  EXPECT_NE(gw.Log().find("scheduled eval 'nightly': REGRESSION llama"), std::string::npos);

  // Every eval call was an ordinary request of the eval's key: a ledger row each, none lost.
  const size_t upstream = local_.request_count() + cloud_.request_count();
  EXPECT_EQ(SqliteText(s_.Path("ledger.db"), "SELECT count(*) FROM requests"),
            std::to_string(upstream));
  EXPECT_EQ(SqliteText(s_.Path("ledger.db"), "SELECT count(*) FROM requests WHERE team = 'evals'"),
            std::to_string(upstream));
}

TEST_F(ScheduledEvalTest, APinnedBaselineIsWhatARunIsComparedWith) {
  std::ofstream(s_.Path("baseline.json"))
      << R"({"models":[{"model":"llama","score":0.97},{"model":"gpt-4o","score":0.52}]})";
  GatewayProcess gw(Config("models: [llama, gpt-4o], every: 1h, run_at_start: true, baseline: '" +
                           s_.Path("baseline.json") + "', max_drop: 0.05"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  ASSERT_TRUE(WaitMetric(gw.port(), kRuns, {"suite=\"nightly\"", "outcome=\"completed\""},
                         [](double v) { return v >= 1; }))
      << gw.Log();
  EXPECT_EQ(Metric(gw.port(), kBaseline, kLlama), 0.97);
  EXPECT_EQ(Metric(gw.port(), kRegression, kLlama), 0.0);  // 1.0 is not below 0.97
  EXPECT_EQ(Metric(gw.port(), kBaseline, kGpt), 0.52);
  EXPECT_EQ(Metric(gw.port(), kRegression, kGpt), 0.0);  // 0.5 is 0.02 below: within 0.05
  EXPECT_EQ(gw.Stop(), 0);
}

TEST_F(ScheduledEvalTest, AReloadChangesTheScheduleAndSigtermMidRunPublishesNothing) {
  GatewayProcess gw(Config("models: [llama], every: 1h"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(local_.request_count(), 0u);  // the first run is an hour away
  // The reload makes it every second: counted from now, as nothing ran yet.
  gw.RewriteConfig(Config("models: [llama], every: 1s"));
  ASSERT_TRUE(WaitMetric(gw.port(), kRuns, {"suite=\"nightly\"", "outcome=\"completed\""},
                         [](double v) { return v >= 1; }))
      << gw.Log();

  // Now the upstream hangs: a run starts, and SIGTERM ends it.
  local_.SetScript([](const Recorded&) { return Action{.stall = true}; });
  const size_t before = local_.request_count();
  ASSERT_TRUE(FakeUpstream::WaitFor([&] { return local_.request_count() > before; }, 10s));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_NE(gw.Log().find("scheduled eval 'nightly': interrupted"), std::string::npos) << gw.Log();
  // Every request that reached the upstream has its ledger row, the cut ones as 499.
  EXPECT_EQ(SqliteText(s_.Path("ledger.db"), "SELECT count(*) FROM requests"),
            std::to_string(local_.request_count()));
  EXPECT_NE(SqliteText(s_.Path("ledger.db"), "SELECT count(*) FROM requests WHERE status = 499"),
            "0");
}

TEST_F(ScheduledEvalTest, ConfigMistakesStopTheStartAndNameTheEval) {
  struct Case {
    std::string eval;
    std::string message;
    bool own_key_env = false;  // the case's own key_env (or none) instead of the working one
    bool own_name = false;     // the case's own name instead of "nightly"
    bool auth = true;          // limits.auth_required
  };
  const Case cases[] = {
      {"models: [llama], every: 1s, key_env: HG_TEST_UNSET_VARIABLE",
       "evals 'nightly': key_env: the variable HG_TEST_UNSET_VARIABLE is not set", true},
      {"models: [llama], every: 1s",
       "evals 'nightly': the gateway requires a virtual key (limits.auth_required)", true},
      {"models: [nope], every: 1s", "evals 'nightly': model 'nope' is not served by this config"},
      {"models: [llama], every: 1s, baseline: '/nonexistent/b.json'",
       "evals 'nightly': baseline /nonexistent/b.json: cannot read it"},
      {"models: [llama], every: 10ms", "'evals[0].every': '10ms' is not a duration"},
      {"models: [llama, llama], every: 1s", "'evals[0].models': 'llama' is listed twice"},
      {"models: [llama], every: 20000w", "'20000w' is not a duration from 1s to 366d"},
      {"models: [llama], every: 1s, max_drop: .nan", "'evals[0].max_drop': must be a non-negative"},
      {"models: [llama], every: 1s, name: 'two words'", "'evals[0].name': must be 1 to 48", false,
       true},
      {"models: [llama], every: 1s",
       "evals 'nightly': key_env is set but limits.auth_required is false", false, false, false},
  };
  for (const Case& c : cases) {
    std::string config = Config(c.eval);
    if (c.own_key_env) config.replace(config.find("key_env: HG_TEST_EVAL_KEY, "), 27, "");
    if (c.own_name) config.replace(config.find("name: nightly, "), 15, "");
    if (!c.auth) config.replace(config.find(Limits()), Limits().size(), "");
    std::ofstream(s_.Path("bad.yaml")) << "listen: 127.0.0.1:0\n" << config;
    int status = -1;
    const std::string out =
        Shell("timeout 20 '" + BinaryPath() + "' serve --config '" + s_.Path("bad.yaml") + "' 2>&1",
              &status);
    EXPECT_NE(status, 0) << c.eval;
    EXPECT_NE(out.find(c.message), std::string::npos) << c.eval << "\n" << out;
  }
  EXPECT_EQ(local_.request_count(), 0u);
}

}  // namespace
}  // namespace hybridgate::testing
