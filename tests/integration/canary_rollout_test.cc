// Canary rollouts through the real binary (routes.<name>.rollout, time compressed by config):
// the candidate walks the stages to complete while it matches the incumbent, and is rolled back
// within an evaluation interval once it fails, after which the incumbent serves everything; the
// arm is sticky per caller; a request the candidate may not receive is never assigned to it; a
// person's CLI command reaches the running gateway within a second; /admin/rollouts answers the
// same JSON behind the admin key; replicas on one SQLite, PostgreSQL or Redis store serve one
// stage, and only the lease holder evaluates.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "ledger/testing/pg_cluster.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/redis_server.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string Chat(const std::string& user = "", const std::string& text = "hello") {
  return R"({"model":"support","max_tokens":50,)" +
         (user.empty() ? std::string() : R"("user":")" + user + R"(",)") +
         R"("messages":[{"role":"user","content":")" + text + R"("}]})";
}

struct RolloutGateway {
  // `rollout`: the YAML under routes.support.rollout; the incumbent is the route's tier. `more`:
  // top-level sections, where KEYS_DB and QUALITY_DB name files of the test's folder (a
  // `rollouts:` there replaces the SQLite store in the folder).
  RolloutGateway(const std::string& tier_model, const std::string& rollout,
                 const std::string& more = "")
      : local([this](const Recorded&) {
          if (local_fails) return Action{.status = 500, .body = R"({"error":{"message":"down"}})"};
          return Action{.body = ChatCompletionJson("from local", "llama")};
        }),
        cloud([](const Recorded&) {
          return Action{.body = ChatCompletionJson("from cloud", "gpt-4o")};
        }) {
    config = "providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
             "', zone: self_hosted, models: [{name: llama, input_per_mtok: 1, output_per_mtok: "
             "10}]}\n  - {name: cloud, type: openai, base_url: '" +
             cloud.base_url() +
             "', zone: external, max_data_class: 2, models: [{name: gpt-4o, input_per_mtok: 1, "
             "output_per_mtok: 10}, {name: gpt-4o-mini}]}\n" +
             "ledger: {path: '" + s.Path("ledger.db") + "', flush_interval_ms: 20}\n" +
             (more.find("rollouts:") == std::string::npos
                  ? "rollouts: {path: '" + s.Path("rollouts.db") + "'}\n"
                  : std::string()) +
             std::regex_replace(
                 std::regex_replace(more, std::regex("KEYS_DB"), "'" + s.Path("keys.db") + "'"),
                 std::regex("QUALITY_DB"), "'" + s.Path("quality.db") + "'") +
             "routes:\n  support:\n    tiers: [{name: main, deployments: [" + tier_model +
             "]}]\n    retries: {attempts: 1}\n    rollout: " + rollout + "\n";
    std::ofstream(s.Path("gw.yaml")) << config;
    gw = std::make_unique<GatewayProcess>(config);
  }
  // `hybridgate rollout <args> --config gw.yaml`: stdout and stderr, and the exit status.
  std::string Cli(const std::string& args, int* status = nullptr) const {
    return Shell(
        "'" + BinaryPath() + "' rollout " + args + " --config '" + s.Path("gw.yaml") + "' 2>&1",
        status);
  }
  json::object Status() const {
    int status = -1;
    const std::string out = Cli("status --format json", &status);
    EXPECT_EQ(status, 0) << out;
    return json::parse(out).at("rollouts").at(0).as_object();
  }
  // Polls the status until `pred` holds or `timeout` passes, sending requests meanwhile.
  template <class Pred>
  json::object DriveUntil(Pred pred, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    TestClient c(gw->port());
    json::object st = Status();
    while (!pred(st) && std::chrono::steady_clock::now() < end) {
      for (int i = 0; i < 20; ++i) {
        HttpResult r = c.Post("/v1/chat/completions", Chat());
        EXPECT_EQ(r.status, 200) << r.body;
        headers_seen.insert(r.headers.count("x-hybridgate-rollout")
                                ? r.headers.at("x-hybridgate-rollout")
                                : std::string("(none)"));
      }
      st = Status();
    }
    return st;
  }

  Scratch s{"hg-rollout"};
  std::atomic<bool> local_fails{false};
  FakeUpstream local, cloud;
  std::string config;
  std::unique_ptr<GatewayProcess> gw;
  std::set<std::string> headers_seen;
};

std::string Phase(const json::object& st) { return std::string(st.at("phase").as_string()); }

// Waits (up to 3 s) until a request is answered by `model`; returns the last answer.
HttpResult AwaitModel(TestClient& c, const std::string& model) {
  HttpResult r;
  for (int i = 0; i < 60; ++i) {
    r = c.Post("/v1/chat/completions", Chat());
    if (r.headers["x-hybridgate-model"] == model) break;
    std::this_thread::sleep_for(50ms);
  }
  return r;
}

// The share in an x-hybridgate-rollout header ("support/50/candidate" -> "50"), "" for none.
std::string ShareOf(HttpResult r) {
  const std::string h = r.headers["x-hybridgate-rollout"];
  const size_t a = h.find('/'), b = h.rfind('/');
  return a == std::string::npos || a == b ? "" : h.substr(a + 1, b - a - 1);
}

TEST(Rollout, WalksEveryStageToCompleteWhileTheCandidateMatches) {
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [10, 50, 100], min_requests: 5, "
                   "min_duration: 1s, interval: 1s, gates: {error_rate_max: 0.1}, sticky: none}");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  json::object st = g.Status();
  EXPECT_EQ(Phase(st), "running");
  EXPECT_EQ(st.at("share_percent"), 10);
  st = g.DriveUntil([](const json::object& s) { return Phase(s) == "complete"; }, 60s);
  ASSERT_EQ(Phase(st), "complete") << json::serialize(st) << g.gw->Log();
  EXPECT_EQ(st.at("share_percent"), 100);
  // Every stage was served and announced: the header names route, share and arm.
  for (const char* h : {"support/10/candidate", "support/10/incumbent", "support/50/candidate",
                        "support/50/incumbent", "support/100/candidate"}) {
    EXPECT_TRUE(g.headers_seen.count(h)) << h;
  }
  // The events, newest first: three promotions by the controller, each saying why.
  const json::array& events = st.at("events").as_array();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].at("to"), "complete");
  EXPECT_EQ(events[1].at("to"), "running 100%");
  EXPECT_EQ(events[2].at("to"), "running 50%");
  const std::string actor(events[0].at("actor").as_string());
  EXPECT_EQ(actor.rfind("controller ", 0), 0u) << actor;
  EXPECT_NE(actor.find(":" + std::to_string(g.gw->pid()) + ":"), std::string::npos) << actor;
  EXPECT_NE(std::string(events[0].at("reason").as_string()).find("every gate holds"),
            std::string::npos);
  // Complete: the candidate serves every eligible request; the incumbent stays the fallback.
  const size_t cloud_before = g.cloud.request_count();
  TestClient c(g.gw->port());
  for (int i = 0; i < 20; ++i) {
    HttpResult r = c.Post("/v1/chat/completions", Chat());
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-hybridgate-rollout"], "support/100/candidate");
    EXPECT_EQ(r.headers["x-hybridgate-model"], "llama");
  }
  EXPECT_EQ(g.cloud.request_count(), cloud_before);
  g.local_fails = true;
  HttpResult r = c.Post("/v1/chat/completions", Chat());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-model"], "gpt-4o") << "the incumbent is the fallback";
  // Complete, the gates still guard it: a failing candidate is rolled back.
  st = g.DriveUntil([](const json::object& s) { return Phase(s) == "rolled_back"; }, 20s);
  EXPECT_EQ(Phase(st), "rolled_back") << json::serialize(st);
  // The metrics say where it stands.
  const std::string metrics = c.Get("/metrics").body;
  EXPECT_NE(metrics.find("hybridgate_rollout_share_percent{route=\"support\"} 0"),
            std::string::npos);
  EXPECT_NE(
      metrics.find("hybridgate_rollout_transitions_total{route=\"support\",to=\"complete\"} 1"),
      std::string::npos);
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

TEST(Rollout, RollsBackWithinAnIntervalWhenTheCandidateFailsAndStaysThere) {
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [20, 50, 100], min_requests: 10, "
                   "min_duration: 1s, interval: 1s, gates: {error_rate_max: 0.05}, sticky: none}");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  json::object st = g.DriveUntil(
      [](const json::object& s) { return s.at("share_percent").as_int64() >= 50; }, 60s);
  ASSERT_EQ(st.at("share_percent"), 50) << json::serialize(st);
  // Mid-way the candidate starts failing; clients still get answers (the incumbent falls in).
  g.local_fails = true;
  const auto failed_at = std::chrono::steady_clock::now();
  st = g.DriveUntil([](const json::object& s) { return Phase(s) == "rolled_back"; }, 20s);
  ASSERT_EQ(Phase(st), "rolled_back") << json::serialize(st);
  EXPECT_LT(std::chrono::steady_clock::now() - failed_at, 6s);
  EXPECT_EQ(st.at("share_percent"), 0);
  const std::string reason(st.at("reason").as_string());
  EXPECT_NE(reason.find("gate error_rate failed"), std::string::npos) << reason;
  // The incumbent serves 100%, no candidate call, no rollout header; it stays so.
  g.local_fails = false;
  std::this_thread::sleep_for(2500ms);  // two evaluation intervals
  const size_t local_before = g.local.request_count();
  TestClient c(g.gw->port());
  for (int i = 0; i < 30; ++i) {
    HttpResult r = c.Post("/v1/chat/completions", Chat());
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-hybridgate-model"], "gpt-4o");
    EXPECT_EQ(r.headers.count("x-hybridgate-rollout"), 0u);
  }
  EXPECT_EQ(g.local.request_count(), local_before);
  EXPECT_EQ(Phase(g.Status()), "rolled_back");
  // A person resumes it: the first stage again.
  int status = -1;
  std::string out = g.Cli("resume --route support --reason 'fixed the candidate'", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(out, "support: running 20%\n");
  st = g.Status();
  EXPECT_EQ(st.at("events").at(0).at("actor"), "cli");
  EXPECT_EQ(st.at("events").at(0).at("reason"), "fixed the candidate");
  // The gateway follows within a second, the candidate's breaker (open since the failures)
  // closed by the resume: its arm reaches it at once.
  const auto resumed = std::chrono::steady_clock::now();
  bool reached = false;
  while (!reached && std::chrono::steady_clock::now() - resumed < 3s) {
    reached = c.Post("/v1/chat/completions", Chat()).headers["x-hybridgate-model"] == "llama";
  }
  EXPECT_TRUE(reached) << "no request reached the resumed candidate within 3 s";
  // A person's transition is logged and counted like the controller's.
  EXPECT_TRUE(FakeUpstream::WaitFor(
      [&] {
        return g.gw->Log().find("rolled_back -> running 20% by cli: fixed the candidate") !=
               std::string::npos;
      },
      3s))
      << g.gw->Log();
  EXPECT_NE(
      c.Get("/metrics")
          .body.find("hybridgate_rollout_transitions_total{route=\"support\",to=\"running\"}"),
      std::string::npos);
  EXPECT_EQ(Phase(g.Status()), "running") << "the breaker's old failures did not roll it back";
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

// The gateway with a feedback gate on `support`'s rollout (50% then 100%).
std::unique_ptr<RolloutGateway> FeedbackGated() {
  return std::make_unique<RolloutGateway>(
      "gpt-4o",
      "{candidate: llama, stages: [50, 100], min_requests: 10, min_duration: 1s, interval: 1s, "
      "gates: {feedback_drop_max: 0.1}, sticky: none}",
      "quality: {feedback: true, path: QUALITY_DB}\n");
}

// A thumbs rating (`score`: "1" or "-1") of the answer `r`, as its user sends it.
void Rate(TestClient& c, HttpResult& r, std::string_view score) {
  HttpResult f =
      c.Post("/v1/feedback", R"({"request_id":")" + r.headers["x-hybridgate-request-id"] +
                                 R"(","score":)" + std::string(score) + R"(,"kind":"thumbs"})");
  ASSERT_EQ(f.status, 200) << f.body;
}

// The feedback gate: users rate the candidate's answers down and the incumbent's up; the
// ratings of each arm's answers of the stage (POST /v1/feedback, joined to the arm that
// answered) roll the rollout back.
TEST(Rollout, RollsBackWhenUsersRateTheCandidatesAnswersWorse) {
  auto gated = FeedbackGated();
  RolloutGateway& g = *gated;
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  json::object st = g.Status();
  int rated_candidate = 0, rated_incumbent = 0;
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (Phase(st) == "running" && std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 10; ++i) {
      HttpResult r = c.Post("/v1/chat/completions", Chat());
      ASSERT_EQ(r.status, 200) << r.body;
      const bool candidate = r.headers["x-hybridgate-model"] == "llama";
      if (r.headers.count("x-hybridgate-rollout") == 0) break;  // rolled back meanwhile
      EXPECT_EQ(r.headers["x-hybridgate-rollout"],
                std::string("support/50/") + (candidate ? "candidate" : "incumbent"));
      Rate(c, r, candidate ? "-1" : "1");
      ++(candidate ? rated_candidate : rated_incumbent);
    }
    st = g.Status();
  }
  ASSERT_EQ(Phase(st), "rolled_back") << json::serialize(st) << "\n"
                                      << rated_candidate << " / " << rated_incumbent;
  const std::string reason(st.at("reason").as_string());
  EXPECT_NE(reason.find("gate feedback_drop failed"), std::string::npos) << reason;
  const json::object& gate = st.at("evaluation").at("gates").at(0).as_object();
  EXPECT_EQ(gate.at("name"), "feedback_drop");
  EXPECT_DOUBLE_EQ(gate.at("value").to_number<double>(), 1.0);  // all up minus all down
  EXPECT_GE(gate.at("samples").as_int64(), 10);
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

// Rated alike, it walks to complete: at 100% the candidate's ratings of the stage are compared
// with the incumbent's of the whole rollout, as no incumbent answers any more.
TEST(Rollout, CompletesWhenUsersRateBothArmsAlike) {
  auto gated = FeedbackGated();
  RolloutGateway& g = *gated;
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  json::object st = g.Status();
  const auto end = std::chrono::steady_clock::now() + 40s;
  while (Phase(st) == "running" && std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 10; ++i) {
      HttpResult r = c.Post("/v1/chat/completions", Chat());
      ASSERT_EQ(r.status, 200) << r.body;
      Rate(c, r, "1");
    }
    st = g.Status();
  }
  EXPECT_EQ(Phase(st), "complete") << json::serialize(st);
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

TEST(Rollout, RollsBackWhenShadowComparisonsSayTheCandidateAnswersWorse) {
  // Every incumbent answer is shadowed to the candidate and compared (exact): "from local" is
  // not "from cloud", a drop of 100% against a limit of 10%. Half the requests go to the
  // candidate, so that some surely do before the first evaluation rolls it back.
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [50, 100], min_requests: 1000, interval: 1s, "
                   "gates: {quality_drop_max: 0.1}, sticky: none}\n"
                   "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 10, compare: "
                   "[exact]}]",
                   "quality: {path: QUALITY_DB}\n");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  json::object st =
      g.DriveUntil([](const json::object& s) { return Phase(s) == "rolled_back"; }, 30s);
  ASSERT_EQ(Phase(st), "rolled_back") << json::serialize(st);
  const std::string reason(st.at("reason").as_string());
  EXPECT_NE(reason.find("gate quality_drop failed: 100.0%"), std::string::npos) << reason;
  // The candidate answered its own arm: it was not shadowed against itself.
  EXPECT_TRUE(g.headers_seen.contains("support/50/candidate"));
  TestClient c(g.gw->port());
  EXPECT_NE(c.Get("/metrics").body.find("outcome=\"answered_primary\""), std::string::npos);
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

TEST(Rollout, TheArmIsStickyPerCallerForTheStage) {
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [50, 100], min_requests: 100000, interval: 1s, "
                   "gates: {error_rate_max: 0.1}, sticky: user}");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  std::map<std::string, std::set<std::string>> arms;
  for (int round = 0; round < 4; ++round) {
    for (int u = 0; u < 40; ++u) {
      const std::string user = "user-" + std::to_string(u);
      HttpResult r = c.Post("/v1/chat/completions", Chat(user));
      ASSERT_EQ(r.status, 200) << r.body;
      arms[user].insert(r.headers["x-hybridgate-rollout"] + " " + r.headers["x-hybridgate-model"]);
    }
  }
  int candidates = 0;
  for (const auto& [user, seen] : arms) {
    ASSERT_EQ(seen.size(), 1u) << user << " saw several arms";
    const std::string& arm = *seen.begin();
    EXPECT_TRUE(arm == "support/50/candidate llama" || arm == "support/50/incumbent gpt-4o") << arm;
    candidates += arm == "support/50/candidate llama";
  }
  EXPECT_GT(candidates, 8);
  EXPECT_LT(candidates, 32);
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

TEST(Rollout, ARequestTheCandidateMayNotReceiveIsNeverAssignedToIt) {
  // The candidate is external (max_data_class 2), at 100%: sensitive requests stay home.
  RolloutGateway g("llama",
                   "{candidate: gpt-4o, stages: [100], min_requests: 100000, interval: 1s, "
                   "gates: {error_rate_max: 0.1}}");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  for (int i = 0; i < 10; ++i) {
    HttpResult r =
        c.Request("POST", "/v1/chat/completions", Chat(), {{"x-hybridgate-data-class", "4"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["x-hybridgate-model"], "llama");
    EXPECT_EQ(r.headers.count("x-hybridgate-rollout"), 0u);
    HttpResult card = c.Post("/v1/chat/completions",
                             Chat("", "charge card 4242 4242 4242 4242 exp 04/27 cvc 123"));
    ASSERT_EQ(card.status, 200) << card.body;
    EXPECT_EQ(card.headers["x-hybridgate-model"], "llama");
  }
  EXPECT_EQ(g.cloud.request_count(), 0u);
  HttpResult plain = c.Post("/v1/chat/completions", Chat());
  EXPECT_EQ(plain.headers["x-hybridgate-rollout"], "support/100/candidate");
  EXPECT_EQ(plain.headers["x-hybridgate-model"], "gpt-4o");
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

TEST(Rollout, APersonsCommandReachesTheGatewayWithinASecondAndTheAdminApiAgrees) {
  setenv("HG_ROLLOUT_ADMIN", "admin-secret", 1);
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [100], min_requests: 100000, interval: 1s, "
                   "gates: {error_rate_max: 0.5}, start: paused}",
                   "limits: {admin_key_env: HG_ROLLOUT_ADMIN, keys_db: KEYS_DB}\n");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  EXPECT_EQ(Phase(g.Status()), "pending");
  TestClient c(g.gw->port());
  HttpResult r = c.Post("/v1/chat/completions", Chat());
  EXPECT_EQ(r.headers["x-hybridgate-model"], "gpt-4o");
  EXPECT_EQ(r.headers.count("x-hybridgate-rollout"), 0u) << "pending: no candidate traffic";
  int status = -1;
  std::string out = g.Cli("resume --route support", &status);
  ASSERT_EQ(status, 0) << out;
  const auto resumed = std::chrono::steady_clock::now();
  r = AwaitModel(c, "llama");
  EXPECT_EQ(r.headers["x-hybridgate-model"], "llama");
  EXPECT_LT(std::chrono::steady_clock::now() - resumed, 2500ms);
  EXPECT_EQ(r.headers["x-hybridgate-rollout"], "support/100/candidate");
  // Commands that do not apply, and unknown routes, exit 2 with a sentence.
  out = g.Cli("resume --route support", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("is running: nothing to resume"), std::string::npos) << out;
  out = g.Cli("pause --route nope", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("route 'nope' has no rollout"), std::string::npos) << out;

  // The admin API: the key, the same JSON, and the commands.
  EXPECT_EQ(c.Get("/admin/rollouts").status, 401);
  const std::map<std::string, std::string> admin = {{"authorization", "Bearer admin-secret"}};
  HttpResult a = c.Request("GET", "/admin/rollouts", "", admin);
  ASSERT_EQ(a.status, 200) << a.body;
  const json::object via_api = json::parse(a.body).at("rollouts").at(0).as_object();
  EXPECT_EQ(via_api.at("phase"), "running");
  EXPECT_EQ(via_api.at("candidate"), "llama");
  EXPECT_EQ(via_api.at("incumbent"), "gpt-4o");
  a = c.Request("POST", "/admin/rollouts/support/pause", R"({"reason":"hold for the audit"})",
                admin);
  ASSERT_EQ(a.status, 200) << a.body;
  const json::object paused = json::parse(a.body).at("rollouts").at(0).as_object();
  EXPECT_EQ(paused.at("phase"), "paused");
  EXPECT_EQ(paused.at("share_percent"), 100) << "a pause holds the share";
  EXPECT_EQ(paused.at("events").at(0).at("actor"), "admin");
  EXPECT_EQ(paused.at("events").at(0).at("reason"), "hold for the audit");
  EXPECT_EQ(c.Request("POST", "/admin/rollouts/support/explode", "", admin).status, 404);
  EXPECT_EQ(c.Request("POST", "/admin/rollouts/nope/pause", "", admin).status, 404);
  EXPECT_EQ(c.Request("POST", "/admin/rollouts/support/rollback", "[1]", admin).status, 400);
  a = c.Request("POST", "/admin/rollouts/support/resume", R"({"reason":"x","force":true})", admin);
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(a.body.find("unknown field 'force'"), std::string::npos) << a.body;
  EXPECT_EQ(c.Request("DELETE", "/admin/rollouts/support", "", admin).status, 405);
  // A client percent-encodes the route's name.
  a = c.Request("GET", "/admin/rollouts/su%70port", "", admin);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(json::parse(a.body).at("rollouts").at(0).at("phase"), "paused");
  a = c.Request("POST", "/admin/rollouts/support/rollback", "", admin);
  ASSERT_EQ(a.status, 200) << a.body;
  const auto rolled = std::chrono::steady_clock::now();
  r = AwaitModel(c, "gpt-4o");
  EXPECT_EQ(r.headers["x-hybridgate-model"], "gpt-4o");
  EXPECT_LT(std::chrono::steady_clock::now() - rolled, 2500ms);
  EXPECT_EQ(Phase(g.Status()), "rolled_back");
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

TEST(Rollout, AnotherConfigNeitherResetsNorCommandsTheRunningRolloutAndADeletedStoreIsFollowed) {
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [50, 100], min_requests: 100000, interval: 1s, "
                   "gates: {error_rate_max: 0.5}}");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  // A config that names another candidate (a rolling deploy, a dry run).
  std::string other = g.config;
  other.replace(other.find("models: [{name: llama,"), 22,
                "models: [{name: mistral}, {name: llama,");
  other.replace(other.find("candidate: llama"), 16, "candidate: mistral");
  std::ofstream(g.s.Path("other.yaml")) << other;
  int status = -1;
  std::string out =
      Shell("'" + BinaryPath() + "' config check '" + g.s.Path("other.yaml") + "' 2>&1", &status);
  ASSERT_EQ(status, 0) << out;
  out = Shell("'" + BinaryPath() + "' rollout status --format json --config '" +
                  g.s.Path("other.yaml") + "' 2>&1",
              &status);
  ASSERT_EQ(status, 0) << out;
  const json::object seen = json::parse(out).at("rollouts").at(0).as_object();
  EXPECT_EQ(seen.at("candidate"), "llama");
  EXPECT_EQ(seen.at("config_candidate"), "mistral");
  out = Shell("'" + BinaryPath() + "' rollout pause --route support --config '" +
                  g.s.Path("other.yaml") + "' 2>&1",
              &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("the store holds route 'support''s rollout of 'llama' (running)"),
            std::string::npos)
      << out;
  std::this_thread::sleep_for(1500ms);
  json::object st = g.Status();
  EXPECT_EQ(st.at("candidate"), "llama");
  EXPECT_EQ(Phase(st), "running");
  EXPECT_EQ(st.at("events").as_array().size(), 0u) << json::serialize(st);

  // The store deleted under the running gateway: a person's rollback writes a new one, and the
  // gateway follows it.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((g.s.Path("rollouts.db") + suffix).c_str());
  }
  out = g.Cli("rollback --route support", &status);
  ASSERT_EQ(status, 0) << out;
  TestClient c(g.gw->port());
  bool followed = false;
  for (int i = 0; i < 40 && !followed; ++i) {
    followed = c.Post("/v1/chat/completions", Chat()).headers.count("x-hybridgate-rollout") == 0;
    if (!followed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(followed) << "the gateway still sends candidate traffic after the rollback";
  EXPECT_TRUE(FakeUpstream::WaitFor(
      [&] { return g.gw->Log().find("was replaced or deleted") != std::string::npos; }, 3s));
  EXPECT_EQ(Phase(g.Status()), "rolled_back");
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

// Promotes `g`'s rollout by hand to its second stage (`at`%), then rewrites `from` in its config
// as `to` and waits until answers carry the share `then`; false when either did not happen.
bool ReloadMidway(RolloutGateway& g, const std::string& at, const std::string& from,
                  const std::string& to, const std::string& then) {
  int status = -1;
  const std::string out = g.Cli("promote --route support", &status);
  EXPECT_EQ(status, 0) << out;
  TestClient c(g.gw->port());
  if (!FakeUpstream::WaitFor([&] { return ShareOf(c.Post("/v1/chat/completions", Chat())) == at; },
                             5s)) {
    ADD_FAILURE() << "never at " << at << "%: " << g.gw->Log();
    return false;
  }
  std::string edited = g.config;
  edited.replace(edited.find(from), from.size(), to);
  g.gw->RewriteConfig(edited);
  if (!FakeUpstream::WaitFor(
          [&] { return ShareOf(c.Post("/v1/chat/completions", Chat())) == then; }, 10s)) {
    ADD_FAILURE() << "never at " << then << "% after the reload: " << g.gw->Log();
    return false;
  }
  return true;
}

TEST(Rollout, AReloadWithOtherStagesKeepsTheShareAtOrBelowWhereItWasAndSaysSo) {
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [10, 50, 100], min_requests: 100000, interval: 1s, "
                   "gates: {error_rate_max: 0.5}}");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  // The file now says [20, 100]: not 100% at once, but the highest stage at or below 50%.
  ASSERT_TRUE(ReloadMidway(g, "50", "stages: [10, 50, 100]", "stages: [20, 100]", "20"));
  TestClient c(g.gw->port());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ShareOf(c.Post("/v1/chat/completions", Chat())), "20");
  const json::object st = g.Status();
  EXPECT_EQ(st.at("share_percent"), 20);
  EXPECT_EQ(st.at("events").at(0).at("from"), "running 50%");
  EXPECT_EQ(st.at("events").at(0).at("to"), "running 20%");
  EXPECT_NE(std::string(st.at("events").at(0).at("reason").as_string()).find("stages changed"),
            std::string::npos);
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

// A reload that names another incumbent: what the stage measured compared the candidate with a
// deployment that no longer answers, so the rollout starts again at its first stage and says why.
TEST(Rollout, AReloadWithAnotherIncumbentStartsTheEvidenceAgain) {
  RolloutGateway g("gpt-4o, gpt-4o-mini",
                   "{candidate: llama, incumbent: gpt-4o, stages: [10, 50, 100], "
                   "min_requests: 100000, interval: 1s, gates: {error_rate_max: 0.5}}");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  ASSERT_TRUE(ReloadMidway(g, "50", "incumbent: gpt-4o,", "incumbent: gpt-4o-mini,", "10"));
  const json::object st = g.Status();
  EXPECT_EQ(st.at("share_percent"), 10);
  EXPECT_EQ(st.at("stage"), 1) << "the first stage, afresh";
  EXPECT_EQ(st.at("incumbent"), "gpt-4o-mini");
  EXPECT_EQ(st.at("events").at(0).at("from"), "running 50%");
  EXPECT_EQ(st.at("events").at(0).at("to"), "running 10%");
  EXPECT_NE(std::string(st.at("events").at(0).at("reason").as_string())
                .find("incumbent changed from 'gpt-4o' to 'gpt-4o-mini'"),
            std::string::npos)
      << st.at("events").at(0);
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

// The same on each store replicas can share: one SQLite file (one host), a real PostgreSQL and a
// real Redis (several hosts).
class Replicas : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Stores, Replicas, ::testing::Values("sqlite", "postgres", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(Replicas, OnOneStoreFollowOneStageAndOnlyTheLeaseHolderEvaluates) {
  Scratch s{"hg-rollout-replicas"};
  std::unique_ptr<ledger::testing::PgCluster> pg;
  std::unique_ptr<RedisServer> redis;
  std::string store = "rollouts: {path: '" + s.Path("rollouts.db") + "'}\n";
  if (GetParam() == "postgres") {
    pg = std::make_unique<ledger::testing::PgCluster>();
    ASSERT_TRUE(pg->started()) << pg->error();
    store = "rollouts: {backend: postgres, dsn: '" + pg->dsn() + "'}\n";
  } else if (GetParam() == "redis") {
    redis = std::make_unique<RedisServer>();
    ASSERT_TRUE(redis->started());
    store = "rollouts: {backend: redis, redis_url: 'redis://127.0.0.1:" +
            std::to_string(redis->port()) + "/3'}\n";
  }
  FakeUpstream local(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("from local", "llama")}; });
  FakeUpstream cloud(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("from cloud", "gpt-4o")}; });
  const std::string config =
      "providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
      "', models: [{name: llama}]}\n  - {name: cloud, type: openai, base_url: '" +
      cloud.base_url() + "', models: [{name: gpt-4o}]}\nledger: {enabled: false}\n" + store +
      "routes:\n  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    rollout: {candidate: llama, stages: [10, 50, 100], min_requests: 10, "
      "min_duration: 1s, interval: 1s, gates: {error_rate_max: 0.1}, sticky: none}\n";
  std::ofstream(s.Path("gw.yaml")) << config;
  // A replica whose config has no rollout on `support` (only one on another route) shares the
  // store and starts first: it must not become support's evaluator.
  std::string without = config;
  without.replace(without.find("    rollout: {candidate: llama"), 0, "    aliases: [helpdesk]\n");
  without = without.substr(0, without.find("    rollout:")) +
            "  other:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
            "    rollout: {candidate: llama, min_requests: 100000, gates: {error_rate_max: 0.5}}\n";
  GatewayProcess c(without);
  ASSERT_TRUE(c.started()) << c.Log();
  auto a = std::make_unique<GatewayProcess>(config);
  ASSERT_TRUE(a->started()) << a->Log();
  GatewayProcess b(config);
  ASSERT_TRUE(b.started()) << b.Log();
  const std::string pid_a = ":" + std::to_string(a->pid()) + ":";
  const std::string pid_b = ":" + std::to_string(b.pid()) + ":";
  auto status = [&] {
    int rc = -1;
    const std::string out = Shell("'" + BinaryPath() + "' rollout status --format json --config '" +
                                      s.Path("gw.yaml") + "' 2>&1",
                                  &rc);
    EXPECT_EQ(rc, 0) << out;
    return json::parse(out).at("rollouts").at(0).as_object();
  };
  // Traffic only to B; A, which started first, holds the lease and promotes on B's counters.
  TestClient cb(b.port());
  auto drive = [&](const std::string& until_share) {
    json::object st = status();
    for (int round = 0; round < 200 && json::serialize(st.at("share_percent")) != until_share;
         ++round) {
      for (int i = 0; i < 20; ++i) ASSERT_EQ(cb.Post("/v1/chat/completions", Chat()).status, 200);
      st = status();
    }
  };
  drive("50");
  json::object st = status();
  ASSERT_EQ(st.at("share_percent"), 50) << json::serialize(st);
  for (const auto& e : st.at("events").as_array()) {
    EXPECT_NE(std::string(e.at("actor").as_string()).find(pid_a), std::string::npos)
        << json::serialize(e) << " (A is " << pid_a << ")";
  }
  // Without traffic nothing promotes; within a second both replicas serve the same stage.
  std::this_thread::sleep_for(1200ms);
  TestClient ca(a->port());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ShareOf(ca.Post("/v1/chat/completions", Chat())), "50");
    EXPECT_EQ(ShareOf(cb.Post("/v1/chat/completions", Chat())), "50");
  }
  // A stops: it gives the lease up, and B goes on alone.
  ASSERT_EQ(a->Stop(), 0) << a->Log();
  a.reset();
  drive("100");
  for (int round = 0; round < 100 && Phase(status()) != "complete"; ++round) {
    for (int i = 0; i < 20; ++i) ASSERT_EQ(cb.Post("/v1/chat/completions", Chat()).status, 200);
  }
  st = status();
  ASSERT_EQ(Phase(st), "complete") << json::serialize(st);
  const std::string last(st.at("events").at(0).at("actor").as_string());
  EXPECT_NE(last.find(pid_b), std::string::npos) << last;
  EXPECT_EQ(b.Stop(), 0) << b.Log();
  EXPECT_EQ(c.Stop(), 0) << c.Log();
}

// A shared store that goes away mid-rollout — hung (every call times out) or gone (refused): a
// blip keeps the share for up to 3 s, then the candidate gets nothing — no rollout runs without
// its gates; a store that answers again brings the stage back.
TEST(Rollout, WithoutItsRedisStoreTheCandidateGetsNothing) {
  auto redis = std::make_unique<RedisServer>();
  ASSERT_TRUE(redis->started());
  const std::string url = "redis://127.0.0.1:" + std::to_string(redis->port());
  RolloutGateway g("gpt-4o",
                   "{candidate: llama, stages: [50, 100], min_requests: 100000, interval: 1s, "
                   "gates: {error_rate_max: 0.5}, sticky: none}",
                   "rollouts: {backend: redis, redis_url: '" + url + "'}\n");
  ASSERT_TRUE(g.gw->started()) << g.gw->Log();
  TestClient c(g.gw->port());
  HttpResult r = AwaitModel(c, "llama");
  ASSERT_EQ(r.headers["x-hybridgate-rollout"], "support/50/candidate") << g.gw->Log();
  const auto only_incumbent = [&](const char* when) {
    for (int i = 0; i < 20; ++i) {
      r = c.Post("/v1/chat/completions", Chat());
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.headers["x-hybridgate-model"], "gpt-4o") << when;
      EXPECT_EQ(r.headers.count("x-hybridgate-rollout"), 0u)
          << when << ": " << r.headers["x-hybridgate-rollout"];
    }
  };
  // Hung: the server takes connections and never answers.
  ::kill(redis->pid(), SIGSTOP);
  std::this_thread::sleep_for(6500ms);  // 3 s of grace, a round and a timeout, and slack
  only_incumbent("redis hung");
  ::kill(redis->pid(), SIGCONT);
  r = AwaitModel(c, "llama");
  EXPECT_EQ(r.headers["x-hybridgate-model"], "llama") << "the stage is back with its store";
  // Gone.
  redis.reset();
  std::this_thread::sleep_for(6500ms);  // 3 s of grace, a round and a timeout, and slack
  only_incumbent("redis gone");
  const std::string log = g.gw->Log();
  EXPECT_NE(log.find("rollout store: redis"), std::string::npos) << log;
  EXPECT_NE(log.find("the store answers again"), std::string::npos) << log;
  EXPECT_EQ(g.gw->Stop(), 0) << g.gw->Log();
}

// The incumbent under another spelling ("provider/model", an alias) is not a candidate: the
// rollout would compare a deployment with itself and every gate would pass.
TEST(Rollout, ACandidateThatIsTheIncumbentUnderAnotherNameIsRefused) {
  Scratch s("hg-rollout-self");
  for (const char* candidate : {"cloud/gpt-4o", "frontier"}) {
    const std::string config =
        "providers:\n  - {name: cloud, type: openai, base_url: 'http://127.0.0.1:9', zone: "
        "external, models: [{name: gpt-4o}]}\n"
        "  - {name: local, type: openai, base_url: 'http://127.0.0.1:9', models: [{name: "
        "llama}]}\n"
        "aliases: {frontier: gpt-4o}\n"
        "ledger: {path: '" +
        s.Path("ledger.db") + "'}\nrollouts: {path: '" + s.Path("rollouts.db") +
        "'}\nroutes:\n  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
        "    rollout: {candidate: " +
        candidate + ", gates: {error_rate_max: 0.1}}\n";
    std::ofstream(s.Path("gw.yaml")) << config;
    int status = -1;
    const std::string out =
        Shell("'" + BinaryPath() + "' config check '" + s.Path("gw.yaml") + "' 2>&1", &status);
    EXPECT_EQ(status, 2) << candidate << ": " << out;
    EXPECT_NE(out.find("routes.support.rollout.candidate: '" + std::string(candidate) +
                       "' is served by 'cloud/gpt-4o', as the incumbent 'gpt-4o' is"),
              std::string::npos)
        << out;
  }
}

}  // namespace
}  // namespace hybridgate::testing
