// POST /v1/messages through the real binary: an Anthropic-dialect client served by a self-hosted
// OpenAI-compatible upstream, non-stream, stream, tool use and errors in Anthropic's shape.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string Config(const FakeUpstream& up) {
  return "providers:\n  - {name: local, type: openai, base_url: '" + up.base_url() +
         "', zone: self_hosted, models: [{name: claude-local, id: qwen2.5-7b}]}\n";
}

TEST(AnthropicIngress, MessageIsServedByAnOpenAiUpstreamAndAnsweredInAnthropicShape) {
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ChatCompletionJson("Bonjour!", "qwen2.5-7b", 21, 4)};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Request("POST", "/v1/messages",
                          R"({"model":"claude-local","max_tokens":256,"system":"Answer in French.",
                              "messages":[{"role":"user","content":"Hello"}]})",
                          {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("type").as_string(), "message");
  EXPECT_EQ(v.at("role").as_string(), "assistant");
  EXPECT_EQ(v.at("content").at(0).at("type").as_string(), "text");
  EXPECT_EQ(v.at("content").at(0).at("text").as_string(), "Bonjour!");
  EXPECT_EQ(v.at("stop_reason").as_string(), "end_turn");
  EXPECT_EQ(v.at("usage").at("input_tokens").as_int64(), 21);
  EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 4);
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "local");
  // What the upstream received: an OpenAI chat request, system prompt first, model id mapped.
  auto sent = json::parse(up.requests().at(0).body);
  EXPECT_EQ(sent.at("model").as_string(), "qwen2.5-7b");
  EXPECT_EQ(sent.at("max_tokens").as_int64(), 256);
  EXPECT_EQ(sent.at("messages").at(0).at("role").as_string(), "system");
  EXPECT_EQ(sent.at("messages").at(0).at("content").as_string(), "Answer in French.");
  EXPECT_EQ(sent.at("messages").at(1).at("content").as_string(), "Hello");
}

TEST(AnthropicIngress, StreamIsTranslatedEventByEvent) {
  FakeUpstream up([](const Recorded&) {
    return Action{.content_type = "text/event-stream",
                  .chunks = ChatStreamChunks({"Hel", "lo"}, "qwen2.5-7b")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream(
      "/v1/messages",
      R"({"model":"claude-local","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  EXPECT_EQ(head.headers["content-type"], "text/event-stream");
  const auto events = NamedSseEvents(client.ReadAll());
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.front().first, "message_start");
  EXPECT_EQ(events.back().first, "message_stop");
  std::string text;
  bool saw_delta_stop = false;
  for (const auto& [name, data] : events) {
    if (name == "content_block_delta") text += data.at("delta").at("text").as_string();
    if (name == "message_delta") {
      saw_delta_stop = data.at("delta").at("stop_reason").as_string() == "end_turn";
      EXPECT_EQ(data.at("usage").at("output_tokens").as_int64(), 2);
    }
  }
  EXPECT_EQ(text, "Hello");
  EXPECT_TRUE(saw_delta_stop);
}

// Shaped like Claude Code's first request with its newer default model: system blocks with
// cache_control, a system-reminder block, tools, metadata, stream — and a `role: "system"`
// message among the turns, which the gateway used to refuse with 400.
std::string ClaudeCodeRequest(std::string_view model, bool stream) {
  return std::string(R"({"model":")") + std::string(model) + R"(","max_tokens":32000,
    "temperature":1,"stream":)" +
         (stream ? "true" : "false") + R"(,
    "system":[{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude.",
               "cache_control":{"type":"ephemeral"}},
              {"type":"text","text":"Use the tools.","cache_control":{"type":"ephemeral"}}],
    "messages":[
      {"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},
                                {"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]},
      {"role":"assistant","content":[{"type":"text","text":"Hello."}]},
      {"role":"system","content":[{"type":"text","text":"Plan mode is active."}]},
      {"role":"user","content":"go"}],
    "tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object",
              "properties":{"command":{"type":"string"}},"required":["command"]}}],
    "metadata":{"user_id":"user_0123_account__session_abc"}})";
}

const std::map<std::string, std::string> kClaudeCodeHeaders = {
    {"anthropic-version", "2023-06-01"},
    {"anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"},
    {"x-app", "cli"},
    {"user-agent", "claude-cli/2.0.0 (external, cli)"}};

TEST(AnthropicIngress, ClaudeCodeSystemMessageStaysInPlaceForAnOpenAiUpstream) {
  FakeUpstream up([](const Recorded&) {
    return Action{.content_type = "text/event-stream",
                  .chunks = ChatStreamChunks({"OK"}, "qwen2.5-7b")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream("/v1/messages", ClaudeCodeRequest("claude-local", true),
                                 kClaudeCodeHeaders);
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const auto events = NamedSseEvents(client.ReadAll());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().first, "message_stop");
  ASSERT_EQ(up.request_count(), 1u);
  auto sent = json::parse(up.requests().at(0).body);
  EXPECT_EQ(sent.at("messages"), json::parse(R"([
      {"role":"system",
       "content":"You are Claude Code, Anthropic's official CLI for Claude.\n\nUse the tools."},
      {"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},
                                {"type":"text","text":"hi"}]},
      {"role":"assistant","content":"Hello."},
      {"role":"system","content":"Plan mode is active."},
      {"role":"user","content":"go"}])"))
      << up.requests().at(0).body;
}

// An Anthropic upstream gets the request as sent (only the model id replaced): the system
// message stays in place, the system blocks and their cache_control stay blocks, and the betas
// that allow them go along. (A redacted request is re-encoded instead, every system text then
// joined into the top-level system: anthropic_test, kSystemInMessages.)
TEST(AnthropicIngress, ClaudeCodeSystemMessageReachesAnAnthropicUpstreamAsSent) {
  setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) {
    return Action{.body = R"({"id":"msg_1","type":"message","role":"assistant",
        "model":"claude-sonnet-4-5","content":[{"type":"text","text":"Done."}],
        "stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":30,"output_tokens":2}})"};
  }));
  GatewayProcess gw("providers:\n  - {name: claude, type: anthropic, base_url: '" + up.base_url() +
                    "', api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: smart, id: "
                    "claude-sonnet-4-5}]}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r =
      client.Request("POST", "/v1/messages", ClaudeCodeRequest("smart", false), kClaudeCodeHeaders);
  ASSERT_EQ(r.status, 200) << r.body;  // the validating fake takes "system" turns with a beta
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("content").at(0).at("text").as_string(), "Done.");
  ASSERT_EQ(up.request_count("/v1/messages"), 1u);
  const Recorded sent = up.requests("/v1/messages").at(0);
  EXPECT_EQ(json::parse(sent.body), json::parse(ClaudeCodeRequest("claude-sonnet-4-5", false)));
  EXPECT_EQ(sent.headers.at("anthropic-beta"), kClaudeCodeHeaders.at("anthropic-beta"));
}

TEST(AnthropicIngress, ErrorsComeInAnthropicShape) {
  FakeUpstream up;
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  struct Case {
    std::string body;
    int status;
    std::string type;
    std::string message_part;
  };
  const Case cases[] = {
      {R"({"model":"claude-local","messages":[{"role":"user","content":"hi"}]})", 400,
       "invalid_request_error", "max_tokens"},
      {R"({"model":"claude-9","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})", 404,
       "not_found_error", "model 'claude-9' does not exist"},
      {R"({"model":"claude-local","max_tokens":5,"messages":[{"role":"tool","content":"x"}]})", 400,
       "invalid_request_error", "role"},
      {"{not json", 400, "invalid_request_error", "malformed JSON"},
  };
  for (const Case& c : cases) {
    auto r = client.Post("/v1/messages", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    auto v = json::parse(r.body);
    EXPECT_EQ(v.at("type").as_string(), "error") << r.body;
    EXPECT_EQ(v.at("error").at("type").as_string(), c.type) << r.body;
    EXPECT_NE(std::string(v.at("error").at("message").as_string()).find(c.message_part),
              std::string::npos)
        << r.body;
  }
  EXPECT_EQ(up.request_count(), 0u);
}

}  // namespace
}  // namespace hybridgate::testing
