#include "routing/explain.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hybridgate::routing {
namespace {

TEST(ExplainJson, DecisionAsJson) {
  auto cfg = ParseRoutesYaml(R"(routes:
  auto:
    tiers:
      - name: small
        deployments: [{model: local, weight: 2}]
        when: {max_complexity: 0.4}
      - name: frontier
        deployments: [gpt-4o]
)",
                             "r.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto models = [](std::string_view m) -> std::vector<DeploymentInfo> {
    if (m == "local") return {{.key = "engine/local", .provider = "engine", .model = "local"}};
    return {{.key = "openai/gpt-4o", .provider = "openai", .model = "gpt-4o", .max_data_class = 2}};
  };
  complexity::Features f;
  f.complexity = 0.8234;
  f.classifier = "heuristic";
  f.top = {{"length", 1.25}, {"reasoning_verbs", 0.8}};
  f.est_input_tokens = 321;
  RouteDecision d = Choose(cfg->routes[0], f, models);
  d.route_why = "model 'auto' names the route";
  const boost::json::value v = boost::json::parse(ExplainJson(d));
  EXPECT_EQ(v.at("route").as_string(), "auto");
  EXPECT_EQ(v.at("route_why").as_string(), "model 'auto' names the route");
  EXPECT_EQ(v.at("features").at("complexity").as_double(), 0.823);
  EXPECT_EQ(v.at("features").at("top").at(0).at("name").as_string(), "length");
  EXPECT_EQ(v.at("features").at("est_input_tokens").as_int64(), 321);
  EXPECT_EQ(v.at("tiers").at(0).at("why").as_string(), "skipped small: complexity 0.82 > 0.40");
  EXPECT_FALSE(v.at("tiers").at(0).at("eligible").as_bool());
  EXPECT_TRUE(v.at("tiers").at(1).at("eligible").as_bool());
  EXPECT_EQ(v.at("candidates").as_array().size(), 1u);
  EXPECT_EQ(v.at("candidates").at(0).at("key").as_string(), "openai/gpt-4o");
  EXPECT_EQ(v.at("candidates").at(0).at("order").as_int64(), 1);
  EXPECT_EQ(v.at("status").as_string(), "ok");

  f.data_class = 4;
  const boost::json::value blocked =
      boost::json::parse(ExplainJson(Choose(cfg->routes[0], f, models)));
  EXPECT_EQ(blocked.at("candidates").as_array().size(), 0u);
  EXPECT_EQ(blocked.at("status").at("code").as_string(), "policy_blocked");
  EXPECT_EQ(blocked.at("tiers").at(1).at("skipped").at(0).at("why").as_string(),
            "skipped openai/gpt-4o: data class 4 > max 2 of provider openai");
}

}  // namespace
}  // namespace hybridgate::routing
