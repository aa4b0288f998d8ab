// Golden-file tests for the Gemini dialect. Goldens in testdata/ follow the examples of Google's
// Gemini API reference (generateContent, streamGenerateContent?alt=sse); JSON is compared parsed.
#include "api/gemini/gemini.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/gemini/test_util.h"
#include "api/openai_chat.h"
#include "api/sse.h"

namespace hybridgate::api::gemini {
namespace {

namespace json = boost::json;

using test_util::Json;
using test_util::ReadFile;

ChatRequest UserSays(std::string text) {
  ChatRequest req;
  req.model = "m";
  req.messages.push_back({.role = "user", .text = std::move(text)});
  return req;
}

// --- requests ---------------------------------------------------------------------------------

TEST(EncodeRequest, GoldenSystemMergedTurnsToolRoundTripImagesToolsSchema) {
  std::string body = ReadFile("request_openai.json");
  auto req = DecodeOpenAiChat(body);
  ASSERT_TRUE(req) << req.error().message;
  std::string out;
  auto s = EncodeRequest(*req, out);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(Json(out), Json(ReadFile("request_gemini.json"))) << out;
}

// An OpenAI client replaying a Gemini 3 function call sends its thought signature back the way
// Google's OpenAI-compatible API (and our own answers) carry it; without it Gemini refuses the
// history. Per call (stream deltas) and per message (non-stream answers) both reach the part.
TEST(EncodeRequest, OpenAiClientsThoughtSignaturesReachTheFunctionCallParts) {
  for (const char* assistant :
       {R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
            "function":{"name":"f","arguments":"{}"},
            "extra_content":{"google":{"thought_signature":"sig-A"}}}]})",
        R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
            "function":{"name":"f","arguments":"{}"}}],
            "extra_content":{"google":{"thought_signatures":["sig-A"]}}})"}) {
    std::string body = std::string(R"({"model":"m","messages":[{"role":"user","content":"hi"},)") +
                       assistant + R"(,{"role":"tool","tool_call_id":"c1","content":"ok"}]})";
    auto req = DecodeOpenAiChat(body);
    ASSERT_TRUE(req) << req.error().message;
    std::string out;
    ASSERT_TRUE(EncodeRequest(*req, out));
    const json::value v = json::parse(out);
    const auto& part = v.at("contents").at(1).at("parts").at(0);
    EXPECT_EQ(part.at("functionCall").at("name"), "f") << out;
    EXPECT_EQ(part.at("thoughtSignature"), "sig-A") << out;
    // An OpenAI-compatible upstream (Google's among them) gets the vendor field back as sent.
    std::string openai;
    EncodeOpenAiChat(*req, {}, openai);
    EXPECT_NE(openai.find("sig-A"), std::string::npos) << openai;
  }
}

TEST(EncodeRequest, MinimalHasNoOptionalSections) {
  std::string out;
  ASSERT_TRUE(EncodeRequest(UserSays("hi"), out));
  EXPECT_EQ(Json(out), Json(R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})"));
}

TEST(EncodeRequest, ToolChoiceModesAndJsonObject) {
  ChatRequest req = UserSays("hi");
  req.tools.push_back({.name = "f"});
  req.response_format.kind = ResponseFormat::Kind::kJsonObject;
  struct Case {
    ToolChoice::Kind kind;
    const char* want;
  };
  for (const Case& c :
       {Case{ToolChoice::Kind::kAuto, R"({"functionCallingConfig":{"mode":"AUTO"}})"},
        Case{ToolChoice::Kind::kNone, R"({"functionCallingConfig":{"mode":"NONE"}})"},
        Case{ToolChoice::Kind::kRequired, R"({"functionCallingConfig":{"mode":"ANY"}})"},
        Case{ToolChoice::Kind::kFunction,
             R"({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}})"}}) {
    req.tool_choice.kind = c.kind;
    req.tool_choice.function_name = "f";
    std::string out;
    ASSERT_TRUE(EncodeRequest(req, out));
    const json::value v = Json(out);
    EXPECT_EQ(v.at("toolConfig"), Json(c.want)) << out;
    EXPECT_EQ(v.at("tools"), Json(R"([{"functionDeclarations":[{"name":"f"}]}])"));
    EXPECT_EQ(v.at("generationConfig"), Json(R"({"responseMimeType":"application/json"})"));
  }
}

TEST(EncodeRequest, InvalidToolArgumentsNameTheField) {
  for (const char* args : {"{not json", "[1,2]"}) {
    ChatRequest req = UserSays("hi");
    Message m{.role = "assistant", .content_is_null = true};
    m.tool_calls.push_back({.id = "t", .name = "f", .arguments = args});
    req.messages.push_back(m);
    std::string out;
    auto s = EncodeRequest(req, out);
    ASSERT_FALSE(s) << args;
    EXPECT_EQ(s.error().param, "messages[1].tool_calls[0].function.arguments");
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidRequest);
  }
}

TEST(EncodeRequest, ToolResultWithoutMatchingCallIsAnError) {
  ChatRequest req = UserSays("hi");
  req.messages.push_back({.role = "tool", .text = "x", .tool_call_id = "nope"});
  std::string out;
  auto s = EncodeRequest(req, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().param, "messages[1].tool_call_id");
}

// --- responses --------------------------------------------------------------------------------

TEST(DecodeResponse, GoldenTextThoughtsFunctionCallsUsage) {
  auto r = DecodeResponse(ReadFile("response_gemini.json"), "gemini-2.5-flash", 1700000000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Json(*r), Json(ReadFile("response_openai.json"))) << *r;
}

TEST(DecodeResponse, PlainText) {
  auto r = DecodeResponse(
      R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"}]},"finishReason":"STOP"}],
          "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4}})",
      "g", 5);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Json(*r), Json(R"({"id":"chatcmpl-gemini","object":"chat.completion","created":5,
    "model":"g","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},
    "finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})"))
      << *r;
}

TEST(DecodeResponse, FinishReasons) {
  struct Case {
    const char* gemini;
    const char* openai;
  };
  for (const Case& c :
       {Case{"STOP", "stop"}, Case{"MAX_TOKENS", "length"}, Case{"SAFETY", "content_filter"},
        Case{"RECITATION", "content_filter"}, Case{"BLOCKLIST", "content_filter"},
        Case{"PROHIBITED_CONTENT", "content_filter"}, Case{"SPII", "content_filter"},
        Case{"OTHER", "stop"}}) {
    const std::string body =
        std::string(R"({"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":")") +
        c.gemini + R"("}]})";
    auto r = DecodeResponse(body, "g");
    ASSERT_TRUE(r) << c.gemini;
    EXPECT_EQ(Json(*r).at("choices").at(0).at("finish_reason"), c.openai) << c.gemini;
  }
}

TEST(DecodeResponse, BlockedPromptAndErrors) {
  auto blocked = DecodeResponse(R"({"promptFeedback":{"blockReason":"SAFETY"}})", "g");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(Json(*blocked).at("choices").at(0).at("finish_reason"), "content_filter");
  auto err = DecodeResponse(
      R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})", "g");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, ErrorCode::kRateLimited);
  EXPECT_FALSE(DecodeResponse("{not json", "g"));
  EXPECT_FALSE(DecodeResponse("{}", "g"));
}

// --- streams ----------------------------------------------------------------------------------

TEST(StreamToOpenAi, GoldenTextThenFunctionCallThenFinishAndUsage) {
  std::vector<std::string> data;
  SseParser parser;
  ASSERT_TRUE(
      parser.Feed(ReadFile("stream.sse"), [&](const SseEvent& e) { data.push_back(e.data); }));
  ASSERT_EQ(data.size(), 4u);
  StreamToOpenAi stream("gemini-2.5-flash", 1700000000);
  std::vector<std::string> out;
  for (const std::string& d : data) ASSERT_TRUE(stream.Feed(d, out)) << d;
  stream.Finish(out);  // usage already sent: nothing more
  json::array got;
  for (const std::string& c : out) got.push_back(Json(c));
  EXPECT_EQ(json::value(got), Json(ReadFile("stream_openai.json"))) << json::serialize(got);
}

TEST(StreamToOpenAi, FinishSendsUsageWhenNoFinishReasonCame) {
  StreamToOpenAi stream("g");
  std::vector<std::string> out;
  ASSERT_TRUE(stream.Feed(
      R"({"candidates":[{"content":{"parts":[{"text":"hi"}]}}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1}})",
      out));
  ASSERT_EQ(out.size(), 1u);
  stream.Finish(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Json(out[1]).at("usage"),
            Json(R"({"prompt_tokens":2,"completion_tokens":1,"total_tokens":3})"));
  stream.Finish(out);
  EXPECT_EQ(out.size(), 2u);
}

TEST(StreamToOpenAi, ErrorChunkIsAnError) {
  StreamToOpenAi stream("g");
  std::vector<std::string> out;
  auto s =
      stream.Feed(R"({"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}})", out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUpstreamUnavailable);
  EXPECT_FALSE(stream.Feed("{oops", out));
}

// --- errors -----------------------------------------------------------------------------------

TEST(ErrorFromGemini, Table) {
  struct Case {
    int http;
    const char* status;
    const char* message;
    ErrorCode want;
  };
  for (const Case& c : {
           Case{429, "RESOURCE_EXHAUSTED", "Quota exceeded", ErrorCode::kRateLimited},
           Case{0, "RESOURCE_EXHAUSTED", "Quota exceeded", ErrorCode::kRateLimited},
           Case{503, "UNAVAILABLE", "The model is overloaded.", ErrorCode::kUpstreamUnavailable},
           Case{500, "INTERNAL", "An internal error has occurred.",
                ErrorCode::kUpstreamUnavailable},
           Case{504, "DEADLINE_EXCEEDED", "Deadline exceeded", ErrorCode::kUpstreamTimeout},
           Case{401, "UNAUTHENTICATED", "API key AIzaSECRET not valid", ErrorCode::kUpstreamAuth},
           Case{403, "PERMISSION_DENIED", "key AIzaSECRET denied", ErrorCode::kUpstreamAuth},
           Case{400, "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed "
                "(1048576).",
                ErrorCode::kContextLength},
           Case{400, "INVALID_ARGUMENT", "Invalid JSON payload", ErrorCode::kUpstreamError},
           Case{404, "NOT_FOUND", "models/x is not found", ErrorCode::kUpstreamError},
       }) {
    const std::string body = std::string(R"({"error":{"code":)") + std::to_string(c.http) +
                             R"(,"message":")" + c.message + R"(","status":")" + c.status +
                             R"("}})";
    const Error e = ErrorFromGemini(c.http, body);
    EXPECT_EQ(e.code, c.want) << body;
    EXPECT_EQ(e.message.find("AIzaSECRET"), std::string::npos) << e.message;
    EXPECT_EQ(e.upstream_body.find("AIzaSECRET"), std::string::npos);
    if (c.want == ErrorCode::kUpstreamError) {
      EXPECT_EQ(e.upstream_body, body);
      EXPECT_EQ(e.upstream_status, c.http);
    }
  }
}

TEST(ErrorFromGemini, NonJsonBody) {
  const Error e = ErrorFromGemini(502, "<html>Bad Gateway</html>");
  EXPECT_EQ(e.code, ErrorCode::kUpstreamUnavailable);
  EXPECT_EQ(e.upstream_status, 502);
}

}  // namespace
}  // namespace hybridgate::api::gemini
