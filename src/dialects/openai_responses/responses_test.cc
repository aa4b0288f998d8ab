#include "dialects/openai_responses/responses.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/json.hpp>

#include "api/openai_chat.h"
#include "http/request.h"

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
  // A built-in tool the model may use is dropped and named; one tool_choice requires leaves
  // the request to a Responses API upstream (native_only: every other candidate refuses it).
  auto d = Decode(R"({"model":"m","input":"x","tools":[{"type":"web_search"},
      {"type":"namespace","name":"ns","tools":[{"type":"function","name":"inner"}]}]})");
  ASSERT_TRUE(d.status) << d.status.error().message;
  EXPECT_EQ(d.ctx.dropped_fields(), "tools:web_search");
  ASSERT_EQ(d.req.tools.size(), 1u);
  EXPECT_EQ(d.req.tools[0].name, "inner");
  d = Decode(R"({"model":"m","input":"x","tools":[{"type":"web_search"}],
      "tool_choice":{"type":"web_search"}})");
  ASSERT_TRUE(d.status) << d.status.error().message;
  EXPECT_NE(d.req.native_only.find("web_search"), std::string::npos);
  for (const char* field : {R"("conversation":"conv_1")", R"("prompt":{"id":"pmpt_1"})"}) {
    d = Decode(std::string(R"({"model":"m","input":"x",)") + field + "}");
    ASSERT_TRUE(d.status) << field;
    EXPECT_NE(d.req.native_only.find("responses_api"), std::string::npos) << field;
  }
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
  EXPECT_EQ(d.ctx.dropped_fields(), "future_field,include");
  EXPECT_TRUE(d.req.extra.empty());
  EXPECT_TRUE(d.req.native_only.empty());
  // What asks for nothing is not named: an empty include, truncation "disabled".
  d = Decode(R"({"model":"m","input":"x","include":[],"truncation":"disabled",
      "max_tool_calls":null,"stream_options":{"include_obfuscation":false}})");
  ASSERT_TRUE(d.status);
  EXPECT_EQ(d.ctx.dropped_fields(), "");
  d = Decode(R"({"model":"m","input":"x","truncation":"auto","max_tool_calls":3})");
  ASSERT_TRUE(d.status);
  EXPECT_EQ(d.ctx.dropped_fields(), "truncation,max_tool_calls");
  // Fields chat completions take go on as extra (named where another dialect's upstream answers).
  d = Decode(R"({"model":"m","input":"x","service_tier":"flex","safety_identifier":"u-1",
      "user":"u-2"})");
  ASSERT_TRUE(d.status);
  ASSERT_EQ(d.req.extra.size(), 2u);
  EXPECT_EQ(d.req.extra[0].key, "service_tier");
  EXPECT_EQ(d.req.extra[1].key, "safety_identifier");
  EXPECT_EQ(d.req.user, "u-2");
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

// An HTTP request as the server reads it, for Decode.
struct RawRequest {
  explicit RawRequest(std::string_view raw) {
    http::RequestReader reader(request, 0);
    reader.eager(true);
    boost::beast::error_code ec;
    reader.put(boost::asio::buffer(raw.data(), raw.size()), ec);
    ok = !ec && reader.is_done();
  }
  http::Request request;
  bool ok = false;
};

RawRequest Post(std::string_view body, std::string_view headers = "") {
  return RawRequest("POST /v1/responses HTTP/1.1\r\nHost: gw\r\n" + std::string(headers) +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                    std::string(body));
}

TEST(ResponsesNative, DecodeKeepsTheBodyForAnUpstreamOfTheApi) {
  // Duplicate keys resolve to the first (what the gateway read); store and previous_response_id
  // are the gateway's; every other field goes as sent, built-in tools and unknown fields too.
  const std::string body = R"({"model":"m","model":"other","input":"hi","store":true,
      "previous_response_id":"resp_prev","tools":[{"type":"web_search"}],"future_field":{"a":1},
      "include":["reasoning.encrypted_content"]})";
  RawRequest raw = Post(body, "OpenAI-Beta: responses=v1\r\n");
  ASSERT_TRUE(raw.ok);
  OpenAiResponses dialect;
  api::ChatRequest req;
  std::unique_ptr<RequestContext> context;
  ASSERT_TRUE(dialect.Decode(raw.request, "/v1/responses", raw.request.body(), req, context));
  EXPECT_TRUE(req.responses_api);
  EXPECT_EQ(req.DialectHeader("openai-beta"), "responses=v1");
  EXPECT_EQ(json::parse(req.native_body), json::parse(R"({"model":"m","input":"hi","store":false,
                            "tools":[{"type":"web_search"}],"future_field":{"a":1},
                            "include":["reasoning.encrypted_content"]})"));
  // Without store, the upstream is still told not to keep anything.
  EXPECT_EQ(json::parse(*responses::UpstreamBody(R"({"model":"m","input":"x"})", "")),
            json::parse(R"({"model":"m","input":"x","store":false})"));
}

TEST(ResponsesNative, ReplayPutsTheConversationIntoTheInput) {
  const std::string_view history =
      R"([{"id":"msg_a","type":"message","role":"user","content":[{"type":"input_text","text":"first"}]},
          {"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"hm"}]},
          {"id":"rs_2","type":"reasoning","summary":[],"encrypted_content":"gAAAA"},
          {"id":"ws_1","type":"web_search_call","status":"completed","action":{"type":"search"}},
          {"id":"msg_b","type":"message","status":"completed","role":"assistant",
           "content":[{"type":"output_text","text":"ok","annotations":[],"logprobs":[]}]},
          {"id":"fc_1","type":"function_call","status":"completed","call_id":"c1","name":"f","arguments":"{}"},
          {"id":"fco_1","type":"function_call_output","call_id":"c1","output":"done"}])";
  const json::value replayed = json::parse(
      R"([{"type":"message","role":"user","content":[{"type":"input_text","text":"first"}]},
          {"id":"rs_2","type":"reasoning","summary":[],"encrypted_content":"gAAAA"},
          {"type":"message","role":"assistant",
           "content":[{"type":"output_text","text":"ok","annotations":[],"logprobs":[]}]},
          {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
          {"type":"function_call_output","call_id":"c1","output":"done"}])");
  OpenAiResponses dialect;
  RawRequest raw = Post(R"({"model":"m","previous_response_id":"resp_1",
      "input":[{"role":"user","content":"and now?"}],"instructions":"be brief"})");
  ASSERT_TRUE(raw.ok);
  api::ChatRequest req;
  std::unique_ptr<RequestContext> context;
  ASSERT_TRUE(dialect.Decode(raw.request, "/v1/responses", raw.request.body(), req, context));
  ASSERT_TRUE(dialect.Replay(history, req));
  json::array want = replayed.as_array();
  want.push_back(json::parse(R"({"role":"user","content":"and now?"})"));
  const json::value sent = json::parse(req.native_body);
  EXPECT_EQ(sent,
            json::value(
                {{"model", "m"}, {"input", want}, {"instructions", "be brief"}, {"store", false}}))
      << sent;
  // The decoded request has the history too (for a translated upstream).
  EXPECT_EQ(req.messages.front().role, "system");
  EXPECT_EQ(req.messages.back().text, "and now?");
  // A string input becomes a user message after the history.
  auto body = responses::UpstreamBody(R"({"model":"m","input":"next","store":true})", history);
  ASSERT_TRUE(body) << body.error().message;
  want = replayed.as_array();
  want.push_back(json::parse(R"({"role":"user","content":"next"})"));
  EXPECT_EQ(json::parse(*body).at("input"), want);
  EXPECT_EQ(json::parse(*body).at("store"), false);
}

// A Response object as an upstream of the API answers with store: false.
constexpr std::string_view kUpstreamResponse =
    R"({"id":"resp_up","object":"response","created_at":1,"status":"completed","error":null,
        "model":"gpt-x-2025","output":[{"id":"msg_u","type":"message","status":"completed",
        "role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],
        "previous_response_id":null,"store":false,"metadata":{"k":"v"},
        "usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}})";

TEST(ResponsesNative, AnswerGetsTheGatewaysIdAndTheClientsStoreBack) {
  OpenAiResponses dialect;
  ResponsesContext ctx;
  ctx.conv.id = "resp_gw";
  ctx.conv.store = true;
  ctx.conv.previous_id = "resp_before";
  ctx.dropped = "future_field";
  std::string body(kUpstreamResponse);
  ASSERT_TRUE(dialect.EncodeNativeAnswer(body, &ctx));
  json::value want = json::parse(kUpstreamResponse);
  want.as_object()["id"] = "resp_gw";
  want.as_object()["store"] = true;
  want.as_object()["previous_response_id"] = "resp_before";
  EXPECT_EQ(json::parse(body), want);
  EXPECT_EQ(json::parse(ctx.conv.output_items), want.at("output"));
  EXPECT_EQ(ctx.conv.response, body);
  // Every field reached the upstream: nothing to name as dropped.
  EXPECT_EQ(ctx.dropped_fields(), "");
  std::string bad = "[]";
  EXPECT_FALSE(dialect.EncodeNativeAnswer(bad, &ctx));
}

TEST(ResponsesNative, StreamEventsPassButForTheResponseObject) {
  OpenAiResponses dialect;
  api::ChatRequest req;
  ResponsesContext ctx;
  ctx.conv.id = "resp_gw";
  ctx.conv.store = true;
  const std::string created =
      R"(event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_up","object":"response","status":"in_progress","model":"gpt-x","output":[],"store":false,"previous_response_id":null,"usage":null}}

)";
  const std::string delta =
      R"(event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_u","output_index":0,"content_index":0,"delta":"Hi \"response\":{x}","logprobs":[]}

)";
  const std::string completed =
      R"(event: response.completed
data: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_up","status":"completed","model":"gpt-x","output":[{"id":"msg_u","type":"message","role":"assistant","content":[]}],"store":false,"previous_response_id":null,"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}}

)";
  auto enc = dialect.NewStream(req, &ctx);
  std::string out;
  enc->Native(created, out);
  const size_t after_created = out.size();
  enc->Native(delta, out);
  EXPECT_EQ(out.substr(after_created), delta);  // byte for byte
  enc->Native(completed, out);
  auto events = Events(out);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].first, "response.created");
  EXPECT_EQ(events[0].second.at("response").at("id"), "resp_gw");
  EXPECT_EQ(events[0].second.at("response").at("store"), true);
  EXPECT_EQ(events[0].second.at("sequence_number"), 0);
  EXPECT_EQ(events[2].second.at("response").at("id"), "resp_gw");
  EXPECT_EQ(events[2].second.at("response").at("usage").at("output_tokens"), 1);
  EXPECT_EQ(json::parse(ctx.conv.output_items), events[2].second.at("response").at("output"));
  EXPECT_EQ(json::parse(ctx.conv.response), events[2].second.at("response"));
  EXPECT_EQ(ctx.dropped_fields(), "");

  // Cut after the upstream's own start: our error and response.failed follow its numbering,
  // and nothing is started twice.
  ResponsesContext cut_ctx;
  cut_ctx.conv.id = "resp_cut";
  auto cut = dialect.NewStream(req, &cut_ctx);
  std::string cut_out;
  cut->Native(created, cut_out);
  cut->Native(delta, cut_out);
  cut->Fail(MakeError(ErrorCode::kUpstreamUnavailable, "cut"), cut_out);
  events = Events(cut_out);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].first, "error");
  EXPECT_EQ(events[2].second.at("sequence_number"), 2);
  EXPECT_EQ(events[3].first, "response.failed");
  EXPECT_EQ(events[3].second.at("sequence_number"), 3);
  EXPECT_EQ(events[3].second.at("response").at("id"), "resp_cut");
  EXPECT_TRUE(cut_ctx.conv.response.empty());
}

}  // namespace
}  // namespace hybridgate::dialects
