// What shadow traffic leaves behind, through the real binary: a route shadowed and judged, then
// `hybridgate quality export` (a fine-tuning set: the judge's preferred answer, hashed rows
// skipped, a closed model's answers refused), `hybridgate router train --comparisons` (router
// labels from the same comparisons) and `hybridgate report` (the quality columns joined onto the
// ledger's routes), each checked by its bytes and exit code.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"
#include "tests/support/sqlite_text.h"

namespace hybridgate::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string Chat(const std::string& text) {
  return R"({"model":"support","max_tokens":50,"messages":[{"role":"user","content":")" + text +
         R"("}]})";
}

// A judge that prefers the local model's answer when the question says "prefer local", else
// the cloud's — in both orders, so its verdict stands.
FakeUpstream::Script Judge() {
  return [](const Recorded& r) {
    const auto body = json::parse(r.body);
    const std::string user(body.at("messages").at(1).at("content").as_string());
    const size_t a = user.find("[Answer A]"), b = user.find("[Answer B]");
    const bool local_is_a = user.find("from local", a) < b;
    const bool prefer_local = user.find("prefer local") != std::string::npos;
    const std::string winner = prefer_local == local_is_a ? "A" : "B";
    return Action{.body = ChatCompletionJson(
                      R"({"winner":")" + winner + R"(","rationale":"because"})", "judge-model")};
  };
}

struct CliRun {
  int status = -1;
  std::string out, err;
};

TEST(QualityExport, ExportRouterTrainAndReportReadTheShadowTraffic) {
  Scratch s("hg-qexport");
  FakeUpstream local(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("from local", "llama")}; });
  FakeUpstream cloud([](const Recorded&) {
    return Action{.body = ChatCompletionJson("from cloud", "gpt-4o", 20, 30)};
  });
  FakeUpstream judge(Judge());
  const std::string config =
      "providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
      "', zone: self_hosted, models: [{name: llama, input_per_mtok: 1, output_per_mtok: 2}]}\n"
      "  - {name: cloud, type: openai, base_url: '" +
      cloud.base_url() +
      "', zone: external, models: [{name: gpt-4o, input_per_mtok: 5, output_per_mtok: 15, "
      "outputs_trainable: false}]}\n"
      "  - {name: judge, type: openai, base_url: '" +
      judge.base_url() +
      "', zone: external, models: [{name: judge-model, input_per_mtok: 1, output_per_mtok: 1}]}\n"
      "ledger: {path: '" +
      s.Path("ledger.db") +
      "', flush_interval_ms: 20}\n"
      "quality: {path: '" +
      s.Path("quality.db") +
      "', store_text_max_class: 1}\n"
      "routes:\n  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    shadow: [{deployment: llama, sample: 1, max_usd_per_day: 100, judge: judge-model}]\n";
  const std::string cfg = s.Path("gw.yaml");
  std::ofstream(cfg) << config;
  {
    GatewayProcess gw(config);
    ASSERT_TRUE(gw.started()) << gw.Log();
    TestClient c(gw.port());
    // The judge prefers the shadow's answer; the primary's; and a class-2 request (above the
    // store's text class: only hashes are kept) where it prefers the primary's.
    ASSERT_EQ(c.Post("/v1/chat/completions", Chat("prefer local: what is up?")).status, 200);
    ASSERT_EQ(c.Post("/v1/chat/completions", Chat("what is down?")).status, 200);
    ASSERT_EQ(c.Request("POST", "/v1/chat/completions", Chat("internal matter"),
                        {{"x-hybridgate-data-class", "2"}})
                  .status,
              200);
    for (int i = 0; i < 200 && judge.request_count() < 6; ++i) std::this_thread::sleep_for(25ms);
    ASSERT_EQ(judge.request_count(), 6u);
    ASSERT_EQ(gw.Stop(), 0) << gw.Log();  // every comparison written
  }
  ASSERT_EQ(SqliteText(s.Path("quality.db"), "SELECT count(*) FROM comparisons"), "3");

  auto run = [&](const std::string& args) {
    CliRun r;
    r.out = Shell("'" + BinaryPath() + "' " + args + " 2>'" + s.Path("stderr") + "'", &r.status);
    r.err = ReadFile(s.Path("stderr"));
    return r;
  };

  // The export: the judge's preferred answer (the shadow's) is written; the cloud's answer the
  // judge preferred is refused, by name and reason; the class-2 row is skipped as hashed.
  const std::string set = s.Path("set.jsonl");
  CliRun e = run("quality export --config '" + cfg + "' --route support --out '" + set + "'");
  EXPECT_EQ(e.status, 1) << e.err;
  EXPECT_EQ(e.out, "");
  EXPECT_EQ(ReadFile(set), R"({"messages":[{"role":"user","content":"prefer local: what is up?"},)"
                           R"({"role":"assistant","content":"from local"}]})"
                           "\n");
  EXPECT_EQ(e.err,
            "quality export: route support: wrote 1 examples (1 with the shadow's answer, a judge "
            "preferred it); skipped 1 kept only as hashes (data class above "
            "quality.store_text_max_class), 0 without a stored request, 0 without an answer "
            "text; refused 1\n"
            "quality export: refused 1 answers from cloud/gpt-4o: its outputs may not be used "
            "for training: outputs_trainable: false in the config\n");
  CliRun bad = run("quality export --config '" + cfg + "' --route nope");
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err, "quality export: error: --route: " + cfg +
                         " has no route 'nope' (its routes: support)\n");
  CliRun unwritable =
      run("quality export --config '" + cfg + "' --route support --out /nonexistent/set.jsonl");
  EXPECT_EQ(unwritable.status, 2);
  EXPECT_EQ(unwritable.err,
            "quality export: error: --out: cannot write '/nonexistent/set.jsonl': No such file or "
            "directory\n");

  // Router labels: the shadow sufficed for the first prompt, not for the second.
  const std::string model = s.Path("router.model");
  CliRun t = run("router train --comparisons --config '" + cfg + "' --route support --out '" +
                 model + "' --hash-bits 10");
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.err.substr(0, t.err.find('\n') + 1),
            "2 examples from the comparison store of " + cfg +
                ", route support: 1 weak suffices, 1 strong needed; skipped 1 kept only as "
                "hashes, 0 without a stored request, 0 unscored\n");
  EXPECT_NE(t.err.find("trained on 2 examples in "), std::string::npos) << t.err;
  EXPECT_EQ(ReadFile(model).rfind("HGROUTER 1\n", 0), 0u);

  // The report: the ledger's route line with the shadow's quality joined on.
  CliRun csv = run("report --config '" + cfg + "' --format csv");
  ASSERT_EQ(csv.status, 0) << csv.err;
  EXPECT_NE(csv.out.find(",escalation_rate,estimated_usage_rows,shadow_deployment,shadowed,"
                         "compared,comparator,mean_score,win,tie,loss,usd_per_quality_point\n"),
            std::string::npos)
      << csv.out;
  const size_t line = csv.out.find("\nsupport,");
  ASSERT_NE(line, std::string::npos) << csv.out;
  const std::string support = csv.out.substr(line + 1, csv.out.find('\n', line + 1) - line - 1);
  const std::string joined = ",local/llama,3,3,judge,0.3333333333333333,1,0,2,";
  ASSERT_NE(support.find(joined), std::string::npos) << support;
  const double shadow_usd =
      std::stod(SqliteText(s.Path("quality.db"), "SELECT sum(shadow_cost_usd) FROM comparisons"));
  const double per_point = std::stod(support.substr(support.find(joined) + joined.size()));
  EXPECT_NEAR(per_point, shadow_usd / 3 * 1000 / (1.0 / 3), 1e-9);

  CliRun table = run("report --config '" + cfg + "'");
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(
      table.out.find("  shadow       shadowed  compared  comparator  score  w/t/l  usd/q_pt\n"),
      std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("  local/llama         3         3       judge  0.333  1/0/2  "),
            std::string::npos)
      << table.out;

  CliRun js = run("report --config '" + cfg + "' --format json");
  ASSERT_EQ(js.status, 0) << js.err;
  const json::value v = json::parse(js.out);
  const json::object& q = v.at("quality").at("support").at(0).as_object();
  EXPECT_EQ(q.at("shadow_deployment"), "local/llama");
  EXPECT_EQ(q.at("compared").as_int64(), 3);
  EXPECT_EQ(q.at("win").as_int64(), 1);
  EXPECT_EQ(q.at("loss").as_int64(), 2);
  EXPECT_EQ(q.at("comparator"), "judge");
  // Another grouping has no quality columns: quality is measured per route.
  CliRun by_model = run("report --config '" + cfg + "' --by model --format json");
  ASSERT_EQ(by_model.status, 0) << by_model.err;
  EXPECT_FALSE(json::parse(by_model.out).as_object().contains("quality"));
}

}  // namespace
}  // namespace hybridgate::testing
