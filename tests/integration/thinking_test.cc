// Anthropic extended thinking through the real binary: a client's tool loop with thinking on,
// against the validating Anthropic fake, which issues a signed thinking block, a
// redacted_thinking block and a tool call, and accepts the next turn only when both blocks come
// back exactly as issued (as the real API does). Anthropic clients, non-stream and streamed (the
// turn reassembled from the gateway's SSE events), and an OpenAI client replaying the gateway's
// thinking_blocks. Asserts what the fake received, and that it refuses altered replays.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <map>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

constexpr std::string_view kMessages = "/v1/messages";
constexpr std::string_view kThinking =
    "The user wants the weather in Paris. I will call get_weather.";
constexpr std::string_view kRedactedData =
    "EmwKAhgBEgy3va3pzix/"
    "LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj";
const std::map<std::string, std::string> kVersion = {{"anthropic-version", "2023-06-01"}};

std::string S(const json::value& v) { return std::string(v.as_string()); }

std::string Config(const FakeUpstream& up) {
  setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
  return "providers:\n  - {name: claude, type: anthropic, base_url: '" + up.base_url() +
         "', api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: smart, id: claude-sonnet-4-5}]}\n";
}

// The thinking blocks the fake issues in the tool-use turn, in order.
json::array IssuedBlocks() {
  return {json::object{{"type", "thinking"},
                       {"thinking", kThinking},
                       {"signature", FakeThinkingSignature(kThinking)}},
          json::object{{"type", "redacted_thinking"}, {"data", kRedactedData}}};
}

std::string Event(const json::object& data) { return AnthropicEvent(json::serialize(data)); }

// The first turn: thinking, redacted thinking, text, then a get_weather call.
Action ToolTurn(bool stream) {
  if (!stream) {
    json::array content = IssuedBlocks();
    content.push_back({{"type", "text"}, {"text", "Let me check."}});
    content.push_back(json::object{{"type", "tool_use"},
                                   {"id", "toolu_01"},
                                   {"name", "get_weather"},
                                   {"input", {{"location", "Paris"}}}});
    json::object msg{
        {"id", "msg_01"},           {"type", "message"},
        {"role", "assistant"},      {"model", "claude-sonnet-4-5"},
        {"content", content},       {"stop_reason", "tool_use"},
        {"stop_sequence", nullptr}, {"usage", {{"input_tokens", 80}, {"output_tokens", 40}}}};
    return Action{.body = json::serialize(msg)};
  }
  const std::string sig = FakeThinkingSignature(kThinking);
  const size_t half = kThinking.size() / 2;
  auto delta = [](int index, json::object d) {
    return Event({{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(d)}});
  };
  auto start = [](int index, json::object block) {
    return Event(
        {{"type", "content_block_start"}, {"index", index}, {"content_block", std::move(block)}});
  };
  auto stop = [](int index) { return Event({{"type", "content_block_stop"}, {"index", index}}); };
  return Action{
      .content_type = "text/event-stream",
      .chunks = {
          AnthropicEvent(
              R"({"type":"message_start","message":{"id":"msg_s1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":80,"output_tokens":1}}})"),
          start(0, {{"type", "thinking"}, {"thinking", ""}}),
          delta(0, {{"type", "thinking_delta"}, {"thinking", kThinking.substr(0, half)}}),
          delta(0, {{"type", "thinking_delta"}, {"thinking", kThinking.substr(half)}}),
          delta(0, {{"type", "signature_delta"}, {"signature", sig}}),
          stop(0),
          start(1, {{"type", "redacted_thinking"}, {"data", kRedactedData}}),
          stop(1),
          start(2, {{"type", "text"}, {"text", ""}}),
          delta(2, {{"type", "text_delta"}, {"text", "Let me check."}}),
          stop(2),
          start(3, {{"type", "tool_use"},
                    {"id", "toolu_01"},
                    {"name", "get_weather"},
                    {"input", json::object()}}),
          delta(3, {{"type", "input_json_delta"}, {"partial_json", R"({"location": "Paris"})"}}),
          stop(3),
          AnthropicEvent(
              R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":40}})"),
          AnthropicEvent(R"({"type":"message_stop"})"),
      }};
}

// The second turn, after the tool result.
Action FinalTurn(bool stream) {
  if (!stream) {
    return Action{.body = R"({"id":"msg_02","type":"message","role":"assistant",
        "model":"claude-sonnet-4-5","content":[{"type":"text","text":"It is 15 degrees in Paris."}],
        "stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":150,"output_tokens":9}})"};
  }
  return Action{
      .content_type = "text/event-stream",
      .chunks = {
          AnthropicEvent(
              R"({"type":"message_start","message":{"id":"msg_s2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":150,"output_tokens":1}}})"),
          AnthropicEvent(
              R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
          AnthropicEvent(
              R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"It is 15 degrees in Paris."}})"),
          AnthropicEvent(R"({"type":"content_block_stop","index":0})"),
          AnthropicEvent(
              R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}})"),
          AnthropicEvent(R"({"type":"message_stop"})"),
      }};
}

// Answers the tool turn first, the final turn once a tool result came back; streams when asked.
FakeUpstream::Script Script() {
  return ValidatingAnthropic([](const Recorded& r) {
    const json::object body = json::parse(r.body).as_object();
    const bool stream = body.contains("stream") && body.at("stream").as_bool();
    const std::string messages = json::serialize(body.at("messages"));
    return messages.find("tool_result") == std::string::npos ? ToolTurn(stream) : FinalTurn(stream);
  });
}

const char* kTools =
    R"([{"name":"get_weather","description":"Weather now","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}])";

// An Anthropic Messages request with thinking on; `messages` is a JSON array.
std::string AnthropicRequest(const json::array& messages, bool stream = false) {
  json::object req{{"model", "smart"},
                   {"max_tokens", 2048},
                   {"thinking", {{"type", "enabled"}, {"budget_tokens", 1024}}},
                   {"tools", json::parse(kTools)},
                   {"messages", messages}};
  if (stream) req["stream"] = true;
  return json::serialize(req);
}

json::object UserAsks() { return {{"role", "user"}, {"content", "Weather in Paris?"}}; }

// Turn two of the loop: the assistant turn as the client holds it, then the tool's result.
json::array ToolLoop(const json::array& assistant_content) {
  json::object result{
      {"type", "tool_result"}, {"tool_use_id", "toolu_01"}, {"content", "15 degrees"}};
  return {UserAsks(), json::object{{"role", "assistant"}, {"content", assistant_content}},
          json::object{{"role", "user"}, {"content", json::array{result}}}};
}

// The leading thinking blocks of the assistant turn in the request the fake received, and the
// raw bytes of that request.
json::array ReceivedThinking(const Recorded& r, size_t message = 1) {
  const json::value body = json::parse(r.body);
  json::array out;
  for (const json::value& b : body.at("messages").at(message).at("content").as_array()) {
    if (b.at("type") != "thinking" && b.at("type") != "redacted_thinking") break;
    out.push_back(b);
  }
  return out;
}

// The signature and the redacted data appear verbatim in the bytes the fake received.
void ExpectIssuedBytes(const Recorded& r) {
  EXPECT_NE(r.body.find("\"signature\":\"" + FakeThinkingSignature(kThinking) + "\""),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"data\":\"" + std::string(kRedactedData) + "\""), std::string::npos)
      << r.body;
}

TEST(Thinking, AnthropicClientToolLoopKeepsSignatureAndRedactedThinking) {
  FakeUpstream up(Script());
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());

  auto r = client.Request("POST", std::string(kMessages), AnthropicRequest({UserAsks()}), kVersion);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value first = json::parse(r.body);
  const json::array& content = first.at("content").as_array();
  ASSERT_EQ(content.size(), 4u) << r.body;
  EXPECT_EQ(json::array({content[0], content[1]}), IssuedBlocks()) << r.body;
  EXPECT_EQ(S(content[2].at("text")), "Let me check.");
  EXPECT_EQ(S(content[3].at("id")), "toolu_01");

  // Turn two replays the answer's content as it came.
  r = client.Request("POST", std::string(kMessages), AnthropicRequest(ToolLoop(content)), kVersion);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("content").at(0).at("text")), "It is 15 degrees in Paris.");
  const auto sent = up.requests(kMessages);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(ReceivedThinking(sent[1]), IssuedBlocks()) << sent[1].body;
  ExpectIssuedBytes(sent[1]);
  EXPECT_EQ(json::parse(sent[1].body).at("thinking"),
            json::parse(R"({"type":"enabled","budget_tokens":1024})"));
}

TEST(Thinking, AnthropicClientStreamedToolLoopKeepsSignatureAndRedactedThinking) {
  FakeUpstream up(Script());
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());

  auto head =
      client.StartStream(std::string(kMessages), AnthropicRequest({UserAsks()}, true), kVersion);
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string sse = client.ReadAll();
  // The events an SDK needs to rebuild the blocks.
  for (const char* needed :
       {R"("content_block":{"type":"thinking")", R"("type":"thinking_delta")",
        R"("type":"signature_delta")", R"("content_block":{"type":"redacted_thinking")"}) {
    EXPECT_NE(sse.find(needed), std::string::npos) << needed << "\n" << sse;
  }
  const json::array content = AnthropicContentFromSse(sse);
  ASSERT_EQ(content.size(), 4u) << sse;
  json::array leading{content[0], content[1]};
  // The translator's thinking block starts with "signature":"" (the SDKs' type requires the
  // field); signature_delta then sets it, so the assembled blocks are the issued ones.
  EXPECT_EQ(leading, IssuedBlocks()) << sse;
  EXPECT_EQ(content[3].at("input"), json::parse(R"({"location":"Paris"})"));

  head = client.StartStream(std::string(kMessages), AnthropicRequest(ToolLoop(content), true),
                            kVersion);
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const json::array final_content = AnthropicContentFromSse(client.ReadAll());
  ASSERT_EQ(final_content.size(), 1u);
  EXPECT_EQ(S(final_content[0].at("text")), "It is 15 degrees in Paris.");
  const auto sent = up.requests(kMessages);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(ReceivedThinking(sent[1]), IssuedBlocks()) << sent[1].body;
  ExpectIssuedBytes(sent[1]);
}

TEST(Thinking, TheFakeRefusesAlteredOrDroppedThinking) {
  FakeUpstream up(Script());
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Request("POST", std::string(kMessages), AnthropicRequest({UserAsks()}), kVersion);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array content = json::parse(r.body).at("content").as_array();

  struct Case {
    const char* what;
    std::function<void(json::array&)> change;
  };
  const Case cases[] = {
      {"signature altered", [](json::array& c) { c[0].as_object()["signature"] = "sig-forged"; }},
      {"signature emptied", [](json::array& c) { c[0].as_object()["signature"] = ""; }},
      {"thinking text altered",
       [](json::array& c) { c[0].as_object()["thinking"] = "The user wants Rome."; }},
      {"redacted_thinking dropped", [](json::array& c) { c.erase(c.begin() + 1); }},
      {"all thinking dropped", [](json::array& c) { c.erase(c.begin(), c.begin() + 2); }},
  };
  for (const Case& c : cases) {
    json::array changed = content;
    c.change(changed);
    const size_t before = up.request_count(kMessages);
    r = client.Request("POST", std::string(kMessages), AnthropicRequest(ToolLoop(changed)),
                       kVersion);
    EXPECT_EQ(r.status, 400) << c.what << ": " << r.body;
    // The refusal is the fake's (the request reached it), in Anthropic's error shape.
    EXPECT_EQ(up.request_count(kMessages), before + 1) << c.what;
    const json::value err = json::parse(r.body);
    EXPECT_EQ(S(err.at("type")), "error") << c.what;
    EXPECT_EQ(S(err.at("error").at("type")), "invalid_request_error") << c.what << ": " << r.body;
  }
  // The intact replay still passes.
  r = client.Request("POST", std::string(kMessages), AnthropicRequest(ToolLoop(content)), kVersion);
  EXPECT_EQ(r.status, 200) << r.body;
}

// An OpenAI client gets the thinking as reasoning_content plus HybridGate's thinking_blocks, and
// the same blocks reach Anthropic when it sends the message back.
TEST(Thinking, OpenAiClientReplaysThinkingBlocks) {
  FakeUpstream up(Script());
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const json::value tools = json::parse(
      R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])");
  auto request = [&](const json::array& messages) {
    return json::serialize(json::object{
        {"model", "smart"}, {"reasoning_effort", "low"}, {"tools", tools}, {"messages", messages}});
  };
  auto r = client.Post("/v1/chat/completions", request({UserAsks()}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value first = json::parse(r.body);
  const json::object& message = first.at("choices").at(0).at("message").as_object();
  EXPECT_EQ(S(message.at("reasoning_content")), kThinking);
  EXPECT_EQ(message.at("thinking_blocks"), IssuedBlocks()) << r.body;
  EXPECT_EQ(S(message.at("tool_calls").at(0).at("id")), "toolu_01");
  EXPECT_EQ(json::parse(up.requests(kMessages).at(0).body).at("thinking"),
            json::parse(R"({"type":"enabled","budget_tokens":2048})"));

  r = client.Post("/v1/chat/completions", request({UserAsks(), message,
                                                   json::object{{"role", "tool"},
                                                                {"tool_call_id", "toolu_01"},
                                                                {"content", "15 degrees"}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(S(json::parse(r.body).at("choices").at(0).at("message").at("content")),
            "It is 15 degrees in Paris.");
  const auto sent = up.requests(kMessages);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(ReceivedThinking(sent[1]), IssuedBlocks()) << sent[1].body;
  ExpectIssuedBytes(sent[1]);
}

// The same from a stream: thinking_blocks entries (start, signature, redacted) merged by index,
// each thinking block's text the reasoning_content that follows its start.
TEST(Thinking, OpenAiClientReassemblesThinkingBlocksFromAStream) {
  FakeUpstream up(Script());
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream("/v1/chat/completions",
                                 R"({"model":"smart","reasoning_effort":"low","stream":true,
          "tools":[{"type":"function","function":{"name":"get_weather"}}],
          "messages":[{"role":"user","content":"Weather in Paris?"}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string sse = client.ReadAll();
  json::array blocks;
  std::string reasoning, args;
  int current = -1;
  for (size_t pos = 0; (pos = sse.find("data: ", pos)) != std::string::npos;) {
    const size_t end = sse.find("\n\n", pos);
    const std::string data = sse.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") break;
    const json::value chunk = json::parse(data);
    if (chunk.at("choices").as_array().empty()) continue;
    const json::object& d = chunk.at("choices").at(0).at("delta").as_object();
    if (const auto* entries = d.if_contains("thinking_blocks")) {
      for (const json::value& e : entries->as_array()) {
        const size_t k = e.at("index").to_number<size_t>();
        if (blocks.size() <= k) blocks.resize(k + 1, json::object());
        json::object& b = blocks[k].as_object();
        for (const auto& [key, v] : e.as_object()) {
          if (key != "index") b[key] = v;
        }
        if (e.as_object().contains("type")) current = static_cast<int>(k);
      }
    }
    if (const auto* t = d.if_contains("reasoning_content")) {
      reasoning += t->as_string();
      json::object& b = blocks.at(current).as_object();
      b["thinking"] = std::string(b.contains("thinking") ? b.at("thinking").as_string() : "") +
                      std::string(t->as_string());
    }
    if (const auto* calls = d.if_contains("tool_calls")) {
      args += calls->at(0).at("function").at("arguments").as_string();
    }
  }
  EXPECT_EQ(reasoning, kThinking);
  ASSERT_EQ(blocks.size(), 2u) << sse;
  EXPECT_EQ(blocks, IssuedBlocks()) << sse;

  json::object assistant{
      {"role", "assistant"},
      {"content", nullptr},
      {"thinking_blocks", blocks},
      {"tool_calls",
       json::array{json::object{{"id", "toolu_01"},
                                {"type", "function"},
                                {"function", {{"name", "get_weather"}, {"arguments", args}}}}}}};
  auto r = client.Post(
      "/v1/chat/completions",
      json::serialize(json::object{
          {"model", "smart"},
          {"reasoning_effort", "low"},
          {"tools", json::parse(R"([{"type":"function","function":{"name":"get_weather"}}])")},
          {"messages", json::array{UserAsks(), assistant,
                                   json::object{{"role", "tool"},
                                                {"tool_call_id", "toolu_01"},
                                                {"content", "15 degrees"}}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto sent = up.requests(kMessages);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(ReceivedThinking(sent[1]), IssuedBlocks()) << sent[1].body;
  ExpectIssuedBytes(sent[1]);
}

}  // namespace
}  // namespace hybridgate::testing
