#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace hybridgate::config {
namespace {

constexpr const char* kIssueExample = R"(listen: 127.0.0.1:8080
providers:
  - name: local
    type: openai
    base_url: http://127.0.0.1:8000/v1
    zone: self_hosted          # self_hosted | external
    models:
      - {name: llama-3.1-8b, input_per_mtok: 0, output_per_mtok: 0}
  - name: openai
    type: openai
    base_url: https://api.openai.com/v1
    api_key_env: HG_TEST_OPENAI_KEY
    zone: external
    models:
      - {name: gpt-4o, input_per_mtok: 2.5, output_per_mtok: 10}
)";

TEST(ParseConfig, AcceptsTheDocumentedShape) {
  setenv("HG_TEST_OPENAI_KEY", "sk-test", 1);
  auto c = ParseConfig(kIssueExample, "gw.yaml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->providers.size(), 2u);
  EXPECT_EQ(c->providers[0].zone, Zone::kSelfHosted);
  EXPECT_EQ(c->providers[0].models[0].id, "llama-3.1-8b");
  EXPECT_EQ(c->providers[1].api_key, "sk-test");
  EXPECT_EQ(c->providers[1].models[0].output_per_mtok, 10);
  EXPECT_TRUE(c->providers[1].disabled_reason.empty());
  EXPECT_EQ(c->server.max_body_bytes, 8 * 1024 * 1024);
}

TEST(ParseConfig, MissingKeyVariableDisablesTheProviderAndSaysHow) {
  unsetenv("HG_TEST_OPENAI_KEY");
  auto c = ParseConfig(kIssueExample, "gw.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->providers[1].disabled_reason,
            "set the environment variable HG_TEST_OPENAI_KEY to enable it");
}

struct Bad {
  std::string yaml;
  std::string expect;  // substring of the message: file:line: 'key': ...
};

TEST(ParseConfig, ErrorsNameFileLineAndKey) {
  const std::string head = "providers:\n  - name: a\n    type: openai\n";
  const Bad cases[] = {
      {"listen: nowhere\n" + head + "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:1: 'listen': 'nowhere' is not host:port"},
      {head + "    base_url: http://x\n    models: [{name: m}]\n    colour: red\n",
       "gw.yaml:6: 'providers[0].colour': unknown key"},
      {head + "    base_url: ftp://x\n    models: [{name: m}]\n",
       "gw.yaml:4: 'providers[0].base_url': 'ftp://x' is not an http:// or https:// URL"},
      {head + "    base_url: http://x\n    models: [{name: m, input_per_mtok: cheap}]\n",
       "gw.yaml:5: 'providers[0].models[0].input_per_mtok': must be a non-negative number"},
      {head + "    base_url: http://x\n    models: []\n",
       "gw.yaml:5: 'providers[0].models': must list at least one model"},
      {head + "    base_url: http://x\n    zone: moon\n    models: [{name: m}]\n",
       "'providers[0].zone': must be self_hosted or external"},
      {"providers:\n  - name: a\n    type: magic\n    base_url: http://x\n    models: [{name: "
       "m}]\n",
       "gw.yaml:3: 'providers[0].type': unknown provider type 'magic'"},
      {head + "    base_url: http://x\n    models: [{name: m}]\n" +
           "  - {name: a, type: openai, base_url: http://y, models: [{name: m}]}\n",
       "duplicate provider name 'a'"},
      {"server:\n  max_body_bytes: -5\n" + head +
           "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:2: 'server.max_body_bytes': must be at least 1"},
      {"providers: [\n  {name: a\n", "gw.yaml:3:1: YAML syntax error"},
      {"just a string\n", "config must be a YAML mapping"},
      {"listen: 127.0.0.1:1\n", "'providers': must list at least one provider"},
      // Parsed once and never read: gone, so a config that sets it hears so.
      {"log: {level: info, log_prompts: true}\n" + head +
           "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:1: 'log.log_prompts': unknown key"},
      {"rollouts: {backend: etcd}\n" + head + "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:1: 'rollouts.backend': must be sqlite, postgres or redis"},
      {"rollouts: {backend: postgres}\n" + head +
           "    base_url: http://x\n    models: [{name: m}]\n",
       "'rollouts.backend': postgres needs dsn or dsn_env (or a ledger on postgres"},
      {"rollouts:\n  backend: redis\n  redis_url: http://r:6379\n" + head +
           "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:3: 'rollouts.redis_url': "},
      {"rollouts: {backend: redis, dsn: 'host=db'}\n" + head +
           "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:1: 'rollouts.dsn': is for backend postgres; this store is redis"},
      {"rollouts: {path: x.db, redis_url: 'redis://r'}\n" + head +
           "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:1: 'rollouts.redis_url': is for backend redis; this store is sqlite"},
      {"quality: {retention_days: 90, scores_retention_days: 30}\n" + head +
           "    base_url: http://x\n    models: [{name: m}]\n",
       "gw.yaml:1: 'quality.scores_retention_days': must be at least retention_days (90)"},
  };
  for (const Bad& b : cases) {
    auto c = ParseConfig(b.yaml, "gw.yaml");
    ASSERT_FALSE(c) << b.yaml;
    EXPECT_NE(c.error().message.find(b.expect), std::string::npos)
        << "got: " << c.error().message << "\nwant: " << b.expect;
  }
}

TEST(ParseConfig, ResidencyDefaultsAndOverrides) {
  auto c = ParseConfig(R"(providers:
  - {name: l, type: openai, base_url: 'http://x/v1', zone: self_hosted, models: [{name: a}]}
  - {name: e, type: openai, base_url: 'http://y/v1', models: [{name: b}]}
  - {name: d, type: openai, base_url: 'http://z/v1', max_data_class: 3, models: [{name: c}]}
residency: {actions: {5: block, 3: redact}, fallback_model: a}
)",
                       "r.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->providers[0].max_data_class, 5);
  EXPECT_EQ(c->providers[1].max_data_class, 2);
  EXPECT_EQ(c->providers[2].max_data_class, 3);
  EXPECT_EQ(c->residency.actions[5], ResidencyAction::kBlock);
  EXPECT_EQ(c->residency.actions[4], ResidencyAction::kRoute);
  EXPECT_EQ(c->residency.actions[3], ResidencyAction::kRedact);
  EXPECT_EQ(c->residency.fallback_model, "a");
  auto bad = ParseConfig(
      "providers: [{name: l, type: openai, base_url: 'http://x', models: [{name: a}]}]\n"
      "residency: {actions: {4: shred}}\n",
      "r.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("r.yaml:2: 'residency.actions.4': unknown action 'shred'"),
            std::string::npos)
      << bad.error().message;
}

TEST(ParseConfig, ResponsesApiIsAnOpenAiProvidersOption) {
  auto c = ParseConfig(R"(providers:
  - {name: o, type: openai, base_url: 'http://x/v1', responses_api: true, models: [{name: a}]}
  - {name: v, type: openai, base_url: 'http://y/v1', models: [{name: b}]}
)",
                       "r.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->providers[0].responses_api);
  EXPECT_FALSE(c->providers[1].responses_api);
  for (const char* yaml :
       {"providers: [{name: g, type: gemini, responses_api: true, models: [{name: a}]}]\n",
        "providers: [{name: l, type: local, responses_api: true, models: [{name: a}]}]\n",
        "providers: [{name: o, type: openai, base_url: 'http://x', responses_api: maybe, "
        "models: [{name: a}]}]\n"}) {
    auto bad = ParseConfig(yaml, "r.yaml");
    ASSERT_FALSE(bad) << yaml;
    EXPECT_NE(bad.error().message.find("'providers[0].responses_api'"), std::string::npos)
        << bad.error().message;
  }
}

TEST(ParseConfig, OutputsTrainableHasDatedDefaultsForTheClosedProviders) {
  auto c = ParseConfig(
      "providers:\n"
      "  - {name: openai, type: openai, base_url: 'https://API.openai.com/v1', models: [{name: a}, "
      "{name: b, outputs_trainable: true}]}\n"
      "  - {name: claude, type: anthropic, models: [{name: c}]}\n"
      "  - {name: google, type: gemini, models: [{name: d}]}\n"
      "  - {name: gemini-compat, type: openai, base_url: "
      "'https://generativelanguage.googleapis.com/v1beta/openai', models: [{name: e}]}\n"
      "  - {name: vllm, type: openai, base_url: 'http://10.0.0.1:8000/v1', zone: self_hosted, "
      "models: [{name: f}, {name: g, outputs_trainable: false}]}\n"
      "  - {name: embedded, type: local, models: [{name: h}]}\n",
      "t.yaml");
  ASSERT_TRUE(c) << c.error().message;
  const auto& p = c->providers;
  EXPECT_FALSE(p[0].models[0].outputs_trainable);
  EXPECT_EQ(p[0].models[0].outputs_trainable_why.rfind("OpenAI's terms forbid it (", 0), 0u)
      << p[0].models[0].outputs_trainable_why;
  EXPECT_NE(p[0].models[0].outputs_trainable_why.find("checked 2026-12-07"), std::string::npos);
  EXPECT_TRUE(p[0].models[1].outputs_trainable);
  EXPECT_EQ(p[0].models[1].outputs_trainable_why, "outputs_trainable: true in the config");
  EXPECT_FALSE(p[1].models[0].outputs_trainable);
  EXPECT_EQ(p[1].models[0].outputs_trainable_why.rfind("Anthropic's terms", 0), 0u);
  EXPECT_FALSE(p[2].models[0].outputs_trainable);
  EXPECT_FALSE(p[3].models[0].outputs_trainable);  // by host
  EXPECT_EQ(p[3].models[0].outputs_trainable_why.rfind("Google Gemini's terms", 0), 0u);
  EXPECT_TRUE(p[4].models[0].outputs_trainable);
  EXPECT_FALSE(p[4].models[1].outputs_trainable);
  EXPECT_EQ(p[4].models[1].outputs_trainable_why, "outputs_trainable: false in the config");
  EXPECT_TRUE(p[5].models[0].outputs_trainable);
  auto bad = ParseConfig(
      "providers: [{name: v, type: openai, base_url: 'http://x', models: [{name: a, "
      "outputs_trainable: sometimes}]}]\n",
      "t.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'providers[0].models[0].outputs_trainable': must be true or "
                                     "false, got 'sometimes'"),
            std::string::npos)
      << bad.error().message;
}

// Each row: a model's licence lines and a policy; "" when the config loads, else a piece of the
// error, which names the model and the clause.
TEST(ParseConfig, ThePolicyIsCheckedAgainstEveryModelsLicence) {
  struct Row {
    std::string model;
    std::string policy;
    std::string error;
  };
  const Row rows[] = {
      {"licence: apache-2.0", "{commercial: true, redistribute_weights: true}", ""},
      {"licence: mistral-research", "{commercial: false}", ""},
      {"licence: mistral-research", "{commercial: true}",
       "'providers[0].models[0].licence': model 'local/m': licence_policy.commercial: true, but "
       "mistral-research (Mistral AI Research License; read 2026-12-07: research and "
       "non-commercial use only"},
      {"licence: llama-community", "{monthly_active_users: 700000000}", ""},
      {"licence: llama-community", "{monthly_active_users: 700000001}",
       "licence_policy.monthly_active_users: 700000001, above the 700000000 monthly active users "
       "llama-community (Llama 3.1/3.2/3.3 Community License; read 2026-12-07: s.2: over 700M"},
      {"licence: qwen", "{monthly_active_users: 200000000}", "above the 100000000 monthly"},
      {"licence: proprietary", "{redistribute_weights: true}",
       "licence_policy.redistribute_weights: true, but proprietary"},
      {"licence: gemma", "{deny: [gemma, cc-by-nc-4.0]}", "licence_policy.deny lists gemma"},
      {"licence: cc-by-nc-4.0", "{deny: [CC-BY-NC-4.0]}", "licence_policy.deny lists cc-by-nc-4.0"},
      {"licence: mit", "{deny: [no-such-licence]}",
       "'licence_policy.deny': 'no-such-licence' is no known licence"},
      {"licence: in-house, licence_terms: {}", "{deny: [IN-HOUSE]}",
       "licence_policy.deny lists in-house"},
      {"", "{require_licence: true}",
       "model 'local/m': licence_policy.require_licence: true, but the model names no licence"},
      {"", "{commercial: true}", ""},
      {"licence: in-house, licence_terms: {commercial_use: false}", "{commercial: true}",
       "but in-house (its licence_terms in the config) forbids commercial use"},
      {"licence: apache-2.0, licence_terms: {mau_limit: 10}", "{monthly_active_users: 11}",
       "above the 10 monthly active users apache-2.0 (its licence_terms in the config)"},
      {"licence: in-house", "{}",
       "'providers[0].models[0].licence': unknown licence 'in-house' (known: apache-2.0, mit, "
       "llama-community, qwen, gemma, mistral-research, cc-by-nc-4.0, proprietary); give its "
       "terms in licence_terms"},
      {"licence_terms: {commercial_use: false}", "{}", "name the licence these are the terms of"},
      {"licence: mit, licence_terms: {commercial: false}", "{}",
       "'providers[0].models[0].licence_terms.commercial': unknown key"},
      {"licence: mit", "{commercial: maybe}", "'licence_policy.commercial': must be true or false"},
  };
  for (const Row& r : rows) {
    const std::string yaml =
        "providers:\n  - {name: local, type: openai, base_url: 'http://127.0.0.1:1/v1', zone: "
        "self_hosted, models: [{name: m" +
        (r.model.empty() ? "" : ", " + r.model) + "}]}\nlicence_policy: " + r.policy + "\n";
    auto c = ParseConfig(yaml, "gw.yaml");
    if (r.error.empty()) {
      EXPECT_TRUE(c) << r.model << " / " << r.policy << ": " << c.error().message;
      continue;
    }
    ASSERT_FALSE(c) << r.model << " / " << r.policy;
    EXPECT_NE(c.error().message.find(r.error), std::string::npos)
        << r.model << " / " << r.policy << ": " << c.error().message;
  }
}

TEST(ParseConfig, ALicenceSetsOutputsTrainableUnlessTheConfigOrTheProvidersTermsDo) {
  auto c = ParseConfig(
      "providers:\n  - {name: local, type: openai, base_url: 'http://127.0.0.1:1/v1', zone: "
      "self_hosted, models: [{name: a, licence: mistral-research}, {name: b, licence: "
      "mistral-research, outputs_trainable: true}, {name: c, licence: apache-2.0}]}\n"
      "  - {name: openai, type: openai, base_url: 'https://api.openai.com/v1', models: [{name: "
      "d, licence: apache-2.0}]}\n",
      "gw.yaml", /*check_licences=*/false);
  ASSERT_TRUE(c) << c.error().message;
  const auto& local = c->providers[0].models;
  EXPECT_FALSE(local[0].outputs_trainable);
  EXPECT_EQ(local[0].outputs_trainable_why, "its licence, mistral-research, forbids it");
  EXPECT_TRUE(local[1].outputs_trainable);
  EXPECT_TRUE(local[2].outputs_trainable);
  EXPECT_FALSE(c->providers[1].models[0].outputs_trainable);  // OpenAI's terms come first
}

TEST(ParseListen, HostPortAndIpv6) {
  EXPECT_EQ(ParseListen("0.0.0.0:80")->second, 80);
  EXPECT_EQ(ParseListen("[::1]:8080")->first, "::1");
  EXPECT_FALSE(ParseListen("localhost"));
  EXPECT_FALSE(ParseListen("h:99999"));
  EXPECT_FALSE(ParseListen(":80"));
}

TEST(LoadConfig, MissingFileIsAClearError) {
  auto c = LoadConfig("/nonexistent/gw.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "/nonexistent/gw.yaml: cannot open config file");
}

}  // namespace
}  // namespace hybridgate::config
