// Faithful same-dialect passthrough through the real binary: an Anthropic client's request reaches
// an Anthropic upstream (the strict fake) as sent — only the model id replaced — with its
// anthropic-beta and anthropic-version headers, and the upstream's answer and stream events come
// back unchanged, every usage field kept. The acceptance case is a recorded Claude Code 2.1.332
// request (testdata/claude_code_request.json: system blocks with cache_control, role:system
// messages, 21 tools, adaptive thinking, context_management, output_config, metadata.user_id;
// its device and session ids zeroed). Also: OpenAI-Beta and OpenAI usage details for OpenAI
// clients of OpenAI-compatible upstreams.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

// Claude Code's headers on the recorded request (x-api-key aside).
const std::map<std::string, std::string> kClaudeCodeHeaders = {
    {"anthropic-version", "2023-06-01"},
    {"anthropic-beta",
     "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
     "per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,effort-2025-11-24"},
    {"anthropic-dangerous-direct-browser-access", "true"},
    {"x-app", "cli"},
    {"user-agent", "claude-cli/2.1.332 (external, sdk-cli)"}};

std::string Recorded() {
  const char* src = std::getenv("HYBRIDGATE_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") +
                   "/tests/integration/testdata/claude_code_request.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The Anthropic provider `claude` (the strict fake's key) serving `name` as upstream model `id`.
std::string AnthropicConfig(const FakeUpstream& up, std::string_view name, std::string_view id) {
  setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
  return "providers:\n  - {name: claude, type: anthropic, base_url: '" + up.base_url() +
         "', api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: " + std::string(name) +
         ", id: " + std::string(id) + "}]}\n";
}

// `body` with its model replaced, as the upstream should receive it.
json::value WithModel(const std::string& body, std::string_view model) {
  json::value v = json::parse(body);
  v.as_object()["model"] = model;
  return v;
}

// An Anthropic usage object with every field the API reports.
constexpr std::string_view kStartUsage =
    R"({"input_tokens":3,"cache_creation_input_tokens":18211,"cache_read_input_tokens":4096,)"
    R"("cache_creation":{"ephemeral_5m_input_tokens":18211,"ephemeral_1h_input_tokens":0},)"
    R"("output_tokens":1,"service_tier":"standard"})";
constexpr std::string_view kEndUsage =
    R"({"input_tokens":3,"cache_creation_input_tokens":18211,"cache_read_input_tokens":4096,)"
    R"("output_tokens":12,"server_tool_use":{"web_search_requests":0}})";

std::vector<std::string> ClaudeStream(std::string_view model) {
  return {
      AnthropicEvent(std::string(R"({"type":"message_start","message":{"id":"msg_01","type":)") +
                     R"("message","role":"assistant","model":")" + std::string(model) +
                     R"(","content":[],"stop_reason":null,"stop_sequence":null,"usage":)" +
                     std::string(kStartUsage) + "}}"),
      AnthropicEvent(R"({"type":"content_block_start","index":0,"content_block":)"
                     R"({"type":"thinking","thinking":"","signature":""}})"),
      AnthropicEvent(R"({"type":"content_block_delta","index":0,"delta":)"
                     R"({"type":"thinking_delta","thinking":"Greet back."}})"),
      AnthropicEvent(R"({"type":"content_block_delta","index":0,"delta":)"
                     R"({"type":"signature_delta","signature":")" +
                     FakeThinkingSignature("Greet back.") + R"("}})"),
      AnthropicEvent(R"({"type":"content_block_stop","index":0})"),
      "event: ping\ndata: {\"type\": \"ping\"}\n\n",
      AnthropicEvent(R"({"type":"content_block_start","index":1,"content_block":)"
                     R"({"type":"text","text":""}})"),
      AnthropicEvent(R"({"type":"content_block_delta","index":1,"delta":)"
                     R"({"type":"text_delta","text":"Hi! What can I do?"}})"),
      AnthropicEvent(R"({"type":"content_block_stop","index":1})"),
      AnthropicEvent(std::string(R"({"type":"message_delta","delta":{"stop_reason":"end_turn",)") +
                     R"("stop_sequence":null},"usage":)" + std::string(kEndUsage) + "}"),
      AnthropicEvent(R"({"type":"message_stop"})")};
}

TEST(Passthrough, RecordedClaudeCodeRequestReachesAnthropicAsSent) {
  const std::string recorded = Recorded();
  ASSERT_FALSE(recorded.empty()) << "testdata/claude_code_request.json";
  const std::string model(json::parse(recorded).at("model").as_string());
  const std::string upstream_model = model + "-20990101";
  const std::vector<std::string> stream = ClaudeStream(upstream_model);
  FakeUpstream up(ValidatingAnthropic([&](const testing::Recorded&) {
    return Action{.content_type = "text/event-stream", .chunks = stream};
  }));
  GatewayProcess gw(AnthropicConfig(up, model, upstream_model));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream("/v1/messages", recorded, kClaudeCodeHeaders);
  const std::string sse = client.ReadAll();
  ASSERT_EQ(head.status, 200) << sse << gw.Log();
  // The recorded request is class 1: Claude Code's no-reply mailbox and paths are nobody's data.
  EXPECT_EQ(head.headers["x-hybridgate-data-class"], "1");
  EXPECT_EQ(head.headers["x-hybridgate-provider"], "claude");

  ASSERT_EQ(up.request_count("/v1/messages"), 1u);
  const testing::Recorded sent = up.requests("/v1/messages").at(0);
  EXPECT_EQ(json::parse(sent.body), WithModel(recorded, upstream_model));
  EXPECT_EQ(sent.headers.at("anthropic-beta"), kClaudeCodeHeaders.at("anthropic-beta"));
  EXPECT_EQ(sent.headers.at("anthropic-version"), "2023-06-01");
  EXPECT_EQ(sent.headers.at("x-api-key"), kFakeAnthropicKey);

  // The upstream's events reach the client as they were, usage and all.
  std::string upstream_sse;
  for (const std::string& c : stream) upstream_sse += c;
  const auto got = NamedSseEvents(sse);
  const auto want = NamedSseEvents(upstream_sse);
  ASSERT_EQ(got.size(), want.size()) << sse;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << i;
    EXPECT_EQ(got[i].second, want[i].second) << i;
  }
  EXPECT_EQ(got.at(0).second.at("message").at("usage"), json::parse(kStartUsage));
  EXPECT_EQ(got.at(got.size() - 2).second.at("usage"), json::parse(kEndUsage));
}

// A request with every block-level field the internal type used to drop: cache_control on
// system blocks, content blocks, a tool and a tool_result, the tool_result's is_error, and a
// top-level cache_control; non-stream, without a client anthropic-version.
constexpr std::string_view kToolTurn = R"({"model":"smart","max_tokens":512,
  "cache_control":{"type":"ephemeral"},
  "system":[{"type":"text","text":"You are terse."},
            {"type":"text","text":"Use tools.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
  "messages":[
    {"role":"user","content":[{"type":"text","text":"list files","cache_control":{"type":"ephemeral"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash",
                                    "input":{"command":"ls"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,
                               "content":[{"type":"text","text":"ls: permission denied"}],
                               "cache_control":{"type":"ephemeral"}}]}],
  "tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object",
            "properties":{"command":{"type":"string"}}},"cache_control":{"type":"ephemeral"}}],
  "temperature":0.7,"service_tier":"auto"})";

constexpr std::string_view kAnswer = R"({"id":"msg_2","type":"message","role":"assistant",
  "model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"No permission."}],
  "stop_reason":"end_turn","stop_sequence":null,
  "usage":{"input_tokens":5,"cache_creation_input_tokens":1200,"cache_read_input_tokens":300,
           "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":1200},
           "output_tokens":4,"server_tool_use":{"web_search_requests":0},
           "service_tier":"standard"}})";

TEST(Passthrough, NonStreamKeepsEveryBlockFieldAndTheWholeUsage) {
  FakeUpstream up(ValidatingAnthropic(
      [](const testing::Recorded&) { return Action{.body = std::string(kAnswer)}; }));
  GatewayProcess gw(AnthropicConfig(up, "smart", "claude-sonnet-4-5-20250929"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Request("POST", "/v1/messages", std::string(kToolTurn),
                          {{"anthropic-beta", "extended-cache-ttl-2025-04-11"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(kAnswer));
  ASSERT_EQ(up.request_count("/v1/messages"), 1u);
  const testing::Recorded sent = up.requests("/v1/messages").at(0);
  EXPECT_EQ(json::parse(sent.body),
            WithModel(std::string(kToolTurn), "claude-sonnet-4-5-20250929"));
  EXPECT_EQ(sent.headers.at("anthropic-beta"), "extended-cache-ttl-2025-04-11");
  // No client version: the adapter's own.
  EXPECT_EQ(sent.headers.at("anthropic-version"), "2023-06-01");
}

TEST(Passthrough, ClientAnthropicVersionWinsAndDuplicateKeysResolveToTheFirst) {
  FakeUpstream up(ValidatingAnthropic(
      [](const testing::Recorded&) { return Action{.body = std::string(kAnswer)}; }));
  GatewayProcess gw(AnthropicConfig(up, "smart", "claude-sonnet-4-5-20250929"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  // The gateway reads the first "max_tokens"; the upstream must not get the second.
  auto r = client.Request(
      "POST", "/v1/messages",
      R"({"model":"smart","max_tokens":16,"max_tokens":99999,"messages":[{"role":"user","content":"hi"}]})",
      {{"anthropic-version", "2024-10-22"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const testing::Recorded sent = up.requests("/v1/messages").at(0);
  EXPECT_EQ(json::parse(sent.body),
            json::parse(R"({"model":"claude-sonnet-4-5-20250929","max_tokens":16,
                            "messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_EQ(sent.headers.at("anthropic-version"), "2024-10-22");
  EXPECT_EQ(sent.headers.count("anthropic-beta"), 0u);
}

// A redacted request cannot be sent as the client wrote it (its body holds the originals): it is
// re-encoded, keeping cache_control and is_error, its betas still forwarded; the answer, a
// translation then, gets the originals back.
TEST(Passthrough, RedactedRequestIsReencodedWithoutTheOriginals) {
  constexpr std::string_view kEmail = "ann.lee@example.com";
  FakeUpstream up(ValidatingAnthropic([](const testing::Recorded&) {
    return Action{.body = R"({"id":"msg_3","type":"message","role":"assistant",
        "model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Wrote <EMAIL_1>."}],
        "stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":9,"cache_read_input_tokens":100,"output_tokens":3}})"};
  }));
  setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
  GatewayProcess gw("providers:\n  - {name: claude, type: anthropic, base_url: '" + up.base_url() +
                    "', zone: external, api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: smart, "
                    "id: claude-sonnet-4-5-20250929}]}\nresidency: {actions: {3: redact, 4: "
                    "redact}}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  json::value req = json::parse(kToolTurn);
  req.as_object()["messages"].as_array().at(0).at("content").at(0).as_object()["text"] =
      "mail " + std::string(kEmail);
  auto r = client.Request("POST", "/v1/messages", json::serialize(req),
                          {{"anthropic-beta", "extended-cache-ttl-2025-04-11"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "1");
  EXPECT_EQ(json::parse(r.body).at("content").at(0).at("text").as_string(),
            "Wrote " + std::string(kEmail) + ".");
  const testing::Recorded sent = up.requests("/v1/messages").at(0);
  EXPECT_EQ(sent.body.find(kEmail), std::string::npos) << sent.body;
  EXPECT_EQ(sent.headers.at("anthropic-beta"), "extended-cache-ttl-2025-04-11");
  const json::value body = json::parse(sent.body);
  EXPECT_EQ(body.at("messages").at(0).at("content").at(0),
            json::parse(R"({"type":"text","text":"mail <EMAIL_1>",
                            "cache_control":{"type":"ephemeral"}})"));
  EXPECT_EQ(body.at("messages").at(2).at("content").at(0).at("is_error"), true);
  EXPECT_EQ(body.at("tools").at(0).at("cache_control"), json::parse(R"({"type":"ephemeral"})"));
}

// OpenAI clients of an OpenAI-compatible upstream: OpenAI-Beta goes along, and the usage details
// (cached and reasoning tokens) come back, non-stream and streamed.
TEST(Passthrough, OpenAiBetaAndUsageDetailsForOpenAiUpstreams) {
  constexpr std::string_view kUsage =
      R"({"prompt_tokens":40,"completion_tokens":9,"total_tokens":49,)"
      R"("prompt_tokens_details":{"cached_tokens":32,"audio_tokens":0},)"
      R"("completion_tokens_details":{"reasoning_tokens":6,"audio_tokens":0,)"
      R"("accepted_prediction_tokens":0,"rejected_prediction_tokens":0}})";
  FakeUpstream up([&](const testing::Recorded& r) {
    if (r.body.find("\"stream\":true") != std::string::npos) {
      return Action{
          .content_type = "text/event-stream",
          .chunks = {SseData(R"({"id":"c1","object":"chat.completion.chunk","created":1,)"
                             R"("model":"gpt-x","choices":[{"index":0,"delta":{"role":)"
                             R"("assistant","content":"ok"},"finish_reason":"stop"}]})"),
                     SseData(std::string(R"({"id":"c1","object":"chat.completion.chunk",)") +
                             R"("created":1,"model":"gpt-x","choices":[],"usage":)" +
                             std::string(kUsage) + "}"),
                     "data: [DONE]\n\n"}};
    }
    json::value body = json::parse(ChatCompletionJson("ok", "gpt-x", 40, 9));
    body.as_object()["usage"] = json::parse(kUsage);
    return Action{.body = json::serialize(body)};
  });
  GatewayProcess gw("providers:\n  - {name: oai, type: openai, base_url: '" + up.base_url() +
                    "', zone: self_hosted, models: [{name: gpt-x, id: gpt-x}]}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Request("POST", "/v1/chat/completions",
                          R"({"model":"gpt-x","messages":[{"role":"user","content":"hi"}]})",
                          {{"OpenAI-Beta", "assistants=v2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("usage"), json::parse(kUsage));
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_EQ(up.requests().at(0).headers.at("openai-beta"), "assistants=v2");

  auto head =
      client.StartStream("/v1/chat/completions",
                         R"({"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},
          "messages":[{"role":"user","content":"hi"}]})");
  const std::string sse = client.ReadAll();
  ASSERT_EQ(head.status, 200) << sse;
  const size_t at = sse.find("\"usage\":");
  ASSERT_NE(at, std::string::npos) << sse;
  const size_t start = sse.rfind("data: ", at) + 6;
  const json::value chunk = json::parse(sse.substr(start, sse.find('\n', start) - start));
  EXPECT_EQ(chunk.at("usage"), json::parse(kUsage));
  EXPECT_EQ(up.requests().at(1).headers.count("openai-beta"), 0u);
}

}  // namespace
}  // namespace hybridgate::testing
