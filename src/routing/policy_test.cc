#include "routing/policy.h"

#include <gtest/gtest.h>

namespace hybridgate::routing {
namespace {

config::Config TwoProviders() {
  auto c = config::ParseConfig(R"(
providers:
  - name: local
    type: openai
    base_url: http://127.0.0.1:8000/v1
    zone: self_hosted
    models: [{name: llama, id: meta-llama/Llama-3.1-8B}, {name: shared}]
  - name: cloud
    type: openai
    base_url: https://api.example.com/v1
    models: [{name: gpt-4o}, {name: shared}]
aliases: {fast: llama}
)",
                               "t.yaml");
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

struct Row {
  std::string model;
  std::vector<std::string> providers;      // expected candidate order
  ErrorCode error = ErrorCode::kInternal;  // when providers is empty
};

TEST(PlanForModel, Table) {
  const config::Config cfg = TwoProviders();
  providers::Registry reg;
  providers::RegisterBuiltins(reg);
  auto catalog = Catalog::Build(cfg, reg);
  ASSERT_TRUE(catalog) << catalog.error().message;
  const Row rows[] = {
      {"llama", {"local"}},        {"fast", {"local"}},
      {"gpt-4o", {"cloud"}},       {"shared", {"local", "cloud"}},
      {"cloud/shared", {"cloud"}}, {"gpt-5", {}, ErrorCode::kNotFound},
  };
  for (const Row& r : rows) {
    auto plan = PlanForModel(r.model, **catalog);
    if (r.providers.empty()) {
      ASSERT_FALSE(plan) << r.model;
      EXPECT_EQ(plan.error().code, r.error);
      EXPECT_NE(plan.error().message.find("available: llama, shared, gpt-4o, fast"),
                std::string::npos)
          << plan.error().message;
      continue;
    }
    ASSERT_TRUE(plan) << r.model << ": " << plan.error().message;
    std::vector<std::string> got;
    for (const auto& c : plan->candidates) got.push_back(c.deployment.provider->name());
    EXPECT_EQ(got, r.providers) << r.model;
  }
}

TEST(PlanForModel, DisabledProviderIsExcludedWithItsReason) {
  config::Config cfg = TwoProviders();
  cfg.providers[1].disabled_reason = "set the environment variable OPENAI_API_KEY to enable it";
  providers::Registry reg;
  providers::RegisterBuiltins(reg);
  auto catalog = Catalog::Build(cfg, reg);
  ASSERT_TRUE(catalog);
  auto plan = PlanForModel("gpt-4o", **catalog);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(plan.error().message.find("OPENAI_API_KEY"), std::string::npos);
  auto shared = PlanForModel("shared", **catalog);
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->candidates.size(), 1u);
  EXPECT_EQ(shared->excluded.size(), 1u);
}

}  // namespace
}  // namespace hybridgate::routing
