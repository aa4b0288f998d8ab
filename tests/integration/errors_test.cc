// Every error a client can meet, through the real binary: status, OpenAI-shaped body, and that
// nothing reached the upstream when the gateway should have refused first.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Case {
  const char* name;
  std::string method = "POST";
  std::string path = "/v1/chat/completions";
  std::string body;
  int status;
  std::string type;
  std::string code;
  std::string message_part;
  std::string param = "";
  bool reaches_upstream = false;
};

std::string Chat(const std::string& model, const std::string& extra = "") {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" + extra + "}";
}

TEST(Errors, BrokenConfigStopsStartupWithExitTwoAndTheReason) {
  GatewayProcess gw(
      "providers:\n  - {name: p, type: openai, base_url: 'http://127.0.0.1:1/v1',"
      " api_key_file: /dev/null, models: [{name: m}]}\n");
  EXPECT_FALSE(gw.started());
  EXPECT_NE(gw.Log().find("'providers[0].api_key_file': '/dev/null' is empty"), std::string::npos)
      << gw.Log();
}

TEST(Errors, EveryClientVisibleError) {
  FakeUpstream up([](const Recorded& r) {
    auto body = json::parse(r.body);
    const std::string model(body.at("model").as_string());
    if (model == "m-422") {
      return Action{
          .status = 422,
          .body =
              R"({"error":{"message":"logit_bias is invalid","type":"invalid_request_error","param":"logit_bias","code":null}})"};
    }
    if (model == "m-401")
      return Action{.status = 401, .body = R"({"error":{"message":"bad key sk-gw-key"}})"};
    if (model == "m-500") return Action{.status = 500, .body = "boom"};
    if (model == "m-stall") return Action{.stall = true};
    if (model == "m-notjson") return Action{.content_type = "text/html", .body = "<html>hi</html>"};
    return Action{.body = ChatCompletionJson("ok")};
  });
  setenv("HG_IT_ERR_KEY", "sk-gw-key", 1);
  const std::string cfg =
      "server: {max_body_bytes: 4096}\n"
      "providers:\n"
      "  - name: fake\n    type: openai\n    base_url: " +
      up.base_url() +
      "\n    api_key_env: HG_IT_ERR_KEY\n"
      "    models: [{name: ok}, {name: m-422}, {name: m-401}, {name: m-500}, {name: m-notjson},"
      " {name: m-stall, timeout_ms: 300}]\n"
      "  - name: dead\n    type: openai\n    base_url: http://127.0.0.1:" +
      std::to_string(FreePort()) + "/v1\n    models: [{name: unreachable}]\n";
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();

  std::string deep = std::string(2000, '[') + std::string(2000, ']');
  const Case cases[] = {
      {.name = "malformed json",
       .body = R"({"model": "ok", "messages": [)",
       .status = 400,
       .type = "invalid_request_error",
       .code = "invalid_request",
       .message_part = "malformed JSON"},
      {.name = "missing field",
       .body = R"({"model":"ok"})",
       .status = 400,
       .type = "invalid_request_error",
       .code = "invalid_request",
       .message_part = "'messages'",
       .param = "messages"},
      {.name = "wrong type",
       .body = Chat("ok", R"(,"max_tokens":"ten")"),
       .status = 400,
       .type = "invalid_request_error",
       .code = "invalid_request",
       .message_part = "'max_tokens' must be an integer, got a string",
       .param = "max_tokens"},
      {.name = "unknown model",
       .body = Chat("gpt-9"),
       .status = 404,
       .type = "invalid_request_error",
       .code = "model_not_found",
       .message_part = "model 'gpt-9' does not exist",
       .param = "model"},
      {.name = "too large",
       .body = Chat("ok", R"(,"x":")" + std::string(5000, 'a') + "\""),
       .status = 413,
       .type = "invalid_request_error",
       .code = "payload_too_large",
       .message_part = "exceeds the limit of 4096 bytes"},
      {.name = "invalid utf-8",
       .body = "{\"model\":\"ok\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}",
       .status = 400,
       .type = "invalid_request_error",
       .code = "invalid_request",
       .message_part = "not valid UTF-8"},
      {.name = "deep nesting",
       .body = Chat("ok", ",\"x\":" + deep),
       .status = 400,
       .type = "invalid_request_error",
       .code = "invalid_request",
       .message_part = "nested too deeply"},
      {.name = "upstream unreachable",
       .body = Chat("unreachable"),
       .status = 502,
       .type = "api_error",
       .code = "upstream_unavailable",
       .message_part = "cannot connect to upstream"},
      {.name = "upstream timeout",
       .body = Chat("m-stall"),
       .status = 504,
       .type = "api_error",
       .code = "upstream_timeout",
       .message_part = "timed out",
       .reaches_upstream = true},
      {.name = "upstream 5xx",
       .body = Chat("m-500"),
       .status = 502,
       .type = "api_error",
       .code = "upstream_unavailable",
       .message_part = "failed (HTTP 500): boom",
       .reaches_upstream = true},
      {.name = "upstream auth",
       .body = Chat("m-401"),
       .status = 502,
       .type = "upstream_auth_error",
       .code = "upstream_auth",
       .message_part = "provider 'fake' rejected HybridGate's credentials",
       .reaches_upstream = true},
      {.name = "upstream not json",
       .body = Chat("m-notjson"),
       .status = 502,
       .type = "api_error",
       .code = "upstream_unavailable",
       .message_part = "not JSON",
       .reaches_upstream = true},
      {.name = "unknown path",
       .method = "GET",
       .path = "/v2/nothing",
       .status = 404,
       .type = "invalid_request_error",
       .code = "not_found",
       .message_part = "no route for /v2/nothing"},
      {.name = "wrong method",
       .method = "GET",
       .path = "/v1/chat/completions",
       .status = 405,
       .type = "invalid_request_error",
       .code = "method_not_allowed",
       .message_part = "not allowed"},
  };
  for (const Case& c : cases) {
    const size_t before = up.request_count();
    TestClient client(gw.port());
    auto r = client.Request(c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body << r.error;
    json::value v;
    try {
      v = json::parse(r.body);
    } catch (...) {
      ADD_FAILURE() << c.name << ": body is not JSON: " << r.body;
      continue;
    }
    const auto& err = v.at("error");
    EXPECT_EQ(err.at("type").as_string(), c.type) << c.name;
    EXPECT_EQ(err.at("code").as_string(), c.code) << c.name;
    const std::string msg(err.at("message").as_string());
    EXPECT_NE(msg.find(c.message_part), std::string::npos) << c.name << ": " << msg;
    EXPECT_EQ(msg.find("sk-gw-key"), std::string::npos) << c.name << ": key leaked";
    if (c.param.empty()) {
      EXPECT_TRUE(err.at("param").is_null()) << c.name;
    } else {
      EXPECT_EQ(err.at("param").as_string(), c.param) << c.name;
    }
    if (c.status != 413 && c.status != 404 && c.status != 405) {
      EXPECT_EQ(r.headers.count("x-hybridgate-request-id"), 1u) << c.name;
    }
    EXPECT_EQ(up.request_count() - before, c.reaches_upstream ? 1u : 0u) << c.name;
  }

  // An upstream 4xx is the client's problem: passed through with its own status and body.
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", Chat("m-422"));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(
      r.body,
      R"({"error":{"message":"logit_bias is invalid","type":"invalid_request_error","param":"logit_bias","code":null}})");
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

// The request log line with `id` (the x-hybridgate-request-id of an answer), parsed; null when
// none appeared within 3 s (lines are written in batches).
json::value LogLineFor(const GatewayProcess& gw, const std::string& id) {
  json::value line;
  FakeUpstream::WaitFor(
      [&] {
        const std::string log = gw.Log();
        const size_t at = log.find(R"("msg":"request","id":")" + id + '"');
        if (at == std::string::npos) return false;
        const size_t begin = log.rfind('\n', at) + 1;  // npos + 1 == 0: the first line
        line = json::parse(log.substr(begin, log.find('\n', at) - begin));
        return true;
      },
      3s);
  return line;
}

// An answer HybridGate gives without a decoder (no route, wrong method) comes in the dialect of
// the path, and every request — these, health checks, model lookups — has its log line.
TEST(Errors, NoRouteSpeaksThePathsDialectAndEveryRequestIsLogged) {
  FakeUpstream up;
  GatewayProcess gw("providers:\n  - {name: fake, type: openai, base_url: '" + up.base_url() +
                    "', models: [{name: m}]}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  struct Answer {
    const char* method;
    const char* path;
    int status;
    const char* body;  // exactly, as JSON
    const char* logged_error;
  };
  const Answer answers[] = {
      {"GET", "/v2/nothing", 404,
       R"({"error":{"message":"no route for /v2/nothing","type":"invalid_request_error",
           "param":null,"code":"not_found"}})",
       "not_found"},
      {"POST", "/v1/models/m", 404,
       R"({"error":{"message":"no route for /v1/models/m: HybridGate serves models/{model}:generateContent and :streamGenerateContent",
           "type":"invalid_request_error","param":null,"code":"not_found"}})",
       "not_found"},
      {"GET", "/v1beta/nothing", 404,
       R"({"error":{"code":404,"message":"no route for /v1beta/nothing","status":"NOT_FOUND"}})",
       "not_found"},
      {"GET", "/v1beta/models/m:generateContent", 405,
       R"({"error":{"code":405,"message":"method GET is not allowed on /v1beta/models/m:generateContent",
           "status":"UNIMPLEMENTED"}})",
       "method_not_allowed"},
      {"GET", "/v1/messages/batches", 404,
       R"({"type":"error","error":{"type":"not_found_error",
           "message":"no route for /v1/messages/batches"}})",
       "not_found"},
      {"GET", "/v1/messages", 405,
       R"({"type":"error","error":{"type":"invalid_request_error",
           "message":"method GET is not allowed on /v1/messages"}})",
       "method_not_allowed"},
      {"PUT", "/v1/chat/completions", 405,
       R"({"error":{"message":"method PUT is not allowed on /v1/chat/completions",
           "type":"invalid_request_error","param":null,"code":"method_not_allowed"}})",
       "method_not_allowed"},
  };
  TestClient client(gw.port());
  for (const Answer& a : answers) {
    SCOPED_TRACE(std::string(a.method) + " " + a.path);
    auto r = client.Request(a.method, a.path, "");
    EXPECT_EQ(r.status, a.status) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(json::parse(r.body), json::parse(a.body)) << r.body;
    const std::string id = r.headers["x-hybridgate-request-id"];
    ASSERT_FALSE(id.empty());
    const json::value line = LogLineFor(gw, id);
    ASSERT_TRUE(line.is_object()) << "no log line for " << id << ":\n" << gw.Log();
    EXPECT_EQ(line.at("method").as_string(), a.method);
    EXPECT_EQ(line.at("path").as_string(), a.path);
    EXPECT_EQ(line.at("status").as_int64(), a.status);
    EXPECT_EQ(line.at("error").as_string(), a.logged_error);
  }
  // Answers that are not errors are logged too; a line has no "error" then.
  for (const char* path : {"/healthz", "/v1/models", "/v1/models/m"}) {
    SCOPED_TRACE(path);
    const auto before = gw.Log();
    auto r = client.Get(path);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string id = r.headers["x-hybridgate-request-id"];
    if (id.empty()) {  // /healthz answers without an id: find its line by its path instead
      EXPECT_TRUE(FakeUpstream::WaitFor(
          [&] {
            const std::string log = gw.Log();
            return log.size() > before.size() &&
                   log.find(R"("method":"GET","path":"/healthz","status":200)", before.size()) !=
                       std::string::npos;
          },
          3s))
          << gw.Log();
      continue;
    }
    const json::value line = LogLineFor(gw, id);
    ASSERT_TRUE(line.is_object()) << "no log line for " << id << ":\n" << gw.Log();
    EXPECT_EQ(line.at("path").as_string(), path);
    EXPECT_EQ(line.at("status").as_int64(), 200);
    EXPECT_FALSE(line.as_object().contains("error"));
  }
  EXPECT_EQ(up.request_count(), 0u);
}

TEST(Errors, StreamCutAfterBytesEndsWithAnErrorEventNotDone) {
  FakeUpstream up([](const Recorded&) {
    return Action{.content_type = "text/event-stream",
                  .chunks = ChatStreamChunks({"partial", "never"}),
                  .cut_after = 2};
  });
  GatewayProcess gw("providers:\n  - {name: fake, type: openai, base_url: '" + up.base_url() +
                    "', models: [{name: m}]}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream("/v1/chat/completions", Chat("m", R"(,"stream":true)"));
  ASSERT_EQ(head.status, 200);
  const std::string all = client.ReadAll(5s);
  EXPECT_TRUE(client.stream_done()) << "the stream must be terminated, not left hanging";
  EXPECT_NE(all.find(R"("content":"partial")"), std::string::npos) << all;
  EXPECT_EQ(all.find("[DONE]"), std::string::npos) << all;
  EXPECT_NE(all.find(R"(data: {"error":{"message":")"), std::string::npos) << all;
  EXPECT_NE(all.find(R"("code":"upstream_unavailable")"), std::string::npos) << all;
}

TEST(Errors, StreamThatFailsBeforeAnyByteIsAPlainErrorResponse) {
  FakeUpstream up([](const Recorded&) {
    return Action{.status = 429,
                  .body = R"({"error":{"message":"slow down"}})",
                  .headers = {{"retry-after", "2"}}};
  });
  GatewayProcess gw("providers:\n  - {name: fake, type: openai, base_url: '" + up.base_url() +
                    "', models: [{name: m}]}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", Chat("m", R"(,"stream":true)"));
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find(R"("type":"rate_limit_error")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("slow down"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace hybridgate::testing
