#include "dialects/openai_responses/responses.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/openai_chat.h"

namespace hybridgate::dialects {
namespace {

namespace json = boost::json;

struct Decoded {
  Status status;
  api::ChatRequest req;
  ResponsesContext ctx;
};

Decoded Decode(std::string body) {
  Decoded d;
  d.status = responses::DecodeRequest(body, d.req, d.ctx);
  return d;
}

TEST(ResponsesDecode, StringInputAndInstructions) {
  auto d = Decode(R"({"model":"m","input":"hi","instructions":"be brief","max_output_tokens":50,
                      "metadata":{"k":"v"},"store":false,"reasoning":{"effort":"low"}})");
  ASSERT_TRUE(d.status) << d.status.error().message;
  ASSERT_EQ(d.req.messages.size(), 2u);
  EXPECT_EQ(d.req.messages[0].role, "system");
  EXPECT_EQ(d.req.messages[0].text, "be brief");
  EXPECT_EQ(d.req.messages[1].role, "user");
  EXPECT_EQ(d.req.messages[1].text, "hi");
  EXPECT_EQ(d.req.max_completion_tokens, 50);
  EXPECT_EQ(d.req.reasoning_effort, "low");
  EXPECT_FALSE(d.ctx.conv.store);
  EXPECT_EQ(d.ctx.metadata, R"({"k":"v"})");
  EXPECT_TRUE(d.ctx.conv.id.starts_with("resp_"));
  auto items = json::parse(d.ctx.conv.input_items);
  EXPECT_EQ(items.at(0).at("content").at(0).at("text"), "hi");
}

TEST(ResponsesDecode, ToolRoundTripItems) {
  auto d = Decode(R"({"model":"m","tools":[{"type":"function","name":"get_weather",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}],
      "tool_choice":{"type":"function","name":"get_weather"},
      "input":[{"role":"developer","content":"sys"},
               {"type":"message","role":"user","content":[{"type":"input_text","text":"weather?"},
                 {"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]},
               {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think"}]},
               {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
               {"type":"function_call","call_id":"call_2","name":"get_weather","arguments":"{}"},
               {"type":"function_call_output","call_id":"call_1","output":"sunny"},
               {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"rain"}]}]})");
  ASSERT_TRUE(d.status) << d.status.error().message;
  ASSERT_EQ(d.req.messages.size(), 5u);
  EXPECT_EQ(d.req.messages[0].role, "system");
  EXPECT_EQ(d.req.messages[1].parts.size(), 2u);
  EXPECT_EQ(d.req.messages[1].parts[1].kind, api::ContentPart::Kind::kImage);
  EXPECT_EQ(d.req.messages[1].parts[1].detail, "low");
  const api::Message& a = d.req.messages[2];
  EXPECT_EQ(a.role, "assistant");
  EXPECT_TRUE(a.content_is_null);
  EXPECT_EQ(a.reasoning_content, "think");
  ASSERT_EQ(a.tool_calls.size(), 2u);
  EXPECT_EQ(a.tool_calls[0].id, "call_1");
  EXPECT_EQ(a.tool_calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(d.req.messages[3].tool_call_id, "call_1");
  EXPECT_EQ(d.req.messages[3].text, "sunny");
  EXPECT_EQ(d.req.messages[4].text, "rain");
  ASSERT_EQ(d.req.tools.size(), 1u);
  EXPECT_EQ(d.req.tools[0].strict, true);
  EXPECT_EQ(d.req.tool_choice.kind, api::ToolChoice::Kind::kFunction);
  EXPECT_EQ(json::parse(d.req.tool_choice.raw),
            json::parse(R"({"type":"function","function":{"name":"get_weather"}})"));
  // Every stored input item has an id.
  const json::value items = json::parse(d.ctx.conv.input_items);
  for (const auto& item : items.as_array()) {
    EXPECT_TRUE(item.as_object().contains("id")) << item;
  }
}

TEST(ResponsesDecode, TextFormatBecomesResponseFormat) {
  auto d = Decode(R"({"model":"m","input":"x","text":{"format":{"type":"json_schema",
      "name":"person","schema":{"type":"object","properties":{"name":{"type":"string"}}},
      "strict":true}}})");
  ASSERT_TRUE(d.status);
  EXPECT_EQ(d.req.response_format.kind, api::ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(d.req.response_format.schema_name, "person");
  EXPECT_EQ(json::parse(d.req.response_format.raw).at("json_schema").at("strict"), true);
  // Forwarded to an OpenAI chat upstream as response_format.
  std::string encoded;
  api::EncodeOpenAiChat(d.req, {}, encoded);
  EXPECT_EQ(json::parse(encoded).at("response_format").at("type"), "json_schema");
}

TEST(ResponsesDecode, RefusalsAndDrops) {
  // A built-in tool the model may use is dropped and named; one tool_choice requires is a 400.
  auto d = Decode(R"({"model":"m","input":"x","tools":[{"type":"web_search"},
      {"type":"namespace","name":"ns","tools":[{"type":"function","name":"inner"}]}]})");
  ASSERT_TRUE(d.status) << d.status.error().message;
  EXPECT_EQ(d.ctx.dropped_fields(), "tools:web_search");
  ASSERT_EQ(d.req.tools.size(), 1u);
  EXPECT_EQ(d.req.tools[0].name, "inner");
  d = Decode(R"({"model":"m","input":"x","tools":[{"type":"web_search"}],
      "tool_choice":{"type":"web_search"}})");
  ASSERT_FALSE(d.status);
  EXPECT_EQ(d.status.error().param, "tool_choice.type");
  EXPECT_NE(d.status.error().message.find("web_search"), std::string::npos);
  d = Decode(R"({"model":"m","input":"x","background":true})");
  EXPECT_FALSE(d.status);
  d = Decode(R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})");
  EXPECT_FALSE(d.status);
  d = Decode(R"({"model":"m"})");
  EXPECT_FALSE(d.status);
  d = Decode(R"({"input":"x"})");
  EXPECT_FALSE(d.status);
  d = Decode(R"({"model":"m","input":7})");
  EXPECT_FALSE(d.status);
  d = Decode(
      R"({"model":"m","input":"x","future_field":1,"include":["reasoning.encrypted_content"]})");
  ASSERT_TRUE(d.status);
  EXPECT_EQ(d.ctx.dropped_fields(), "future_field");
  EXPECT_TRUE(d.req.extra.empty());
}

TEST(ResponsesEncode, TextToolCallsAndUsage) {
  ResponsesContext ctx;
  ctx.conv.id = "resp_1";
  auto r = responses::EncodeResponse(R"({"id":"c","model":"up-model","choices":[{"index":0,
      "message":{"role":"assistant","content":"Hello","reasoning_content":"hm",
      "tool_calls":[{"id":"call_9","type":"function","function":{"name":"f","arguments":"{}"}}]},
      "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":5,
      "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}})",
                                     ctx);
  ASSERT_TRUE(r) << r.error().message;
  auto v = json::parse(*r);
  EXPECT_EQ(v.at("id"), "resp_1");
  EXPECT_EQ(v.at("object"), "response");
  EXPECT_EQ(v.at("status"), "completed");
  EXPECT_EQ(v.at("model"), "up-model");
  const auto& out = v.at("output").as_array();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].at("type"), "reasoning");
  EXPECT_EQ(out[1].at("content").at(0).at("text"), "Hello");
  EXPECT_EQ(out[2].at("type"), "function_call");
  EXPECT_EQ(out[2].at("call_id"), "call_9");
  EXPECT_EQ(v.at("usage").at("input_tokens"), 10);
  EXPECT_EQ(v.at("usage").at("input_tokens_details").at("cached_tokens"), 4);
  EXPECT_EQ(v.at("usage").at("output_tokens_details").at("reasoning_tokens"), 2);
  EXPECT_EQ(v.at("usage").at("total_tokens"), 15);
  EXPECT_EQ(ctx.conv.response, *r);

  r = responses::EncodeResponse(R"({"model":"m","choices":[{"message":{"content":"cut"},
      "finish_reason":"length"}]})",
                                ctx);
  ASSERT_TRUE(r);
  v = json::parse(*r);
  EXPECT_EQ(v.at("status"), "incomplete");
  EXPECT_EQ(v.at("incomplete_details").at("reason"), "max_output_tokens");
}

// The events of a stream, as (type, data) pairs.
std::vector<std::pair<std::string, json::value>> Events(std::string_view sse) {
  std::vector<std::pair<std::string, json::value>> out;
  size_t pos = 0;
  while ((pos = sse.find("event: ", pos)) != std::string_view::npos) {
    const size_t eol = sse.find('\n', pos);
    std::string type(sse.substr(pos + 7, eol - pos - 7));
    const size_t data = eol + 7;  // "\ndata: "
    const size_t end = sse.find('\n', data);
    out.emplace_back(type, json::parse(sse.substr(data, end - data)));
    pos = end;
  }
  return out;
}

TEST(ResponsesStream, DocumentedEventSequence) {
  OpenAiResponses dialect;
  api::ChatRequest req;
  ResponsesContext ctx;
  ctx.conv.id = "resp_s";
  auto enc = dialect.NewStream(req, &ctx);
  std::string out;
  for (
      std::string_view chunk :
      {R"({"id":"c","model":"mm","choices":[{"index":0,"delta":{"role":"assistant","content":"He"}}]})",
       R"({"id":"c","model":"mm","choices":[{"index":0,"delta":{"content":"llo"}}]})",
       R"({"id":"c","model":"mm","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}}]})",
       R"({"id":"c","model":"mm","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]})",
       R"({"id":"c","model":"mm","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
       R"({"id":"c","model":"mm","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})",
       "[DONE]"}) {
    ASSERT_TRUE(enc->Feed(chunk, out));
  }
  enc->Finish(out);
  enc->Finish(out);  // idempotent
  auto events = Events(out);
  std::vector<std::string> types;
  for (auto& [t, d] : events) {
    types.push_back(t);
    EXPECT_EQ(d.at("type").as_string(), t);
  }
  const std::vector<std::string> expected = {"response.created",
                                             "response.in_progress",
                                             "response.output_item.added",
                                             "response.content_part.added",
                                             "response.output_text.delta",
                                             "response.output_text.delta",
                                             "response.output_text.done",
                                             "response.content_part.done",
                                             "response.output_item.done",
                                             "response.output_item.added",
                                             "response.function_call_arguments.delta",
                                             "response.function_call_arguments.delta",
                                             "response.function_call_arguments.done",
                                             "response.output_item.done",
                                             "response.completed"};
  EXPECT_EQ(types, expected);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].second.at("sequence_number"), static_cast<int64_t>(i));
  }
  const auto& done = events.back().second.at("response");
  EXPECT_EQ(done.at("id"), "resp_s");
  EXPECT_EQ(done.at("status"), "completed");
  EXPECT_EQ(done.at("output").at(0).at("content").at(0).at("text"), "Hello");
  EXPECT_EQ(done.at("output").at(1).at("arguments"), R"({"a":1})");
  EXPECT_EQ(done.at("output").at(1).at("call_id"), "call_1");
  EXPECT_EQ(done.at("usage").at("output_tokens"), 4);
  EXPECT_EQ(events[10].second.at("output_index"), 1);
  EXPECT_EQ(json::parse(ctx.conv.output_items), done.at("output"));
}

TEST(ResponsesStream, FailureEndsWithErrorAndResponseFailed) {
  OpenAiResponses dialect;
  api::ChatRequest req;
  ResponsesContext ctx;
  auto enc = dialect.NewStream(req, &ctx);
  std::string out;
  ASSERT_TRUE(enc->Feed(R"({"model":"m","choices":[{"index":0,"delta":{"content":"x"}}]})", out));
  enc->Fail(MakeError(ErrorCode::kUpstreamUnavailable, "cut"), out);
  auto events = Events(out);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2].first, "error");
  EXPECT_EQ(events.back().first, "response.failed");
  EXPECT_EQ(events.back().second.at("response").at("status"), "failed");
  EXPECT_EQ(out.find("response.completed"), std::string::npos);
}

TEST(ResponsesReplay, StoredItemsBecomeHistory) {
  api::ChatRequest req;
  ASSERT_TRUE(responses::AppendItems(
      R"([{"id":"msg_1","type":"message","role":"user","content":[{"type":"input_text","text":"q"}]},
          {"id":"rs_1","type":"reasoning","summary":[]},
          {"id":"msg_2","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"a","annotations":[]}]},
          {"id":"fc_1","type":"function_call","status":"completed","call_id":"c1","name":"f","arguments":"{}"}])",
      req));
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[1].role, "assistant");
  EXPECT_EQ(req.messages[1].parts.at(0).text, "a");
  EXPECT_EQ(req.messages[1].tool_calls.at(0).id, "c1");
}

}  // namespace
}  // namespace hybridgate::dialects
