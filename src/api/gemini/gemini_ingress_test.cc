// Golden-file tests for the Gemini ingress direction (a Gemini client served by any upstream) and
// for thought signatures and reasoning_effort crossing dialects. Goldens in testdata/ follow the
// examples of Google's Gemini API reference (function calling, thinking, structured output).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/gemini/gemini.h"
#include "api/gemini/test_util.h"
#include "api/openai_chat.h"
#include "api/sse.h"

namespace hybridgate::api::gemini {
namespace {

namespace json = boost::json;

using test_util::Json;
using test_util::ReadFile;

Result<ChatRequest> Decode(std::string body, bool stream = false) {
  return DecodeRequest(body, "gemini-2.5-flash", stream);
}

std::string ToOpenAi(const ChatRequest& req) {
  std::string out;
  EncodeOpenAiChat(req, {.model = "", .force_include_usage = false}, out);
  return out;
}

std::string ToGemini(const ChatRequest& req) {
  std::string out;
  auto s = EncodeRequest(req, out);
  EXPECT_TRUE(s) << s.error().message;
  return out;
}

// --- DecodeRequest ----------------------------------------------------------------------------

TEST(DecodeRequest, GoldenMultiTurnFunctionCallingImagesToolsConfig) {
  auto req = Decode(ReadFile("decode_request_gemini.json"));
  ASSERT_TRUE(req) << req.error().message << " at " << req.error().param;
  EXPECT_EQ(req->ingress, ChatRequest::Dialect::kGemini);
  EXPECT_EQ(req->reasoning_effort, "low");  // for Anthropic/Gemini upstreams, not OpenAI ones
  EXPECT_EQ(Json(ToOpenAi(*req)), Json(ReadFile("decode_request_openai.json"))) << ToOpenAi(*req);
}

TEST(DecodeRequest, GoldenRoundTripToGeminiKeepsSignaturesAndUnknownFields) {
  auto req = Decode(ReadFile("decode_request_gemini.json"));
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(Json(ToGemini(*req)), Json(ReadFile("decode_request_roundtrip.json")))
      << ToGemini(*req);
}

TEST(DecodeRequest, StreamAndPlainStringSystemInstruction) {
  auto req =
      Decode(R"({"systemInstruction":"Be terse.","contents":[{"parts":[{"text":"hi"}]}]})", true);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_TRUE(req->stream);
  EXPECT_EQ(req->include_usage, true);
  ASSERT_EQ(req->messages.size(), 2u);
  EXPECT_EQ(req->messages[0].role, "system");
  EXPECT_EQ(req->messages[0].text, "Be terse.");
  EXPECT_EQ(req->messages[1].role, "user");  // role may be omitted for single-turn requests
  EXPECT_EQ(req->model, "gemini-2.5-flash");
}

TEST(DecodeRequest, FunctionResponsesMatchByIdThenByNameInOrder) {
  auto req = Decode(R"({"contents":[
    {"role":"user","parts":[{"text":"weather in two cities"}]},
    {"role":"model","parts":[{"functionCall":{"name":"w","args":{"c":"A"}}},
                             {"functionCall":{"id":"x9","name":"w","args":{"c":"B"}}}]},
    {"role":"function","parts":[{"functionResponse":{"id":"x9","name":"w","response":{"t":2}}},
                                {"functionResponse":{"name":"w","response":{"t":1}}},
                                {"text":"and now?"}]}]})");
  ASSERT_TRUE(req) << req.error().message;
  ASSERT_EQ(req->messages.size(), 5u);
  EXPECT_EQ(req->messages[1].tool_calls[0].id, "call_1_0");
  EXPECT_EQ(req->messages[1].tool_calls[1].id, "x9");
  EXPECT_EQ(req->messages[2].tool_call_id, "x9");
  EXPECT_EQ(req->messages[2].text, R"({"t":2})");
  EXPECT_EQ(req->messages[3].tool_call_id, "call_1_0");
  EXPECT_EQ(req->messages[4].role, "user");
  EXPECT_EQ(req->messages[4].text, "and now?");
}

TEST(DecodeRequest, ErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (
      const Case& c : {
          Case{R"({"contents":[]})", "contents"},
          Case{R"({"generationConfig":{}})", "contents"},
          Case{R"({"contents":{}})", "contents"},
          Case{R"({"contents":[{"role":"system","parts":[{"text":"x"}]}]})", "contents[0].role"},
          Case{R"({"contents":[{"role":"user"}]})", "contents[0].parts"},
          Case{R"({"contents":[{"role":"user","parts":[]}]})", "contents[0].parts"},
          Case{R"({"contents":[{"parts":[{"text":1}]}]})", "contents[0].parts[0].text"},
          Case{R"({"contents":[{"parts":[{"foo":1}]}]})", "contents[0].parts[0]"},
          Case{R"({"contents":[{"parts":[{"inlineData":{"mimeType":"audio/wav","data":"AA"}}]}]})",
               "contents[0].parts[0].inlineData.mimeType"},
          Case{R"({"contents":[{"parts":[{"inlineData":{"data":"AA"}}]}]})",
               "contents[0].parts[0].inlineData.mimeType"},
          Case{R"({"contents":[{"parts":[{"executableCode":{"code":"1"}}]}]})",
               "contents[0].parts[0].executableCode"},
          Case{R"({"contents":[{"parts":[{"text":"a"}]},{"role":"model","parts":[{"text":"b"}]},
                {"parts":[{"functionResponse":{"name":"f","response":{}}}]}]})",
               "contents[2].parts[0].functionResponse.name"},
          Case{
              R"({"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":[1]}}]}]})",
              "contents[0].parts[0].functionCall.args"},
          Case{R"({"contents":[{"role":"model","parts":[{"functionCall":{"args":{}}}]}]})",
               "contents[0].parts[0].functionCall.name"},
          Case{R"({"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"candidateCount":2}})",
               "generationConfig.candidateCount"},
          Case{
              R"({"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"temperature":"hot"}})",
              "generationConfig.temperature"},
          Case{R"({"contents":[{"parts":[{"text":"a"}]}],"tools":[{"googleSearch":{}}]})",
               "tools[0].googleSearch"},
          Case{R"({"contents":[{"parts":[{"text":"a"}]}],"tools":[{"functionDeclarations":[{}]}]})",
               "tools[0].functionDeclarations[0].name"},
          Case{R"({"contents":[{"parts":[{"text":"a"}]}],
                "toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}}})",
               "toolConfig.functionCallingConfig.mode"},
          Case{R"({"contents":[{"parts":[{"text":"a"}]}],
                "generationConfig":{"thinkingConfig":{"thinkingLevel":"EXTREME"}}})",
               "generationConfig.thinkingConfig.thinkingLevel"},
      }) {
    auto req = Decode(c.body);
    ASSERT_FALSE(req) << c.body;
    EXPECT_EQ(req.error().code, ErrorCode::kInvalidRequest) << c.body;
    EXPECT_EQ(req.error().param, c.param) << c.body << ": " << req.error().message;
  }
  auto bad_json = Decode("{not json");
  ASSERT_FALSE(bad_json);
  EXPECT_EQ(bad_json.error().code, ErrorCode::kInvalidRequest);
}

TEST(DecodeRequest, ToolConfigModes) {
  struct Case {
    const char* config;
    ToolChoice::Kind kind;
    const char* raw;
  };
  for (const Case& c : {
           Case{R"({"mode":"AUTO"})", ToolChoice::Kind::kAuto, R"("auto")"},
           Case{R"({"mode":"VALIDATED"})", ToolChoice::Kind::kAuto, R"("auto")"},
           Case{R"({"mode":"NONE"})", ToolChoice::Kind::kNone, R"("none")"},
           Case{R"({"mode":"ANY"})", ToolChoice::Kind::kRequired, R"("required")"},
           Case{R"({"mode":"ANY","allowedFunctionNames":["f","g"]})", ToolChoice::Kind::kRequired,
                R"("required")"},
           Case{R"({"mode":"ANY","allowed_function_names":["f"]})", ToolChoice::Kind::kFunction,
                R"({"type":"function","function":{"name":"f"}})"},
       }) {
    auto req = Decode(std::string(R"({"contents":[{"parts":[{"text":"a"}]}],)") +
                      R"("toolConfig":{"functionCallingConfig":)" + c.config + "}}");
    ASSERT_TRUE(req) << c.config << ": " << req.error().message;
    EXPECT_EQ(req->tool_choice.kind, c.kind) << c.config;
    EXPECT_EQ(Json(req->tool_choice.raw), Json(c.raw)) << c.config;
  }
}

TEST(DecodeRequest, ThinkingConfigToReasoningEffort) {
  struct Case {
    const char* config;
    const char* effort;
  };
  for (const Case& c : {
           Case{R"({"thinkingBudget":0})", "none"},
           Case{R"({"thinkingBudget":-1})", "medium"},
           Case{R"({"thinkingBudget":512})", "low"},
           Case{R"({"thinkingBudget":1024})", "low"},
           Case{R"({"thinkingBudget":4096})", "medium"},
           Case{R"({"thinking_budget":24576})", "high"},
           Case{R"({"thinkingLevel":"MINIMAL"})", "minimal"},
           Case{R"({"thinkingLevel":"LOW"})", "low"},
           Case{R"({"thinkingLevel":"HIGH","includeThoughts":true})", "high"},
           Case{R"({"includeThoughts":true})", ""},
       }) {
    auto req = Decode(std::string(R"({"contents":[{"parts":[{"text":"a"}]}],)") +
                      R"("generationConfig":{"thinkingConfig":)" + c.config + "}}");
    ASSERT_TRUE(req) << c.config << ": " << req.error().message;
    EXPECT_EQ(req->reasoning_effort, c.effort) << c.config;
  }
}

TEST(DecodeRequest, JsonModeWithAndWithoutSchema) {
  auto plain = Decode(R"({"contents":[{"parts":[{"text":"a"}]}],
      "generationConfig":{"responseMimeType":"application/json"}})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->response_format.kind, ResponseFormat::Kind::kJsonObject);
  EXPECT_EQ(Json(plain->response_format.raw), Json(R"({"type":"json_object"})"));
  auto schema = Decode(R"({"contents":[{"parts":[{"text":"a"}]}],
      "generationConfig":{"responseMimeType":"application/json",
        "responseJsonSchema":{"type":"object","properties":{"n":{"type":"integer"}}}}})");
  ASSERT_TRUE(schema);
  EXPECT_EQ(schema->response_format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(Json(schema->response_format.schema_json),
            Json(R"({"type":"object","properties":{"n":{"type":"integer"}}})"));
  auto text = Decode(R"({"contents":[{"parts":[{"text":"a"}]}],
      "generationConfig":{"responseMimeType":"text/plain"}})");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->response_format.kind, ResponseFormat::Kind::kUnset);
}

// --- EncodeResponse / EncodeError -------------------------------------------------------------

TEST(EncodeResponse, GoldenThoughtTextFunctionCallsSignatureUsage) {
  auto r = EncodeResponse(ReadFile("encode_response_openai.json"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Json(*r), Json(ReadFile("encode_response_gemini.json"))) << *r;
}

TEST(EncodeResponse, PlainTextLengthAndNoUsage) {
  auto r = EncodeResponse(R"({"id":"x","model":"m","choices":[{"index":0,
      "message":{"role":"assistant","content":"Hi"},"finish_reason":"length"}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Json(*r), Json(R"({"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},
      "finishReason":"MAX_TOKENS","index":0}],"modelVersion":"m","responseId":"x"})"))
      << *r;
  EXPECT_FALSE(EncodeResponse("{oops"));
  EXPECT_FALSE(EncodeResponse(R"({"choices":[]})"));
}

TEST(EncodeError, StatusPerCodeAndGooglePassThrough) {
  struct Case {
    ErrorCode code;
    int http;
    const char* status;
  };
  for (const Case& c : {
           Case{ErrorCode::kInvalidRequest, 400, "INVALID_ARGUMENT"},
           Case{ErrorCode::kContextLength, 400, "INVALID_ARGUMENT"},
           Case{ErrorCode::kUnauthenticated, 401, "UNAUTHENTICATED"},
           Case{ErrorCode::kPermissionDenied, 403, "PERMISSION_DENIED"},
           Case{ErrorCode::kPolicyBlocked, 403, "PERMISSION_DENIED"},
           Case{ErrorCode::kNotFound, 404, "NOT_FOUND"},
           Case{ErrorCode::kRateLimited, 429, "RESOURCE_EXHAUSTED"},
           Case{ErrorCode::kBudgetExceeded, 429, "RESOURCE_EXHAUSTED"},
           Case{ErrorCode::kUpstreamUnavailable, 502, "UNAVAILABLE"},
           Case{ErrorCode::kUnavailable, 503, "UNAVAILABLE"},
           Case{ErrorCode::kUpstreamTimeout, 504, "DEADLINE_EXCEEDED"},
           Case{ErrorCode::kInternal, 500, "INTERNAL"},
       }) {
    const json::value v = Json(EncodeError(MakeError(c.code, "went wrong")));
    EXPECT_EQ(v.at("error").at("code"), c.http) << c.status;
    EXPECT_EQ(v.at("error").at("status"), c.status);
    EXPECT_EQ(v.at("error").at("message"), "went wrong");
  }
  Error upstream = MakeError(ErrorCode::kUpstreamError, "gemini: bad");
  upstream.upstream_status = 400;
  upstream.upstream_body = R"({"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}})";
  EXPECT_EQ(EncodeError(upstream), upstream.upstream_body);
  upstream.upstream_body = R"({"error":{"message":"openai style","type":"invalid_request_error"}})";
  EXPECT_EQ(Json(EncodeError(upstream)).at("error").at("status"), "INVALID_ARGUMENT");
}

// --- StreamFromOpenAi -------------------------------------------------------------------------

TEST(StreamFromOpenAi, GoldenThoughtTextWholeFunctionCallsFinishUsage) {
  StreamFromOpenAi stream;
  std::string out;
  const json::value input = Json(ReadFile("stream_from_openai_input.json"));
  for (const json::value& chunk : input.as_array()) {
    const std::string data =
        chunk.is_string() ? std::string(chunk.as_string()) : json::serialize(chunk);
    ASSERT_TRUE(stream.Feed(data, out)) << data;
  }
  stream.Finish(out);  // already ended: nothing more
  // Compare event by event, each parsed.
  std::vector<std::string> got, want;
  SseParser a, b;
  ASSERT_TRUE(a.Feed(out, [&](const SseEvent& e) { got.push_back(e.data); }));
  ASSERT_TRUE(b.Feed(ReadFile("stream_from_openai.sse"),
                     [&](const SseEvent& e) { want.push_back(e.data); }));
  ASSERT_EQ(got.size(), want.size()) << out;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(Json(got[i]), Json(want[i])) << got[i];
  EXPECT_NE(out.find("}\r\n\r\ndata: "), std::string::npos);  // Google's event separator
}

TEST(StreamFromOpenAi, FinishWithoutUsageAndIdempotent) {
  StreamFromOpenAi stream("gemini-pro");
  std::string out;
  ASSERT_TRUE(stream.Feed(
      R"({"id":"c","model":"up","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]})",
      out));
  EXPECT_EQ(out.find("finishReason"), std::string::npos);  // waits for the usage chunk
  stream.Finish(out);
  const size_t size = out.size();
  stream.Finish(out);
  ASSERT_TRUE(stream.Feed("[DONE]", out));
  EXPECT_EQ(out.size(), size);
  EXPECT_NE(out.find(R"("finishReason":"STOP")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("modelVersion":"gemini-pro")"), std::string::npos) << out;
  StreamFromOpenAi broken;
  EXPECT_FALSE(broken.Feed("{nope", out));
  EXPECT_FALSE(broken.Feed(R"({"error":{"message":"boom"}})", out));
}

// --- thought signatures and reasoning_effort across dialects -------------------------------------

TEST(ThoughtSignatures, GeminiUpstreamToGeminiClientNonStreamAndStream) {
  const char* upstream = R"({"candidates":[{"content":{"role":"model","parts":[
      {"functionCall":{"name":"f","args":{"a":1}},"thoughtSignature":"U0lH"}]},
      "finishReason":"STOP"}],"responseId":"r"})";
  auto openai = DecodeResponse(upstream, "g");
  ASSERT_TRUE(openai) << openai.error().message;
  auto gemini = EncodeResponse(*openai);
  ASSERT_TRUE(gemini) << gemini.error().message;
  const json::value part = Json(*gemini).at("candidates").at(0).at("content").at("parts").at(0);
  EXPECT_EQ(part.at("thoughtSignature"), "U0lH") << *gemini;
  EXPECT_EQ(part.at("functionCall").at("name"), "f");

  StreamToOpenAi to_openai("g");
  std::vector<std::string> chunks;
  ASSERT_TRUE(to_openai.Feed(upstream, chunks));
  StreamFromOpenAi to_gemini;
  std::string sse;
  for (const std::string& c : chunks) ASSERT_TRUE(to_gemini.Feed(c, sse)) << c;
  to_gemini.Finish(sse);
  EXPECT_NE(sse.find(R"("thoughtSignature":"U0lH")"), std::string::npos) << sse;
}

TEST(ReasoningEffort, OpenAiClientToGeminiThinkingConfig) {
  std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"})";
  auto req = DecodeOpenAiChat(body);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->reasoning_effort, "high");
  EXPECT_EQ(Json(ToOpenAi(*req)).at("reasoning_effort"), "high");
  EXPECT_EQ(Json(ToGemini(*req)).at("generationConfig").at("thinkingConfig"),
            Json(R"({"thinkingBudget":24576,"includeThoughts":true})"));
  req->reasoning_effort = "none";
  EXPECT_EQ(Json(ToGemini(*req)).at("generationConfig").at("thinkingConfig"),
            Json(R"({"thinkingBudget":0})"));
  req->reasoning_effort = "";
  EXPECT_FALSE(Json(ToGemini(*req)).as_object().contains("generationConfig"));
}

TEST(CachedTokens, GeminiStreamCarriesCachedContentTokenCount) {
  std::vector<std::string> data;
  SseParser parser;
  ASSERT_TRUE(parser.Feed(ReadFile("stream_cached.sse"),
                          [&](const SseEvent& e) { data.push_back(e.data); }));
  StreamToOpenAi stream("g");
  std::vector<std::string> out;
  for (const std::string& d : data) ASSERT_TRUE(stream.Feed(d, out)) << d;
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(Json(out.back()).at("usage"),
            Json(R"({"prompt_tokens":2100,"completion_tokens":5,"total_tokens":2105,
                     "prompt_tokens_details":{"cached_tokens":2048}})"));
}

TEST(GeminiIngress, ModelPath) {
  auto p = ParseModelPath("/v1beta/models/gemini-2.5-flash:generateContent");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->model, "gemini-2.5-flash");
  EXPECT_FALSE(p->stream);
  p = ParseModelPath("/v1/models/tuned%2Fmy:model:streamGenerateContent");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->model, "tuned/my:model");  // escaped '/', and ':' up to the last one
  EXPECT_TRUE(p->stream);
  EXPECT_EQ(ParseModelPath("/v1/models/a%zz%4:generateContent")->model, "a%zz%4");
  for (std::string_view bad :
       {"/v1beta/models/m:countTokens", "/v1beta/models/m", "/v1beta/models/:generateContent",
        "/v1beta/models/", "", "/x", "/v1beta/m:generateContent", "/v1beta/models/m:"}) {
    auto r = ParseModelPath(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
    EXPECT_NE(r.error().message.find("models/{model}:generateContent"), std::string::npos);
  }
}

}  // namespace
}  // namespace hybridgate::api::gemini
