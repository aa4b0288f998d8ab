#include "ledger/pricing.h"

#include <gtest/gtest.h>

#include <set>

#include "ledger/row.h"

namespace hybridgate::ledger {
namespace {

TEST(CostTest, CachedTokensAreASubsetOfInputBilledAtTheCachedPrice) {
  const Price p{2.50, 10.00, 1.25};
  // 800 uncached x 2.50 + 200 cached x 1.25 + 500 output x 10.00 = 7250 USD per 1M tokens.
  EXPECT_EQ(Cost(p, 1000, 200, 500), 7250.0 / 1e6);
  EXPECT_EQ(Cost(p, 1000, 0, 0), 2500.0 / 1e6);
  EXPECT_EQ(Cost(p, 0, 0, 1000), 10000.0 / 1e6);
  EXPECT_EQ(Cost(p, 1'000'000, 1'000'000, 0), 1.25);
  EXPECT_EQ(Cost(p, 0, 0, 0), 0.0);
}

TEST(CostTest, ClampsNonsense) {
  const Price p{3.00, 15.00, 0.30};
  EXPECT_EQ(Cost(p, 100, 500, 0), Cost(p, 100, 100, 0));  // cached never exceeds input
  EXPECT_EQ(Cost(p, -5, -1, -7), 0.0);
}

TEST(SelfHostedTest, GpuHoursDividedByTokensPerHour) {
  const SelfHostedPrice gpu{2.00, 4, 3'600'000};
  EXPECT_EQ(SelfHostedUsdPerToken(gpu, gpu.tokens_per_hour), 8.0 / 3'600'000);
  const Price p = SelfHostedAsPrice(gpu, gpu.tokens_per_hour);
  EXPECT_EQ(p.input_per_mtok, p.output_per_mtok);
  EXPECT_EQ(p.input_per_mtok, p.cached_input_per_mtok);
  EXPECT_DOUBLE_EQ(Cost(p, 600, 0, 400), 1000 * 8.0 / 3'600'000);
  EXPECT_EQ(SelfHostedUsdPerToken(gpu, 0), 0.0);  // no throughput known yet: no cost
}

TEST(CatalogTest, ShipsTheMajorClosedModels) {
  std::set<std::string_view> names;
  for (const CatalogEntry& e : DefaultCatalog()) {
    EXPECT_TRUE(names.insert(e.model).second) << "duplicate " << e.model;
    EXPECT_GT(e.price.input_per_mtok, 0) << e.model;
    EXPECT_GT(e.price.output_per_mtok, 0) << e.model;
    EXPECT_LE(e.price.cached_input_per_mtok, e.price.input_per_mtok) << e.model;
  }
  for (std::string_view m :
       {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini", "claude-sonnet-4",
        "claude-opus-4", "claude-3-5-haiku", "gemini-2.5-pro", "gemini-2.5-flash"}) {
    EXPECT_TRUE(names.contains(m)) << m;
  }
  EXPECT_EQ(kDefaultCatalogDate, "2026-11");
}

TEST(CatalogTest, FindsDatedAndPrefixedNames) {
  const PriceCatalog c = PriceCatalog::WithDefaults();
  const Price gpt4o = *c.Find("gpt-4o");
  const Price mini = *c.Find("gpt-4o-mini");
  EXPECT_NE(gpt4o, mini);
  EXPECT_EQ(*c.Find("gpt-4o-2024-08-06"), gpt4o);
  EXPECT_EQ(*c.Find("gpt-4o-mini-2024-07-18"), mini);
  EXPECT_EQ(*c.Find("openai/gpt-4o-mini"), mini);
  EXPECT_EQ(*c.Find("claude-sonnet-4-20250514"), *c.Find("claude-sonnet-4"));
  EXPECT_EQ(*c.Find("claude-sonnet-4@20250514"), *c.Find("claude-sonnet-4"));
  EXPECT_EQ(*c.Find("claude-opus-4-5-20251101"), *c.Find("claude-opus-4-5"));
  EXPECT_NE(*c.Find("claude-opus-4-5"), *c.Find("claude-opus-4"));
  EXPECT_FALSE(c.Find("gpt-4").has_value());  // a prefix of an entry is not that entry
  EXPECT_FALSE(c.Find("llama-3.1-8b").has_value());
  EXPECT_FALSE(c.Find("").has_value());
}

TEST(CatalogTest, ConfigOverridesDefaults) {
  const PriceCatalog c =
      PriceCatalog::WithDefaults({{"gpt-4o", Price{1, 2, 0.5}}, {"my-finetune", Price{4, 8, 4}}});
  EXPECT_EQ(*c.Find("gpt-4o"), (Price{1, 2, 0.5}));
  EXPECT_EQ(*c.Find("my-finetune"), (Price{4, 8, 4}));
  EXPECT_EQ(c.size(), DefaultCatalog().size() + 1);
}

TEST(ThroughputMeterTest, TokensOverBusyTimeWithoutDoubleCountingOverlap) {
  ThroughputMeter m;
  EXPECT_EQ(m.TokensPerHour(), 0.0);
  m.Observe(1000, 0, 1000);  // 1000 tokens in 1 s
  EXPECT_EQ(m.TokensPerHour(), 3'600'000.0);
  m.Observe(1000, 500, 1500);  // overlaps: only 500 ms of new busy time
  EXPECT_EQ(m.TokensPerHour(), 2000 * 3'600'000.0 / 1500);
  m.Observe(500, 10'000, 10'500);  // idle gap is not busy time
  EXPECT_EQ(m.TokensPerHour(), 2500 * 3'600'000.0 / 2000);
  m.Observe(0, 20'000, 21'000);   // ignored
  m.Observe(10, 30'000, 30'000);  // no duration: ignored
  EXPECT_EQ(m.TokensPerHour(), 2500 * 3'600'000.0 / 2000);
}

TEST(EstimateTest, FourBytesPerTokenRoundedUp) {
  EXPECT_EQ(EstimateTokensFromBytes(0), 0);
  EXPECT_EQ(EstimateTokensFromBytes(1), 1);
  EXPECT_EQ(EstimateTokensFromBytes(8), 2);
  EXPECT_EQ(EstimateTokensFromBytes(9), 3);
}

}  // namespace
}  // namespace hybridgate::ledger
