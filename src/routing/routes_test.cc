#include "routing/routes.h"

#include <gtest/gtest.h>

#include <map>

namespace hybridgate::routing {
namespace {

constexpr char kRoutes[] = R"(routes:
  auto:
    tiers:
      - name: small-local
        deployments: [{model: local, weight: 3}, {model: llama}]
        when: {max_complexity: 0.4, max_input_tokens: 6000}
      - name: reasoning
        deployments: [{model: deepseek-r1}]
        when: {max_complexity: 0.75, images: false}
      - name: frontier
        deployments: [{model: gpt-4o}, {model: claude}]
        when: {max_cost_per_mtok: 5}
)";

// The models the tiers name: two self-hosted, three external with their own limits.
std::vector<DeploymentInfo> Models(std::string_view name) {
  static const std::map<std::string, std::vector<DeploymentInfo>, std::less<>> kModels = {
      {"local",
       {{.key = "engine/local",
         .provider = "engine",
         .model = "local",
         .context_window = 4096,
         .images = false,
         .tools = false}}},
      {"llama",
       {{.key = "vllm/llama",
         .provider = "vllm",
         .model = "llama",
         .context_window = 32768,
         .images = false}}},
      {"deepseek-r1",
       {{.key = "deepseek/deepseek-r1",
         .provider = "deepseek",
         .model = "deepseek-r1",
         .max_data_class = 3,
         .context_window = 65536,
         .input_per_mtok = 0.55}}},
      {"gpt-4o",
       {{.key = "openai/gpt-4o",
         .provider = "openai",
         .model = "gpt-4o",
         .max_data_class = 2,
         .context_window = 128000,
         .images = true,
         .input_per_mtok = 2.5}}},
      {"claude",
       {{.key = "anthropic/claude",
         .provider = "anthropic",
         .model = "claude",
         .max_data_class = 2,
         .context_window = 200000,
         .images = true,
         .input_per_mtok = 15}}},
  };
  auto it = kModels.find(name);
  return it == kModels.end() ? std::vector<DeploymentInfo>{} : it->second;
}

complexity::Features F(double complexity, int data_class = 1, int64_t tokens = 100) {
  complexity::Features f;
  f.complexity = complexity;
  f.data_class = data_class;
  f.est_input_tokens = tokens;
  return f;
}

struct Row {
  const char* name;
  complexity::Features features;
  std::vector<std::string> expected;  // candidate keys in order
  std::vector<std::string> reasons;   // substrings expected somewhere in the decision
};

std::string AllReasons(const RouteDecision& d) {
  std::string s;
  for (const TierDecision& t : d.tiers) {
    s += t.why + "\n";
    for (const SkippedDeployment& k : t.skipped) s += k.why + "\n";
  }
  for (const RouteCandidate& c : d.candidates) s += c.why + "\n";
  return s;
}

TEST(Choose, Table) {
  auto cfg = ParseRoutesYaml(kRoutes, "r.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const Route& route = cfg->routes[0];
  complexity::Features images = F(0.2);
  images.has_images = true;
  complexity::Features tools = F(0.2);
  tools.has_tools = true;
  const Row rows[] = {
      {"easy: cheap tier first, then every later tier",
       F(0.2),
       {"engine/local", "vllm/llama", "deepseek/deepseek-r1", "openai/gpt-4o"},
       {"skipped anthropic/claude: input $15.00/Mtok > tier ceiling $5.00"}},
      {"medium skips the small tier",
       F(0.6),
       {"deepseek/deepseek-r1", "openai/gpt-4o"},
       {"skipped small-local: complexity 0.60 > 0.40"}},
      {"hard goes to frontier",
       F(0.82),
       {"openai/gpt-4o"},
       {"skipped small-local: complexity 0.82 > 0.40",
        "skipped reasoning: complexity 0.82 > 0.75"}},
      {"class 3 never leaves for a class-2 provider",
       F(0.82, 3),
       {},
       {"skipped openai/gpt-4o: data class 3 > max 2 of provider openai"}},
      {"class 3 easy: residency removes externals from every tier",
       F(0.2, 3),
       {"engine/local", "vllm/llama", "deepseek/deepseek-r1"},
       {"skipped openai/gpt-4o: data class 3 > max 2 of provider openai"}},
      {"class 4: only self-hosted",
       F(0.2, 4),
       {"engine/local", "vllm/llama"},
       {"skipped deepseek/deepseek-r1: data class 4 > max 3 of provider deepseek"}},
      {"long input skips the small context and the small tier",
       F(0.2, 1, 5000),
       {"vllm/llama", "deepseek/deepseek-r1", "openai/gpt-4o"},
       {"skipped engine/local: ~5000 input tokens > context window 4096"}},
      {"over the tier's input limit",
       F(0.2, 1, 7000),
       {"deepseek/deepseek-r1", "openai/gpt-4o"},
       {"skipped small-local: ~7000 input tokens > 6000"}},
      {"images need a multimodal model; reasoning takes none",
       images,
       {"openai/gpt-4o"},
       {"skipped engine/local: request has images; model is not multimodal",
        "skipped reasoning: request has images; tier takes none"}},
      {"tools need a tool-capable model",
       tools,
       {"vllm/llama", "deepseek/deepseek-r1", "openai/gpt-4o"},
       {"skipped engine/local: request uses tools; model does not support them"}},
  };
  for (const Row& r : rows) {
    const RouteDecision d = Choose(route, r.features, Models);
    std::vector<std::string> got;
    for (const RouteCandidate& c : d.candidates) got.push_back(c.deployment().key);
    EXPECT_EQ(got, r.expected) << r.name;
    const std::string reasons = AllReasons(d);
    for (const std::string& want : r.reasons) {
      EXPECT_NE(reasons.find(want), std::string::npos) << r.name << ": no '" << want << "' in\n"
                                                       << reasons;
    }
    EXPECT_EQ(d.tiers.size(), 3u);
    EXPECT_EQ(static_cast<bool>(d.ToStatus()), !r.expected.empty()) << r.name;
  }
}

TEST(Choose, ResidencyEmptyIsPolicyBlocked) {
  auto cfg = ParseRoutesYaml(kRoutes, "r.yaml");
  ASSERT_TRUE(cfg);
  const RouteDecision d = Choose(cfg->routes[0], F(0.9, 3), Models);
  ASSERT_TRUE(d.candidates.empty());
  EXPECT_TRUE(d.residency_excluded);
  const Status st = d.ToStatus();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kPolicyBlocked);
}

TEST(Choose, BreakersSkipOpenKeepProbesLastAndPanic) {
  auto cfg = ParseRoutesYaml(kRoutes, "r.yaml");
  ASSERT_TRUE(cfg);
  const Route& route = cfg->routes[0];
  auto health = [](std::string_view key) {
    if (key == "engine/local") return BreakerState::kHalfOpen;
    if (key == "vllm/llama") return BreakerState::kOpen;
    return BreakerState::kClosed;
  };
  RouteDecision d = Choose(route, F(0.2, 4), Models, health);
  ASSERT_EQ(d.candidates.size(), 1u);
  EXPECT_EQ(d.candidates[0].deployment().key, "engine/local");
  EXPECT_TRUE(d.candidates[0].probe);
  EXPECT_NE(AllReasons(d).find("skipped vllm/llama: circuit open"), std::string::npos);
  // Everything open: the open ones come back as a last resort rather than failing outright.
  auto all_open = [](std::string_view) { return BreakerState::kOpen; };
  d = Choose(route, F(0.2, 4), Models, all_open);
  EXPECT_TRUE(d.panic);
  ASSERT_EQ(d.candidates.size(), 2u);
  EXPECT_NE(d.candidates[0].why.find("last resort"), std::string::npos);
}

TEST(Choose, UnknownModelIsSkippedWithReason) {
  auto cfg = ParseRoutesYaml("routes:\n  r:\n    tiers: [{name: t, deployments: [nope, gpt-4o]}]\n",
                             "r.yaml");
  ASSERT_TRUE(cfg);
  const RouteDecision d = Choose(cfg->routes[0], F(0.1), Models);
  ASSERT_EQ(d.candidates.size(), 1u);
  EXPECT_EQ(d.tiers[0].skipped[0].why, "unknown model 'nope'");
}

}  // namespace
}  // namespace hybridgate::routing
