// The self-hosted path against a REAL OpenAI-compatible server: llama.cpp's llama-server (built
// from the same pinned source) serving the tiny model, behind a provider of type `openai`.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/support/gateway_process.h"
#include "tests/support/llama_files.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

class LlamaServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_FALSE(TinyModelPath().empty());
    server_ = new LlamaServer(TinyModelPath(), 2, 256);
    ASSERT_TRUE(server_->started()) << "llama-server did not start: " << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string Config() {
    return "providers:\n"
           "  - {name: llamacpp, type: openai, base_url: '" +
           server_->base_url() + "', zone: self_hosted, models: [{name: tiny, id: tiny}]}\n";
  }
  static LlamaServer* server_;
};
LlamaServer* LlamaServerTest::server_ = nullptr;

TEST_F(LlamaServerTest, ChatCompletionWithUsage) {
  GatewayProcess gw(Config());
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions",
                  R"({"model":"tiny","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "llamacpp");
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v["object"].as_string(), "chat.completion");
  EXPECT_GT(v["usage"].at("prompt_tokens").as_int64(), 0);
  EXPECT_GT(v["usage"].at("completion_tokens").as_int64(), 0);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST_F(LlamaServerTest, StreamEndsWithUsageAndDone) {
  GatewayProcess gw(Config());
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post(
      "/v1/chat/completions",
      R"({"model":"tiny","max_tokens":8,"stream":true,"stream_options":{"include_usage":true},)"
      R"("messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("chat.completion.chunk"), std::string::npos);
  EXPECT_NE(r.body.find("\"usage\""), std::string::npos);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST_F(LlamaServerTest, LogprobsPassThrough) {
  GatewayProcess gw(Config());
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions",
                  R"({"model":"tiny","max_tokens":4,"logprobs":true,"top_logprobs":2,)"
                  R"("messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  const auto& content = v["choices"].as_array()[0].at("logprobs").at("content").as_array();
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(content[0].at("top_logprobs").as_array().size(), 2u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST_F(LlamaServerTest, ContextOverflowIsAClientError) {
  GatewayProcess gw(Config());
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  std::string words;
  for (int i = 0; i < 400; ++i) words += "word ";
  auto r = c.Post("/v1/chat/completions",
                  R"({"model":"tiny","max_tokens":4,"messages":[{"role":"user","content":")" +
                      words + R"("}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  auto err = json::parse(r.body).at("error").as_object();
  EXPECT_FALSE(std::string(err.at("message").as_string()).empty());
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

}  // namespace
}  // namespace hybridgate::testing
