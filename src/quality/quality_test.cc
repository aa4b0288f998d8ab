#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "ledger/testing/pg_cluster.h"
#include "quality/comparison.h"
#include "quality/store.h"

namespace hybridgate::quality {
namespace {

Comparison Make(int data_class, const std::string& primary, const std::string& shadow) {
  Comparison c;
  c.request_id = "hg-1";
  c.time_ms = 1'700'000'000'000;
  c.route = "support";
  c.data_class = data_class;
  c.primary = {.deployment = "cloud/gpt-4o",
               .ok = true,
               .text = primary,
               .finish_reason = "stop",
               .latency_ms = 120,
               .input_tokens = 10,
               .output_tokens = 5,
               .cost_usd = 0.001};
  c.shadow = {.deployment = "local/llama",
              .ok = true,
              .text = shadow,
              .finish_reason = "stop",
              .latency_ms = 80,
              .input_tokens = 10,
              .output_tokens = 6,
              .cost_usd = 0.0001};
  return c;
}

TEST(Comparators, ExactFoldsCaseAndWhitespace) {
  Comparison same = Make(1, "Paris is  the capital.\n", "paris is the capital.");
  ScoreLocally(same);
  ASSERT_EQ(same.scores.size(), 1u);
  EXPECT_EQ(same.scores[0].comparator, "exact");
  EXPECT_EQ(same.scores[0].value, 1.0);
  Comparison other = Make(1, "Paris", "Lyon");
  ScoreLocally(other);
  EXPECT_EQ(other.scores[0].value, 0.0);
  Comparison failed = Make(1, "Paris", "");
  failed.shadow.ok = false;
  ScoreLocally(failed);
  EXPECT_TRUE(failed.scores.empty());  // nothing to compare with a failed answer
}

TEST(Comparators, JsonScoresTheShadowsValidityWhenJsonWasAskedFor) {
  Comparison c = Make(1, R"({"a":1})", "not json");
  c.wants_json = true;
  ScoreLocally(c);
  ASSERT_EQ(c.scores.size(), 2u);
  EXPECT_EQ(c.scores[1].comparator, "json");
  EXPECT_EQ(c.scores[1].value, 0.0);
  Comparison ok = Make(1, R"({"a":1})", R"({"a": 2})");
  ok.wants_json = true;
  ScoreLocally(ok);
  EXPECT_EQ(ok.scores[1].value, 1.0);
}

TEST(Comparators, ReadOpenAiAnswerTakesTheFirstChoice) {
  AnswerFacts a;
  ReadOpenAiAnswer(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"length"}]})",
      a);
  EXPECT_EQ(a.text, "hi");
  EXPECT_EQ(a.finish_reason, "length");
}

void RoundTrip(const StoreConfig& config, const std::string& source) {
  {
    auto store = ComparisonStore::Open(config);
    ASSERT_TRUE(store) << store.error().message;
    Comparison low = Make(1, "the same", "the same");
    ScoreLocally(low);
    Comparison high = Make(4, "card 4111 1111 1111 1111", "card 4111111111111111");
    high.request_id = "hg-2";
    high.time_ms += 1;
    ScoreLocally(high);
    EXPECT_TRUE((*store)->Save(low));
    EXPECT_TRUE((*store)->Save(high));
  }  // destruction writes what was queued
  auto rows = ComparisonStore::Load(source, 0);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  const Comparison& low = (*rows)[0].comparison;
  EXPECT_EQ(low.request_id, "hg-1");
  EXPECT_EQ(low.primary.text, "the same");
  EXPECT_EQ(low.shadow.deployment, "local/llama");
  EXPECT_EQ(low.shadow.output_tokens, 6);
  EXPECT_DOUBLE_EQ(low.primary.cost_usd, 0.001);
  ASSERT_EQ(low.scores.size(), 1u);
  EXPECT_EQ(low.scores[0].value, 1.0);
  // Above store_text_max_class: no text, only its hash and the scores.
  const StoredComparison& high = (*rows)[1];
  EXPECT_EQ(high.comparison.data_class, 4);
  EXPECT_EQ(high.comparison.primary.text, "");
  EXPECT_EQ(high.comparison.shadow.text, "");
  EXPECT_EQ(high.primary_sha256.size(), 64u);
  EXPECT_NE(high.primary_sha256, high.shadow_sha256);
  ASSERT_EQ(high.comparison.scores.size(), 1u);
  EXPECT_EQ(high.comparison.scores[0].value, 0.0);
}

TEST(ComparisonStore, SqliteKeepsTextsOnlyUpToTheirClass) {
  const std::string path = ::testing::TempDir() + "/hg_quality_store.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  RoundTrip({.path = path}, path);
}

TEST(ComparisonStore, PostgresToo) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  RoundTrip({.backend = "postgres", .dsn = pg.dsn()}, pg.dsn());
}

TEST(ComparisonStore, AFullQueueDropsAndCounts) {
  const std::string path = ::testing::TempDir() + "/hg_quality_full.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto store = ComparisonStore::Open({.path = path, .max_pending = 0});
  ASSERT_TRUE(store);
  EXPECT_FALSE((*store)->Save(Make(1, "a", "b")));
  EXPECT_EQ((*store)->dropped(), 1);
}

}  // namespace
}  // namespace hybridgate::quality
