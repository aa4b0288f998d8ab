#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "ledger/ledger_config.h"

namespace hybridgate::ledger {
namespace {

Result<LedgerConfig> Parse(const std::string& yaml) {
  return ParseLedgerConfig(YAML::Load(yaml), "gw.yaml");
}

TEST(LedgerConfigTest, DefaultsWhenAbsent) {
  ASSERT_TRUE(Parse("ledger:\n"));
  auto c = Parse("");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->enabled);
  EXPECT_EQ(c->backend, "sqlite");
  EXPECT_EQ(c->path, "hybridgate-ledger.db");
  EXPECT_EQ(c->flush_interval_ms, 100);
  EXPECT_EQ(c->max_batch, 1000);
  EXPECT_TRUE(ValidateLedgerConfig(*c));
}

TEST(LedgerConfigTest, ParsesEveryKey) {
  auto c = Parse(R"(
ledger:
  enabled: true
  backend: postgres
  dsn: "postgresql://gw@db/ledger"
  path: unused.db
  flush_interval_ms: 200
  max_batch: 250
  max_queue: 5000
  prices:
    gpt-4o: {input: 2.5, output: 10, cached_input: 1.25}
    my-model: {input: 1, output: 2}
  self_hosted:
    llama-3.1-8b: {gpu_usd_per_hour: 2.5, gpus: 2, tokens_per_hour: 9000000}
    qwen: {gpu_usd_per_hour: 1.2}
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->backend, "postgres");
  EXPECT_EQ(c->dsn, "postgresql://gw@db/ledger");
  EXPECT_EQ(c->flush_interval_ms, 200);
  EXPECT_EQ(c->max_batch, 250);
  EXPECT_EQ(c->max_queue, 5000);
  EXPECT_EQ(c->prices.at("gpt-4o"), (Price{2.5, 10, 1.25}));
  EXPECT_EQ(c->prices.at("my-model"), (Price{1, 2, 1}));  // no cache discount unless configured
  EXPECT_EQ(c->self_hosted.at("llama-3.1-8b").gpus, 2);
  EXPECT_EQ(c->self_hosted.at("llama-3.1-8b").tokens_per_hour, 9e6);
  EXPECT_EQ(c->self_hosted.at("qwen").gpus, 1);
  EXPECT_EQ(c->self_hosted.at("qwen").tokens_per_hour, 0);  // measured
}

struct BadCase {
  std::string yaml;
  std::string message;
};

class LedgerConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(LedgerConfigErrorTest, NamesFileLineAndKey) {
  auto c = Parse(GetParam().yaml);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find(GetParam().message), std::string::npos) << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LedgerConfigErrorTest,
    ::testing::Values(
        BadCase{"ledger:\n  flush_interval: 100\n",
                "gw.yaml:2: 'ledger.flush_interval': unknown key"},
        BadCase{"ledger:\n  flush_interval_ms: 500\n",
                "gw.yaml:2: 'ledger.flush_interval_ms': must be 1..200"},
        BadCase{"ledger:\n  flush_interval_ms: fast\n",
                "'ledger.flush_interval_ms': must be an integer, got 'fast'"},
        BadCase{"ledger:\n  max_batch: 0\n", "'ledger.max_batch': must be 1..100000"},
        BadCase{"ledger:\n  backend: mysql\n",
                "gw.yaml:2: 'ledger.backend': must be sqlite or postgres, got 'mysql'"},
        BadCase{"ledger:\n  backend: postgres\n", "'ledger.dsn': is required"},
        BadCase{"ledger:\n  enabled: maybe\n", "'ledger.enabled': must be true or false"},
        BadCase{"ledger:\n  path: [a]\n", "'ledger.path': must be a string"},
        BadCase{"ledger: 3\n", "'ledger': must be a mapping"},
        BadCase{"ledger:\n  prices:\n    gpt-4o: {input: 1}\n",
                "gw.yaml:3: 'ledger.prices.gpt-4o': needs input and output"},
        BadCase{"ledger:\n  prices:\n    gpt-4o: {input: -1, output: 2}\n",
                "'ledger.prices.gpt-4o.input': must be a non-negative number, got '-1'"},
        BadCase{"ledger:\n  prices:\n    gpt-4o: {input: 1, output: 2, cache: 1}\n",
                "'ledger.prices.gpt-4o.cache': unknown key"},
        BadCase{"ledger:\n  self_hosted:\n    m: {gpus: 1}\n",
                "'ledger.self_hosted.m': needs gpu_usd_per_hour"},
        BadCase{"ledger:\n  self_hosted:\n    m: {gpu_usd_per_hour: 1, gpus: 0}\n",
                "'ledger.self_hosted.m.gpus': must be greater than 0"}));

TEST(LedgerConfigTest, DisabledNeedsNothingElse) {
  auto c = Parse("ledger:\n  enabled: false\n  backend: postgres\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->enabled);
}

TEST(LedgerConfigTest, ValidateCatchesConfigsBuiltInCode) {
  LedgerConfig c;
  c.flush_interval_ms = 1000;
  EXPECT_FALSE(ValidateLedgerConfig(c));
  c = LedgerConfig{};
  c.backend = "postgres";
  EXPECT_FALSE(ValidateLedgerConfig(c));
}

TEST(LedgerConfigTest, LoadReportsMissingFile) {
  auto c = LoadLedgerConfig("/nonexistent/gw.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("/nonexistent/gw.yaml"), std::string::npos);
}

}  // namespace
}  // namespace hybridgate::ledger
