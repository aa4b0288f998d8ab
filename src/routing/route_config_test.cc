#include "routing/route_config.h"

#include <gtest/gtest.h>

namespace hybridgate::routing {
namespace {

constexpr char kExample[] = R"(routes:
  auto:
    aliases: [smart]
    teams: [research]
    tiers:
      - name: small-local
        deployments: [{model: local, weight: 3}, {model: vllm/llama, weight: 1}]
        balance: least_outstanding
        when: {max_complexity: 0.4, max_data_class: 5, max_input_tokens: 6000, images: false,
               tools: any, json_schema: any, max_cost_per_mtok: 1.0}
      - name: reasoning
        deployments: [{model: deepseek-r1}]
        balance: latency_ewma
        when: {max_complexity: 0.75}
      - name: frontier
        deployments: [gpt-4o]
    escalation: {min_confidence: 0.6, on: [low_logprob, invalid_json], to: next_tier}
    retries: {attempts: 2, backoff_ms: 200, max_backoff_ms: 2000, jitter: full}
    deadlines: {total_ms: 60000, ttft_ms: 5000}
    breaker: {consecutive_failures: 3, cooldown_ms: 500}
  tuned:
    classifier: learned
    learned_model: /models/router.model
    tiers: [{name: only, deployments: [{model: local}]}]
)";

TEST(ParseRoutesConfig, Example) {
  auto c = ParseRoutesYaml(kExample, "gw.yaml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->routes.size(), 2u);
  const Route& r = c->routes[0];
  EXPECT_EQ(r.name, "auto");
  EXPECT_EQ(c->Find("smart"), &r);
  EXPECT_EQ(c->ForTeam("research"), &r);
  EXPECT_EQ(c->ForTeam("other"), nullptr);
  ASSERT_EQ(r.tiers.size(), 3u);
  const Tier& t0 = r.tiers[0];
  EXPECT_EQ(t0.name, "small-local");
  ASSERT_EQ(t0.deployments.size(), 2u);
  EXPECT_EQ(t0.deployments[0].model, "local");
  EXPECT_EQ(t0.deployments[0].weight, 3);
  EXPECT_EQ(t0.deployments[1].model, "vllm/llama");
  EXPECT_EQ(t0.balance, BalanceStrategy::kLeastOutstanding);
  EXPECT_EQ(t0.when.max_complexity, 0.4);
  EXPECT_EQ(t0.when.max_data_class, 5);
  EXPECT_EQ(t0.when.max_input_tokens, 6000);
  EXPECT_EQ(t0.when.images, Tri::kNo);
  EXPECT_EQ(t0.when.tools, Tri::kAny);
  EXPECT_EQ(t0.when.max_cost_per_mtok, 1.0);
  EXPECT_EQ(r.tiers[1].balance, BalanceStrategy::kLatencyEwma);
  EXPECT_EQ(r.tiers[2].deployments[0].model, "gpt-4o");
  EXPECT_FALSE(r.tiers[2].when.max_complexity.has_value());
  EXPECT_TRUE(r.escalation.enabled);
  ASSERT_TRUE(r.breaker.has_value());
  EXPECT_EQ(r.breaker->consecutive_failures, 3);
  EXPECT_EQ(r.breaker->cooldown_ms, 500);
  EXPECT_EQ(r.breaker->min_requests, BreakerConfig{}.min_requests);
  EXPECT_FALSE(c->routes[1].breaker.has_value());
  EXPECT_EQ(r.escalation.min_confidence, 0.6);
  EXPECT_EQ(r.escalation.on.size(), 2u);
  EXPECT_EQ(r.retries.attempts, 2);
  EXPECT_EQ(r.retries.max_backoff_ms, 2000);
  EXPECT_EQ(r.retries.jitter, Jitter::kFull);
  EXPECT_EQ(r.deadlines.total_ms, 60000);
  EXPECT_EQ(r.deadlines.ttft_ms, 5000);
  EXPECT_EQ(r.classifier, ClassifierKind::kHeuristic);
  const Route& tuned = c->routes[1];
  EXPECT_EQ(tuned.classifier, ClassifierKind::kLearned);
  EXPECT_EQ(tuned.learned_model, "/models/router.model");
  EXPECT_FALSE(tuned.escalation.enabled);
}

struct BadRow {
  const char* yaml;
  const char* error;  // exact message
};

TEST(ParseRoutesConfig, Errors) {
  const BadRow rows[] = {
      {"routes:\n  auto:\n    tiers:\n      - name: a\n        deployments: [x]\n      - name: b\n"
       "        deployments: [y]\n        when: {max_complexity: 1.5}\n",
       "f.yaml:8: 'routes.auto.tiers[1].when.max_complexity': must be 0 to 1"},
      {"routes:\n  auto:\n    tiers:\n      - name: a\n        deployments: [x]\n        when: "
       "{max_complexty: 0.5}\n",
       "f.yaml:6: 'routes.auto.tiers[0].when.max_complexty': unknown key (expected "
       "min_complexity, max_complexity, max_data_class, max_input_tokens, images, tools, "
       "json_schema, max_cost_per_mtok)"},
      {"routes:\n  auto:\n    tiers: []\n",
       "f.yaml:3: 'routes.auto.tiers': expected a non-empty list of tiers"},
      {"routes:\n  auto:\n    tiers:\n      - name: a\n        deployments: [x]\n        balance: "
       "random\n",
       "f.yaml:6: 'routes.auto.tiers[0].balance': 'random' is not one of weighted | "
       "least_outstanding | latency_ewma"},
      {"routes:\n  auto:\n    tiers:\n      - name: a\n        deployments: [{model: x, weight: "
       "0}]\n",
       "f.yaml:5: 'routes.auto.tiers[0].deployments[0].weight': must be 1 to 1000"},
      {"routes:\n  auto:\n    tiers:\n      - name: a\n        deployments: [x]\n        when: "
       "{images: maybe}\n",
       "f.yaml:6: 'routes.auto.tiers[0].when.images': expected true, false or any"},
      {"routes:\n  auto:\n    classifier: learned\n    tiers: [{name: a, deployments: [x]}]\n",
       "f.yaml:3: 'routes.auto.learned_model': required when classifier is learned"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    retries: {attempts: 0}\n",
       "f.yaml:4: 'routes.auto.retries.attempts': must be 1 to 10"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    escalation: {on: "
       "[vibes]}\n",
       "f.yaml:4: 'routes.auto.escalation.on[0]': 'vibes' is not one of low_logprob | "
       "invalid_json"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}, {name: a, deployments: "
       "[y]}]\n",
       "f.yaml:3: 'routes.auto.tiers[1].name': tier 'a' is defined twice"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x, x]}]\n",
       "f.yaml:3: 'routes.auto.tiers[0].deployments[1]': 'x' is listed twice"},
      {"routes:\n  auto:\n    tier: []\n",
       "f.yaml:3: 'routes.auto.tier': unknown key (expected aliases, teams, classifier, "
       "learned_model, tiers, escalation, retries, deadlines, breaker, shadow, rollout)"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    breaker: {cooldown: "
       "5}\n",
       "f.yaml:4: 'routes.auto.breaker.cooldown': unknown key (expected consecutive_failures, "
       "error_rate, min_requests, window_ms, cooldown_ms)"},
      {"routes:\n  a:\n    tiers: [{name: t, deployments: [x]}]\n  b:\n    aliases: [a]\n    "
       "tiers: [{name: t, deployments: [x]}]\n",
       "f.yaml:2: 'routes.b': name 'a' already selects route 'a'"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    retries: {backoff_ms: "
       "500, max_backoff_ms: 100}\n",
       "f.yaml:4: 'routes.auto.retries.max_backoff_ms': must be at least backoff_ms"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    shadow: [{deployment: "
       "y, sample: 0.1}]\n",
       "f.yaml:4: 'routes.auto.shadow[0].max_usd_per_day': is required: shadow calls are paid "
       "for, and this caps them"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    shadow: [{deployment: "
       "y, sample: 1.5, max_usd_per_day: 1}]\n",
       "f.yaml:4: 'routes.auto.shadow[0].sample': must be 0 to 1"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    shadow: [{deployment: "
       "y, sample: 1, max_usd_per_day: 1, rate: 2}]\n",
       "f.yaml:4: 'routes.auto.shadow[0].rate': unknown key (expected deployment, sample, "
       "max_concurrency, max_usd_per_day, judge, embedding, compare)"},
      {"routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}]\n    shadow: [{deployment: "
       "y, sample: 1, max_usd_per_day: 1}, {deployment: y, sample: 1, max_usd_per_day: 1}]\n",
       "f.yaml:4: 'routes.auto.shadow[1].deployment': 'y' is shadowed twice"},
  };
  for (const BadRow& r : rows) {
    auto c = ParseRoutesYaml(r.yaml, "f.yaml");
    ASSERT_FALSE(c) << r.yaml;
    EXPECT_EQ(c.error().message, r.error);
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidRequest);
  }
}

TEST(ParseRoutesConfig, NoRoutesIsEmpty) {
  auto c = ParseRoutesYaml("server: {}\n", "f.yaml");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->routes.empty());
}

TEST(SelectRoute, HeaderThenModelThenTeam) {
  auto c = ParseRoutesYaml(kExample, "gw.yaml");
  ASSERT_TRUE(c);
  auto by_header = SelectRoute(*c, "tuned", "auto", "research");
  ASSERT_TRUE(by_header);
  EXPECT_EQ(by_header->route->name, "tuned");
  auto by_alias = SelectRoute(*c, "", "smart", "");
  ASSERT_TRUE(by_alias);
  EXPECT_EQ(by_alias->route->name, "auto");
  EXPECT_EQ(by_alias->Why(), "model 'smart' is an alias of route 'auto'");
  auto by_team = SelectRoute(*c, "", "gpt-4o", "research");
  ASSERT_TRUE(by_team);
  EXPECT_EQ(by_team->route->name, "auto");
  auto none = SelectRoute(*c, "", "gpt-4o", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->route, nullptr);
  auto bad = SelectRoute(*c, "nope", "auto", "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param, "x-hybridgate-route");
}

TEST(CheckRouteModels, UnknownModel) {
  auto c = ParseRoutesYaml(kExample, "gw.yaml");
  ASSERT_TRUE(c);
  auto st = CheckRouteModels(*c, "gw.yaml", [](std::string_view m) { return m != "deepseek-r1"; });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "gw.yaml: 'routes.auto.tiers[1].deployments[0].model': unknown model 'deepseek-r1'");
  EXPECT_TRUE(CheckRouteModels(*c, "gw.yaml", [](std::string_view) { return true; }));
}

TEST(ParseRoutesConfig, Rollout) {
  auto c = ParseRoutesYaml(
      "routes:\n  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
      "    rollout: {candidate: llama-70b, stages: [5, 25, 100], min_requests: 50, "
      "min_duration: 2h, interval: 30s, sticky: user, start: paused,\n"
      "              gates: {error_rate_max: 0.02, p95_latency_ratio_max: 1.3}}\n",
      "f.yaml");
  ASSERT_TRUE(c) << c.error().message;
  const RolloutConfig& r = *c->routes[0].rollout;
  EXPECT_EQ(r.candidate, "llama-70b");
  EXPECT_EQ(r.incumbent, "gpt-4o") << "the route's only deployment";
  EXPECT_EQ(r.stages, (std::vector<int>{5, 25, 100}));
  EXPECT_EQ(r.min_requests, 50);
  EXPECT_EQ(r.min_duration_ms, 7'200'000);
  EXPECT_EQ(r.interval_ms, 30'000);
  EXPECT_EQ(r.sticky, Sticky::kUser);
  EXPECT_TRUE(r.start_paused);
  EXPECT_EQ(*r.gates.error_rate_max, 0.02);
  EXPECT_FALSE(r.gates.quality_drop_max);

  const std::string two_tiers =
      "routes:\n  auto:\n    tiers: [{name: a, deployments: [x]}, {name: b, deployments: [y]}]\n"
      "    rollout: ";
  struct Row {
    std::string yaml, error;  // the error's beginning
  };
  const Row rows[] = {
      {two_tiers + "{candidate: z, gates: {error_rate_max: 0.1}}\n",
       "f.yaml:4: 'routes.auto.rollout.incumbent': is required: the route has several "
       "deployments; name the one the candidate replaces"},
      {two_tiers + "{candidate: x, incumbent: x, gates: {error_rate_max: 0.1}}\n",
       "f.yaml:4: 'routes.auto.rollout.candidate': is the incumbent itself"},
      {two_tiers + "{candidate: z, incumbent: x, stages: [50, 10], gates: {error_rate_max: "
                   "0.1}}\n",
       "f.yaml:4: 'routes.auto.rollout.stages[1]': stages must increase (percent of eligible "
       "traffic)"},
      {two_tiers + "{candidate: z, incumbent: x}\n",
       "f.yaml:4: 'routes.auto.rollout.gates': at least one gate is required (quality_drop_max, "
       "error_rate_max, p95_latency_ratio_max, feedback_drop_max): a rollout promotes on "
       "evidence"},
      {two_tiers + "{candidate: z, incumbent: x, gates: {feedback_drop_max: 1.5}}\n",
       "f.yaml:4: 'routes.auto.rollout.gates.feedback_drop_max': "},
      {two_tiers + "{candidate: z, incumbent: x, gates: {quality_drop_max: 0.05}}\n",
       "f.yaml:4: 'routes.auto.rollout.gates.quality_drop_max': needs shadow comparisons of the "
       "candidate: add '{deployment: z, ...}' to routes.auto.shadow"},
      {two_tiers + "{candidate: z, incumbent: x, interval: 0s, gates: {error_rate_max: 0.1}}\n",
       "f.yaml:4: 'routes.auto.rollout.interval': "},
      {two_tiers + "{candidate: z, incumbent: x, min_duration: 106751991167d, gates: "
                   "{error_rate_max: 0.1}}\n",
       "f.yaml:4: 'routes.auto.rollout.min_duration': at most 366d"},
      {two_tiers + "{candidate: z, incumbent: x, sticky: ip, gates: {error_rate_max: 0.1}}\n",
       "f.yaml:4: 'routes.auto.rollout.sticky': 'ip' is not one of key | user | none"},
      {two_tiers + "{candidate: z, incumbent: x, stages: [10, 50], gates: {error_rate_max: "
                   "0.1}}\n",
       "f.yaml:4: 'routes.auto.rollout.stages[1]': the last stage must be 100"},
      {two_tiers + "{candidate: z, incumbent: x, stages: [100], gates: {p95_latency_ratio_max: "
                   "2}}\n",
       "f.yaml:4: 'routes.auto.rollout.gates.p95_latency_ratio_max': needs a first stage below "
       "100"},
      {"routes:\n  \"sup port\":\n    tiers: [{name: a, deployments: [x]}]\n",
       "f.yaml:2: 'routes': route name 'sup port' may not hold spaces"},
      {"routes:\n  a/b:\n    tiers: [{name: a, deployments: [x]}]\n",
       "f.yaml:2: 'routes': route name 'a/b' may not hold"},
  };
  for (const Row& row : rows) {
    auto bad = ParseRoutesYaml(row.yaml, "f.yaml");
    ASSERT_FALSE(bad) << row.yaml;
    EXPECT_EQ(bad.error().message.substr(0, row.error.size()), row.error) << row.yaml;
  }
  // The models must exist, and the incumbent be one of the route's deployments.
  auto ok = ParseRoutesYaml(two_tiers +
                                "{candidate: z, incumbent: x, gates: {error_rate_max: "
                                "0.1}}\n",
                            "f.yaml");
  ASSERT_TRUE(ok) << ok.error().message;
  auto st = CheckRouteModels(*ok, "f.yaml", [](std::string_view m) { return m != "z"; });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "f.yaml: 'routes.auto.rollout.candidate': unknown model 'z'");
  ok->routes[0].rollout->incumbent = "w";
  st = CheckRouteModels(*ok, "f.yaml", [](std::string_view) { return true; });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "f.yaml: 'routes.auto.rollout.incumbent': 'w' is not a deployment of the route's "
            "tiers");
}

}  // namespace
}  // namespace hybridgate::routing
