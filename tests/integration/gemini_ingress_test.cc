// POST /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse through the real
// binary: a Gemini-dialect client served by an OpenAI-compatible upstream and by an Anthropic one
// (a fake that validates like the real API), non-stream and stream, with function calls and
// multi-turn history, and errors in Google's shape. Asserts what each upstream received and the
// bytes the client got.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string Providers(const FakeUpstream& openai, const FakeUpstream& anthropic) {
  setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
  return "providers:\n  - {name: local, type: openai, base_url: '" + openai.base_url() +
         "', zone: self_hosted, models: [{name: gemini-local, id: qwen2.5-7b}]}\n"
         "  - {name: claude, type: anthropic, base_url: '" +
         anthropic.base_url() +
         "', api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: gemini-claude, id: "
         "claude-sonnet-4-5}]}\n";
}

std::string Generate(std::string_view model) {
  return "/v1beta/models/" + std::string(model) + ":generateContent";
}
std::string Stream(std::string_view model) {
  return "/v1beta/models/" + std::string(model) + ":streamGenerateContent?alt=sse";
}

// The GenerateContentResponse of each "data:" event (Google separates events with CRLF CRLF).
std::vector<json::value> Events(const std::string& sse) {
  std::vector<json::value> out;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    size_t end = sse.find("\r\n\r\n", pos);
    if (end == std::string::npos) end = sse.size();
    out.push_back(json::parse(sse.substr(pos + 6, end - pos - 6)));
    pos = end;
  }
  return out;
}

std::string S(const json::value& v) { return std::string(v.as_string()); }

// A multi-turn history: the user asks, the model called a function, the user sends its result.
constexpr const char* kHistory = R"({
  "systemInstruction": {"parts": [{"text": "Be brief."}]},
  "contents": [
    {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
    {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]},
    {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 15}}}]}],
  "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Current weather",
    "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}},
                   "required": ["location"]}}]}],
  "generationConfig": {"temperature": 0.2, "maxOutputTokens": 100}})";

TEST(GeminiIngress, HistoryWithFunctionCallIsServedByAnOpenAiUpstream) {
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ChatCompletionJson("It is 15 degrees.", "qwen2.5-7b", 21, 4)};
  });
  FakeUpstream unused;
  GatewayProcess gw(Providers(up, unused));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post(Generate("gemini-local"), kHistory);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers["content-type"].find("application/json"), std::string::npos);
  const auto v = json::parse(r.body);
  const auto& cand = v.at("candidates").at(0);
  EXPECT_EQ(S(cand.at("content").at("role")), "model");
  EXPECT_EQ(S(cand.at("content").at("parts").at(0).at("text")), "It is 15 degrees.");
  EXPECT_EQ(S(cand.at("finishReason")), "STOP");
  EXPECT_EQ(
      v.at("usageMetadata"),
      json::parse(R"({"promptTokenCount":21,"candidatesTokenCount":4,"totalTokenCount":25})"));
  // What the upstream received: OpenAI messages, the call and its result paired by a stable id.
  const auto sent = json::parse(up.requests().at(0).body);
  EXPECT_EQ(S(sent.at("model")), "qwen2.5-7b");
  EXPECT_EQ(sent.at("max_tokens").as_int64(), 100);
  EXPECT_DOUBLE_EQ(sent.at("temperature").as_double(), 0.2);
  const auto& msgs = sent.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 4u) << sent;
  EXPECT_EQ(S(msgs[0].at("role")), "system");
  EXPECT_EQ(S(msgs[0].at("content")), "Be brief.");
  EXPECT_EQ(S(msgs[1].at("content")), "Weather in Paris?");
  const auto& call = msgs[2].at("tool_calls").at(0);
  EXPECT_EQ(S(call.at("function").at("name")), "get_weather");
  EXPECT_EQ(json::parse(S(call.at("function").at("arguments"))),
            json::parse(R"({"location":"Paris"})"));
  EXPECT_EQ(S(msgs[3].at("role")), "tool");
  EXPECT_EQ(S(msgs[3].at("tool_call_id")), S(call.at("id")));
  EXPECT_EQ(json::parse(S(msgs[3].at("content"))), json::parse(R"({"temp_c":15})"));
  // Google's Schema became JSON Schema.
  EXPECT_EQ(sent.at("tools").at(0).at("function").at("parameters"),
            json::parse(R"({"type":"object","properties":{"location":{"type":"string"}},
                            "required":["location"]})"));
  // The same under /v1/.
  r = client.Post("/v1/models/gemini-local:generateContent", kHistory);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(GeminiIngress, StreamedFunctionCallArrivesWholeFromAnOpenAiUpstream) {
  FakeUpstream up([](const Recorded&) {
    return Action{.content_type = "text/event-stream",
                  .chunks = ToolCallStreamChunks(
                      "call_9", "get_weather", {"{\"loc", "ation\":", "\"Rome\"}"}, "qwen2.5-7b")};
  });
  FakeUpstream unused;
  GatewayProcess gw(Providers(up, unused));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head =
      client.StartStream(Stream("gemini-local"),
                         R"({"contents":[{"role":"user","parts":[{"text":"Weather in Rome?"}]}],
          "tools":[{"functionDeclarations":[{"name":"get_weather"}]}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  EXPECT_EQ(head.headers["content-type"], "text/event-stream");
  const std::string body = client.ReadAll();
  const auto events = Events(body);
  ASSERT_GE(events.size(), 2u) << body;
  int calls = 0;
  for (const auto& e : events) {
    for (const auto& p : e.at("candidates").at(0).at("content").at("parts").as_array()) {
      if (!p.as_object().contains("functionCall")) continue;
      ++calls;
      EXPECT_EQ(S(p.at("functionCall").at("name")), "get_weather");
      EXPECT_EQ(S(p.at("functionCall").at("id")), "call_9");
      EXPECT_EQ(p.at("functionCall").at("args"), json::parse(R"({"location":"Rome"})"));
    }
  }
  EXPECT_EQ(calls, 1) << body;
  const auto& last = events.back();
  EXPECT_EQ(S(last.at("candidates").at(0).at("finishReason")), "STOP");
  EXPECT_TRUE(last.as_object().contains("usageMetadata")) << body;
  const auto sent = json::parse(up.requests().at(0).body);
  EXPECT_TRUE(sent.at("stream").as_bool());
  EXPECT_TRUE(sent.at("stream_options").at("include_usage").as_bool());
}

const char* kToolUseAnswer = R"({
  "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
  "content": [
    {"type": "text", "text": "Let me check Lyon too."},
    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "Lyon"}}],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 100, "output_tokens": 30, "cache_read_input_tokens": 50,
            "cache_creation_input_tokens": 10}})";

TEST(GeminiIngress, HistoryWithFunctionCallIsServedByAnAnthropicUpstream) {
  FakeUpstream openai;
  FakeUpstream up(
      ValidatingAnthropic([](const Recorded&) { return Action{.body = kToolUseAnswer}; }));
  GatewayProcess gw(Providers(openai, up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post(Generate("gemini-claude"), kHistory);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto v = json::parse(r.body);
  const auto& parts = v.at("candidates").at(0).at("content").at("parts").as_array();
  ASSERT_EQ(parts.size(), 2u) << r.body;
  EXPECT_EQ(S(parts[0].at("text")), "Let me check Lyon too.");
  EXPECT_EQ(S(parts[1].at("functionCall").at("name")), "get_weather");
  EXPECT_EQ(S(parts[1].at("functionCall").at("id")), "toolu_01");
  EXPECT_EQ(parts[1].at("functionCall").at("args"), json::parse(R"({"location":"Lyon"})"));
  EXPECT_EQ(S(v.at("candidates").at(0).at("finishReason")), "STOP");
  // Anthropic's input excludes cached tokens; Gemini's promptTokenCount includes them.
  EXPECT_EQ(v.at("usageMetadata").at("promptTokenCount").as_int64(), 160);
  EXPECT_EQ(v.at("usageMetadata").at("cachedContentTokenCount").as_int64(), 50);
  EXPECT_EQ(v.at("usageMetadata").at("candidatesTokenCount").as_int64(), 30);
  // What Anthropic received (the validating fake already checked roles and tool ids).
  const auto sent = json::parse(up.requests("/v1/messages").at(0).body);
  EXPECT_EQ(S(sent.at("system")), "Be brief.");
  EXPECT_EQ(sent.at("max_tokens").as_int64(), 100);
  const auto& msgs = sent.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 3u) << sent;
  EXPECT_EQ(S(msgs[1].at("content").at(0).at("type")), "tool_use");
  EXPECT_EQ(S(msgs[2].at("content").at(0).at("type")), "tool_result");
  EXPECT_EQ(S(msgs[2].at("content").at(0).at("tool_use_id")),
            S(msgs[1].at("content").at(0).at("id")));
}

TEST(GeminiIngress, AnthropicStreamIsTranslatedChunkByChunk) {
  FakeUpstream openai;
  FakeUpstream up(ValidatingAnthropic([](const Recorded&) {
    return Action{
        .content_type = "text/event-stream",
        .chunks = {
            AnthropicEvent(
                R"({"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}})"),
            AnthropicEvent(
                R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
            AnthropicEvent(
                R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bon"}})"),
            AnthropicEvent(
                R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"jour"}})"),
            AnthropicEvent(R"({"type":"content_block_stop","index":0})"),
            AnthropicEvent(
                R"({"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":2}})"),
            AnthropicEvent(R"({"type":"message_stop"})")}};
  }));
  GatewayProcess gw(Providers(openai, up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream(Stream("gemini-claude"),
                                 R"({"contents":[{"parts":[{"text":"Say hello in French"}]}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string body = client.ReadAll();
  const auto events = Events(body);
  ASSERT_GE(events.size(), 3u) << body;
  std::string text;
  for (const auto& e : events) {
    for (const auto& p : e.at("candidates").at(0).at("content").at("parts").as_array()) {
      text += S(p.at("text"));
    }
  }
  EXPECT_EQ(text, "Bonjour");
  EXPECT_EQ(S(events.back().at("candidates").at(0).at("finishReason")), "MAX_TOKENS");
  EXPECT_EQ(
      events.back().at("usageMetadata"),
      json::parse(R"({"promptTokenCount":12,"candidatesTokenCount":2,"totalTokenCount":14})"));
  const auto sent = json::parse(up.requests("/v1/messages").at(0).body);
  EXPECT_TRUE(sent.at("stream").as_bool());
  EXPECT_EQ(S(sent.at("messages").at(0).at("role")), "user");
}

TEST(GeminiIngress, ErrorsComeInGoogleShape) {
  FakeUpstream up;
  FakeUpstream unused;
  GatewayProcess gw(Providers(up, unused));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  struct Case {
    std::string target;
    std::string body;
    int status;
    std::string google_status;
    std::string message_part;
  };
  const Case cases[] = {
      {Generate("gemini-local"), "{not json", 400, "INVALID_ARGUMENT", "JSON"},
      {Generate("gemini-9"), R"({"contents":[{"parts":[{"text":"hi"}]}]})", 404, "NOT_FOUND",
       "gemini-9"},
      {Generate("gemini-local"), R"({"contents":[{"role":"system","parts":[{"text":"x"}]}]})", 400,
       "INVALID_ARGUMENT", "contents[0].role"},
      {Generate("gemini-local"),
       R"({"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"candidateCount":3}})", 400,
       "INVALID_ARGUMENT", "candidateCount"},
      // countTokens is served (dialect_endpoints_test); a method nobody serves is not.
      {"/v1beta/models/gemini-local:predict", R"({"instances":[]})", 404, "NOT_FOUND",
       "generateContent"},
  };
  for (const Case& c : cases) {
    auto r = client.Post(c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    const auto v = json::parse(r.body);
    EXPECT_EQ(v.at("error").at("code").as_int64(), c.status) << r.body;
    EXPECT_EQ(S(v.at("error").at("status")), c.google_status) << r.body;
    EXPECT_NE(S(v.at("error").at("message")).find(c.message_part), std::string::npos) << r.body;
  }
  EXPECT_EQ(up.request_count(), 0u);
}

TEST(GeminiIngress, KeysComeFromXGoogApiKeyOrTheKeyParameter) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("hg-gemini-in-" + std::to_string(getpid()));
  fs::create_directories(dir);
  FakeUpstream up([](const Recorded&) { return Action{.body = ChatCompletionJson("ok")}; });
  FakeUpstream unused;
  const std::string cfg = Providers(up, unused) + "ledger: {enabled: false}\n" +
                          "limits: {auth_required: true, keys_db: '" + (dir / "keys.db").string() +
                          "'}\n";
  const std::string cfg_path = (dir / "gw.yaml").string();
  std::ofstream(cfg_path) << "listen: 127.0.0.1:1\n" << cfg;
  std::string key;
  {
    FILE* p = popen(
        ("'" + BinaryPath() + "' keys create --config '" + cfg_path + "' --team t").c_str(), "r");
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) key.append(buf, n);
    ASSERT_EQ(pclose(p), 0) << key;
    while (!key.empty() && (key.back() == '\n' || key.back() == ' ')) key.pop_back();
  }
  ASSERT_EQ(key.rfind("hg-", 0), 0u) << key;
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::string body = R"({"contents":[{"parts":[{"text":"hi"}]}]})";
  auto none = client.Post(Generate("gemini-local"), body);
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(S(json::parse(none.body).at("error").at("status")), "UNAUTHENTICATED");
  auto wrong =
      client.Request("POST", Generate("gemini-local"), body, {{"x-goog-api-key", "hg-wrong"}});
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(S(json::parse(wrong.body).at("error").at("status")), "UNAUTHENTICATED");
  EXPECT_EQ(up.request_count(), 0u);
  auto header = client.Request("POST", Generate("gemini-local"), body, {{"x-goog-api-key", key}});
  EXPECT_EQ(header.status, 200) << header.body;
  auto param = client.Post(Generate("gemini-local") + "?key=" + key, body);
  EXPECT_EQ(param.status, 200) << param.body;
  EXPECT_EQ(up.request_count(), 2u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hybridgate::testing
