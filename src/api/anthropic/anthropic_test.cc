// Golden-file tests for the Anthropic dialect. Goldens in testdata/ follow the examples of
// Anthropic's Messages API reference and "Streaming Messages" page; JSON is compared parsed.
#include "api/anthropic/anthropic.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "api/openai_chat.h"

namespace hybridgate::api::anthropic {
namespace {

namespace json = boost::json;

std::string ReadFile(const std::string& name) {
  std::ifstream in(std::string(ANTHROPIC_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::value Json(std::string_view s) { return json::parse(s); }

std::vector<SseEvent> ParseSse(std::string_view text) {
  std::vector<SseEvent> events;
  SseParser parser;
  EXPECT_TRUE(parser.Feed(text, [&](const SseEvent& e) { events.push_back(e); }));
  return events;
}

// --- requests ---------------------------------------------------------------------------------

TEST(EncodeRequest, GoldenSystemMergedTurnsToolsImages) {
  std::string body = ReadFile("request_openai.json");
  auto req = DecodeOpenAiChat(body);
  ASSERT_TRUE(req) << req.error().message;
  std::string out;
  auto s = EncodeRequest(*req, {.model = "claude-sonnet-4-5"}, out);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(Json(out), Json(ReadFile("request_anthropic.json"))) << out;
}

TEST(EncodeRequest, DefaultMaxTokensAndToolChoiceKinds) {
  ChatRequest req;
  req.model = "m";
  req.messages.push_back({.role = "user", .text = "hi"});
  req.tools.push_back({.name = "f"});
  struct Case {
    ToolChoice::Kind kind;
    const char* want;
  };
  for (const Case& c : {Case{ToolChoice::Kind::kAuto, R"({"type":"auto"})"},
                        Case{ToolChoice::Kind::kNone, R"({"type":"none"})"},
                        Case{ToolChoice::Kind::kRequired, R"({"type":"any"})"},
                        Case{ToolChoice::Kind::kFunction, R"({"type":"tool","name":"f"})"}}) {
    req.tool_choice.kind = c.kind;
    req.tool_choice.function_name = "f";
    std::string out;
    ASSERT_TRUE(EncodeRequest(req, {}, out));
    const json::value v = Json(out);
    EXPECT_EQ(v.at("tool_choice"), Json(c.want)) << out;
    EXPECT_EQ(v.at("max_tokens"), 4096);
    EXPECT_EQ(v.at("messages"),
              Json(R"([{"role":"user","content":[{"type":"text","text":"hi"}]}])"));
    EXPECT_FALSE(v.as_object().contains("system"));
  }
}

// OpenAI's temperature goes to 2, Anthropic's to 1; a request of system text and empty
// messages only has nothing Anthropic takes: refused before sending, naming `messages`.
TEST(EncodeRequest, TemperatureAboveOneAndNothingToSend) {
  ChatRequest req;
  req.model = "m";
  req.messages.push_back({.role = "user", .text = "hi"});
  req.temperature = 2.0;
  std::string out;
  ASSERT_TRUE(EncodeRequest(req, {}, out));
  EXPECT_EQ(Json(out).at("temperature").to_number<double>(), 1.0) << out;
  req.temperature = 0.3;
  out.clear();
  ASSERT_TRUE(EncodeRequest(req, {}, out));
  EXPECT_EQ(Json(out).at("temperature").to_number<double>(), 0.3) << out;

  ChatRequest empty;
  empty.model = "m";
  empty.messages.push_back({.role = "system", .text = "be brief"});
  empty.messages.push_back({.role = "user", .text = ""});
  out.clear();
  auto s = EncodeRequest(empty, {}, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidRequest);
  EXPECT_EQ(s.error().param, "messages");
}

TEST(EncodeRequest, ReasoningEffortBecomesThinkingBudget) {
  std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}],
      "reasoning_effort":"medium","temperature":0.3,"top_p":0.5,"top_k":5,"max_tokens":1000})";
  auto req = DecodeOpenAiChat(body);
  ASSERT_TRUE(req) << req.error().message;
  std::string out;
  ASSERT_TRUE(EncodeRequest(*req, {}, out));
  json::value v = Json(out);
  EXPECT_EQ(v.at("thinking"), Json(R"({"type":"enabled","budget_tokens":8192})")) << out;
  EXPECT_EQ(v.at("max_tokens"), 9192);  // must exceed the budget: the answer keeps its 1000
  for (const char* dropped : {"temperature", "top_p", "top_k"}) {
    EXPECT_FALSE(v.as_object().contains(dropped)) << dropped;
  }
  struct Case {
    const char* effort;
    int64_t budget;  // 0: no thinking
  };
  for (const Case& c : {Case{"minimal", 1024}, Case{"low", 2048}, Case{"high", 24576},
                        Case{"none", 0}, Case{"", 0}}) {
    req->reasoning_effort = c.effort;
    req->max_tokens = 64000;
    out.clear();
    ASSERT_TRUE(EncodeRequest(*req, {}, out));
    v = Json(out);
    EXPECT_EQ(v.at("max_tokens"), 64000) << c.effort;
    if (c.budget == 0) {
      EXPECT_FALSE(v.as_object().contains("thinking")) << c.effort;
      EXPECT_EQ(v.at("temperature"), 0.3);
    } else {
      EXPECT_EQ(v.at("thinking").at("budget_tokens"), c.budget) << c.effort;
    }
  }
  // A forced tool, or a tool loop without signed thinking, cannot be combined with thinking.
  req->reasoning_effort = "high";
  req->tools.push_back({.name = "f"});
  req->tool_choice.kind = ToolChoice::Kind::kRequired;
  out.clear();
  ASSERT_TRUE(EncodeRequest(*req, {}, out));
  EXPECT_FALSE(Json(out).as_object().contains("thinking")) << out;
  req->tool_choice.kind = ToolChoice::Kind::kAuto;
  Message call{.role = "assistant", .content_is_null = true};
  call.tool_calls.push_back({.id = "t1", .name = "f", .arguments = "{}"});
  req->messages.push_back(call);
  req->messages.push_back({.role = "tool", .text = "ok", .tool_call_id = "t1"});
  out.clear();
  ASSERT_TRUE(EncodeRequest(*req, {}, out));
  EXPECT_FALSE(Json(out).as_object().contains("thinking")) << out;
}

TEST(DecodeRequest, ThinkingSetsReasoningEffortAndStaysForAnthropic) {
  std::string body = R"({"model":"m","max_tokens":20000,"messages":[{"role":"user","content":"x"}],
      "thinking":{"type":"enabled","budget_tokens":10000}})";
  auto req = DecodeRequest(body);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->reasoning_effort, "high");
  std::string out;
  ASSERT_TRUE(EncodeRequest(*req, {.forward_extra = true}, out));
  EXPECT_EQ(Json(out).at("thinking"), Json(R"({"type":"enabled","budget_tokens":10000})")) << out;
  EXPECT_EQ(Json(out).at("max_tokens"), 20000);
}

// Structured output crosses dialects: Anthropic's output_config.format is an OpenAI upstream's
// response_format (and none of Anthropic's own fields reach it); an OpenAI client's
// response_format is an Anthropic upstream's output_config.format.
TEST(DecodeRequest, StructuredOutputCrossesDialects) {
  std::string body = R"({"model":"m","max_tokens":100,"messages":[{"role":"user","content":"x"}],
      "thinking":{"type":"enabled","budget_tokens":2000},
      "output_config":{"effort":"medium","format":{"type":"json_schema",
        "schema":{"type":"object","properties":{"a":{"type":"string"}}}}}})";
  auto req = DecodeRequest(body);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->response_format.kind, ResponseFormat::Kind::kJsonSchema);
  std::string openai;
  EncodeOpenAiChat(*req, {}, openai);
  const json::value v = Json(openai);
  EXPECT_EQ(v.at("response_format").at("json_schema").at("schema"),
            Json(R"({"type":"object","properties":{"a":{"type":"string"}}})"))
      << openai;
  EXPECT_FALSE(v.as_object().contains("output_config")) << openai;
  EXPECT_FALSE(v.as_object().contains("thinking")) << openai;
  // To an Anthropic upstream the client's own output_config goes once, as sent.
  std::string anthropic;
  ASSERT_TRUE(EncodeRequest(*req, {.forward_extra = true}, anthropic));
  EXPECT_EQ(Json(anthropic).at("output_config").at("effort"), "medium") << anthropic;
  EXPECT_EQ(anthropic.find("output_config"), anthropic.rfind("output_config")) << anthropic;

  std::string from_openai = R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "response_format":{"type":"json_schema","json_schema":{"name":"p",
        "schema":{"type":"object","properties":{"b":{"type":"integer"}}}}}})";
  auto oreq = DecodeOpenAiChat(from_openai);
  ASSERT_TRUE(oreq) << oreq.error().message;
  std::string out;
  ASSERT_TRUE(EncodeRequest(*oreq, {}, out));
  EXPECT_EQ(Json(out).at("output_config"),
            Json(R"({"format":{"type":"json_schema","schema":{"type":"object",
                 "properties":{"b":{"type":"integer"}}}}})"))
      << out;
  EXPECT_FALSE(Json(out).as_object().contains("response_format")) << out;
  // JSON mode without a schema: any object.
  std::string mode = R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "response_format":{"type":"json_object"}})";
  auto jreq = DecodeOpenAiChat(mode);
  ASSERT_TRUE(jreq);
  out.clear();
  ASSERT_TRUE(EncodeRequest(*jreq, {}, out));
  EXPECT_EQ(Json(out).at("output_config").at("format").at("schema"), Json(R"({"type":"object"})"));
}

TEST(EncodeRequest, InvalidToolArgumentsNameTheField) {
  ChatRequest req;
  req.messages.push_back({.role = "user", .text = "hi"});
  Message m{.role = "assistant", .content_is_null = true};
  m.tool_calls.push_back({.id = "t", .name = "f", .arguments = "{not json"});
  req.messages.push_back(m);
  std::string out;
  auto s = EncodeRequest(req, {}, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().param, "messages[1].tool_calls[0].function.arguments");
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidRequest);
}

// An assistant turn of an extended-thinking tool loop, as Anthropic answered it: two signed
// thinking blocks around a redacted one, then text and a tool call.
constexpr std::string_view kThinkingTurn = R"([
    {"type":"thinking","thinking":"First, the city.","signature":"sig-A=="},
    {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
    {"type":"thinking","thinking":" Then the tool.","signature":"sig-B=="},
    {"type":"text","text":"Let me check."},
    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}])";

std::string ThinkingToolLoop(std::string_view assistant_content) {
  return R"({"model":"m","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},
      "tools":[{"name":"get_weather","input_schema":{"type":"object"}}],
      "messages":[{"role":"user","content":"Weather in Paris?"},
                  {"role":"assistant","content":)" +
         std::string(assistant_content) + R"(},
                  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",
                                             "content":"15 degrees"}]}]})";
}

TEST(EncodeRequest, ThinkingBlocksComeBackUnchangedAndInOrder) {
  std::string body = ThinkingToolLoop(kThinkingTurn);
  auto req = DecodeRequest(body);
  ASSERT_TRUE(req) << req.error().message;
  const Message& a = req->messages[1];
  EXPECT_EQ(a.reasoning_content, "First, the city. Then the tool.");
  ASSERT_EQ(a.thinking_blocks.size(), 3u);
  std::string out;
  ASSERT_TRUE(EncodeRequest(*req, {.forward_extra = true}, out));
  EXPECT_EQ(Json(out).at("messages").at(1).at("content"), Json(kThinkingTurn)) << out;
  EXPECT_EQ(Json(out).at("thinking"), Json(R"({"type":"enabled","budget_tokens":2000})"));
}

TEST(EncodeRequest, UnsignedOrRewrittenThinkingIsNotSent) {
  // An unsigned block (an OpenAI-compatible model's reasoning, as answered to an Anthropic
  // client) is left out; the signed one stays.
  std::string body = ThinkingToolLoop(R"([
      {"type":"thinking","thinking":"unsigned","signature":""},
      {"type":"thinking","thinking":"signed","signature":"sig-A=="},
      {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}])");
  auto req = DecodeRequest(body);
  ASSERT_TRUE(req) << req.error().message;
  std::string out;
  ASSERT_TRUE(EncodeRequest(*req, {.forward_extra = true}, out));
  EXPECT_EQ(Json(out).at("messages").at(1).at("content"),
            Json(R"([{"type":"thinking","thinking":"signed","signature":"sig-A=="},
                     {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}])"))
      << out;
  // A turn whose reasoning was rewritten after decoding (redaction) sends none of its blocks,
  // and so, from an OpenAI-dialect effort, no thinking either.
  body = ThinkingToolLoop(kThinkingTurn);
  req = DecodeRequest(body);
  ASSERT_TRUE(req);
  req->messages[1].reasoning_content = "First, the [CITY_1]. Then the tool.";
  req->extra.clear();
  req->reasoning_effort = "low";
  out.clear();
  ASSERT_TRUE(EncodeRequest(*req, {}, out));
  EXPECT_EQ(Json(out).at("messages").at(1).at("content"),
            Json(R"([{"type":"text","text":"Let me check."},
                     {"type":"tool_use","id":"toolu_1","name":"get_weather",
                      "input":{"city":"Paris"}}])"))
      << out;
  EXPECT_FALSE(Json(out).as_object().contains("thinking")) << out;
}

TEST(EncodeRequest, OpenAiClientReplaysThinkingBlocks) {
  // What an OpenAI-dialect client got from an Anthropic model (thinking_blocks on the message),
  // replayed without reasoning_content, with an effort: the Anthropic upstream gets the blocks
  // and thinking; an OpenAI-compatible upstream gets neither the blocks nor an unknown field.
  std::string body = R"({"model":"m","reasoning_effort":"low","max_tokens":100,
      "tools":[{"type":"function","function":{"name":"get_weather"}}],
      "messages":[{"role":"user","content":"Weather in Paris?"},
        {"role":"assistant","content":"Let me check.","thinking_blocks":[
          {"type":"thinking","thinking":"First, the city.","signature":"sig-A=="},
          {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}],
         "tool_calls":[{"id":"toolu_1","type":"function",
                        "function":{"name":"get_weather","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"toolu_1","content":"15 degrees"}]})";
  auto req = DecodeOpenAiChat(body);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->messages[1].reasoning_content, "First, the city.");
  EXPECT_TRUE(req->messages[1].extra.empty());
  std::string out;
  ASSERT_TRUE(EncodeRequest(*req, {}, out));
  const json::value v = Json(out);
  EXPECT_EQ(v.at("thinking"), Json(R"({"type":"enabled","budget_tokens":2048})")) << out;
  EXPECT_EQ(v.at("messages").at(1).at("content"),
            Json(R"([{"type":"thinking","thinking":"First, the city.","signature":"sig-A=="},
                     {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
                     {"type":"text","text":"Let me check."},
                     {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}])"))
      << out;
  out.clear();
  EncodeOpenAiChat(*req, {}, out);
  const json::value sent = Json(out);
  const json::object& m = sent.at("messages").at(1).as_object();
  EXPECT_FALSE(m.contains("thinking_blocks")) << out;
  EXPECT_EQ(m.at("reasoning_content"), "First, the city.");

  std::string bad = R"({"model":"m","messages":[{"role":"assistant","content":"x",
      "thinking_blocks":[{"type":"summary","text":"x"}]}]})";
  auto r = DecodeOpenAiChat(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "messages[0].thinking_blocks[0].type");
  bad = R"({"model":"m","messages":[{"role":"assistant","content":"x",
      "thinking_blocks":[{"type":"redacted_thinking"}]}]})";
  r = DecodeOpenAiChat(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "messages[0].thinking_blocks[0].data");
}

TEST(DecodeRequest, GoldenReadsEveryBlockType) {
  std::string body = ReadFile("decode_request.json");
  auto r = DecodeRequest(body);
  ASSERT_TRUE(r) << r.error().message;
  const ChatRequest& req = *r;
  EXPECT_EQ(req.model, "claude-sonnet-4-5");
  EXPECT_EQ(req.max_tokens, 1024);
  ASSERT_EQ(req.messages.size(), 6u);
  EXPECT_EQ(req.messages[0].role, "system");
  EXPECT_EQ(req.messages[0].text, "You are a weather assistant.\n\nBe brief.");
  EXPECT_EQ(req.messages[1].text, "What's the weather like in San Francisco?");
  const Message& a = req.messages[2];
  EXPECT_EQ(a.role, "assistant");
  EXPECT_TRUE(a.content_is_null);
  EXPECT_EQ(a.reasoning_content, "The user wants the weather.");
  ASSERT_EQ(a.thinking_blocks.size(), 2u);
  EXPECT_EQ(a.thinking_blocks[0].signature, "EqQBCgIYAhIM");
  EXPECT_TRUE(a.thinking_blocks[1].redacted);
  EXPECT_EQ(a.thinking_blocks[1].data, "EmwKAhgBEgy3va3pzix");
  ASSERT_EQ(a.tool_calls.size(), 1u);
  EXPECT_EQ(a.tool_calls[0].id, "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(a.tool_calls[0].arguments, R"({"location":"San Francisco, CA"})");
  const Message& t = req.messages[3];
  EXPECT_EQ(t.role, "tool");
  EXPECT_EQ(t.tool_call_id, "toolu_01A09q90qw90lq917835lq9");
  ASSERT_EQ(t.parts.size(), 2u);
  EXPECT_EQ(t.parts[1].image_url, "data:image/png;base64,iVBORw0KGgo=");
  EXPECT_EQ(req.messages[4].text, "It is 15 degrees.");
  EXPECT_EQ(req.messages[5].text, "Thanks");
  ASSERT_EQ(req.tools.size(), 2u);
  EXPECT_EQ(req.tools[0].parameters_json,
            R"({"type":"object","properties":{"location":{"type":"string"}}})");
  EXPECT_FALSE(req.tools[1].raw.empty());
  EXPECT_EQ(req.tool_choice.kind, ToolChoice::Kind::kFunction);
  EXPECT_EQ(req.tool_choice.function_name, "get_weather");
  EXPECT_EQ(req.stop, (std::vector<std::string>{"END", "STOP"}));
  EXPECT_EQ(req.top_k, 5);
  EXPECT_EQ(req.user, "u-1");
  EXPECT_TRUE(req.stream);
  ASSERT_EQ(req.extra.size(), 1u);
  EXPECT_EQ(req.extra[0].key, "thinking");

  // Back to Anthropic (as for an Anthropic upstream): thinking keeps its signature.
  std::string out;
  ASSERT_TRUE(EncodeRequest(req, {.forward_extra = true}, out));
  const json::value v = Json(out);
  EXPECT_EQ(v.at("messages").at(1).at("content"),
            Json(R"([{"type":"thinking","thinking":"The user wants the weather.",
                      "signature":"EqQBCgIYAhIM"},
                     {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
                     {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9",
                      "name":"get_weather","input":{"location":"San Francisco, CA"}}])"));
  EXPECT_EQ(v.at("thinking"), Json(R"({"type":"enabled","budget_tokens":2000})"));
  EXPECT_EQ(v.at("tool_choice"), Json(R"({"type":"tool","name":"get_weather"})"));
}

// Claude Code's newer models send system text as messages among the turns.
constexpr std::string_view kSystemInMessages = R"({
  "model": "m", "max_tokens": 64, "system": "You are Claude Code.",
  "messages": [
    {"role": "user", "content": "hi"},
    {"role": "system", "content": [{"type": "text", "text": "Mode: plan.",
                                    "cache_control": {"type": "ephemeral"}},
                                   {"type": "text", "text": "Be brief."}]},
    {"role": "assistant", "content": "Hello."},
    {"role": "system", "content": "Now act."},
    {"role": "user", "content": "go"}]})";

TEST(DecodeRequest, SystemMessagesAmongTurnsStayInPlace) {
  std::string body(kSystemInMessages);
  auto r = DecodeRequest(body);
  ASSERT_TRUE(r) << r.error().message;
  std::vector<std::pair<std::string, std::string>> got;
  for (const Message& m : r->messages) got.emplace_back(m.role, m.text);
  EXPECT_EQ(
      got, (std::vector<std::pair<std::string, std::string>>{{"system", "You are Claude Code."},
                                                             {"user", "hi"},
                                                             {"system", "Mode: plan.\n\nBe brief."},
                                                             {"assistant", "Hello."},
                                                             {"system", "Now act."},
                                                             {"user", "go"}}));
}

TEST(DecodeRequest, SystemMessagesReachEachUpstreamWhereItTakesThem) {
  std::string body(kSystemInMessages);
  auto r = DecodeRequest(body);
  ASSERT_TRUE(r) << r.error().message;
  // OpenAI-compatible upstream: a system message in place.
  std::string openai;
  EncodeOpenAiChat(*r, {.model = "up"}, openai);
  EXPECT_EQ(Json(openai).at("messages"), Json(R"([
      {"role":"system","content":"You are Claude Code."},
      {"role":"user","content":"hi"},
      {"role":"system","content":"Mode: plan.\n\nBe brief."},
      {"role":"assistant","content":"Hello."},
      {"role":"system","content":"Now act."},
      {"role":"user","content":"go"}])"))
      << openai;
  // Anthropic upstream: only a top-level system, so every system text moves there, in order.
  std::string anthropic;
  ASSERT_TRUE(EncodeRequest(*r, {.model = "claude", .forward_extra = true}, anthropic));
  EXPECT_EQ(Json(anthropic), Json(R"({"model":"claude","max_tokens":64,
      "system":"You are Claude Code.\n\nMode: plan.\n\nBe brief.\n\nNow act.",
      "messages":[
        {"role":"user","content":[{"type":"text","text":"hi"}]},
        {"role":"assistant","content":[{"type":"text","text":"Hello."}]},
        {"role":"user","content":[{"type":"text","text":"go"}]}]})"))
      << anthropic;
}

// A re-encoded Anthropic request (the fallback when it was redacted; otherwise the client's body
// is sent as is) keeps cache_control on content blocks, tool results and tools, and is_error.
TEST(DecodeRequest, ReencodingKeepsCacheControlAndIsError) {
  std::string body(R"({"model":"m","max_tokens":64,"messages":[
    {"role":"user","content":[{"type":"text","text":"ls","cache_control":{"type":"ephemeral"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"denied",
                               "is_error":true,"cache_control":{"type":"ephemeral"}},
                              {"type":"image","source":{"type":"url","url":"https://x/a.png"},
                               "cache_control":{"type":"ephemeral","ttl":"1h"}}]}],
    "tools":[{"name":"Bash","input_schema":{"type":"object"},
              "cache_control":{"type":"ephemeral"}}]})");
  auto r = DecodeRequest(body);
  ASSERT_TRUE(r) << r.error().message;
  std::string out;
  ASSERT_TRUE(EncodeRequest(*r, {.model = "m", .forward_extra = true}, out));
  EXPECT_EQ(Json(out), Json(R"({"model":"m","max_tokens":64,"messages":[
    {"role":"user","content":[{"type":"text","text":"ls","cache_control":{"type":"ephemeral"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"denied",
                               "is_error":true,"cache_control":{"type":"ephemeral"}},
                              {"type":"image","source":{"type":"url","url":"https://x/a.png"},
                               "cache_control":{"type":"ephemeral","ttl":"1h"}}]}],
    "tools":[{"name":"Bash","input_schema":{"type":"object"},
              "cache_control":{"type":"ephemeral"}}]})"))
      << out;
}

TEST(DecodeRequest, ErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({"model":"m","messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"model":"m","max_tokens":10})", "messages"},
      {R"({"model":"m","max_tokens":10,"messages":[]})", "messages"},
      {R"({"max_tokens":10,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":"m","max_tokens":"10","messages":[{"role":"user","content":"x"}]})",
       "max_tokens"},
      {R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]})",
       "messages[0].role"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"system","content":7}]})",
       "messages[0].content"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"system","content":[
          {"type":"image","source":{"type":"url","url":"http://x"}}]}]})",
       "messages[0].content[0]"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":7}]})",
       "messages[0].content"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]})",
       "messages[0].content[0].type"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"video"}]}]})",
       "messages[0].content[0].type"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[
          {"type":"tool_use","id":"t","name":"f","input":"{}"}]}]})",
       "messages[0].content[0].input"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[
          {"type":"image","source":{"type":"file"}}]}]})",
       "messages[0].content[0].source.type"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],
          "tools":[{"name":"f"}]})",
       "tools[0].input_schema"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],
          "tool_choice":{"type":"sometimes"}})",
       "tool_choice.type"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"system":5})",
       "system"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[
          {"type":"thinking","thinking":"x","signature":5}]}]})",
       "messages[0].content[0].signature"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[
          {"type":"redacted_thinking"}]}]})",
       "messages[0].content[0].data"},
  };
  for (const Case& c : cases) {
    std::string body = c.body;
    auto r = DecodeRequest(body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidRequest) << c.body;
    EXPECT_EQ(r.error().param, c.param) << c.body << " -> " << r.error().message;
  }
}

// --- responses --------------------------------------------------------------------------------

TEST(Response, GoldenBothWays) {
  auto openai = DecodeResponse(ReadFile("response_anthropic.json"));
  ASSERT_TRUE(openai) << openai.error().message;
  EXPECT_EQ(Json(*openai), Json(ReadFile("response_openai.json"))) << *openai;
  auto anthropic = EncodeResponse(ReadFile("response_openai.json"));
  ASSERT_TRUE(anthropic) << anthropic.error().message;
  EXPECT_EQ(Json(*anthropic), Json(ReadFile("response_anthropic.json"))) << *anthropic;
}

TEST(Response, GoldenThinkingBlocksBothWays) {
  auto openai = DecodeResponse(ReadFile("response_thinking_anthropic.json"));
  ASSERT_TRUE(openai) << openai.error().message;
  EXPECT_EQ(Json(*openai), Json(ReadFile("response_thinking_openai.json"))) << *openai;
  auto anthropic = EncodeResponse(*openai);
  ASSERT_TRUE(anthropic) << anthropic.error().message;
  EXPECT_EQ(Json(*anthropic), Json(ReadFile("response_thinking_anthropic.json"))) << *anthropic;
}

TEST(Response, ThinkingStopReasonsAndCachedUsage) {
  auto openai = DecodeResponse(R"({"id":"msg_1","type":"message","role":"assistant","model":"c",
      "content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"ok"}],
      "stop_reason":"max_tokens","usage":{"input_tokens":5,"cache_read_input_tokens":100,
      "output_tokens":7}})");
  ASSERT_TRUE(openai);
  const json::value v = Json(*openai);
  EXPECT_EQ(v.at("choices").at(0).at("message").at("reasoning_content"), "hmm");
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content"), "ok");
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason"), "length");
  EXPECT_EQ(v.at("usage"), Json(R"({"prompt_tokens":105,"completion_tokens":7,"total_tokens":112,
                                    "prompt_tokens_details":{"cached_tokens":100}})"));
  auto back = EncodeResponse(*openai);
  ASSERT_TRUE(back);
  const json::value b = Json(*back);
  EXPECT_EQ(b.at("stop_reason"), "max_tokens");
  EXPECT_EQ(b.at("usage"),
            Json(R"({"input_tokens":5,"output_tokens":7,"cache_read_input_tokens":100})"));
  EXPECT_EQ(b.at("content").at(0).at("type"), "thinking");
  EXPECT_EQ(b.at("content").at(1).at("text"), "ok");
  EXPECT_EQ(Json(*DecodeResponse(R"({"content":[],"stop_reason":"stop_sequence"})"))
                .at("choices")
                .at(0)
                .at("finish_reason"),
            "stop");
}

// --- errors -----------------------------------------------------------------------------------

TEST(Errors, MapsAnthropicErrors) {
  auto body = [](const char* type, const char* msg) {
    return std::string(R"({"type":"error","error":{"type":")") + type + R"(","message":")" + msg +
           "\"}}";
  };
  struct Case {
    int status;
    std::string body;
    ErrorCode want;
  };
  const Case cases[] = {
      {429, body("rate_limit_error", "slow down"), ErrorCode::kRateLimited},
      {529, body("overloaded_error", "Overloaded"), ErrorCode::kRateLimited},
      {401, body("authentication_error", "invalid x-api-key"), ErrorCode::kUpstreamAuth},
      {403, body("permission_error", "no"), ErrorCode::kUpstreamAuth},
      {400, body("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
       ErrorCode::kContextLength},
      {400, body("invalid_request_error", "messages: roles must alternate"),
       ErrorCode::kUpstreamError},
      {500, body("api_error", "Internal server error"), ErrorCode::kUpstreamUnavailable},
      {0, body("overloaded_error", "Overloaded"), ErrorCode::kRateLimited},
  };
  for (const Case& c : cases) {
    const Error e = ErrorFromAnthropic(c.status, c.body);
    EXPECT_EQ(e.code, c.want) << c.body;
    EXPECT_EQ(e.upstream_status, c.status);
  }
  EXPECT_TRUE(ErrorFromAnthropic(529, body("overloaded_error", "x")).Retryable());
  const Error pass = ErrorFromAnthropic(400, body("invalid_request_error", "bad"));
  EXPECT_EQ(EncodeError(pass), pass.upstream_body);
  EXPECT_EQ(Json(EncodeError(MakeError(ErrorCode::kRateLimited, "too many"))),
            Json(R"({"type":"error","error":{"type":"rate_limit_error","message":"too many"}})"));
}

// --- streams ----------------------------------------------------------------------------------

std::vector<json::value> ToOpenAi(const std::string& sse_file, StreamToOpenAi& stream) {
  std::vector<std::string> chunks;
  for (const SseEvent& e : ParseSse(ReadFile(sse_file))) {
    auto s = stream.Feed(e, chunks);
    EXPECT_TRUE(s) << s.error().message;
  }
  std::vector<json::value> out;
  for (const std::string& c : chunks) out.push_back(Json(c));
  return out;
}

void ExpectChunks(const std::string& sse_file, const std::string& golden, std::string_view id) {
  StreamToOpenAi stream;
  const std::vector<json::value> got = ToOpenAi(sse_file, stream);
  EXPECT_TRUE(stream.Done());
  const json::array want = Json(ReadFile(golden)).as_array();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    json::object chunk = got[i].as_object();
    EXPECT_EQ(std::string_view(chunk.at("id").as_string()), id);
    EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
    EXPECT_EQ(chunk.at("model"), "claude-sonnet-4-5");
    chunk.erase("id");
    chunk.erase("object");
    chunk.erase("model");
    chunk.erase("created");
    EXPECT_EQ(json::value(chunk), want[i]) << "chunk " << i;
  }
}

TEST(StreamToOpenAi, GoldenText) {
  ExpectChunks("stream_text.sse", "stream_text_openai.json",
               "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY");
}
TEST(StreamToOpenAi, GoldenToolUse) {
  ExpectChunks("stream_tool_use.sse", "stream_tool_use_openai.json",
               "msg_014p7gG3wDgGV9EUtLvnow3U");
}
TEST(StreamToOpenAi, GoldenThinking) {
  ExpectChunks("stream_thinking.sse", "stream_thinking_openai.json",
               "msg_01Vkx7gQ2y7Nd3xT6QyFVbm4");
}

TEST(StreamToOpenAi, GoldenThinkingRedactedAndToolUse) {
  ExpectChunks("stream_thinking_tool_use.sse", "stream_thinking_tool_use_openai.json",
               "msg_01Ht7cXu3wJm9gYkq2Vb5Rz8");
}

TEST(StreamToOpenAi, ErrorEventBecomesError) {
  StreamToOpenAi stream;
  std::vector<std::string> chunks;
  auto s =
      stream.Feed({.event = "error", .data = R"({"type":"error","error":{"type":"overloaded_error",
                                   "message":"Overloaded"}})"},
                  chunks);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(chunks.empty());
}

// OpenAI chunks (the golden ones, with id and model put back) -> Anthropic events.
std::vector<std::string> OpenAiChunks(const std::string& golden) {
  std::vector<std::string> out;
  const json::value all = Json(ReadFile(golden));
  for (json::value v : all.as_array()) {
    v.as_object()["id"] = "chatcmpl-1";
    v.as_object()["object"] = "chat.completion.chunk";
    v.as_object()["model"] = "gpt-4o";
    out.push_back(json::serialize(v));
  }
  return out;
}

std::string FromOpenAi(const std::vector<std::string>& chunks) {
  StreamFromOpenAi stream;
  std::string out;
  for (const std::string& c : chunks) {
    auto s = stream.Feed(c, out);
    EXPECT_TRUE(s) << s.error().message;
  }
  EXPECT_TRUE(stream.Feed("[DONE]", out));
  return out;
}

TEST(StreamFromOpenAi, GoldenToolUse) {
  const std::vector<SseEvent> got =
      ParseSse(FromOpenAi(OpenAiChunks("stream_tool_use_openai.json")));
  const json::array want = Json(ReadFile("stream_tool_use_from_openai.json")).as_array();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].event, std::string_view(want[i].at("event").as_string())) << i;
    EXPECT_EQ(Json(got[i].data), want[i].at("data")) << i << ": " << got[i].data;
  }
}

// What an OpenAI client reassembles from a stream: content, reasoning, tool calls, finish.
struct Assembled {
  std::string content, reasoning, finish;
  std::vector<std::pair<std::string, std::string>> tools;  // name, arguments
  json::array thinking_blocks;  // entries merged by index (fields set or appended)
  bool operator==(const Assembled&) const = default;
};

Assembled Assemble(const std::vector<std::string>& chunks) {
  Assembled a;
  for (const std::string& c : chunks) {
    const json::value v = Json(c);
    if (v.at("choices").as_array().empty()) continue;
    const json::value& ch = v.at("choices").at(0);
    if (ch.at("finish_reason").is_string()) a.finish = ch.at("finish_reason").as_string();
    const json::object& d = ch.at("delta").as_object();
    if (auto* t = d.if_contains("content"); t && t->is_string()) a.content += t->as_string();
    if (auto* t = d.if_contains("reasoning_content")) a.reasoning += t->as_string();
    if (auto* tbs = d.if_contains("thinking_blocks")) {
      for (const json::value& tb : tbs->as_array()) {
        const size_t idx = tb.at("index").to_number<size_t>();
        if (a.thinking_blocks.size() <= idx) a.thinking_blocks.resize(idx + 1, json::object());
        json::object& block = a.thinking_blocks[idx].as_object();
        for (const auto& [k, v] : tb.as_object()) block[k] = v;
      }
    }
    if (auto* tcs = d.if_contains("tool_calls")) {
      for (const json::value& tc : tcs->as_array()) {
        const size_t idx = tc.at("index").to_number<size_t>();
        if (a.tools.size() <= idx) a.tools.resize(idx + 1);
        const json::object& fn = tc.at("function").as_object();
        if (auto* n = fn.if_contains("name")) a.tools[idx].first += n->as_string();
        if (auto* g = fn.if_contains("arguments")) a.tools[idx].second += g->as_string();
      }
    }
  }
  return a;
}

TEST(StreamRoundTrip, OpenAiToAnthropicToOpenAiKeepsEverything) {
  for (const char* golden :
       {"stream_text_openai.json", "stream_tool_use_openai.json", "stream_thinking_openai.json",
        "stream_thinking_tool_use_openai.json"}) {
    const std::vector<std::string> original = OpenAiChunks(golden);
    StreamToOpenAi back;
    std::vector<std::string> again;
    for (const SseEvent& e : ParseSse(FromOpenAi(original))) ASSERT_TRUE(back.Feed(e, again));
    EXPECT_TRUE(back.Done());
    EXPECT_EQ(Assemble(again), Assemble(original)) << golden;
    EXPECT_FALSE(Assemble(again).finish.empty());
    // Usage survives too.
    EXPECT_EQ(Json(again.back()).at("usage"), Json(original.back()).at("usage")) << golden;
  }
}

// The content blocks an Anthropic client assembles from events (as the SDKs do: deltas appended,
// signature_delta sets the signature, input_json_delta parsed at the block's stop).
json::array AnthropicContent(const std::vector<SseEvent>& events) {
  json::array content;
  std::string args;
  for (const SseEvent& e : events) {
    const json::value v = Json(e.data);
    const std::string_view type = v.at("type").as_string();
    if (type == "content_block_start") {
      content.push_back(v.at("content_block"));
      args.clear();
      continue;
    }
    if (content.empty()) continue;
    json::object& b = content.back().as_object();
    if (type == "content_block_stop" && b.at("type") == "tool_use" && !args.empty()) {
      b["input"] = Json(args);
    }
    if (type != "content_block_delta") continue;
    const json::object& d = v.at("delta").as_object();
    const std::string_view dt = d.at("type").as_string();
    auto append = [&](std::string_view key) {
      b[key] = std::string(b.at(key).as_string()) + std::string(d.at(key).as_string());
    };
    if (dt == "text_delta") append("text");
    if (dt == "thinking_delta") append("thinking");
    if (dt == "signature_delta") b["signature"] = d.at("signature");
    if (dt == "input_json_delta") args += d.at("partial_json").as_string();
  }
  return content;
}

TEST(StreamRoundTrip, AnthropicToOpenAiToAnthropicKeepsThinkingBlocks) {
  for (const char* sse : {"stream_thinking.sse", "stream_thinking_tool_use.sse"}) {
    const std::vector<SseEvent> original = ParseSse(ReadFile(sse));
    StreamToOpenAi to;
    std::vector<std::string> chunks;
    for (const SseEvent& e : original) ASSERT_TRUE(to.Feed(e, chunks));
    const std::vector<SseEvent> again = ParseSse(FromOpenAi(chunks));
    const json::array want = AnthropicContent(original);
    EXPECT_EQ(json::value(AnthropicContent(again)), json::value(want)) << sse;
    ASSERT_EQ(want.at(0).at("type"), "thinking");
    EXPECT_FALSE(want.at(0).at("signature").as_string().empty());
    size_t signatures = 0;
    for (const SseEvent& e : again) {
      const json::value v = Json(e.data);
      if (v.at("type") == "content_block_delta") {
        signatures += v.at("delta").at("type") == "signature_delta";
      }
    }
    EXPECT_EQ(signatures, 1u) << sse;
  }
}

TEST(StreamRoundTrip, MultipleToolCallsAndNoUsage) {
  const std::vector<std::string> original = {
      R"({"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]})",
      R"({"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":"}}]},"finish_reason":null}]})",
      R"({"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":null}]})",
      R"({"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},"finish_reason":null}]})",
      R"({"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
  };
  const std::string events = FromOpenAi(original);
  StreamToOpenAi back;
  std::vector<std::string> again;
  for (const SseEvent& e : ParseSse(events)) ASSERT_TRUE(back.Feed(e, again));
  const Assembled a = Assemble(again);
  EXPECT_EQ(a, Assemble(original));
  ASSERT_EQ(a.tools.size(), 2u);
  EXPECT_EQ(a.tools[0], (std::pair<std::string, std::string>{"f", "{\"x\":1}"}));
  EXPECT_EQ(a.finish, "tool_calls");
}

}  // namespace
}  // namespace hybridgate::api::anthropic
