#include "api/openai_chat.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hybridgate::api {
namespace {

Result<ChatRequest> Decode(std::string body) { return DecodeOpenAiChat(body); }

TEST(DecodeOpenAiChat, ReadsEveryModelledField) {
  auto r = Decode(R"({
    "model": "llama-3.1-8b",
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}]},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": "{\"a\":1}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    ],
    "tools": [{"type": "function", "function": {"name": "get", "description": "d",
               "parameters": {"type": "object", "properties": {}}}}],
    "tool_choice": {"type": "function", "function": {"name": "get"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
    "temperature": 0.5, "top_p": 1, "max_tokens": 100, "seed": 7, "stop": "END",
    "stream": true, "stream_options": {"include_usage": true},
    "logprobs": true, "top_logprobs": 2, "user": "u1", "metadata": {"team": "a"},
    "brand_new_param": {"x": [1, 2]}
  })");
  ASSERT_TRUE(r) << r.error().message;
  const ChatRequest& req = *r;
  EXPECT_EQ(req.model, "llama-3.1-8b");
  ASSERT_EQ(req.messages.size(), 4u);
  EXPECT_EQ(req.messages[0].text, "be brief");
  ASSERT_EQ(req.messages[1].parts.size(), 2u);
  EXPECT_EQ(req.messages[1].parts[1].kind, ContentPart::Kind::kImage);
  EXPECT_EQ(req.messages[1].parts[1].image_url, "https://x/y.png");
  EXPECT_TRUE(req.HasImages());
  EXPECT_TRUE(req.messages[2].content_is_null);
  ASSERT_EQ(req.messages[2].tool_calls.size(), 1u);
  EXPECT_EQ(req.messages[2].tool_calls[0].arguments, "{\"a\":1}");
  EXPECT_EQ(req.messages[3].tool_call_id, "call_1");
  ASSERT_EQ(req.tools.size(), 1u);
  EXPECT_EQ(req.tools[0].parameters_json, R"({"type":"object","properties":{}})");
  EXPECT_EQ(req.tool_choice.kind, ToolChoice::Kind::kFunction);
  EXPECT_EQ(req.tool_choice.function_name, "get");
  EXPECT_EQ(req.response_format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(req.response_format.schema_json, R"({"type":"object"})");
  EXPECT_EQ(req.temperature, 0.5);
  EXPECT_EQ(req.top_p, 1.0);
  EXPECT_EQ(req.max_tokens, 100);
  EXPECT_EQ(req.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(req.stream);
  EXPECT_EQ(req.include_usage, true);
  EXPECT_EQ(req.top_logprobs, 2);
  EXPECT_EQ(req.metadata_json, R"({"team":"a"})");
  ASSERT_EQ(req.extra.size(), 1u);
  EXPECT_EQ(req.extra[0].key, "brand_new_param");
  EXPECT_EQ(req.extra[0].json, R"({"x":[1,2]})");
}

struct BadCase {
  const char* name;
  std::string body;
  ErrorCode code;
  std::string param;
  std::string message_part;
};

TEST(DecodeOpenAiChat, RejectsBadInputNamingTheField) {
  const BadCase cases[] = {
      {"malformed", R"({"model": "m", "messages": [)", ErrorCode::kInvalidRequest, "",
       "malformed JSON"},
      {"not object", R"([1,2])", ErrorCode::kInvalidRequest, "", "must be a JSON object"},
      {"empty", "", ErrorCode::kInvalidRequest, "", "empty"},
      {"no model", R"({"messages":[{"role":"user","content":"x"}]})", ErrorCode::kInvalidRequest,
       "model", "'model' is required"},
      {"model type", R"({"model":5,"messages":[{"role":"user","content":"x"}]})",
       ErrorCode::kInvalidRequest, "model", "'model' must be a string, got an integer"},
      {"no messages", R"({"model":"m"})", ErrorCode::kInvalidRequest, "messages", "at least one"},
      {"messages type", R"({"model":"m","messages":{}})", ErrorCode::kInvalidRequest, "messages",
       "must be an array"},
      {"bad role", R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})",
       ErrorCode::kInvalidRequest, "messages[0].role", "got 'wizard'"},
      {"content type", R"({"model":"m","messages":[{"role":"user","content":1}]})",
       ErrorCode::kInvalidRequest, "messages[0].content", "a string or an array"},
      {"part missing text",
       R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
       ErrorCode::kInvalidRequest, "messages[0].content[0].text", "required"},
      {"tool w/o id", R"({"model":"m","messages":[{"role":"tool","content":"x"}]})",
       ErrorCode::kInvalidRequest, "messages[0].tool_call_id", "required"},
      {"temperature type",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})",
       ErrorCode::kInvalidRequest, "temperature", "must be a number"},
      {"temperature range",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3})",
       ErrorCode::kInvalidRequest, "temperature", "between 0 and 2"},
      {"max_tokens float",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5})",
       ErrorCode::kInvalidRequest, "max_tokens", "an integer"},
      {"max_tokens zero",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})",
       ErrorCode::kInvalidRequest, "max_tokens", "at least 1"},
      {"stream type", R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
       ErrorCode::kInvalidRequest, "stream", "a boolean"},
      {"tool_choice",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"})",
       ErrorCode::kInvalidRequest, "tool_choice", "'auto'"},
      {"tools name",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]})",
       ErrorCode::kInvalidRequest, "tools[0].function.name", "required"},
      {"response_format",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}})",
       ErrorCode::kInvalidRequest, "response_format.type", "got 'yaml'"},
      {"stream_options w/o stream",
       R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})",
       ErrorCode::kInvalidRequest, "stream_options", "only allowed"},
  };
  for (const BadCase& c : cases) {
    auto r = Decode(c.body);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name;
    EXPECT_EQ(r.error().param, c.param) << c.name;
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST(DecodeOpenAiChat, RejectsInvalidUtf8AndDeepNesting) {
  auto bad_utf8 =
      Decode("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}");
  ASSERT_FALSE(bad_utf8);
  EXPECT_NE(bad_utf8.error().message.find("UTF-8"), std::string::npos);

  std::string deep = R"({"model":"m","messages":[{"role":"user","content":"x"}],"x":)";
  deep += std::string(10000, '[') + std::string(10000, ']') + "}";
  auto r = Decode(deep);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos) << r.error().message;
}

TEST(EncodeOpenAiChat, RoundTripsAndKeepsUnknownFields) {
  std::string body =
      R"({"model":"public","messages":[{"role":"user","content":"hi \"there\"","x_extra":1}],
    "temperature":0.2,"stream":true,"future_param":[true],"tools":[{"type":"code_interpreter"}]})";
  auto r = DecodeOpenAiChat(body);
  ASSERT_TRUE(r) << r.error().message;
  std::string out;
  EncodeOpenAiChat(*r, {.model = "meta-llama/Llama-3.1-8B"}, out);
  auto v = boost::json::parse(out).as_object();
  EXPECT_EQ(v["model"].as_string(), "meta-llama/Llama-3.1-8B");
  EXPECT_EQ(v["messages"].at(0).at("content").as_string(), "hi \"there\"");
  EXPECT_EQ(v["messages"].at(0).at("x_extra").as_int64(), 1);
  EXPECT_EQ(v["temperature"].as_double(), 0.2);
  EXPECT_EQ(v["future_param"].at(0).as_bool(), true);
  EXPECT_EQ(v["tools"].at(0).at("type").as_string(), "code_interpreter");
  // The gateway always asks a streaming upstream for usage.
  EXPECT_EQ(v["stream_options"].at("include_usage").as_bool(), true);
}

TEST(EncodeOpenAiChat, AssistantToolCallTurnKeepsNullContent) {
  std::string body =
      R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]})";
  auto r = DecodeOpenAiChat(body);
  ASSERT_TRUE(r) << r.error().message;
  std::string out;
  EncodeOpenAiChat(*r, {}, out);
  auto v = boost::json::parse(out);
  EXPECT_TRUE(v.at("messages").at(0).at("content").is_null());
  EXPECT_EQ(v.at("messages").at(0).at("tool_calls").at(0).at("function").at("name").as_string(),
            "f");
  EXPECT_FALSE(v.as_object().contains("stream"));
}

}  // namespace
}  // namespace hybridgate::api
