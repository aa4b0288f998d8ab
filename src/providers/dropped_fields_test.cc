// What each provider's encoder leaves out of another dialect's request, and that it says so
// (Provider::ReportDropped, the answer's x-hybridgate-dropped-fields): per upstream dialect, a
// client of each other dialect sends fields without an equivalent; the encoded body must lack
// them, carry what has an equivalent, and the report must name exactly the dropped ones as the
// client wrote them.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/anthropic/anthropic.h"
#include "api/dropped.h"
#include "api/gemini/gemini.h"
#include "api/openai_chat.h"
#include "providers/provider.h"

namespace hybridgate::providers {
namespace {

namespace json = boost::json;
using Dialect = api::ChatRequest::Dialect;

config::ProviderConfig MakeConfig(std::string type) {
  config::ProviderConfig c;
  c.name = "up";
  c.type = type;
  c.base_url = type == "anthropic" ? "https://api.anthropic.com/v1"
               : type == "gemini"  ? "https://generativelanguage.googleapis.com/v1beta"
                                   : "https://api.openai.com/v1";
  c.api_key = "k";
  c.models.push_back({.name = "m", .id = "upstream-model"});
  return c;
}

std::unique_ptr<Provider> Make(const config::ProviderConfig& c) {
  Registry reg;
  RegisterBuiltins(reg);
  auto p = reg.Create(c);
  EXPECT_TRUE(p) << p.error().message;
  return std::move(*p);
}

api::ChatRequest FromOpenAi(std::string body) {
  auto req = api::DecodeOpenAiChat(body);
  EXPECT_TRUE(req) << req.error().message;
  return std::move(*req);
}
api::ChatRequest FromAnthropic(std::string body) {
  auto req = api::anthropic::DecodeRequest(body);
  EXPECT_TRUE(req) << req.error().message;
  return std::move(*req);
}
api::ChatRequest FromGemini(std::string body) {
  auto req = api::gemini::DecodeRequest(body, "m", false);
  EXPECT_TRUE(req) << req.error().message;
  return std::move(*req);
}

// One provider of `type` encoding `req`: the body it sends and what it reports dropped.
struct Encoded {
  json::object body;
  std::string dropped;
};
Encoded Encode(const std::string& type, const api::ChatRequest& req) {
  const config::ProviderConfig cfg = MakeConfig(type);
  auto p = Make(cfg);
  auto up = p->EncodeChat(req, cfg.models[0], "req-1");
  EXPECT_TRUE(up) << up.error().message;
  api::Dropped dropped(req.ingress);
  p->ReportDropped(req, dropped);
  return {up ? json::parse(up->body).as_object() : json::object{}, dropped.list()};
}

bool Has(const json::object& o, std::string_view key) { return o.contains(key); }

// --- the collector ----------------------------------------------------------------------------

TEST(Dropped, NamesOnceCleansAndStaysBounded) {
  api::Dropped d(Dialect::kGemini);
  d.Add(api::Field::kTopK);
  d.Add("safetySettings");
  d.Add(api::Field::kTopK);
  d.AddList("a b,safetySettings,c\x01,");
  EXPECT_EQ(d.list(), "generationConfig.topK,safetySettings,a_b,c_");
  for (int i = 0; i < 200; ++i) d.Add("field_" + std::to_string(i));
  EXPECT_LE(d.list().size(), api::Dropped::kMaxBytes + 70);
  EXPECT_EQ(api::FieldName(Dialect::kAnthropic, api::Field::kReasoning), "thinking");
  EXPECT_EQ(api::FieldName(Dialect::kOpenAi, api::Field::kUser), "user");
  EXPECT_EQ(api::FieldName(Dialect::kAnthropic, api::Field::kUser), "metadata.user_id");
}

// --- to an OpenAI-compatible upstream -----------------------------------------------------------

constexpr std::string_view kAnthropicRequest = R"({"model":"m","max_tokens":300,
  "system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],
  "messages":[
    {"role":"user","content":[{"type":"text","text":"list","cache_control":{"type":"ephemeral"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":"denied"}]}],
  "tools":[{"name":"Bash","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}},
           {"type":"web_search_20250305","name":"web_search","max_uses":2}],
  "tool_choice":{"type":"any","disable_parallel_tool_use":true},
  "thinking":{"type":"enabled","budget_tokens":4000},
  "output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object"}}},
  "context_management":{"edits":[]},"service_tier":"auto",
  "metadata":{"user_id":"u-1"},"stop_sequences":["END"],"top_k":5,"temperature":0.5})";

TEST(OpenAiEncoder, AnthropicClientsFieldsWithoutAnEquivalentAreNamed) {
  const Encoded e = Encode("openai", FromAnthropic(std::string(kAnthropicRequest)));
  EXPECT_EQ(e.dropped,
            "thinking,output_config.effort,context_management,service_tier,top_k,cache_control,"
            "is_error,tools:web_search_20250305");
  for (const char* gone : {"top_k", "thinking", "output_config", "context_management",
                           "service_tier", "reasoning_effort", "metadata"}) {
    EXPECT_FALSE(Has(e.body, gone)) << gone;
  }
  // What has an equivalent arrives in OpenAI's form.
  EXPECT_EQ(e.body.at("tools").as_array().size(), 1u);
  EXPECT_EQ(e.body.at("tools").at(0).at("function").at("name"), "Bash");
  EXPECT_EQ(e.body.at("tool_choice"), "required");
  EXPECT_EQ(e.body.at("parallel_tool_calls"), false);
  EXPECT_EQ(e.body.at("response_format").at("type"), "json_schema");
  EXPECT_EQ(e.body.at("stop"), json::array{"END"});
  EXPECT_EQ(e.body.at("user"), "u-1");
  EXPECT_EQ(e.body.at("temperature"), 0.5);
}

TEST(OpenAiEncoder, OnlyServerToolsMeansNoToolsAndNoToolChoice) {
  const Encoded e = Encode("openai", FromAnthropic(R"({"model":"m","max_tokens":9,
      "messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"auto"},
      "tools":[{"type":"bash_20250124","name":"bash"}]})"));
  EXPECT_EQ(e.dropped, "tools:bash_20250124");
  EXPECT_FALSE(Has(e.body, "tools"));
  EXPECT_FALSE(Has(e.body, "tool_choice"));  // OpenAI refuses tool_choice without tools
}

TEST(OpenAiEncoder, GeminiClientsOwnFieldsAreNamedTheWayItWroteThem) {
  const Encoded e = Encode("openai", FromGemini(R"({
      "contents":[{"role":"user","parts":[{"text":"hi"}]}],
      "safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],
      "cachedContent":"cachedContents/1",
      "generation_config":{"topK":3,"seed":9,"thinking_config":{"thinkingBudget":2048},
                           "responseModalities":["TEXT"],"presencePenalty":0.5}})"));
  EXPECT_EQ(e.dropped,
            "safetySettings,cachedContent,generationConfig.thinking_config,"
            "generationConfig.responseModalities,generationConfig.topK");
  EXPECT_EQ(e.body.at("seed"), 9);
  EXPECT_EQ(e.body.at("presence_penalty"), 0.5);
  for (const char* gone : {"top_k", "safetySettings", "cachedContent", "reasoning_effort"}) {
    EXPECT_FALSE(Has(e.body, gone)) << gone;
  }
}

TEST(OpenAiEncoder, AnOpenAiClientLosesNothing) {
  const Encoded e = Encode("openai", FromOpenAi(R"({"model":"m","top_k":4,"logit_bias":{"1":2},
      "reasoning_effort":"low","messages":[{"role":"user","content":"hi","name":"ann"}],
      "tools":[{"type":"custom","custom":{"name":"grep"}}],"tool_choice":"auto"})"));
  EXPECT_EQ(e.dropped, "");
  EXPECT_EQ(e.body.at("top_k"), 4);  // vLLM's, for a client that knows its upstream
  EXPECT_EQ(e.body.at("logit_bias"), json::parse(R"({"1":2})"));
  EXPECT_EQ(e.body.at("reasoning_effort"), "low");
  EXPECT_EQ(e.body.at("tools").at(0).at("type"), "custom");
}

// --- to an Anthropic upstream ------------------------------------------------------------------

TEST(AnthropicEncoder, OpenAiClientsFieldsWithoutAnEquivalentAreNamed) {
  const Encoded e = Encode("anthropic", FromOpenAi(R"({"model":"m","n":2,"seed":1,
      "frequency_penalty":0.1,"presence_penalty":0.2,"logprobs":true,"top_logprobs":2,
      "metadata":{"trace":"t"},"logit_bias":{"1":2},"user":"u-2",
      "reasoning_effort":"high","temperature":0.3,"top_p":0.5,"top_k":5,
      "messages":[{"role":"user","content":"hi","name":"ann"},
                  {"role":"assistant","content":"yo","refusal":null,"audio":{"id":"a1"}},
                  {"role":"user","content":"go"}],
      "tools":[{"type":"function","function":{"name":"f","strict":true,
                "parameters":{"type":"object"}}},{"type":"custom","custom":{"name":"grep"}}],
      "response_format":{"type":"json_schema","json_schema":{"name":"o","schema":{"type":"object"}}}})"));
  EXPECT_EQ(e.dropped,
            "logit_bias,messages.name,messages.audio,n,seed,frequency_penalty,presence_penalty,"
            "logprobs,top_logprobs,metadata,temperature,top_k,top_p,tools.function.strict,"
            "tools:custom");
  for (const char* gone : {"n", "seed", "frequency_penalty", "presence_penalty", "logprobs",
                           "top_logprobs", "logit_bias", "temperature", "top_k", "top_p"}) {
    EXPECT_FALSE(Has(e.body, gone)) << gone;
  }
  EXPECT_EQ(e.body.at("thinking").at("budget_tokens"), 24576);
  EXPECT_EQ(e.body.at("metadata"), json::parse(R"({"user_id":"u-2"})"));
  EXPECT_EQ(e.body.at("output_config").at("format").at("type"), "json_schema");
  EXPECT_EQ(e.body.at("tools").as_array().size(), 1u);
  EXPECT_FALSE(e.body.at("tools").at(0).as_object().contains("strict"));
}

TEST(AnthropicEncoder, ThinkingThatCannotBeSentIsNamedAndNoneAskedIsNot) {
  // Anthropic refuses thinking with a forced tool: the effort is dropped, and said to be.
  const Encoded forced = Encode("anthropic", FromOpenAi(R"({"model":"m","reasoning_effort":"low",
      "messages":[{"role":"user","content":"hi"}],"tool_choice":"required",
      "tools":[{"type":"function","function":{"name":"f"}}]})"));
  EXPECT_FALSE(Has(forced.body, "thinking"));
  EXPECT_EQ(forced.dropped, "reasoning_effort");
  const Encoded none = Encode("anthropic", FromOpenAi(R"({"model":"m","reasoning_effort":"none",
      "messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_EQ(none.dropped, "");
  // A Gemini client's thinkingConfig with its budget is carried; its other fields are not.
  const Encoded gemini = Encode("anthropic", FromGemini(R"({
      "contents":[{"role":"user","parts":[{"text":"hi"}]}],
      "safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],
      "metadata":null,"generationConfig":{"seed":4,"presencePenalty":0.1,"topK":10,
        "responseLogprobs":true,"thinkingConfig":{"thinkingBudget":4096}}})"));
  EXPECT_EQ(gemini.body.at("thinking").at("budget_tokens"), 8192);
  EXPECT_EQ(gemini.dropped,
            "safetySettings,generationConfig.seed,generationConfig.presencePenalty,"
            "generationConfig.responseLogprobs,generationConfig.topK");
}

TEST(AnthropicEncoder, AnAnthropicClientLosesOnlyWhatReencodingJoins) {
  api::ChatRequest req = FromAnthropic(std::string(kAnthropicRequest));
  const Encoded reencoded = Encode("anthropic", req);  // as after redaction: no native body
  EXPECT_EQ(reencoded.dropped, "cache_control");       // the system block's
  EXPECT_EQ(reencoded.body.at("tools").at(1).at("type"), "web_search_20250305");
  EXPECT_EQ(reencoded.body.at("context_management"), json::parse(R"({"edits":[]})"));
  req.native_body = R"({"model":"m","max_tokens":1,"messages":[]})";
  EXPECT_EQ(Encode("anthropic", req).dropped, "");  // sent as it came
}

// --- to a Gemini upstream ------------------------------------------------------------------------

TEST(GeminiEncoder, OpenAiClientsFieldsWithoutAnEquivalentAreNamed) {
  const Encoded e = Encode("gemini", FromOpenAi(R"({"model":"m","n":2,"seed":1,
      "logprobs":true,"top_logprobs":2,"metadata":{"trace":"t"},"user":"u","store":true,
      "parallel_tool_calls":false,"reasoning_effort":"extreme",
      "messages":[{"role":"user","content":"hi","name":"ann"}],
      "tools":[{"type":"function","function":{"name":"f","strict":true,
                "parameters":{"type":"object","properties":{"a":{"type":["string","null"]}}}}}],
      "response_format":{"type":"json_schema","json_schema":{"name":"o",
        "schema":{"type":"object","additionalProperties":false}}}})"));
  EXPECT_EQ(e.dropped,
            "logprobs,top_logprobs,reasoning_effort,store,messages.name,metadata,user,"
            "parallel_tool_calls,tools.function.strict");
  const json::object& g = e.body.at("generationConfig").as_object();
  EXPECT_EQ(g.at("candidateCount"), 2);
  EXPECT_EQ(g.at("seed"), 1);
  EXPECT_FALSE(g.contains("thinkingConfig"));
  // JSON Schema goes where Gemini takes JSON Schema.
  EXPECT_EQ(g.at("responseMimeType"), "application/json");
  EXPECT_EQ(g.at("responseJsonSchema"),
            json::parse(R"({"type":"object","additionalProperties":false})"));
  EXPECT_FALSE(g.contains("responseSchema"));
  const auto& decl = e.body.at("tools").at(0).at("functionDeclarations").at(0).as_object();
  EXPECT_TRUE(decl.contains("parametersJsonSchema"));
  EXPECT_FALSE(decl.contains("parameters"));
  for (const char* gone : {"metadata", "user", "store", "logprobs"}) {
    EXPECT_FALSE(Has(e.body, gone)) << gone;
  }
}

TEST(GeminiEncoder, AnthropicClientsFieldsWithoutAnEquivalentAreNamed) {
  api::ChatRequest req = FromAnthropic(std::string(kAnthropicRequest));
  const Encoded e = Encode("gemini", req);
  EXPECT_EQ(e.dropped,
            "output_config.effort,context_management,service_tier,metadata.user_id,"
            "tool_choice.disable_parallel_tool_use,cache_control,is_error,"
            "tools:web_search_20250305");
  const json::object& g = e.body.at("generationConfig").as_object();
  EXPECT_EQ(g.at("topK"), 5);
  EXPECT_EQ(g.at("thinkingConfig").at("thinkingBudget"), 8192);  // thinking: carried
  EXPECT_EQ(g.at("stopSequences"), json::array{"END"});
  EXPECT_EQ(g.at("responseJsonSchema"), json::parse(R"({"type":"object"})"));
  // Adaptive thinking has no budget to carry.
  const Encoded adaptive = Encode("gemini", FromAnthropic(R"({"model":"m","max_tokens":9,
      "thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_EQ(adaptive.dropped, "thinking");
  const Encoded off = Encode("gemini", FromAnthropic(R"({"model":"m","max_tokens":9,
      "thinking":{"type":"disabled"},"messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_EQ(off.dropped, "");
}

TEST(GeminiEncoder, AGeminiClientLosesOnlyLogprobs) {
  const Encoded e = Encode("gemini", FromGemini(R"({
      "contents":[{"role":"user","parts":[{"text":"hi"}]}],"safetySettings":[],
      "generationConfig":{"responseLogprobs":true,"logprobs":3,"topK":2,
        "thinkingConfig":{"thinkingBudget":0}}})"));
  EXPECT_EQ(e.dropped, "generationConfig.responseLogprobs,generationConfig.logprobs");
  EXPECT_EQ(e.body.at("generationConfig").at("topK"), 2);
  EXPECT_TRUE(Has(e.body, "safetySettings"));
}

}  // namespace
}  // namespace hybridgate::providers
