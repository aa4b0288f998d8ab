// Cross-dialect translation through the real binary: a field without an equivalent in the
// upstream's dialect is not forwarded (the strict Anthropic and Gemini fakes refuse unknown
// fields, as the real APIs do), and the answer — non-stream and streamed — names it in
// x-hybridgate-dropped-fields, as the client's dialect spells it. What has an equivalent arrives
// in the upstream's own form. Same-dialect requests lose nothing and carry no such header.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

constexpr std::string_view kHeader = "x-hybridgate-dropped-fields";

// Each upstream answers "ok" in its own wire format, streamed when asked.
Action OpenAiAnswer(const Recorded& r) {
  if (r.method == "GET") return Action{.body = R"({"object":"list","data":[]})"};
  if (json::parse(r.body).as_object().contains("stream")) {
    return Action{.content_type = "text/event-stream", .chunks = ChatStreamChunks({"ok"}, "up")};
  }
  return Action{.body = ChatCompletionJson("ok", "up")};
}

Action AnthropicAnswer(const Recorded& r) {
  if (!json::parse(r.body).as_object().contains("stream")) {
    return Action{.body = R"({"id":"msg_1","type":"message","role":"assistant","model":"up",
        "content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":3,"output_tokens":1}})"};
  }
  return Action{
      .content_type = "text/event-stream",
      .chunks = {AnthropicEvent(R"({"type":"message_start","message":{"id":"msg_1","type":)"
                                R"("message","role":"assistant","model":"up","content":[],)"
                                R"("stop_reason":null,"stop_sequence":null,)"
                                R"("usage":{"input_tokens":3,"output_tokens":1}}})"),
                 AnthropicEvent(R"({"type":"content_block_start","index":0,)"
                                R"("content_block":{"type":"text","text":""}})"),
                 AnthropicEvent(R"({"type":"content_block_delta","index":0,)"
                                R"("delta":{"type":"text_delta","text":"ok"}})"),
                 AnthropicEvent(R"({"type":"content_block_stop","index":0})"),
                 AnthropicEvent(R"({"type":"message_delta","delta":{"stop_reason":"end_turn",)"
                                R"("stop_sequence":null},"usage":{"output_tokens":1}})"),
                 AnthropicEvent(R"({"type":"message_stop"})")}};
}

constexpr std::string_view kGeminiOk =
    R"({"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP",)"
    R"("index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,)"
    R"("totalTokenCount":4}})";

Action GeminiAnswer(const Recorded& r) {
  if (r.target.find(":streamGenerateContent") == std::string::npos) {
    return Action{.body = std::string(kGeminiOk)};
  }
  return Action{.content_type = "text/event-stream", .chunks = {SseData(kGeminiOk)}};
}

// --- client requests with fields some dialect has no equivalent for ----------------------------

// Claude Code's kind of request: cache_control markers, thinking, a beta field, a server tool, a
// failed tool result, top_k.
constexpr std::string_view kAnthropicRequest = R"({"model":"MODEL","max_tokens":300,
  "system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],
  "messages":[
    {"role":"user","content":[{"type":"text","text":"list","cache_control":{"type":"ephemeral"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":"denied"}]}],
  "tools":[{"name":"Bash","input_schema":{"type":"object"}},
           {"type":"web_search_20250305","name":"web_search","max_uses":2}],
  "thinking":{"type":"enabled","budget_tokens":4000},
  "context_management":{"edits":[]},
  "metadata":{"user_id":"u-1"},"stop_sequences":["END"],"top_k":5})";

constexpr std::string_view kOpenAiRequest = R"({"model":"MODEL","seed":7,"n":1,
  "frequency_penalty":0.5,"logprobs":true,"top_logprobs":2,"metadata":{"trace":"t-1"},
  "logit_bias":{"50256":-100},"store":false,"user":"u-2","top_k":3,
  "messages":[{"role":"user","content":"hi","name":"ann"}],
  "tools":[{"type":"function","function":{"name":"f","strict":true,
            "parameters":{"type":"object","properties":{},"additionalProperties":false}}}]})";

constexpr std::string_view kGeminiRequest = R"({
  "contents":[{"role":"user","parts":[{"text":"hi"}]}],
  "safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_ONLY_HIGH"}],
  "cachedContent":"cachedContents/abc",
  "generationConfig":{"topK":4,"seed":2,"responseModalities":["TEXT"],
                      "thinkingConfig":{"thinkingBudget":4096,"includeThoughts":true}}})";

std::string WithModel(std::string_view body, std::string_view model) {
  std::string out(body);
  out.replace(out.find("MODEL"), 5, model);
  return out;
}

class DroppedFields : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    openai_ = new FakeUpstream(OpenAiAnswer);
    anthropic_ = new FakeUpstream(ValidatingAnthropic(AnthropicAnswer));
    gemini_ = new FakeUpstream(ValidatingGemini(GeminiAnswer));
    setenv("HG_IT_ANTHROPIC_KEY", std::string(kFakeAnthropicKey).c_str(), 1);
    setenv("HG_IT_GEMINI_KEY", std::string(kFakeGeminiKey).c_str(), 1);
    gw_ = new GatewayProcess(
        "providers:\n"
        "  - {name: oai, type: openai, base_url: '" +
        openai_->base_url() + "', models: [{name: to-openai, id: gpt-up}]}\n" +
        "  - {name: claude, type: anthropic, base_url: '" + anthropic_->base_url() +
        "', api_key_env: HG_IT_ANTHROPIC_KEY, models: [{name: to-anthropic, id: claude-up}]}\n" +
        "  - {name: google, type: gemini, base_url: '" + gemini_->base_url() +
        "', api_key_env: HG_IT_GEMINI_KEY, models: [{name: to-gemini, id: gemini-up}]}\n");
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(gw_->Stop(), 0) << gw_->Log();
    delete gw_;
    delete gemini_;
    delete anthropic_;
    delete openai_;
  }

  // Posts `body` to `target` non-stream, then streamed (`stream_target`, or the body with
  // "stream":true); each answer must be 200 and name `dropped` ("" = no header). Returns the
  // two bodies the upstream `fake` received at `upstream_targets` (non-stream first).
  std::vector<json::object> Both(const std::string& target, const std::string& body,
                                 const std::string& stream_target, const std::string& dropped,
                                 FakeUpstream& fake,
                                 const std::vector<std::string>& upstream_targets,
                                 const std::map<std::string, std::string>& headers = {}) {
    auto count = [&] {
      size_t n = 0;
      for (const std::string& t : upstream_targets) n += fake.request_count(t);
      return n;
    };
    const size_t before = count();
    TestClient client(gw_->port());
    HttpResult r = client.Request("POST", target, body, headers);
    EXPECT_EQ(r.status, 200) << r.body << gw_->Log();
    EXPECT_EQ(r.headers.contains(std::string(kHeader)) ? r.headers[std::string(kHeader)] : "",
              dropped)
        << "non-stream";
    std::string streamed = body;
    if (stream_target == target) streamed.insert(1, R"("stream":true,)");
    HttpResult head = client.StartStream(stream_target, streamed, headers);
    const std::string sse = client.ReadAll();
    EXPECT_EQ(head.status, 200) << sse;
    EXPECT_EQ(head.headers.contains(std::string(kHeader)) ? head.headers[std::string(kHeader)] : "",
              dropped)
        << "stream";
    EXPECT_EQ(count(), before + 2);
    // The two bodies just sent: the last two at one target, or the last at each of two
    // (Gemini's non-stream and stream methods).
    std::vector<json::object> sent;
    for (const std::string& t : upstream_targets) {
      const std::vector<Recorded> got = fake.requests(t);
      const size_t keep = upstream_targets.size() == 1 ? 2 : 1;
      for (size_t i = got.size() > keep ? got.size() - keep : 0; i < got.size(); ++i) {
        sent.push_back(json::parse(got[i].body).as_object());
      }
    }
    if (sent.size() != 2) return {json::object{}, json::object{}};
    return sent;
  }

  static FakeUpstream* openai_;
  static FakeUpstream* anthropic_;
  static FakeUpstream* gemini_;
  static GatewayProcess* gw_;
};

FakeUpstream* DroppedFields::openai_ = nullptr;
FakeUpstream* DroppedFields::anthropic_ = nullptr;
FakeUpstream* DroppedFields::gemini_ = nullptr;
GatewayProcess* DroppedFields::gw_ = nullptr;

const std::vector<std::string> kOpenAiPaths = {"/v1/chat/completions"};
const std::vector<std::string> kAnthropicPaths = {"/v1/messages"};
const std::vector<std::string> kGeminiPaths = {
    "/v1/models/gemini-up:generateContent", "/v1/models/gemini-up:streamGenerateContent?alt=sse"};

TEST_F(DroppedFields, AnthropicClientToOpenAi) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  const auto sent =
      Both("/v1/messages", WithModel(kAnthropicRequest, "to-openai"), "/v1/messages",
           "thinking,context_management,top_k,cache_control,is_error,tools:web_search_20250305",
           *openai_, kOpenAiPaths);
  for (const json::object& body : sent) {
    for (const char* gone : {"top_k", "thinking", "context_management", "reasoning_effort",
                             "cache_control", "metadata"}) {
      EXPECT_FALSE(body.contains(gone)) << gone;
    }
    EXPECT_EQ(body.at("tools").as_array().size(), 1u);
    EXPECT_EQ(body.at("stop"), json::array{"END"});
    EXPECT_EQ(body.at("user"), "u-1");
    EXPECT_EQ(json::serialize(body).find("cache_control"), std::string::npos);
  }
}

TEST_F(DroppedFields, AnthropicClientToGemini) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  const auto sent = Both("/v1/messages", WithModel(kAnthropicRequest, "to-gemini"), "/v1/messages",
                         "context_management,metadata.user_id,cache_control,is_error,"
                         "tools:web_search_20250305",
                         *gemini_, kGeminiPaths);
  for (const json::object& body : sent) {
    const json::object& g = body.at("generationConfig").as_object();
    EXPECT_EQ(g.at("topK"), 5);  // top_k and thinking have Gemini equivalents
    EXPECT_EQ(g.at("thinkingConfig").at("thinkingBudget"), 8192);
    EXPECT_EQ(g.at("stopSequences"), json::array{"END"});
    EXPECT_EQ(body.at("tools").at(0).at("functionDeclarations").as_array().size(), 1u);
  }
}

TEST_F(DroppedFields, OpenAiClientToAnthropic) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  const auto sent = Both("/v1/chat/completions", WithModel(kOpenAiRequest, "to-anthropic"),
                         "/v1/chat/completions",
                         "logit_bias,store,messages.name,seed,frequency_penalty,logprobs,"
                         "top_logprobs,metadata,tools.function.strict",
                         *anthropic_, kAnthropicPaths);
  for (const json::object& body : sent) {
    EXPECT_EQ(body.at("top_k"), 3);
    EXPECT_EQ(body.at("metadata"), json::parse(R"({"user_id":"u-2"})"));
    EXPECT_EQ(body.at("tools").at(0).at("name"), "f");
  }
}

TEST_F(DroppedFields, OpenAiClientToGemini) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  const std::string body = WithModel(kOpenAiRequest, "to-gemini");
  const auto sent = Both("/v1/chat/completions", body, "/v1/chat/completions",
                         "logprobs,top_logprobs,logit_bias,store,messages.name,metadata,user,"
                         "tools.function.strict",
                         *gemini_, kGeminiPaths);
  for (const json::object& b : sent) {
    const json::object& g = b.at("generationConfig").as_object();
    EXPECT_EQ(g.at("seed"), 7);
    EXPECT_EQ(g.at("topK"), 3);
    EXPECT_EQ(g.at("frequencyPenalty"), 0.5);
    EXPECT_TRUE(b.at("tools")
                    .at(0)
                    .at("functionDeclarations")
                    .at(0)
                    .as_object()
                    .contains("parametersJsonSchema"));
  }
}

TEST_F(DroppedFields, GeminiClientToOpenAiAndAnthropic) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  auto sent = Both("/v1beta/models/to-openai:generateContent", std::string(kGeminiRequest),
                   "/v1beta/models/to-openai:streamGenerateContent?alt=sse",
                   "safetySettings,cachedContent,generationConfig.responseModalities,"
                   "generationConfig.thinkingConfig,generationConfig.topK",
                   *openai_, kOpenAiPaths);
  for (const json::object& b : sent) {
    EXPECT_EQ(b.at("seed"), 2);
    for (const char* gone : {"top_k", "safetySettings", "cachedContent", "reasoning_effort"}) {
      EXPECT_FALSE(b.contains(gone)) << gone;
    }
  }
  sent = Both("/v1beta/models/to-anthropic:generateContent", std::string(kGeminiRequest),
              "/v1beta/models/to-anthropic:streamGenerateContent?alt=sse",
              "safetySettings,cachedContent,generationConfig.responseModalities,"
              "generationConfig.seed,generationConfig.topK",
              *anthropic_, kAnthropicPaths);
  for (const json::object& b : sent) {
    EXPECT_EQ(b.at("thinking").at("budget_tokens"), 8192);
    EXPECT_FALSE(b.contains("top_k"));  // Anthropic refuses top_k with thinking
  }
}

TEST_F(DroppedFields, TheClientsOwnDialectLosesNothing) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  auto sent = Both("/v1/chat/completions", WithModel(kOpenAiRequest, "to-openai"),
                   "/v1/chat/completions", "", *openai_, kOpenAiPaths);
  for (const json::object& b : sent) {
    EXPECT_EQ(b.at("logit_bias"), json::parse(R"({"50256":-100})"));
    EXPECT_EQ(b.at("top_k"), 3);
  }
  // An Anthropic client's request reaches an Anthropic upstream as sent, its beta field too.
  sent = Both("/v1/messages", WithModel(kAnthropicRequest, "to-anthropic"), "/v1/messages", "",
              *anthropic_, kAnthropicPaths, {{"anthropic-beta", "context-management-2025-06-27"}});
  for (const json::object& b : sent) {
    EXPECT_EQ(b.at("system").at(0).at("cache_control"), json::parse(R"({"type":"ephemeral"})"));
    EXPECT_EQ(b.at("context_management"), json::parse(R"({"edits":[]})"));
  }
  Both("/v1beta/models/to-gemini:generateContent", std::string(kGeminiRequest),
       "/v1beta/models/to-gemini:streamGenerateContent?alt=sse", "", *gemini_, kGeminiPaths);
}

// The Responses API names its own unknown fields; the translation's drops join them.
TEST_F(DroppedFields, ResponsesClientsListJoinsTheTranslations) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  Both("/v1/responses",
       R"({"model":"to-anthropic","input":"hi","future_field":1,"metadata":{"k":"v"}})",
       "/v1/responses", "future_field,metadata", *anthropic_, kAnthropicPaths);
}

}  // namespace
}  // namespace hybridgate::testing
