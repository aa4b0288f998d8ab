#include "providers/openai/responses_upstream.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/openai_chat.h"
#include "api/openai_response.h"
#include "providers/openai/openai_provider.h"

namespace hybridgate::providers {
namespace {

namespace json = boost::json;

// A Response object as OpenAI's Responses API answers it: reasoning, a message, a function call,
// and usage with every detail.
constexpr std::string_view kResponse =
    R"({"id":"resp_up1","object":"response","created_at":1741476542,
  "status":"completed","background":false,"error":null,"incomplete_details":null,
  "instructions":null,"max_output_tokens":null,"model":"gpt-5-2025-08-07",
  "output":[
    {"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Think."}]},
    {"id":"msg_1","type":"message","status":"completed","role":"assistant",
     "content":[{"type":"output_text","text":"Checking the weather.","annotations":[],"logprobs":[]}]},
    {"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}",
     "call_id":"call_9","name":"get_weather"}],
  "parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":"low","summary":"auto"},
  "store":false,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],
  "top_p":1.0,"truncation":"disabled",
  "usage":{"input_tokens":328,"input_tokens_details":{"cached_tokens":256},"output_tokens":52,
           "output_tokens_details":{"reasoning_tokens":30},"total_tokens":380},
  "user":null,"metadata":{}})";

TEST(ResponsesUpstream, ResponseBecomesAChatCompletionWithEveryUsageDetail) {
  auto body = responses_upstream::ToChatCompletion(kResponse);
  ASSERT_TRUE(body) << body.error().message;
  const json::value v = json::parse(*body);
  const json::value& choice = v.at("choices").at(0);
  EXPECT_EQ(choice.at("message").at("content"), "Checking the weather.");
  EXPECT_EQ(choice.at("message").at("reasoning_content"), "Think.");
  EXPECT_EQ(choice.at("message").at("tool_calls").at(0).at("id"), "call_9");
  EXPECT_EQ(choice.at("message").at("tool_calls").at(0).at("function").at("arguments"),
            R"({"city":"Paris"})");
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  EXPECT_EQ(v.at("usage"),
            json::parse(R"({"prompt_tokens":328,"completion_tokens":52,"total_tokens":380,
                            "prompt_tokens_details":{"cached_tokens":256},
                            "completion_tokens_details":{"reasoning_tokens":30}})"));
  // What the executor reads for the ledger.
  const api::OpenAiResponseInfo info = api::InspectOpenAiResponse(*body);
  EXPECT_TRUE(info.usage.reported);
  EXPECT_EQ(info.usage.input_tokens, 328);
  EXPECT_EQ(info.usage.cached_input_tokens, 256);
  EXPECT_EQ(info.usage.output_tokens, 52);
}

TEST(ResponsesUpstream, IncompleteAndFailedResponses) {
  auto body = responses_upstream::ToChatCompletion(
      R"({"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},
          "model":"m","output":[{"type":"message","role":"assistant",
          "content":[{"type":"output_text","text":"Cut"}]}]})");
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ(json::parse(*body).at("choices").at(0).at("finish_reason"), "length");
  auto failed = responses_upstream::ToChatCompletion(
      R"({"id":"r","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]})");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUpstreamUnavailable);
  EXPECT_NE(failed.error().message.find("boom"), std::string::npos);
  EXPECT_FALSE(responses_upstream::ToChatCompletion("not json"));
}

api::SseEvent Event(std::string_view type, std::string_view data) {
  return {.event = std::string(type), .data = std::string(data)};
}

TEST(ResponsesUpstream, StreamBecomesChunksWithUsageAtTheEnd) {
  responses_upstream::StreamToChat decoder;
  std::vector<std::string> chunks;
  const std::string created =
      R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_up","object":"response",)"
      R"("created_at":7,"status":"in_progress","model":"gpt-x","output":[],"usage":null}})";
  ASSERT_TRUE(decoder.Feed(Event("response.created", created), chunks));
  EXPECT_TRUE(chunks.empty());
  ASSERT_TRUE(decoder.Feed(
      Event("response.output_text.delta",
            R"({"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1",)"
            R"("output_index":0,"content_index":0,"delta":"Hel","logprobs":[]})"),
      chunks));
  ASSERT_TRUE(decoder.Feed(
      Event("response.output_item.added",
            R"({"type":"response.output_item.added","sequence_number":5,"output_index":1,)"
            R"("item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"",)"
            R"("call_id":"call_1","name":"get_weather"}})"),
      chunks));
  ASSERT_TRUE(
      decoder.Feed(Event("response.function_call_arguments.delta",
                         R"({"type":"response.function_call_arguments.delta","sequence_number":6,)"
                         R"("item_id":"fc_1","output_index":1,"delta":"{\"city\":1}"})"),
                   chunks));
  EXPECT_FALSE(decoder.Done());
  ASSERT_TRUE(decoder.Feed(
      Event("response.completed",
            R"({"type":"response.completed","sequence_number":9,"response":{"id":"resp_up",)"
            R"("status":"completed","model":"gpt-x","output":[],"usage":{"input_tokens":11,)"
            R"("input_tokens_details":{"cached_tokens":3},"output_tokens":5,)"
            R"("output_tokens_details":{"reasoning_tokens":2},"total_tokens":16}}})"),
      chunks));
  EXPECT_TRUE(decoder.Done());
  std::vector<std::string> tail;
  EXPECT_TRUE(decoder.End(tail));
  ASSERT_EQ(chunks.size(), 5u);
  const json::value text = json::parse(chunks[0]);
  EXPECT_EQ(text.at("choices").at(0).at("delta").at("content"), "Hel");
  EXPECT_EQ(text.at("model"), "gpt-x");
  const json::value call = json::parse(chunks[1]).at("choices").at(0).at("delta");
  EXPECT_EQ(call.at("tool_calls").at(0).at("id"), "call_1");
  EXPECT_EQ(call.at("tool_calls").at(0).at("function").at("name"), "get_weather");
  const json::value args = json::parse(chunks[2]).at("choices").at(0).at("delta");
  EXPECT_EQ(args.at("tool_calls").at(0).at("index"), 0);
  EXPECT_EQ(args.at("tool_calls").at(0).at("function").at("arguments"), R"({"city":1})");
  EXPECT_EQ(json::parse(chunks[3]).at("choices").at(0).at("finish_reason"), "tool_calls");
  const api::OpenAiResponseInfo info = api::InspectOpenAiResponse(chunks[4]);
  EXPECT_FALSE(info.has_choices);
  EXPECT_EQ(info.usage.input_tokens, 11);
  EXPECT_EQ(info.usage.cached_input_tokens, 3);
  EXPECT_EQ(info.usage.output_tokens, 5);
  EXPECT_EQ(
      json::parse(chunks[4]).at("usage").at("completion_tokens_details").at("reasoning_tokens"), 2);
  // Text the client got, for a stream that ends without usage.
  EXPECT_EQ(api::GeneratedTextBytes(chunks[0]), 3);
}

TEST(ResponsesUpstream, StreamErrorsAreTheStreamsError) {
  responses_upstream::StreamToChat a;
  std::vector<std::string> chunks;
  auto s = a.Feed(Event("error", R"({"type":"error","sequence_number":2,"code":"server_error",)"
                                 R"("message":"The server had an error","param":null})"),
                  chunks);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("The server had an error"), std::string::npos);
  responses_upstream::StreamToChat b;
  s = b.Feed(Event("response.failed",
                   R"({"type":"response.failed","sequence_number":3,"response":{"id":"r",)"
                   R"("status":"failed","error":{"code":"server_error","message":"lost"}}})"),
             chunks);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("lost"), std::string::npos);
  responses_upstream::StreamToChat c;
  EXPECT_FALSE(c.Feed(Event("response.created", "{oops"), chunks));
  // A body that ends before response.completed is not complete.
  responses_upstream::StreamToChat d;
  std::vector<std::string> tail;
  EXPECT_FALSE(d.End(tail));
}

config::ProviderConfig OpenAiConfig(bool responses_api) {
  config::ProviderConfig c;
  c.name = "openai";
  c.type = "openai";
  c.base_url = "https://api.openai.com/v1";
  c.api_key = "sk-secret";
  c.responses_api = responses_api;
  c.models.push_back({.name = "gpt", .id = "gpt-5-2025-08-07"});
  return c;
}

std::string Header(const http::UpstreamRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return std::string(v);
  }
  return "<absent>";
}

// A Responses client's request as the dialect prepared it.
api::ChatRequest ResponsesRequest() {
  api::ChatRequest req;
  req.model = "gpt";
  req.responses_api = true;
  req.stream = true;
  req.messages.push_back({.role = "user", .text = "hi"});
  req.native_body = R"({"model":"gpt","input":"hi","stream":true,"store":false})";
  req.dialect_headers.emplace_back("openai-beta", "responses=v1");
  return req;
}

TEST(ResponsesUpstream, ProviderSendsTheResponsesBodyToResponsesWhenConfigured) {
  const auto cfg = OpenAiConfig(true);
  OpenAiProvider p(cfg, *http::Endpoint::FromUrl(cfg.base_url));
  const api::ChatRequest req = ResponsesRequest();
  ASSERT_TRUE(p.PassesThrough(req));
  auto up = p.EncodeChat(req, cfg.models[0], "req-1");
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->target, "/v1/responses");
  EXPECT_EQ(
      json::parse(up->body),
      json::parse(R"({"model":"gpt-5-2025-08-07","input":"hi","stream":true,"store":false})"));
  EXPECT_EQ(Header(*up, "openai-beta"), "responses=v1");
  EXPECT_EQ(Header(*up, "accept"), "text/event-stream");
  EXPECT_EQ(Header(*up, "authorization"), "Bearer sk-secret");
  EXPECT_NE(p.NewStreamDecoder(cfg.models[0], "req-1"), nullptr);
}

TEST(ResponsesUpstream, ProviderTranslatesWithoutTheFlagOrAfterARewrite) {
  const auto off = OpenAiConfig(false);
  OpenAiProvider plain(off, *http::Endpoint::FromUrl(off.base_url));
  api::ChatRequest req = ResponsesRequest();
  EXPECT_FALSE(plain.PassesThrough(req));
  auto up = plain.EncodeChat(req, off.models[0], "req-1");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, "/v1/chat/completions");
  // The Responses API's betas are not chat completions'.
  EXPECT_EQ(Header(*up, "openai-beta"), "<absent>");
  EXPECT_TRUE(json::parse(up->body).as_object().contains("messages"));
  // Redaction clears native_body: translated even with the flag.
  const auto on = OpenAiConfig(true);
  OpenAiProvider native(on, *http::Endpoint::FromUrl(on.base_url));
  req.native_body.clear();
  EXPECT_FALSE(native.PassesThrough(req));
  up = native.EncodeChat(req, on.models[0], "req-1");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, "/v1/chat/completions");
  // A chat client's request is never sent to /responses, and keeps its betas.
  std::string body = R"({"model":"gpt","messages":[{"role":"user","content":"hi"}]})";
  auto chat = api::DecodeOpenAiChat(body);
  ASSERT_TRUE(chat);
  chat->dialect_headers.emplace_back("openai-beta", "assistants=v2");
  EXPECT_FALSE(native.PassesThrough(*chat));
  up = native.EncodeChat(*chat, on.models[0], "req-1");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, "/v1/chat/completions");
  EXPECT_EQ(Header(*up, "openai-beta"), "assistants=v2");
}

}  // namespace
}  // namespace hybridgate::providers
