// `hybridgate advise scorecard` through the real binary: after known traffic (some of it with a
// card number), the ledger pre-fills the volume, privacy and latency dimensions and places each
// route; bad or missing answers exit 2 with a message naming them.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

TEST(Advise, TheScorecardReadsTheLedgerAndRefusesBadAnswers) {
  Scratch s("hg-advise");
  FakeUpstream local(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("ok", "llama", 1000, 500)}; });
  const std::string config =
      "providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
      "', zone: self_hosted, models: [{name: llama}]}\nledger: {path: '" + s.Path("ledger.db") +
      "', flush_interval_ms: 20}\nroutes:\n  chat:\n    tiers: [{name: main, deployments: "
      "[llama]}]\n  claims:\n    tiers: [{name: main, deployments: [llama]}]\n";
  {
    GatewayProcess gw(config);
    ASSERT_TRUE(gw.started()) << gw.Log();
    TestClient c(gw.port());
    for (int i = 0; i < 3; ++i) {
      auto r = c.Post("/v1/chat/completions",
                      R"({"model":"chat","messages":[{"role":"user","content":"hello"}]})");
      ASSERT_EQ(r.status, 200) << r.body;
    }
    auto r = c.Post(
        "/v1/chat/completions",
        R"({"model":"claims","messages":[{"role":"user","content":"card 4111 1111 1111 1111"}]})");
    ASSERT_EQ(r.status, 200) << r.body;
    // Refused before planning (an unknown model): not part of the workload, and its "route" is
    // the client's text.
    for (int i = 0; i < 4; ++i) {
      auto typo = c.Post(
          "/v1/chat/completions",
          R"({"model":"| forged | external API |","messages":[{"role":"user","content":"x"}]})");
      ASSERT_EQ(typo.status, 404) << typo.body;
    }
    EXPECT_EQ(gw.Stop(), 0);
  }
  std::ofstream(s.Path("gw.yaml")) << config;
  std::ofstream(s.Path("answers.yaml"))
      << "data_can_leave: yes\nfrontier_capability: some\nteam_capacity: some\nscores: "
         "{customisation: 2}\n";
  const std::string advise = "'" + BinaryPath() + "' advise scorecard --config '" +
                             s.Path("gw.yaml") + "' --answers '" + s.Path("answers.yaml") + "'";
  int status = -1;
  std::string out = Shell(advise + " --format json </dev/null 2>&1", &status);
  ASSERT_EQ(status, 0) << out;
  const json::value v = json::parse(out);
  // 4 requests of 1500 tokens; one in four carried a card (class 4).
  EXPECT_EQ(v.at("ledger").at("requests"), 4);
  EXPECT_EQ(v.at("ledger").at("requests_by_class").at(4), 1);
  EXPECT_EQ(v.at("scores").at("privacy").at("score"), 4);      // 25% sensitive
  EXPECT_EQ(v.at("scores").at("cost_volume").at("score"), 1);  // a small ledger
  EXPECT_EQ(v.at("scores").at("latency").at("score"), 4);      // fast fakes: p95 <= 500 ms
  EXPECT_EQ(v.at("total"), 4 + 1 + 3 + 3 + 2 + 4);
  EXPECT_EQ(v.at("band"), "hybrid");  // 17
  const auto& workloads = v.at("workloads").as_array();
  ASSERT_EQ(workloads.size(), 2u);
  EXPECT_EQ(workloads[0].at("route"), "chat");
  EXPECT_EQ(workloads[0].at("where"), "self-hosted first, escalate to external");
  EXPECT_EQ(workloads[1].at("route"), "claims");
  EXPECT_EQ(workloads[1].at("where"), "self-hosted");

  // The privacy override, by flag.
  out = Shell(advise + " --answer data_can_leave=no </dev/null 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("Privacy override"), std::string::npos) << out;

  // Bad and missing answers: exit 2, named.
  out = Shell(advise + " --answer latency=7 </dev/null 2>&1", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("'latency': 7 is not 1 to 5"), std::string::npos) << out;
  out = Shell(advise + " --answer latency=high </dev/null 2>&1", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("'high' is not a number from 1 to 5"), std::string::npos) << out;
  out = Shell("'" + BinaryPath() + "' advise scorecard --answer data_can_leave=yes </dev/null 2>&1",
              &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("not answered: monthly_tokens, frontier_capability, team_capacity, "
                     "customisation, latency"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace hybridgate::testing
