// Provider type `gemini` through the real binary: OpenAI- and Anthropic-dialect clients served by
// a fake of Google's Gemini API that validates requests like the real one (x-goog-api-key, roles,
// unknown fields, functionResponse names). Asserts the bytes the upstream received and what the
// client got: text, function calls both ways, streaming, finish reasons, usage and errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kGenerate = "/v1/models/gemini-2.5-flash:generateContent";
constexpr std::string_view kStream = "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

std::string Config(const FakeUpstream& up, const std::string& extra_providers = "") {
  setenv("HG_IT_GEMINI_KEY", std::string(kFakeGeminiKey).c_str(), 1);
  return "providers:\n  - {name: google, type: gemini, base_url: '" + up.base_url() +
         "', api_key_env: HG_IT_GEMINI_KEY, models: [{name: fast, id: gemini-2.5-flash}]}\n" +
         extra_providers;
}

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

const char* kCallAnswer = R"({
  "candidates": [{"content": {"role": "model", "parts": [
      {"text": "Weather is asked.", "thought": true},
      {"text": "Checking."},
      {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]},
    "finishReason": "STOP", "index": 0}],
  "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 30, "totalTokenCount": 170,
                    "cachedContentTokenCount": 64, "thoughtsTokenCount": 20},
  "modelVersion": "gemini-2.5-flash", "responseId": "resp1"})";

const char* kTextAnswer = R"({
  "candidates": [{"content": {"role": "model", "parts": [{"text": "15 degrees."}]},
    "finishReason": "MAX_TOKENS", "index": 0}],
  "usageMetadata": {"promptTokenCount": 150, "candidatesTokenCount": 4, "totalTokenCount": 154},
  "modelVersion": "gemini-2.5-flash", "responseId": "resp2"})";

TEST(GeminiProvider, TheFakeRejectsWhatTheRealApiRejects) {
  FakeUpstream up(ValidatingGemini([](const Recorded&) { return Action{.body = kTextAnswer}; }));
  TestClient client(up.port());
  const std::string target(kGenerate);
  const std::string ok = R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})";
  const std::map<std::string, std::string> key = {{"x-goog-api-key", std::string(kFakeGeminiKey)}};
  EXPECT_EQ(client.Request("POST", target, ok, key).status, 200);
  auto r = client.Request("POST", target, ok);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(S(json::parse(r.body).at("error").at("status")), "PERMISSION_DENIED");
  r = client.Request("POST", target, ok, {{"x-goog-api-key", "wrong"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("API_KEY_INVALID"), std::string::npos);
  for (const std::string& bad :
       {std::string(R"({"contents":[{"role":"system","parts":[{"text":"x"}]}]})"),
        std::string(R"({"contents":[]})"),
        std::string(R"({"model":"x","contents":[{"role":"user","parts":[{"text":"hi"}]}]})")}) {
    r = client.Request("POST", target, bad, key);
    EXPECT_EQ(r.status, 400) << bad;
    auto v = json::parse(r.body);
    EXPECT_EQ(v.at("error").at("code").as_int64(), 400);
    EXPECT_EQ(S(v.at("error").at("status")), "INVALID_ARGUMENT");
  }
}

TEST(GeminiProvider, FunctionCallRoundTripWithUsageFromUsageMetadata) {
  FakeUpstream up(ValidatingGemini([](const Recorded& r) {
    const bool has_result = json::parse(r.body).at("contents").as_array().size() > 1;
    return Action{.body = has_result ? kTextAnswer : kCallAnswer};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
          "parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}],
         "tool_choice":{"type":"function","function":{"name":"get_weather"}})";
  auto r = client.Post("/v1/chat/completions",
                       R"({"model":"fast","max_tokens":50,"messages":[
                           {"role":"system","content":"Be brief."},
                           {"role":"user","content":"Weather in Paris?"}],)" +
                           tools + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "google");
  auto v = json::parse(r.body);
  const auto& choice = v.at("choices").at(0);
  EXPECT_EQ(S(choice.at("finish_reason")), "tool_calls");
  EXPECT_EQ(S(choice.at("message").at("content")), "Checking.");
  EXPECT_EQ(S(choice.at("message").at("reasoning_content")), "Weather is asked.");
  const auto& call = choice.at("message").at("tool_calls").at(0);
  EXPECT_EQ(S(call.at("function").at("name")), "get_weather");
  EXPECT_EQ(json::parse(call.at("function").at("arguments").as_string()),
            json::parse(R"({"location":"Paris"})"));
  const std::string call_id = S(call.at("id"));
  EXPECT_FALSE(call_id.empty());
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 120);
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 50) << "thoughts are output";
  EXPECT_EQ(v.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64(), 64);

  const auto sent = up.requests(kGenerate);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].headers.at("x-goog-api-key"), kFakeGeminiKey);
  EXPECT_EQ(sent[0].headers.count("authorization"), 0u);
  EXPECT_EQ(sent[0].target.find("key="), std::string::npos) << "the key stays out of the URL";
  auto body = json::parse(sent[0].body);
  EXPECT_FALSE(body.as_object().contains("model"));
  EXPECT_EQ(S(body.at("systemInstruction").at("parts").at(0).at("text")), "Be brief.");
  EXPECT_EQ(body.at("contents").as_array().size(), 1u);
  EXPECT_EQ(S(body.at("contents").at(0).at("role")), "user");
  EXPECT_EQ(body.at("generationConfig").at("maxOutputTokens").as_int64(), 50);
  EXPECT_EQ(S(body.at("tools").at(0).at("functionDeclarations").at(0).at("name")), "get_weather");
  EXPECT_EQ(
      body.at("toolConfig"),
      json::parse(
          R"({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}})"));

  // Second turn: the call and its result go back as functionCall / functionResponse parts.
  r = client.Post("/v1/chat/completions",
                  R"({"model":"fast","messages":[
                      {"role":"user","content":"Weather in Paris?"},
                      {"role":"assistant","content":null,"tool_calls":[{"id":")" +
                      call_id + R"(","type":"function",
                        "function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},
                      {"role":"tool","tool_call_id":")" +
                      call_id + R"(","content":"{\"celsius\":15}"}],)" + tools + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  v = json::parse(r.body);
  EXPECT_EQ(S(v.at("choices").at(0).at("message").at("content")), "15 degrees.");
  EXPECT_EQ(S(v.at("choices").at(0).at("finish_reason")), "length") << "MAX_TOKENS";
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 150);
  body = json::parse(up.requests(kGenerate).at(1).body);
  const auto& contents = body.at("contents").as_array();
  ASSERT_EQ(contents.size(), 3u);
  EXPECT_EQ(S(contents[1].at("role")), "model");
  EXPECT_EQ(contents[1].at("parts").at(0).at("functionCall"),
            json::parse(R"({"name":"get_weather","args":{"location":"Paris"}})"));
  EXPECT_EQ(S(contents[2].at("role")), "user");
  EXPECT_EQ(contents[2].at("parts").at(0).at("functionResponse"),
            json::parse(R"({"name":"get_weather","response":{"celsius":15}})"));
}

std::vector<std::string> CallStream(std::string_view finish = "STOP") {
  return {
      SseData(
          R"({"candidates":[{"content":{"parts":[{"text":"Let me "}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":10,"totalTokenCount":10},"modelVersion":"gemini-2.5-flash","responseId":"r1"})"),
      SseData(
          R"({"candidates":[{"content":{"parts":[{"text":"check."}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r1"})"),
      SseData(
          R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Boston"}}}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r1"})"),
      SseData(
          R"({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":")" +
          std::string(finish) +
          R"(","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":8,"totalTokenCount":22,"thoughtsTokenCount":4},"modelVersion":"gemini-2.5-flash","responseId":"r1"})"),
  };
}

TEST(GeminiProvider, StreamTranslatesTextFunctionCallsFinishAndUsage) {
  FakeUpstream up(ValidatingGemini([](const Recorded&) {
    return Action{.content_type = "text/event-stream", .chunks = CallStream(), .chunk_delay = 2ms};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head =
      client.StartStream("/v1/chat/completions",
                         R"({"model":"fast","stream":true,"stream_options":{"include_usage":true},
          "messages":[{"role":"user","content":"Weather in Boston?"}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string all = client.ReadAll();
  const auto lines = DataLines(all);
  ASSERT_GE(lines.size(), 4u) << all;
  EXPECT_EQ(lines.back(), "[DONE]");
  std::string text, args, finish, name;
  int usage_chunks = 0;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    auto c = json::parse(lines[i]);
    EXPECT_EQ(S(c.at("object")), "chat.completion.chunk");
    if (c.at("choices").as_array().empty()) {
      ++usage_chunks;
      EXPECT_EQ(i + 2, lines.size()) << "usage comes last";
      EXPECT_EQ(c.at("usage").at("prompt_tokens").as_int64(), 10);
      EXPECT_EQ(c.at("usage").at("completion_tokens").as_int64(), 12);
      continue;
    }
    const auto& ch = c.at("choices").at(0);
    const auto& d = ch.at("delta").as_object();
    if (d.contains("content")) text += S(d.at("content"));
    if (d.contains("tool_calls")) {
      name = S(d.at("tool_calls").at(0).at("function").at("name"));
      args += S(d.at("tool_calls").at(0).at("function").at("arguments"));
    }
    if (!ch.at("finish_reason").is_null()) finish = S(ch.at("finish_reason"));
  }
  EXPECT_EQ(text, "Let me check.");
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(json::parse(args), json::parse(R"({"location":"Boston"})"));
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(usage_chunks, 1);
  const auto sent = up.requests(kStream);
  ASSERT_EQ(sent.size(), 1u) << "streams use streamGenerateContent?alt=sse";
  EXPECT_EQ(sent[0].headers.at("x-goog-api-key"), kFakeGeminiKey);
  EXPECT_EQ(sent[0].headers.at("accept"), "text/event-stream");

  // Finish reasons map; without include_usage no usage chunk is forwarded.
  for (const auto& [gemini, openai] : std::vector<std::pair<std::string, std::string>>{
           {"MAX_TOKENS", "length"}, {"SAFETY", "content_filter"}}) {
    up.SetScript(ValidatingGemini([g = gemini](const Recorded&) {
      auto chunks = CallStream(g);
      chunks.erase(chunks.begin() + 2);  // no function call
      return Action{.content_type = "text/event-stream", .chunks = chunks};
    }));
    head = client.StartStream(
        "/v1/chat/completions",
        R"({"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]})");
    ASSERT_EQ(head.status, 200);
    const std::string body = client.ReadAll();
    EXPECT_NE(body.find(R"("finish_reason":")" + openai + "\""), std::string::npos) << body;
    EXPECT_EQ(body.find(R"("usage")"), std::string::npos) << body;
    EXPECT_NE(body.find("data: [DONE]"), std::string::npos) << body;
  }
}

TEST(GeminiProvider, StreamErrorsEndTheClientStreamWithAnErrorAndNoDone) {
  FakeUpstream up(ValidatingGemini([](const Recorded&) {
    auto chunks = CallStream();
    chunks.resize(2);
    chunks.push_back(SseData(
        R"({"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}})"));
    return Action{.content_type = "text/event-stream", .chunks = chunks, .chunk_delay = 2ms};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::string req =
      R"({"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]})";
  auto head = client.StartStream("/v1/chat/completions", req);
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  std::string all = client.ReadAll();
  EXPECT_TRUE(client.stream_done());
  EXPECT_NE(all.find(R"("content":"Let me ")"), std::string::npos) << all;
  EXPECT_EQ(all.find("[DONE]"), std::string::npos) << all;
  auto last = json::parse(DataLines(all).back());
  EXPECT_NE(S(last.at("error").at("message")).find("overloaded"), std::string::npos) << all;

  // A body that ends without a finishReason is cut, not complete.
  up.SetScript(ValidatingGemini([](const Recorded&) {
    auto chunks = CallStream();
    chunks.resize(2);
    return Action{.content_type = "text/event-stream", .chunks = chunks};
  }));
  head = client.StartStream("/v1/chat/completions", req);
  ASSERT_EQ(head.status, 200);
  all = client.ReadAll();
  EXPECT_EQ(all.find("[DONE]"), std::string::npos) << all;
  EXPECT_NE(all.find("without completing it"), std::string::npos) << all;
}

TEST(GeminiProvider, ResourceExhaustedFallsBackToTheNextProvider) {
  FakeUpstream up(ValidatingGemini([](const Recorded&) {
    return Action{
        .status = 429,
        .body =
            R"({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}})",
        .headers = {{"retry-after", "5"}}};
  }));
  FakeUpstream backup([](const Recorded&) {
    return Action{.body = ChatCompletionJson("from backup", "qwen", 3, 2)};
  });
  GatewayProcess gw(Config(up, "  - {name: backup, type: openai, base_url: '" + backup.base_url() +
                                   "', models: [{name: fast, id: qwen}]}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions",
                       R"({"model":"fast","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "backup");
  EXPECT_EQ(up.request_count(kGenerate), 1u);
  EXPECT_EQ(backup.request_count(), 1u);
}

TEST(GeminiProvider, MissingOrRejectedKeyIsUpstreamAuthNamingTheProvider) {
  FakeUpstream up(ValidatingGemini([](const Recorded&) { return Action{.body = kTextAnswer}; }));
  setenv("HG_IT_GEMINI_BAD_KEY", "AIza-wrong", 1);
  GatewayProcess gw(
      "providers:\n"
      "  - {name: nokey, type: gemini, base_url: '" +
      up.base_url() +
      "', models: [{name: a, id: gemini-2.5-flash}]}\n"
      "  - {name: badkey, type: gemini, base_url: '" +
      up.base_url() +
      "', api_key_env: HG_IT_GEMINI_BAD_KEY, models: [{name: b, id: gemini-2.5-flash}]}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  for (const std::string model : {"a", "b"}) {
    auto r =
        client.Post("/v1/chat/completions",
                    R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.status, 502) << r.body;
    auto v = json::parse(r.body);
    EXPECT_EQ(S(v.at("error").at("code")), "upstream_auth") << r.body;
    const std::string name = model == "a" ? "nokey" : "badkey";
    EXPECT_NE(S(v.at("error").at("message")).find("provider '" + name + "' rejected"),
              std::string::npos)
        << r.body;
    EXPECT_EQ(r.body.find("AIza-wrong"), std::string::npos);
  }
  EXPECT_TRUE(FakeUpstream::WaitFor([&] { return up.request_count("/v1/models") > 0; }, 5s));
}

TEST(GeminiProvider, InvalidArgumentReachesTheClientInItsDialect) {
  FakeUpstream up(ValidatingGemini([](const Recorded&) {
    return Action{
        .status = 400,
        .body =
            R"({"error":{"code":400,"message":"* GenerateContentRequest.generation_config.temperature: must be in [0, 2]","status":"INVALID_ARGUMENT"}})"};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions",
                       R"({"model":"fast","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  auto v = json::parse(r.body);
  // An upstream 4xx keeps its status; Google's body is not passed off as OpenAI's.
  EXPECT_EQ(S(v.at("error").at("type")), "upstream_error") << r.body;
  EXPECT_NE(S(v.at("error").at("message")).find("temperature"), std::string::npos) << r.body;
}

TEST(GeminiProvider, AnthropicClientIsServedByGemini) {
  FakeUpstream up(ValidatingGemini([](const Recorded& r) {
    if (r.target.find("stream") != std::string::npos) {
      return Action{.content_type = "text/event-stream", .chunks = CallStream()};
    }
    return Action{.body = kCallAnswer};
  }));
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Request(
      "POST", "/v1/messages",
      R"({"model":"fast","max_tokens":64,"system":"Be brief.","thinking":{"type":"enabled","budget_tokens":512},
          "messages":[{"role":"user","content":"Weather?"}]})",
      {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(S(v.at("type")), "message");
  EXPECT_EQ(S(v.at("stop_reason")), "tool_use");
  bool saw_tool = false;
  for (const auto& block : v.at("content").as_array()) {
    if (S(block.at("type")) == "tool_use") {
      saw_tool = true;
      EXPECT_EQ(block.at("input"), json::parse(R"({"location":"Paris"})"));
    }
  }
  EXPECT_TRUE(saw_tool) << r.body;
  EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 50);
  // Anthropic-only fields (thinking) are not forwarded to Gemini, which would reject them.
  auto sent = json::parse(up.requests(kGenerate).at(0).body);
  EXPECT_FALSE(sent.as_object().contains("thinking"));
  EXPECT_EQ(S(sent.at("systemInstruction").at("parts").at(0).at("text")), "Be brief.");

  auto head = client.StartStream(
      "/v1/messages",
      R"({"model":"fast","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Weather?"}]})");
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string all = client.ReadAll();
  EXPECT_NE(all.find("event: message_stop"), std::string::npos) << all;
  EXPECT_NE(all.find(R"("stop_reason":"tool_use")"), std::string::npos) << all;
  EXPECT_NE(all.find(R"("text":"Let me ")"), std::string::npos) << all;
}

}  // namespace
}  // namespace hybridgate::testing
