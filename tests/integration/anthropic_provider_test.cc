// Provider type `anthropic` through the real binary: OpenAI- and Anthropic-dialect clients served
// by a fake of Anthropic's Messages API that validates requests like the real one (headers,
// max_tokens, roles, unknown fields, tool ids). Asserts the bytes the upstream received and what
// the client got: text, tool calls both ways, thinking, streaming, usage and errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kMessages = "/v1/messages";

std::string Config(const FakeUpstream& up, const std::string& extra_providers = "") {
  setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
  return "providers:\n  - {name: claude, type: anthropic, base_url: '" + up.base_url() +
         "', api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: smart, id: claude-sonnet-4-5}]}\n" +
         extra_providers;
}

// The data of each "data: " line of an OpenAI SSE body, "[DONE]" included.
std::vector<std::string> DataLines(const std::string& sse) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    const size_t end = sse.find("\n\n", pos);
    out.push_back(sse.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

std::string S(const json::value& v) { return std::string(v.as_string()); }

const char* kToolUseAnswer = R"({
  "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
  "content": [
    {"type": "text", "text": "Let me check."},
    {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
     "input": {"location": "Paris", "unit": "celsius"}}],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 100, "output_tokens": 30, "cache_read_input_tokens": 50,
            "cache_creation_input_tokens": 10}})";

const char* kTextAnswer = R"({
  "id": "msg_02", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
  "content": [{"type": "text", "text": "It is 15 degrees in Paris."}],
  "stop_reason": "end_turn", "stop_sequence": null,
  "usage": {"input_tokens": 200, "output_tokens": 9}})";

TEST(AnthropicProvider, TheFakeRejectsWhatTheRealApiRejects) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) { return Action{.body = kTextAnswer}; }));
  TestClient client(up.port());
  const std::string ok =
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})";
  const std::map<std::string, std::string> good = {{"x-api-key", std::string(kFakeAnthropicKey)},
                                                   {"anthropic-version", "2023-06-01"}};
  EXPECT_EQ(client.Request("POST", "/v1/messages", ok, good).status, 200);
  auto r = client.Request("POST", "/v1/messages", ok, {{"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(S(json::parse(r.body).at("error").at("type")), "authentication_error");
  r = client.Request("POST", "/v1/messages", ok, {{"x-api-key", std::string(kFakeAnthropicKey)}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("anthropic-version"), std::string::npos);
  for (
      const std::string bad :
      {R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
       R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]})",
       R"({"model":"m","max_tokens":5,"seed":1,"messages":[{"role":"user","content":"hi"}]})",
       R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":"1"}]}]})"}) {
    r = client.Request("POST", "/v1/messages", bad, good);
    EXPECT_EQ(r.status, 400) << bad;
    auto v = json::parse(r.body);
    EXPECT_EQ(S(v.at("type")), "error");
    EXPECT_EQ(S(v.at("error").at("type")), "invalid_request_error");
  }
}

TEST(AnthropicProvider, ToolCallRoundTripWithUsageAndCachedTokens) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded& r) {
    auto body = json::parse(r.body);
    const bool has_result = body.at("messages").as_array().size() > 1;
    return Action{.body = has_result ? kTextAnswer : kToolUseAnswer};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
          "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}],
         "tool_choice":{"type":"function","function":{"name":"get_weather"}})";
  auto r = client.Post("/v1/chat/completions",
                       R"({"model":"smart","temperature":0.2,"messages":[
                           {"role":"system","content":"Be brief."},
                           {"role":"user","content":"Weather in Paris?"}],)" +
                           tools + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "claude");
  auto v = json::parse(r.body);
  EXPECT_EQ(S(v.at("object")), "chat.completion");
  const auto& choice = v.at("choices").at(0);
  EXPECT_EQ(S(choice.at("finish_reason")), "tool_calls");
  EXPECT_EQ(S(choice.at("message").at("content")), "Let me check.");
  const auto& call = choice.at("message").at("tool_calls").at(0);
  EXPECT_EQ(S(call.at("id")), "toolu_01");
  EXPECT_EQ(S(call.at("type")), "function");
  EXPECT_EQ(S(call.at("function").at("name")), "get_weather");
  EXPECT_EQ(json::parse(call.at("function").at("arguments").as_string()),
            json::parse(R"({"location":"Paris","unit":"celsius"})"));
  // Anthropic's input_tokens excludes cache reads and writes; OpenAI's prompt_tokens includes them.
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 160);
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 30);
  EXPECT_EQ(v.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64(), 50);

  // What Anthropic received: its own wire format.
  const auto sent = up.requests(kMessages);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].headers.at("x-api-key"), kFakeAnthropicKey);
  EXPECT_EQ(sent[0].headers.at("anthropic-version"), "2023-06-01");
  EXPECT_EQ(sent[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(sent[0].headers.count("authorization"), 0u);
  auto body = json::parse(sent[0].body);
  EXPECT_EQ(S(body.at("model")), "claude-sonnet-4-5");
  EXPECT_EQ(body.at("max_tokens").as_int64(), 4096) << "the documented default";
  EXPECT_EQ(S(body.at("system")), "Be brief.");
  EXPECT_EQ(body.at("messages").as_array().size(), 1u);
  EXPECT_EQ(S(body.at("messages").at(0).at("role")), "user");
  EXPECT_DOUBLE_EQ(body.at("temperature").as_double(), 0.2);
  EXPECT_EQ(S(body.at("tools").at(0).at("name")), "get_weather");
  EXPECT_EQ(S(body.at("tools").at(0).at("input_schema").at("type")), "object");
  EXPECT_EQ(body.at("tool_choice"), json::parse(R"({"type":"tool","name":"get_weather"})"));
  EXPECT_FALSE(body.as_object().contains("stream_options"));

  // Second turn: the client sends the call and its result back (max_tokens its own).
  r = client.Post("/v1/chat/completions",
                  R"({"model":"smart","max_tokens":300,"messages":[
                      {"role":"system","content":"Be brief."},
                      {"role":"user","content":"Weather in Paris?"},
                      {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_01","type":"function",
                        "function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},
                      {"role":"tool","tool_call_id":"toolu_01","content":"15 C"}],)" +
                      tools + "}");
  ASSERT_EQ(r.status, 200) << r.body << gw.Log();
  v = json::parse(r.body);
  EXPECT_EQ(S(v.at("choices").at(0).at("message").at("content")), "It is 15 degrees in Paris.");
  EXPECT_EQ(S(v.at("choices").at(0).at("finish_reason")), "stop");
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 200);
  body = json::parse(up.requests(kMessages).at(1).body);
  EXPECT_EQ(body.at("max_tokens").as_int64(), 300);
  const auto& msgs = body.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(S(msgs[1].at("role")), "assistant");
  EXPECT_EQ(S(msgs[1].at("content").at(0).at("type")), "tool_use");
  EXPECT_EQ(S(msgs[1].at("content").at(0).at("id")), "toolu_01");
  EXPECT_EQ(msgs[1].at("content").at(0).at("input"), json::parse(R"({"location":"Paris"})"));
  EXPECT_EQ(S(msgs[2].at("role")), "user");
  EXPECT_EQ(S(msgs[2].at("content").at(0).at("type")), "tool_result");
  EXPECT_EQ(S(msgs[2].at("content").at(0).at("tool_use_id")), "toolu_01");
}

std::vector<std::string> ThinkingToolStream() {
  return {
      AnthropicEvent(
          R"({"type":"message_start","message":{"id":"msg_s1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":1,"cache_read_input_tokens":8}}})"),
      AnthropicEvent(
          R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"User wants "}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"weather."}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}})"),
      AnthropicEvent(R"({"type":"content_block_stop","index":0})"),
      AnthropicEvent(R"({"type": "ping"})"),
      AnthropicEvent(
          R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking "}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"now."}})"),
      AnthropicEvent(R"({"type":"content_block_stop","index":1})"),
      AnthropicEvent(
          R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_s1","name":"get_weather","input":{}}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":" \"Par"}})"),
      AnthropicEvent(
          R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"is\"}"}})"),
      AnthropicEvent(R"({"type":"content_block_stop","index":2})"),
      AnthropicEvent(
          R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":25}})"),
      AnthropicEvent(R"({"type":"message_stop"})"),
  };
}

TEST(AnthropicProvider, StreamTranslatesThinkingTextAndToolArgumentFragments) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) {
    return Action{
        .content_type = "text/event-stream", .chunks = ThinkingToolStream(), .chunk_delay = 2ms};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::string req =
      R"({"model":"smart","stream":true,"stream_options":{"include_usage":true},
          "messages":[{"role":"user","content":"Weather in Paris?"}],
          "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]})";
  auto head = client.StartStream("/v1/chat/completions", req);
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  EXPECT_EQ(head.headers["content-type"], "text/event-stream");
  const std::string all = client.ReadAll();
  const auto lines = DataLines(all);
  ASSERT_GE(lines.size(), 3u) << all;
  EXPECT_EQ(lines.back(), "[DONE]") << all;
  std::string reasoning, text, args, finish, tool_id, tool_name;
  const json::value* usage_chunk = nullptr;
  std::vector<json::value> chunks;
  for (size_t i = 0; i + 1 < lines.size(); ++i) chunks.push_back(json::parse(lines[i]));
  for (const auto& c : chunks) {
    EXPECT_EQ(S(c.at("object")), "chat.completion.chunk");
    if (c.at("choices").as_array().empty()) {
      usage_chunk = &c;
      continue;
    }
    const auto& ch = c.at("choices").at(0);
    const auto& d = ch.at("delta").as_object();
    if (d.contains("reasoning_content")) reasoning += S(d.at("reasoning_content"));
    if (d.contains("content")) text += S(d.at("content"));
    if (d.contains("tool_calls")) {
      const auto& tc = d.at("tool_calls").at(0);
      EXPECT_EQ(tc.at("index").as_int64(), 0);
      if (tc.as_object().contains("id")) {
        tool_id = S(tc.at("id"));
        tool_name = S(tc.at("function").at("name"));
      }
      args += S(tc.at("function").at("arguments"));
    }
    if (!ch.at("finish_reason").is_null()) finish = S(ch.at("finish_reason"));
  }
  EXPECT_EQ(reasoning, "User wants weather.");
  EXPECT_EQ(text, "Checking now.");
  EXPECT_EQ(tool_id, "toolu_s1");
  EXPECT_EQ(tool_name, "get_weather");
  EXPECT_EQ(json::parse(args), json::parse(R"({"location":"Paris"})"));
  EXPECT_EQ(finish, "tool_calls");
  ASSERT_NE(usage_chunk, nullptr) << all;
  EXPECT_EQ(&chunks.back(), usage_chunk) << "usage comes last, before [DONE]";
  EXPECT_EQ(usage_chunk->at("usage").at("prompt_tokens").as_int64(), 48);
  EXPECT_EQ(usage_chunk->at("usage").at("completion_tokens").as_int64(), 25);
  EXPECT_EQ(usage_chunk->at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64(), 8);

  auto body = json::parse(up.requests(kMessages).at(0).body);
  EXPECT_TRUE(body.at("stream").as_bool());
  EXPECT_EQ(up.requests(kMessages).at(0).headers.at("accept"), "text/event-stream");
  EXPECT_FALSE(body.as_object().contains("stream_options"));

  // Without include_usage the usage chunk is not forwarded; the answer is the same.
  head = client.StartStream(
      "/v1/chat/completions",
      R"({"model":"smart","stream":true,"messages":[{"role":"user","content":"again"}]})");
  ASSERT_EQ(head.status, 200);
  const std::string second = client.ReadAll();
  EXPECT_EQ(second.find(R"("usage")"), std::string::npos) << second;
  EXPECT_NE(second.find("data: [DONE]"), std::string::npos) << second;
  EXPECT_NE(second.find(R"("finish_reason":"tool_calls")"), std::string::npos) << second;
  // The request log has the stream's usage whether or not the client asked for it.
  const auto logged = [&] {
    const std::string log = gw.Log();
    int n = 0;
    for (size_t p = 0;
         (p = log.find(R"("input_tokens":48,"output_tokens":25)", p)) != std::string::npos; ++p) {
      ++n;
    }
    return n;
  };
  EXPECT_TRUE(FakeUpstream::WaitFor([&] { return logged() == 2; }, 3s)) << gw.Log();
}

TEST(AnthropicProvider, RateLimitFallsBackToTheNextProvider) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) {
    return Action{
        .status = 429,
        .body =
            R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}})",
        .headers = {{"retry-after", "7"}}};
  }));
  FakeUpstream backup([](const Recorded&) {
    return Action{.body = ChatCompletionJson("from backup", "qwen", 3, 2)};
  });
  GatewayProcess gw(Config(up, "  - {name: backup, type: openai, base_url: '" + backup.base_url() +
                                   "', models: [{name: smart, id: qwen}]}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions",
                       R"({"model":"smart","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "backup");
  EXPECT_NE(r.body.find("from backup"), std::string::npos);
  EXPECT_EQ(up.request_count(kMessages), 1u);
  EXPECT_EQ(backup.request_count(), 1u);
  // A stream falls back the same way (nothing had reached the client).
  backup.SetScript([](const Recorded&) {
    return Action{.content_type = "text/event-stream", .chunks = ChatStreamChunks({"b", "k"})};
  });
  auto head = client.StartStream(
      "/v1/chat/completions",
      R"({"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["x-hybridgate-provider"], "backup");
  const std::string all = client.ReadAll();
  EXPECT_NE(all.find("data: [DONE]"), std::string::npos) << all;
  EXPECT_EQ(up.request_count(kMessages), 2u);
}

TEST(AnthropicProvider, OverloadedAloneIsARetryableRateLimitForTheClient) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) {
    return Action{
        .status = 529,
        .body = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
        .headers = {{"retry-after", "3"}}};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions",
                       R"({"model":"smart","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 429) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(S(v.at("error").at("type")), "rate_limit_error") << r.body;
  EXPECT_NE(S(v.at("error").at("message")).find("provider 'claude'"), std::string::npos) << r.body;
  EXPECT_NE(S(v.at("error").at("message")).find("Overloaded"), std::string::npos) << r.body;
}

TEST(AnthropicProvider, RejectedKeyIsUpstreamAuthNamingTheProvider) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) { return Action{.body = kTextAnswer}; }));
  setenv("HG_IT_ANTHROPIC_BAD_KEY", "sk-ant-wrong", 1);
  GatewayProcess gw("providers:\n  - {name: claude, type: anthropic, base_url: '" + up.base_url() +
                    "', api_key_env: HG_IT_ANTHROPIC_BAD_KEY, models: [{name: smart, id: c}]}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  for (const bool stream : {false, true}) {
    auto r =
        client.Post("/v1/chat/completions", std::string(R"({"model":"smart","stream":)") +
                                                (stream ? "true" : "false") +
                                                R"(,"messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.status, 502) << r.body;
    auto v = json::parse(r.body);
    EXPECT_EQ(S(v.at("error").at("code")), "upstream_auth") << r.body;
    EXPECT_NE(S(v.at("error").at("message")).find("provider 'claude' rejected"), std::string::npos)
        << r.body;
    EXPECT_EQ(r.body.find("sk-ant-wrong"), std::string::npos) << "never echo the key";
  }
  // /readyz says why, from GET {base}/models with the same headers.
  EXPECT_TRUE(FakeUpstream::WaitFor([&] { return up.request_count("/v1/models") > 0; }, 5s));
  EXPECT_EQ(up.requests("/v1/models").at(0).headers.at("x-api-key"), "sk-ant-wrong");
  EXPECT_EQ(up.requests("/v1/models").at(0).headers.at("anthropic-version"), "2023-06-01");
}

TEST(AnthropicProvider, ClientErrorsAndContextLengthPassThroughInTheClientsDialect) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) {
    return Action{
        .status = 400,
        .body =
            R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})"};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions",
                       R"({"model":"smart","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(S(v.at("error").at("code")), "context_length_exceeded") << r.body;
  EXPECT_NE(S(v.at("error").at("message")).find("prompt is too long"), std::string::npos);
}

TEST(AnthropicProvider, ErrorEventMidStreamEndsTheClientStreamWithAnErrorAndNoDone) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) {
    auto chunks = ThinkingToolStream();
    chunks.resize(9);  // through the first text delta
    chunks.push_back(AnthropicEvent(
        R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
    return Action{.content_type = "text/event-stream", .chunks = chunks, .chunk_delay = 2ms};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream(
      "/v1/chat/completions",
      R"({"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string all = client.ReadAll();
  EXPECT_TRUE(client.stream_done()) << "terminated, not left hanging";
  EXPECT_NE(all.find(R"("content":"Checking ")"), std::string::npos) << all;
  EXPECT_EQ(all.find("[DONE]"), std::string::npos) << all;
  const auto lines = DataLines(all);
  ASSERT_FALSE(lines.empty());
  auto last = json::parse(lines.back());
  EXPECT_NE(S(last.at("error").at("message")).find("Overloaded"), std::string::npos) << all;
  EXPECT_EQ(S(last.at("error").at("type")), "rate_limit_error") << all;

  // A stream cut before message_stop is an error too, never an answer that looks complete.
  up.SetScript(ValidatingAnthropic([](const Recorded&) {
    auto chunks = ThinkingToolStream();
    chunks.resize(10);
    return Action{.content_type = "text/event-stream", .chunks = chunks};
  }));
  head = client.StartStream(
      "/v1/chat/completions",
      R"({"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(head.status, 200);
  const std::string cut = client.ReadAll();
  EXPECT_EQ(cut.find("[DONE]"), std::string::npos) << cut;
  EXPECT_NE(cut.find("without completing it"), std::string::npos) << cut;
}

TEST(AnthropicProvider, AnthropicClientRoundTripsThroughAnAnthropicUpstream) {
  FakeUpstream up(ValidatingAnthropic([](const Recorded& r) {
    if (json::parse(r.body).as_object().contains("stream")) {
      return Action{.content_type = "text/event-stream", .chunks = ThinkingToolStream()};
    }
    return Action{.body = kToolUseAnswer};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::string req =
      R"({"model":"smart","max_tokens":1024,"system":"Be brief.",
          "thinking":{"type":"enabled","budget_tokens":512},
          "tools":[{"name":"get_weather","description":"Weather now","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}],
          "tool_choice":{"type":"auto"},
          "messages":[{"role":"user","content":"Weather in Paris?"}]})";
  auto r = client.Request("POST", "/v1/messages", req, {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(S(v.at("type")), "message");
  EXPECT_EQ(S(v.at("stop_reason")), "tool_use");
  EXPECT_EQ(S(v.at("content").at(0).at("text")), "Let me check.");
  EXPECT_EQ(S(v.at("content").at(1).at("type")), "tool_use");
  EXPECT_EQ(S(v.at("content").at(1).at("id")), "toolu_01");
  EXPECT_EQ(v.at("content").at(1).at("input"),
            json::parse(R"({"location":"Paris","unit":"celsius"})"));
  EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 30);
  EXPECT_EQ(v.at("usage").at("cache_read_input_tokens").as_int64(), 50);
  // Anthropic-only fields (thinking) reach an Anthropic upstream; the request keeps its shape.
  auto sent = json::parse(up.requests(kMessages).at(0).body);
  EXPECT_EQ(S(sent.at("model")), "claude-sonnet-4-5");
  EXPECT_EQ(sent.at("max_tokens").as_int64(), 1024);
  EXPECT_EQ(S(sent.at("system")), "Be brief.");
  EXPECT_EQ(sent.at("thinking"), json::parse(R"({"type":"enabled","budget_tokens":512})"));
  EXPECT_EQ(sent.at("tool_choice"), json::parse(R"({"type":"auto"})"));
  EXPECT_EQ(S(sent.at("tools").at(0).at("name")), "get_weather");

  // Stream: thinking, text and tool_use blocks come back as Anthropic events.
  auto head = client.StartStream(
      "/v1/messages",
      R"({"model":"smart","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Weather?"}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const auto events = NamedSseEvents(client.ReadAll());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().first, "message_start");
  EXPECT_EQ(events.back().first, "message_stop");
  std::string thinking, text, args, stop;
  for (const auto& [name, data] : events) {
    if (name == "content_block_start" && S(data.at("content_block").at("type")) == "tool_use") {
      EXPECT_EQ(S(data.at("content_block").at("id")), "toolu_s1");
    }
    if (name == "content_block_delta") {
      const auto& d = data.at("delta");
      if (S(d.at("type")) == "thinking_delta") thinking += S(d.at("thinking"));
      if (S(d.at("type")) == "text_delta") text += S(d.at("text"));
      if (S(d.at("type")) == "input_json_delta") args += S(d.at("partial_json"));
    }
    if (name == "message_delta") {
      stop = S(data.at("delta").at("stop_reason"));
      EXPECT_EQ(data.at("usage").at("output_tokens").as_int64(), 25);
    }
  }
  EXPECT_EQ(thinking, "User wants weather.");
  EXPECT_EQ(text, "Checking now.");
  EXPECT_EQ(json::parse(args), json::parse(R"({"location":"Paris"})"));
  EXPECT_EQ(stop, "tool_use");
}

}  // namespace
}  // namespace hybridgate::testing
