// Model licences through the real binary: `hybridgate models licences` lists every model's
// licence, terms and the policy's verdict (exit 1 on a violation, naming the clause), `config
// check` and `serve` refuse a config whose model breaks the licence_policy, and a reload that
// would introduce one is rejected while the gateway keeps serving.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

std::string Config(const std::string& policy) {
  return "providers:\n  - {name: local, type: openai, base_url: 'http://127.0.0.1:1/v1', zone: "
         "self_hosted, models: [{name: llama, licence: llama-community}, {name: mistral, "
         "licence: mistral-research}, {name: custom}]}\n"
         "  - {name: openai, type: openai, base_url: 'https://api.openai.com/v1', models: "
         "[{name: gpt-4o, licence: proprietary}]}\n"
         "licence_policy: " +
         policy + "\n";
}

TEST(Licences, TheListingShowsTermsAndVerdictsAndExits1OnAViolation) {
  Scratch s("hg-licences");
  std::ofstream(s.Path("ok.yaml")) << Config("{commercial: false, monthly_active_users: 1000}");
  int status = -1;
  std::string out = Shell("'" + BinaryPath() + "' models licences --config '" + s.Path("ok.yaml") +
                              "' --format json 2>&1",
                          &status);
  ASSERT_EQ(status, 0) << out;
  const json::value v = json::parse(out);
  EXPECT_EQ(v.at("violations"), 0);
  EXPECT_EQ(v.at("policy").at("monthly_active_users"), 1000);
  const auto& models = v.at("models").as_array();
  ASSERT_EQ(models.size(), 4u);
  EXPECT_EQ(models[0].at("model"), "local/llama");
  EXPECT_EQ(models[0].at("mau_limit"), 700000000);
  EXPECT_EQ(models[0].at("checked"), "2026-12-07");
  EXPECT_EQ(models[1].at("commercial_use"), false);
  EXPECT_EQ(models[1].at("outputs_trainable"), false);
  EXPECT_EQ(models[1].at("outputs_trainable_why"), "its licence, mistral-research, forbids it");
  EXPECT_TRUE(models[2].at("licence").is_null());
  EXPECT_EQ(models[3].at("redistribution"), false);
  EXPECT_FALSE(models[3].at("outputs_trainable").as_bool());  // OpenAI's terms

  std::ofstream(s.Path("bad.yaml")) << Config("{commercial: true}");
  out = Shell("'" + BinaryPath() + "' models licences --config '" + s.Path("bad.yaml") + "' 2>&1",
              &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("local/mistral"), std::string::npos) << out;
  EXPECT_NE(out.find("VIOLATION: licence_policy.commercial: true, but mistral-research"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("local/llama                      llama-community    yes        yes  "
                     "          700000000    yes      ok"),
            out.find("local/llama"))
      << out;

  // config check and serve refuse it, naming the model and the clause.
  out = Shell("'" + BinaryPath() + "' config check '" + s.Path("bad.yaml") + "' 2>&1", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("'providers[0].models[1].licence': model 'local/mistral': "
                     "licence_policy.commercial: true, but mistral-research (Mistral AI Research "
                     "License; read 2026-12-07: research and non-commercial use only"),
            std::string::npos)
      << out;
  out = Shell("timeout 20 '" + BinaryPath() + "' serve --config '" + s.Path("bad.yaml") + "' 2>&1",
              &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("model 'local/mistral'"), std::string::npos) << out;

  out = Shell("'" + BinaryPath() + "' models licences --config '" + s.Path("none.yaml") + "' 2>&1",
              &status);
  EXPECT_EQ(status, 2) << out;
}

TEST(Licences, AReloadIntoAViolationIsRejectedAndTheGatewayKeepsServing) {
  FakeUpstream up([](const Recorded&) { return Action{.body = ChatCompletionJson("hi")}; });
  auto config = [&](const std::string& policy) {
    return "providers:\n  - {name: local, type: openai, base_url: '" + up.base_url() +
           "', zone: self_hosted, models: [{name: mistral, licence: mistral-research}]}\n"
           "licence_policy: " +
           policy + "\n";
  };
  GatewayProcess gw(config("{commercial: false}"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  gw.RewriteConfig(config("{commercial: true}"));
  ASSERT_TRUE(FakeUpstream::WaitFor(
      [&] { return gw.Log().find("config reload rejected") != std::string::npos; },
      std::chrono::seconds(10)))
      << gw.Log();
  EXPECT_NE(gw.Log().find("licence_policy.commercial: true"), std::string::npos) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions",
                  R"({"model":"mistral","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(gw.Stop(), 0);
}

}  // namespace
}  // namespace hybridgate::testing
