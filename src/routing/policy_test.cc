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
      {"cloud/shared", {"cloud"}}, {"gpt-5", {}, ErrorCode::kModelNotFound},
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

namespace hybridgate::routing {
namespace {

config::Config ResidencyConfig(const std::string& extra) {
  auto c = config::ParseConfig(R"(
providers:
  - name: local
    type: openai
    base_url: http://127.0.0.1:8000/v1
    zone: self_hosted
    models: [{name: llama}]
  - name: dpa
    type: openai
    base_url: https://dpa.example.com/v1
    max_data_class: 3
    models: [{name: gpt-4o}]
  - name: cloud
    type: openai
    base_url: https://api.example.com/v1
    models: [{name: gpt-4o}, {name: o3}]
)" + extra,
                               "t.yaml");
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

struct ResidencyRow {
  std::string model;
  int data_class;
  std::vector<std::string> providers;  // expected candidates, in order
  std::string rerouted_to;
  ErrorCode error = ErrorCode::kInternal;  // when providers is empty
};

void CheckRows(const config::Config& cfg, const std::vector<ResidencyRow>& rows) {
  providers::Registry reg;
  providers::RegisterBuiltins(reg);
  auto catalog = Catalog::Build(cfg, reg);
  ASSERT_TRUE(catalog) << catalog.error().message;
  for (const ResidencyRow& r : rows) {
    const std::string where = r.model + " class " + std::to_string(r.data_class);
    auto plan = PlanForRequest(
        {.model = r.model, .data_class = r.data_class, .finding_types = {"email"}}, **catalog);
    if (r.providers.empty()) {
      ASSERT_FALSE(plan) << where;
      EXPECT_EQ(plan.error().code, r.error) << where;
      EXPECT_EQ(plan.error().HttpStatus(), 403) << where;
      EXPECT_NE(plan.error().message.find("(email)"), std::string::npos) << plan.error().message;
      continue;
    }
    ASSERT_TRUE(plan) << where << ": " << plan.error().message;
    std::vector<std::string> got;
    for (const auto& c : plan->candidates) got.push_back(c.deployment.provider->name());
    EXPECT_EQ(got, r.providers) << where;
    EXPECT_EQ(plan->rerouted_to, r.rerouted_to) << where;
    // Whatever the plan, no candidate may receive more than it is allowed.
    for (const auto& c : plan->candidates) {
      EXPECT_GE(c.deployment.provider->config().max_data_class, r.data_class) << where;
    }
  }
}

TEST(PlanForRequest, ResidencyRouteIsTheSafeDefault) {
  CheckRows(ResidencyConfig(""),
            {
                {"gpt-4o", 1, {"dpa", "cloud"}, ""},  // public: every provider
                {"gpt-4o", 2, {"dpa", "cloud"}, ""},  // external default max is 2
                {"gpt-4o", 3, {"dpa"}, ""},           // only the DPA provider takes class 3
                {"gpt-4o", 4, {"local"}, "llama"},    // nobody external: served self-hosted
                {"o3", 3, {"local"}, "llama"},
                {"llama", 5, {"local"}, ""},  // self-hosted takes everything
            });
}

TEST(PlanForRequest, BlockActionAndNoAllowedProviderArePolicyErrors) {
  CheckRows(ResidencyConfig("residency: {actions: {4: block}}\n"),
            {
                {"gpt-4o", 4, {}, "", ErrorCode::kPolicyBlocked},
                {"gpt-4o", 3, {"dpa"}, ""},
                {"o3", 5, {"local"}, "llama"},
                {"llama", 4, {"local"}, ""},  // nothing excluded: no action needed
            });
  // No self-hosted model to fall back on: blocked, never downgraded to an external provider.
  auto cfg = ResidencyConfig("");
  cfg.providers[0].disabled_reason = "down for maintenance";
  CheckRows(cfg, {{"gpt-4o", 4, {}, "", ErrorCode::kPolicyBlocked}});
}

TEST(PlanForRequest, RedactActionRefusesWithoutServingTheFallback) {
  // The gateway redacts the request and plans again; the policy never reroutes for `redact`.
  CheckRows(ResidencyConfig("residency: {actions: {4: redact}}\n"),
            {
                {"gpt-4o", 4, {}, "", ErrorCode::kPolicyBlocked},
                {"gpt-4o", 3, {"dpa"}, ""},
                {"o3", 5, {"local"}, "llama"},  // class 5 keeps the default, route
            });
}

}  // namespace
}  // namespace hybridgate::routing
