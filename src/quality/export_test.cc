#include "quality/export.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "quality/cli.h"
#include "quality/report.h"

namespace hybridgate::quality {
namespace {

constexpr const char* kRequest =
    R"({"model":"support","messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":"Capital of France?"}]})";

StoredComparison Row(const std::string& id, std::vector<Score> scores,
                     const std::string& request = kRequest) {
  StoredComparison r;
  Comparison& c = r.comparison;
  c.request_id = id;
  c.route = "support";
  c.question = "Capital of France?";
  c.request_json = request;
  c.primary = {.deployment = "cloud/gpt-4o", .ok = true, .text = "Paris."};
  c.shadow = {.deployment = "local/llama", .ok = true, .text = "It is Paris."};
  c.scores = std::move(scores);
  r.primary_sha256 = Sha256Hex(c.primary.text);
  r.shadow_sha256 = Sha256Hex(c.shadow.text);
  r.question_sha256 = Sha256Hex(c.question);
  r.request_sha256 = Sha256Hex(c.request_json);
  return r;
}

// Every deployment may be trained on, but `refused`.
TrainableCheck AllBut(const std::string& refused) {
  return [refused](std::string_view d) {
    return d == refused ? std::string("outputs_trainable: false in the config") : std::string();
  };
}

TEST(Export, ThePrimarysAnswerUnlessAJudgePreferredTheShadows) {
  const Score judge_win{.comparator = "judge", .value = 1};
  const Score judge_tie{.comparator = "judge", .value = 0.5};
  const Score exact_same{.comparator = "exact", .value = 1};
  EXPECT_EQ(ChooseExportAnswer(Row("a", {}).comparison), ExportSide::kPrimary);
  EXPECT_EQ(ChooseExportAnswer(Row("a", {exact_same}).comparison), ExportSide::kPrimary);
  EXPECT_EQ(ChooseExportAnswer(Row("a", {judge_tie}).comparison), ExportSide::kPrimary);
  EXPECT_EQ(ChooseExportAnswer(Row("a", {exact_same, judge_win}).comparison), ExportSide::kShadow);
  StoredComparison failed = Row("a", {judge_win});
  failed.comparison.shadow.ok = false;
  EXPECT_EQ(ChooseExportAnswer(failed.comparison), ExportSide::kPrimary);

  std::string out;
  ExportSummary s;
  ExportRow(Row("a", {judge_tie}), AllBut(""), out, s);
  ExportRow(Row("b", {{.comparator = "judge", .value = 1}}), AllBut(""), out, s);
  EXPECT_EQ(out, R"({"messages":[{"role":"system","content":"Be brief."},)"
                 R"({"role":"user","content":"Capital of France?"},)"
                 R"({"role":"assistant","content":"Paris."}]})"
                 "\n"
                 R"({"messages":[{"role":"system","content":"Be brief."},)"
                 R"({"role":"user","content":"Capital of France?"},)"
                 R"({"role":"assistant","content":"It is Paris."}]})"
                 "\n");
  EXPECT_EQ(s.written, 2);
  EXPECT_EQ(s.written_shadow, 1);
}

TEST(Export, ToolsComeAlong) {
  std::string out;
  ExportSummary s;
  ExportRow(Row("a", {},
                R"({"model":"m","messages":[{"role":"user","content":"hi"}],)"
                R"("tools":[{"type":"function","function":{"name":"f"}}],"max_tokens":5})"),
            AllBut(""), out, s);
  EXPECT_EQ(out, R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":)"
                 R"("Paris."}],"tools":[{"type":"function","function":{"name":"f"}}]})"
                 "\n");
}

TEST(Export, HashedRowsAreSkippedAndCounted) {
  StoredComparison hashed = Row("h", {});
  hashed.comparison.request_json.clear();  // as the store keeps a class above its limit
  hashed.comparison.question.clear();
  hashed.comparison.primary.text.clear();
  hashed.comparison.shadow.text.clear();
  StoredComparison old = Row("o", {});  // written before requests were kept
  old.comparison.request_json.clear();
  old.request_sha256.clear();
  StoredComparison tool_call = Row("t", {});
  tool_call.comparison.primary.text.clear();
  tool_call.primary_sha256 = Sha256Hex("");
  StoredComparison refused = Row("r", {});
  std::string out;
  ExportSummary s;
  for (const StoredComparison& r : {hashed, old, tool_call, refused, Row("ok", {})}) {
    ExportRow(r, AllBut("cloud/gpt-4o"), out, s);
  }
  EXPECT_EQ(out, "");
  EXPECT_EQ(s.written, 0);
  EXPECT_EQ(s.hashed, 1);
  EXPECT_EQ(s.no_request, 1);
  EXPECT_EQ(s.no_answer, 1);
  EXPECT_EQ(s.refused_answers(), 2);
  EXPECT_EQ(DescribeExport(s, "support"),
            "quality export: route support: wrote 0 examples (0 with the shadow's answer, a judge "
            "preferred it); skipped 1 kept only as hashes (data class above "
            "quality.store_text_max_class), 1 without a stored request, 1 without an answer "
            "text; refused 2\n"
            "quality export: refused 2 answers from cloud/gpt-4o: its outputs may not be used "
            "for training: outputs_trainable: false in the config\n");
}

TEST(Export, TheConfigSaysWhichModelsMayBeTrainedOn) {
  auto config = config::ParseConfig(
      "providers:\n"
      "  - {name: openai, type: openai, base_url: 'https://api.openai.com/v1', models: [{name: "
      "gpt-4o}]}\n"
      "  - {name: local, type: openai, base_url: 'http://127.0.0.1:1/v1', zone: self_hosted, "
      "models: [{name: llama}, {name: restricted, outputs_trainable: false}]}\n",
      "gw.yaml");
  ASSERT_TRUE(config) << config.error().message;
  const TrainableCheck check = TrainableFromConfig(*config);
  EXPECT_EQ(check("local/llama"), "");
  EXPECT_EQ(check("local/restricted"), "outputs_trainable: false in the config");
  EXPECT_EQ(check("openai/gpt-4o").rfind("OpenAI's terms forbid it (", 0), 0u)
      << check("openai/gpt-4o");
  EXPECT_EQ(check("gone/model"),
            "the config (gw.yaml) has no such deployment, so whether its outputs may be used for "
            "training is unknown");
}

// The command through RunQualityExport, on a SQLite store written by ComparisonStore.
class ExportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/hg_export_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_ = dir_ + "/gw.yaml";
    std::ofstream(config_)
        << "providers:\n"
           "  - {name: cloud, type: openai, base_url: 'http://127.0.0.1:1/v1', models: [{name: "
           "gpt-4o, outputs_trainable: false}]}\n"
           "  - {name: local, type: openai, base_url: 'http://127.0.0.1:2/v1', zone: "
           "self_hosted, models: [{name: llama}]}\n"
           "quality: {path: q.db}\n"
           "routes:\n  support: {tiers: [{name: t, deployments: [gpt-4o]}]}\n"
           "  other: {tiers: [{name: t, deployments: [llama]}]}\n";
  }
  void Store(const std::vector<Comparison>& rows) {
    auto store = ComparisonStore::Open({.path = dir_ + "/q.db"});
    ASSERT_TRUE(store) << store.error().message;
    for (const Comparison& c : rows) ASSERT_TRUE((*store)->Save(c));
  }
  int Run(ExportOptions o, std::string& out, std::string& err) {
    std::ostringstream o_out, o_err;
    const int code = RunQualityExport(o, o_out, o_err);
    out = o_out.str();
    err = o_err.str();
    return code;
  }
  std::string dir_, config_;
};

TEST_F(ExportCliTest, WritesTheAllowedLinesAndRefusesTheRest) {
  Comparison won = Row("1", {{.comparator = "judge", .value = 1}}).comparison;
  Comparison lost = Row("2", {{.comparator = "judge", .value = 0}}).comparison;
  Comparison secret = Row("3", {{.comparator = "judge", .value = 1}}).comparison;
  secret.data_class = 3;  // above store_text_max_class 1: hashes only
  Comparison other = Row("4", {}).comparison;
  other.route = "other";
  other.primary.deployment = "local/llama";
  Store({won, lost, secret, other});
  std::string out, err;
  const std::string file = dir_ + "/set.jsonl";
  EXPECT_EQ(Run({.config = config_, .route = "support", .out = file}, out, err), 1);
  EXPECT_EQ(out, "");
  std::ifstream in(file);
  std::stringstream written;
  written << in.rdbuf();
  EXPECT_EQ(written.str(), R"({"messages":[{"role":"system","content":"Be brief."},)"
                           R"({"role":"user","content":"Capital of France?"},)"
                           R"({"role":"assistant","content":"It is Paris."}]})"
                           "\n");
  EXPECT_NE(err.find("wrote 1 examples (1 with the shadow's answer, a judge preferred it); skipped "
                     "1 kept only as hashes"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("quality export: refused 1 answers from cloud/gpt-4o: its outputs may not be "
                     "used for training: outputs_trainable: false in the config\n"),
            std::string::npos)
      << err;
  // Only the route asked for; stdout without --out; exit 0 when nothing was refused.
  EXPECT_EQ(Run({.config = config_, .route = "other"}, out, err), 0);
  EXPECT_NE(out.find(R"({"role":"assistant","content":"Paris."})"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST_F(ExportCliTest, BadInputIsExitTwoWithTheReason) {
  std::string out, err;
  EXPECT_EQ(Run({.config = config_, .route = "support"}, out, err), 2);
  EXPECT_EQ(err, "quality export: error: no quality store at '" + dir_ +
                     "/q.db' (the gateway creates it when it first runs)\n");
  Store({});
  EXPECT_EQ(Run({.config = config_, .route = "nope"}, out, err), 2);
  EXPECT_EQ(err, "quality export: error: --route: " + config_ +
                     " has no route 'nope' (its routes: support, other)\n");
  EXPECT_EQ(Run({.config = dir_ + "/missing.yaml", .route = "support"}, out, err), 2);
  EXPECT_NE(err.find("missing.yaml: cannot open config file"), std::string::npos) << err;
  EXPECT_EQ(
      Run({.config = config_, .route = "support", .out = "/nonexistent/dir/x.jsonl"}, out, err), 2);
  EXPECT_EQ(err,
            "quality export: error: --out: cannot write '/nonexistent/dir/x.jsonl': No such file "
            "or directory\n");
  EXPECT_EQ(Run({.config = config_, .route = "support", .format = "csv"}, out, err), 2);
  EXPECT_EQ(err, "quality export: error: --format: unknown format 'csv' (expected openai-jsonl)\n");
  EXPECT_EQ(Run({.config = config_, .route = "support", .since = "soon"}, out, err), 2);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace hybridgate::quality
