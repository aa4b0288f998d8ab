#include "classify/complexity/eval.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace hybridgate::complexity {
namespace {

// shared/data/routing/train.jsonl next to the checkout, or $HYBRIDGATE_ROUTING_DATA.
std::string DataPath() {
  if (const char* p = std::getenv("HYBRIDGATE_ROUTING_DATA")) return p;
  const char* src = std::getenv("HYBRIDGATE_SOURCE_DIR");
  std::filesystem::path root = src != nullptr ? src : ".";
  return (root / ".." / "shared" / "data" / "routing" / "train.jsonl").string();
}

TEST(ComplexityEval, SmallDatasetRanksHardPromptsHigher) {
  // Two benchmarks; the strong model only wins on the long multi-step maths prompts.
  const std::string jsonl =
      R"({"id":"1","benchmark":"b","prompt":"hi","scores":{"weak":1,"strong":1}}
{"id":"2","benchmark":"b","prompt":"What is the capital of France?","scores":{"weak":1,"strong":1}}
{"id":"3","benchmark":"b","prompt":"Prove that for every n >= 1, 1 + 2 + ... + n = n(n+1)/2. First state the base case, then the inductive step.","scores":{"weak":0,"strong":1}}
{"id":"4","benchmark":"b","prompt":"Derive the closed form of x^2 + 3x = 10, then compute 17 * 23 / 4 and justify each step.","scores":{"weak":0,"strong":1}}
)";
  auto data = learned::ParseDataset(jsonl, "mem.jsonl");
  ASSERT_TRUE(data) << data.error().message;
  auto reports = EvaluateHeuristic(*data);
  ASSERT_TRUE(reports) << reports.error().message;
  ASSERT_EQ(reports->size(), 1u);
  EXPECT_EQ((*reports)[0].routers[0].name, "heuristic complexity");
  // As good as an oracle that knows which prompts need the strong model.
  auto oracle = learned::EvaluateByBenchmark(*data, {{"oracle", {0, 0, 1, 1}}}, 1);
  ASSERT_TRUE(oracle);
  EXPECT_DOUBLE_EQ((*reports)[0].routers[0].metrics.apgr, (*oracle)[0].routers[0].metrics.apgr);
}

// The number reported in the classifier's README: APGR per benchmark on the shared data.
TEST(ComplexityEval, SharedRoutingData) {
  const std::string path = DataPath();
  // Never a silent skip: the data comes with the project's shared/ folder.
  ASSERT_TRUE(std::filesystem::exists(path))
      << "no routing data at " << path << " (set HYBRIDGATE_ROUTING_DATA)";
  auto data = learned::LoadDataset(path);
  ASSERT_TRUE(data) << data.error().message;
  auto reports = EvaluateHeuristic(*data);
  ASSERT_TRUE(reports) << reports.error().message;
  std::cout << learned::FormatReport(*reports);
  for (const learned::BenchmarkReport& r : *reports) {
    // Better than random routing on every benchmark; the exact numbers are in the README.
    EXPECT_GT(r.routers[0].metrics.apgr, 0.52) << r.benchmark;
  }
}

}  // namespace
}  // namespace hybridgate::complexity
