#include "learned/comparisons.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>

#include "common/cli_testing.h"
#include "learned/cli.h"
#include "learned/model_io.h"

namespace hybridgate::learned {
namespace {

quality::StoredComparison Row(const std::string& id, std::vector<quality::Score> scores,
                              const std::string& prompt = "What is 2+2?") {
  quality::StoredComparison r;
  quality::Comparison& c = r.comparison;
  c.request_id = id;
  c.route = "support";
  c.question = prompt;
  c.request_json = R"({"model":"support","messages":[{"role":"system","content":"Be brief."},)"
                   R"({"role":"user","content":")" +
                   prompt + R"("}]})";
  c.primary = {.deployment = "cloud/gpt-4o", .ok = true, .text = "4"};
  c.shadow = {.deployment = "local/llama", .ok = true, .text = "four"};
  c.scores = std::move(scores);
  r.question_sha256 = quality::Sha256Hex(c.question);
  r.request_sha256 = quality::Sha256Hex(c.request_json);
  return r;
}

quality::Score S(const char* comparator, double value) {
  return {.comparator = comparator, .value = value};
}

TEST(Comparisons, WeakSufficesWhenTheShadowScoredAtLeastAsWell) {
  struct Case {
    std::vector<quality::Score> scores;
    std::optional<bool> expected;
  };
  const Case cases[] = {
      {{S("judge", 1)}, true},                   // the shadow was better
      {{S("judge", 0.5)}, true},                 // a tie (or a flipped verdict)
      {{S("judge", 0)}, false},                  // the primary was better
      {{S("exact", 0), S("judge", 0.5)}, true},  // a judge score decides over exact
      {{S("exact", 1), S("judge", 0)}, false},
      {{S("exact", 1)}, true},  // no judge: the same answer
      {{S("exact", 0)}, false},
      {{S("exact", 0), S("json", 1)}, false},
      {{S("json", 1)}, std::nullopt},  // neither judge nor exact
      {{}, std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(WeakSuffices(Row("x", c.scores).comparison), c.expected)
        << (c.scores.empty() ? "none" : c.scores.back().comparator);
  }
  quality::StoredComparison failed = Row("x", {S("judge", 1)});
  failed.comparison.shadow.ok = false;
  EXPECT_EQ(WeakSuffices(failed.comparison), std::nullopt);
}

TEST(Comparisons, ExamplesAreLabelledPromptsOfTheRequestedRouteAndShadow) {
  std::vector<quality::StoredComparison> rows = {
      Row("1", {S("judge", 0.5)}, "easy one"), Row("2", {S("exact", 0)}, "hard one"),
      Row("3", {S("json", 1)}),  // unscored
  };
  rows.push_back(Row("4", {S("judge", 1)}));  // hashed: its texts were withheld
  rows.back().comparison.request_json.clear();
  rows.back().comparison.question.clear();
  rows.push_back(Row("5", {S("judge", 1)}));  // written before requests were kept
  rows.back().comparison.request_json.clear();
  rows.back().comparison.question.clear();
  rows.back().request_sha256.clear();
  rows.back().question_sha256.clear();
  rows.push_back(Row("6", {S("judge", 1)}));  // another route
  rows.back().comparison.route = "other";
  rows.push_back(Row("7", {S("judge", 1)}));  // another shadow
  rows.back().comparison.shadow.deployment = "local/qwen";

  const ComparisonExamples e = ExamplesFromComparisons(rows, "support", "local/llama");
  ASSERT_EQ(e.data.examples.size(), 2u);
  const Example& easy = e.data.examples[0];
  EXPECT_EQ(easy.id, "1/local/llama");
  EXPECT_EQ(easy.benchmark, "support");
  EXPECT_EQ(easy.prompt, "Be brief.\n\neasy one");  // what the learned classifier scores
  EXPECT_EQ(easy.weak, 1);
  EXPECT_EQ(easy.strong, 1);
  EXPECT_EQ(e.data.examples[1].prompt, "Be brief.\n\nhard one");
  EXPECT_EQ(e.data.examples[1].weak, 0);
  EXPECT_EQ(e.data.examples[1].strong, 1);
  EXPECT_EQ(e.weak_suffices, 1);
  EXPECT_EQ(e.strong_needed, 1);
  EXPECT_EQ(e.unscored, 1);
  EXPECT_EQ(e.hashed, 1);
  EXPECT_EQ(e.no_request, 1);
  EXPECT_EQ(ExamplesFromComparisons(rows, "", "").data.examples.size(), 4u);

  // A body that does not decode falls back to the stored question.
  quality::StoredComparison odd = Row("8", {S("exact", 1)}, "the question");
  odd.comparison.request_json = "{not json";
  EXPECT_EQ(ExamplesFromComparisons(std::span(&odd, 1), "", "").data.examples.at(0).prompt,
            "the question");
}

using RunResult = cli_testing::CliRun;

RunResult RunRouter(const std::string& command_line) {
  return cli_testing::Run([](CLI::App& app, int& code) { AddRouterCommand(app, code); },
                          command_line);
}

TEST(Comparisons, RouterTrainReadsTheStore) {
  const std::string dir = ::testing::TempDir() + "/hg_router_comparisons";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/gw.yaml";
  std::ofstream(config) << "providers:\n"
                           "  - {name: cloud, type: openai, base_url: 'http://127.0.0.1:1/v1', "
                           "models: [{name: gpt-4o}]}\n"
                           "quality: {path: q.db}\n"
                           "routes:\n  support: {tiers: [{name: t, deployments: [gpt-4o]}]}\n";
  const std::string model = dir + "/router.model";
  RunResult none = RunRouter("router train --comparisons --config " + config + " --out " + model);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no quality store at '" + dir + "/q.db'"), std::string::npos) << none.err;
  {
    auto store = quality::ComparisonStore::Open({.path = dir + "/q.db"});
    ASSERT_TRUE(store) << store.error().message;
    for (int i = 0; i < 40; ++i) {
      const bool hard = i % 3 == 0;
      quality::Comparison c = Row(std::to_string(i), {S("judge", hard ? 0 : 0.5)},
                                  hard ? "prove the theorem about eigenvalue " + std::to_string(i)
                                       : "say hello to " + std::to_string(i))
                                  .comparison;
      c.time_ms = 1'700'000'000'000 + i;
      ASSERT_TRUE((*store)->Save(c));
    }
  }
  RunResult t = RunRouter("router train --comparisons --config " + config +
                          " --route support --out " + model + " --hash-bits 12");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.err.find("40 examples from the comparison store of " + config +
                       ", route support: 26 weak suffices, 14 strong needed; skipped 0 kept "
                       "only as hashes, 0 without a stored request, 0 unscored\n"),
            std::string::npos)
      << t.err;
  auto m = LoadModel(model);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_GT(m->Score("prove the theorem about eigenvalue 99"), m->Score("say hello to 99"));

  // Cross-validation reads the same data, grouped by route.
  RunResult cv = RunRouter("router eval --cv 2 --comparisons --config " + config +
                           " --hash-bits 12 --threads 1");
  ASSERT_EQ(cv.exit_code, 0) << cv.err;
  EXPECT_NE(cv.out.find("support"), std::string::npos) << cv.out;
  EXPECT_NE(cv.out.find("learned (2-fold CV)"), std::string::npos) << cv.out;

  struct Bad {
    std::string flags, message;
  };
  const Bad bad[] = {
      {"--comparisons --out " + model, "--comparisons needs --config FILE"},
      {"--comparisons --data x.jsonl --config " + config + " --out " + model,
       "need exactly one of --data FILE or --comparisons --config FILE"},
      {"--out " + model, "need exactly one of --data FILE or --comparisons --config FILE"},
      {"--comparisons --config " + config + " --route nope --out " + model,
       "--route: " + config + " has no route 'nope'"},
      {"--comparisons --config " + config + " --shadow local/none --out " + model,
       "need at least 2 examples"},
      {"--comparisons --config " + config + " --since 1d --out " + model,
       "need at least 2 examples"},  // the rows are from 2023
  };
  for (const Bad& b : bad) {
    RunResult r = RunRouter("router train " + b.flags);
    EXPECT_EQ(r.exit_code, 2) << b.flags;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace hybridgate::learned
