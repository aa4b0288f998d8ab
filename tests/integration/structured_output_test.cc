// Structured output across dialects through the real binary: each client form of a JSON schema —
// OpenAI's response_format json_schema, Anthropic's output_config.format, Gemini's
// generationConfig.responseSchema (Google's Schema) and responseJsonSchema — sent to a model of
// each upstream dialect (an OpenAI-compatible fake, and the strict Anthropic and Gemini fakes,
// which refuse fields and schema forms their APIs refuse). The upstream must receive the schema in
// its own form; it answers JSON that matches it, and the client must get that JSON in its own
// dialect, valid against the schema it sent. Non-stream and streamed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "tests/support/fake_dialects.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

// The schema in JSON Schema, and in Google's Schema (upper-case types, propertyOrdering).
constexpr std::string_view kJsonSchema =
    R"({"type":"object","properties":{"city":{"type":"string"},"temp":{"type":"integer"}},)"
    R"("required":["city","temp"],"additionalProperties":false})";
constexpr std::string_view kGoogleSchema =
    R"({"type":"OBJECT","properties":{"city":{"type":"STRING"},"temp":{"type":"INTEGER"}},)"
    R"("required":["city","temp"],"propertyOrdering":["city","temp"]})";
// kGoogleSchema as JSON Schema, which is what another dialect's upstream gets of it.
constexpr std::string_view kGoogleAsJsonSchema =
    R"({"type":"object","properties":{"city":{"type":"string"},"temp":{"type":"integer"}},)"
    R"("required":["city","temp"]})";
// What every upstream answers: JSON matching the schema.
constexpr std::string_view kAnswer = R"({"city":"Oslo","temp":7})";

// A small JSON Schema check (type, properties, required, additionalProperties: false, items):
// "" when `v` is valid against `schema`, else why not.
std::string Invalid(const json::value& v, const json::value& schema) {
  const json::object& s = schema.as_object();
  if (const auto* type = s.if_contains("type")) {
    const std::string_view t = type->as_string();
    const bool ok = (t == "object" && v.is_object()) || (t == "string" && v.is_string()) ||
                    (t == "integer" && v.is_int64()) || (t == "boolean" && v.is_bool()) ||
                    (t == "number" && (v.is_double() || v.is_int64())) ||
                    (t == "array" && v.is_array());
    if (!ok) return json::serialize(v) + " is not of type " + std::string(t);
  }
  if (v.is_object()) {
    const auto* props = s.if_contains("properties");
    if (const auto* req = s.if_contains("required")) {
      for (const auto& k : req->as_array()) {
        if (!v.as_object().contains(k.as_string())) return "missing " + json::serialize(k);
      }
    }
    for (const auto& kv : v.as_object()) {
      const json::value* sub = props ? props->as_object().if_contains(kv.key()) : nullptr;
      if (sub == nullptr) {
        const auto* extra = s.if_contains("additionalProperties");
        if (extra && *extra == false) return "unexpected property " + std::string(kv.key());
        continue;
      }
      if (std::string why = Invalid(kv.value(), *sub); !why.empty()) return why;
    }
  }
  if (v.is_array()) {
    if (const auto* items = s.if_contains("items")) {
      for (const auto& e : v.as_array()) {
        if (std::string why = Invalid(e, *items); !why.empty()) return why;
      }
    }
  }
  return "";
}

// --- the upstreams, each answering kAnswer in its own wire format --------------------------------

Action OpenAiAnswer(const Recorded& r) {
  if (r.method == "GET") return Action{.body = R"({"object":"list","data":[]})"};
  if (json::parse(r.body).as_object().contains("stream")) {
    return Action{.content_type = "text/event-stream",
                  .chunks = ChatStreamChunks({R"({"city":)", R"("Oslo","temp":7})"}, "gpt-up")};
  }
  return Action{.body = ChatCompletionJson(kAnswer, "gpt-up")};
}

Action AnthropicAnswer(const Recorded& r) {
  const json::value body = json::parse(r.body);
  if (!body.as_object().contains("stream")) {
    json::object m{{"id", "msg_1"},
                   {"type", "message"},
                   {"role", "assistant"},
                   {"model", "claude-up"},
                   {"content", json::array{json::object{{"type", "text"}, {"text", kAnswer}}}},
                   {"stop_reason", "end_turn"},
                   {"stop_sequence", nullptr},
                   {"usage", {{"input_tokens", 9}, {"output_tokens", 6}}}};
    return Action{.body = json::serialize(m)};
  }
  return Action{
      .content_type = "text/event-stream",
      .chunks = {
          AnthropicEvent(R"({"type":"message_start","message":{"id":"msg_1","type":"message",)"
                         R"("role":"assistant","model":"claude-up","content":[],)"
                         R"("stop_reason":null,"stop_sequence":null,)"
                         R"("usage":{"input_tokens":9,"output_tokens":1}}})"),
          AnthropicEvent(R"({"type":"content_block_start","index":0,)"
                         R"("content_block":{"type":"text","text":""}})"),
          AnthropicEvent(R"({"type":"content_block_delta","index":0,)"
                         R"("delta":{"type":"text_delta","text":"{\"city\":\"Oslo\","}})"),
          AnthropicEvent(R"({"type":"content_block_delta","index":0,)"
                         R"("delta":{"type":"text_delta","text":"\"temp\":7}"}})"),
          AnthropicEvent(R"({"type":"content_block_stop","index":0})"),
          AnthropicEvent(R"({"type":"message_delta","delta":{"stop_reason":"end_turn",)"
                         R"("stop_sequence":null},"usage":{"output_tokens":6}})"),
          AnthropicEvent(R"({"type":"message_stop"})")}};
}

std::string GeminiChunk(std::string_view text, bool last) {
  json::object candidate{
      {"content", {{"role", "model"}, {"parts", json::array{json::object{{"text", text}}}}}},
      {"index", 0}};
  json::object out{{"candidates", json::array{candidate}}, {"modelVersion", "gemini-up"}};
  if (last) {
    out["candidates"].as_array()[0].as_object()["finishReason"] = "STOP";
    out["usageMetadata"] =
        json::object{{"promptTokenCount", 9}, {"candidatesTokenCount", 6}, {"totalTokenCount", 15}};
  }
  return json::serialize(out);
}

Action GeminiAnswer(const Recorded& r) {
  if (r.target.find(":streamGenerateContent") == std::string::npos) {
    return Action{.body = GeminiChunk(kAnswer, true)};
  }
  return Action{.content_type = "text/event-stream",
                .chunks = {SseData(GeminiChunk(R"({"city":"Oslo",)", false)),
                           SseData(GeminiChunk(R"("temp":7})", true))}};
}

// --- the client forms
// -----------------------------------------------------------------------------

enum class Client { kOpenAi, kAnthropic, kGeminiSchema, kGeminiJsonSchema };
enum class Upstream { kOpenAi, kAnthropic, kGemini };

std::string_view Name(Client c) {
  switch (c) {
    case Client::kOpenAi:
      return "openai response_format";
    case Client::kAnthropic:
      return "anthropic output_config";
    case Client::kGeminiSchema:
      return "gemini responseSchema";
    case Client::kGeminiJsonSchema:
      return "gemini responseJsonSchema";
  }
  return "";
}

std::string_view ModelOf(Upstream u) {
  return u == Upstream::kOpenAi      ? "to-openai"
         : u == Upstream::kAnthropic ? "to-anthropic"
                                     : "to-gemini";
}

// The schema the client sends, and so the one its answer must validate against.
std::string_view ClientSchema(Client c) {
  return c == Client::kGeminiSchema ? kGoogleAsJsonSchema : kJsonSchema;
}

struct ClientRequest {
  std::string target;
  std::string body;
};

ClientRequest Build(Client c, Upstream u, bool stream) {
  const std::string model(ModelOf(u));
  const json::value schema = json::parse(kJsonSchema);
  switch (c) {
    case Client::kOpenAi: {
      json::object b{
          {"model", model},
          {"messages",
           json::array{json::object{{"role", "user"}, {"content", "Weather in Oslo?"}}}},
          {"response_format",
           {{"type", "json_schema"},
            {"json_schema", {{"name", "weather"}, {"strict", true}, {"schema", schema}}}}}};
      if (stream) b["stream"] = true;
      return {"/v1/chat/completions", json::serialize(b)};
    }
    case Client::kAnthropic: {
      json::object b{
          {"model", model},
          {"max_tokens", 200},
          {"messages",
           json::array{json::object{{"role", "user"}, {"content", "Weather in Oslo?"}}}},
          {"output_config", {{"format", {{"type", "json_schema"}, {"schema", schema}}}}}};
      if (stream) b["stream"] = true;
      return {"/v1/messages", json::serialize(b)};
    }
    case Client::kGeminiSchema:
    case Client::kGeminiJsonSchema: {
      json::object config{{"responseMimeType", "application/json"}};
      if (c == Client::kGeminiSchema) {
        config["responseSchema"] = json::parse(kGoogleSchema);
      } else {
        config["responseJsonSchema"] = schema;
      }
      json::object b{
          {"contents", json::array{json::object{
                           {"role", "user"},
                           {"parts", json::array{json::object{{"text", "Weather in Oslo?"}}}}}}},
          {"generationConfig", std::move(config)}};
      return {"/v1beta/models/" + model +
                  (stream ? ":streamGenerateContent?alt=sse" : ":generateContent"),
              json::serialize(b)};
    }
  }
  return {};
}

// The answer's text, from the client's dialect: a body, or the events of a stream.
std::string AnswerText(Client c, const std::string& payload, bool stream) {
  std::string text;
  if (!stream) {
    const json::value v = json::parse(payload);
    if (c == Client::kOpenAi)
      return std::string(v.at("choices").at(0).at("message").at("content").as_string());
    if (c == Client::kAnthropic) return std::string(v.at("content").at(0).at("text").as_string());
    for (const auto& p : v.at("candidates").at(0).at("content").at("parts").as_array()) {
      if (const auto* t = p.as_object().if_contains("text")) text += t->as_string();
    }
    return text;
  }
  if (c == Client::kAnthropic) {
    const json::array content = AnthropicContentFromSse(payload);
    return content.empty() ? "" : std::string(content.at(0).at("text").as_string());
  }
  for (size_t pos = 0; (pos = payload.find("data: ", pos)) != std::string::npos;) {
    const size_t end = payload.find('\n', pos);
    const std::string data = payload.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") continue;
    const json::value v = json::parse(data);
    if (c == Client::kOpenAi) {
      for (const auto& ch : v.at("choices").as_array()) {
        const auto* content = ch.at("delta").as_object().if_contains("content");
        if (content && content->is_string()) text += content->as_string();
      }
      continue;
    }
    const auto* cands = v.as_object().if_contains("candidates");
    if (cands == nullptr) continue;
    for (const auto& p : cands->at(0).at("content").at("parts").as_array()) {
      if (const auto* t = p.as_object().if_contains("text")) text += t->as_string();
    }
  }
  return text;
}

// What the upstream received, in its own form: the schema the client sent, converted only where
// the upstream's dialect needs it.
void ExpectUpstreamForm(Client c, Upstream u, const Recorded& sent) {
  const json::object body = json::parse(sent.body).as_object();
  const json::value want = json::parse(ClientSchema(c));
  switch (u) {
    case Upstream::kOpenAi: {
      const json::value& rf = body.at("response_format");
      EXPECT_EQ(rf.at("type"), "json_schema");
      EXPECT_EQ(rf.at("json_schema").at("schema"), want);
      for (const char* foreign : {"output_config", "generationConfig", "responseSchema"}) {
        EXPECT_FALSE(body.contains(foreign)) << foreign;
      }
      return;
    }
    case Upstream::kAnthropic:
      EXPECT_EQ(body.at("output_config"),
                json::value({{"format", {{"type", "json_schema"}, {"schema", want}}}}));
      EXPECT_FALSE(body.contains("response_format"));
      return;
    case Upstream::kGemini: {
      const json::object& g = body.at("generationConfig").as_object();
      EXPECT_EQ(g.at("responseMimeType"), "application/json");
      if (c == Client::kGeminiSchema) {  // a Gemini client's own form, as it sent it
        EXPECT_EQ(g.at("responseSchema"), json::parse(kGoogleSchema));
        EXPECT_FALSE(g.contains("responseJsonSchema"));
      } else {
        EXPECT_EQ(g.at("responseJsonSchema"), want);
        EXPECT_FALSE(g.contains("responseSchema"));
      }
      EXPECT_FALSE(body.contains("response_format"));
      return;
    }
  }
}

class StructuredOutput : public ::testing::Test {
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

  FakeUpstream& Fake(Upstream u) {
    return u == Upstream::kOpenAi ? *openai_ : u == Upstream::kAnthropic ? *anthropic_ : *gemini_;
  }
  static std::string_view Path(Upstream u) {
    return u == Upstream::kOpenAi      ? "/v1/chat/completions"
           : u == Upstream::kAnthropic ? "/v1/messages"
                                       : "";
  }
  // The requests the upstream got for chat (Gemini's path has the model and the method in it).
  std::vector<Recorded> Sent(Upstream u, bool stream) {
    if (u != Upstream::kGemini) return Fake(u).requests(Path(u));
    return gemini_->requests(stream ? "/v1/models/gemini-up:streamGenerateContent?alt=sse"
                                    : "/v1/models/gemini-up:generateContent");
  }

  void Run(Client c, Upstream u, bool stream) {
    SCOPED_TRACE(std::string(Name(c)) + " -> " + std::string(ModelOf(u)) +
                 (stream ? " (stream)" : ""));
    const size_t before = Sent(u, stream).size();
    const ClientRequest req = Build(c, u, stream);
    TestClient client(gw_->port());
    std::string payload;
    HttpResult head;
    if (stream) {
      head = client.StartStream(req.target, req.body);
      payload = client.ReadAll();
    } else {
      head = client.Post(req.target, req.body);
      payload = head.body;
    }
    ASSERT_EQ(head.status, 200) << payload << gw_->Log();
    // Every form has an equivalent in every dialect: nothing is reported dropped.
    EXPECT_EQ(head.headers.count("x-hybridgate-dropped-fields"), 0u)
        << head.headers["x-hybridgate-dropped-fields"];
    const std::vector<Recorded> sent = Sent(u, stream);
    ASSERT_EQ(sent.size(), before + 1);
    ExpectUpstreamForm(c, u, sent.back());
    const std::string text = AnswerText(c, payload, stream);
    json::value answer;
    ASSERT_NO_THROW(answer = json::parse(text)) << payload;
    EXPECT_EQ(answer, json::parse(kAnswer));
    EXPECT_EQ(Invalid(answer, json::parse(ClientSchema(c))), "");
  }

  static FakeUpstream* openai_;
  static FakeUpstream* anthropic_;
  static FakeUpstream* gemini_;
  static GatewayProcess* gw_;
};

FakeUpstream* StructuredOutput::openai_ = nullptr;
FakeUpstream* StructuredOutput::anthropic_ = nullptr;
FakeUpstream* StructuredOutput::gemini_ = nullptr;
GatewayProcess* StructuredOutput::gw_ = nullptr;

constexpr Client kClients[] = {Client::kOpenAi, Client::kAnthropic, Client::kGeminiSchema,
                               Client::kGeminiJsonSchema};

TEST_F(StructuredOutput, ReachesAnOpenAiUpstreamAsResponseFormat) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  for (Client c : kClients) {
    Run(c, Upstream::kOpenAi, false);
    Run(c, Upstream::kOpenAi, true);
  }
}

TEST_F(StructuredOutput, ReachesAnAnthropicUpstreamAsOutputConfig) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  for (Client c : kClients) {
    Run(c, Upstream::kAnthropic, false);
    Run(c, Upstream::kAnthropic, true);
  }
}

TEST_F(StructuredOutput, ReachesAGeminiUpstreamAsItsOwnSchema) {
  ASSERT_TRUE(gw_->started()) << gw_->Log();
  for (Client c : kClients) {
    Run(c, Upstream::kGemini, false);
    Run(c, Upstream::kGemini, true);
  }
}

// The strict Gemini fake refuses JSON Schema where Google's Schema belongs, as the real API does:
// what the gateway sends above is not accepted by accident.
TEST_F(StructuredOutput, TheGeminiFakeRefusesJsonSchemaAsResponseSchema) {
  TestClient client(gemini_->port());
  const std::map<std::string, std::string> key = {{"x-goog-api-key", std::string(kFakeGeminiKey)}};
  const std::string target = "/v1/models/gemini-up:generateContent";
  auto body = [](std::string_view config) {
    return R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":)" +
           std::string(config) + "}";
  };
  EXPECT_EQ(client
                .Request("POST", target,
                         body(R"({"responseMimeType":"application/json","responseSchema":)" +
                              std::string(kGoogleSchema) + "}"),
                         key)
                .status,
            200);
  for (const std::string& bad :
       {R"({"responseMimeType":"application/json","responseSchema":)" + std::string(kJsonSchema) +
            "}",
        R"({"responseSchema":)" + std::string(kGoogleSchema) + "}",
        R"({"responseMimeType":"application/json","responseSchema":)" + std::string(kGoogleSchema) +
            R"(,"responseJsonSchema":{"type":"object"}})",
        std::string(R"({"responseFormat":{"type":"json"}})")}) {
    EXPECT_EQ(client.Request("POST", target, body(bad), key).status, 400) << bad;
  }
}

}  // namespace
}  // namespace hybridgate::testing
