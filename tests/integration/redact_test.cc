// The residency `redact` action through the real binary: an external provider sees typed
// placeholders instead of the findings, and the client gets the originals back — non-stream,
// streamed with a placeholder split across chunks, and through the Anthropic ingress.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

constexpr char kEmail[] = "ann.lee@example.com";
constexpr char kCard[] = "4111 1111 1111 1111";

// Only an external provider; classes 3 and 4 are redacted for it.
std::string Config(const FakeUpstream& external,
                   const std::string& actions = "3: redact, 4: redact") {
  return "providers:\n"
         "  - {name: cloud, type: openai, base_url: '" +
         external.base_url() + "', zone: external, models: [{name: gpt-4o}]}\n" +
         "residency: {actions: {" + actions + "}}\n";
}

std::string ChatBody(const std::string& text, bool stream = false) {
  json::object body{{"model", "gpt-4o"},
                    {"stream", stream},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}};
  return json::serialize(body);
}

const std::string kPrompt =
    std::string("Email ") + kEmail + " that card " + kCard + " was charged.";

// Every data: payload of an SSE body.
std::vector<json::value> SseData(const std::string& body) {
  std::vector<json::value> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data != "[DONE]") out.push_back(json::parse(data));
  }
  return out;
}

std::string OpenAiStreamText(const std::string& body) {
  std::string text;
  for (const json::value& v : SseData(body)) {
    const auto& choices = v.at("choices").as_array();
    if (choices.empty()) continue;
    const auto* content = choices[0].at("delta").as_object().if_contains("content");
    if (content && content->is_string()) text += content->as_string();
  }
  return text;
}

void ExpectUpstreamSawOnlyPlaceholders(const FakeUpstream& up) {
  const auto recorded = up.requests();
  ASSERT_FALSE(recorded.empty());
  for (const Recorded& r : recorded) {
    EXPECT_NE(r.body.find("<EMAIL_1>"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("<CREDIT_CARD_1>"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(kEmail), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(kCard), std::string::npos) << r.body;
  }
}

void ExpectLogClean(GatewayProcess& gw) {
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  const std::string log = gw.Log();
  EXPECT_EQ(log.find(kEmail), std::string::npos) << log;
  EXPECT_EQ(log.find(kCard), std::string::npos) << log;
}

TEST(Redact, NonStreamExternalSeesPlaceholdersClientGetsOriginals) {
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ChatCompletionJson("I will write to <EMAIL_1> about <CREDIT_CARD_1>.")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", ChatBody(kPrompt));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "2");
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "cloud");
  EXPECT_EQ(r.headers["x-hybridgate-data-class"], "4");
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content").as_string(),
            std::string("I will write to ") + kEmail + " about " + kCard + ".");
  ExpectUpstreamSawOnlyPlaceholders(up);
  // A request without findings is not redacted.
  auto clean = client.Post("/v1/chat/completions", ChatBody("Hello there"));
  ASSERT_EQ(clean.status, 200) << clean.body;
  EXPECT_EQ(clean.headers.count("x-hybridgate-redacted"), 0u);
  ExpectLogClean(gw);
}

TEST(Redact, ToolCallArgumentsAreRestored) {
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ToolCallCompletionJson("call_1", "send_mail", R"({"to":"<EMAIL_1>"})")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", ChatBody(kPrompt));
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  const auto args =
      v.at("choices").at(0).at("message").at("tool_calls").at(0).at("function").at("arguments");
  EXPECT_EQ(args.as_string(), std::string(R"({"to":")") + kEmail + R"("})");
  ExpectLogClean(gw);
}

TEST(Redact, StreamWithPlaceholdersSplitAcrossChunks) {
  FakeUpstream up([](const Recorded&) {
    return Action{
        .content_type = "text/event-stream",
        .chunks = ChatStreamChunks({"Mail <EMA", "IL_1> about <CRED", "IT_CARD_1", ">."})};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto head = client.StartStream("/v1/chat/completions", ChatBody(kPrompt, true));
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  EXPECT_EQ(head.headers["x-hybridgate-redacted"], "2");
  const std::string body = client.ReadAll();
  EXPECT_TRUE(client.stream_done()) << body;
  EXPECT_EQ(OpenAiStreamText(body), std::string("Mail ") + kEmail + " about " + kCard + ".");
  EXPECT_EQ(body.find("EMAIL"), std::string::npos) << body;
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos) << body;
  ExpectUpstreamSawOnlyPlaceholders(up);
  ExpectLogClean(gw);
}

TEST(Redact, AnthropicIngressNonStreamAndStream) {
  FakeUpstream up([](const Recorded& rec) {
    if (rec.body.find(R"("stream":true)") != std::string::npos) {
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks({"Hi <", "EMAIL_1", "> and <CREDIT_CARD_1>"})};
    }
    return Action{.body = ChatCompletionJson("Hi <EMAIL_1> and <CREDIT_CARD_1>")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  json::object req{{"model", "gpt-4o"},
                   {"max_tokens", 64},
                   {"system", std::string("You help ") + kEmail},
                   {"messages", json::array{json::object{{"role", "user"}, {"content", kPrompt}}}}};
  const std::string expected = std::string("Hi ") + kEmail + " and " + kCard;
  auto r = client.Request("POST", "/v1/messages", json::serialize(req),
                          {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "3");
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("content").at(0).at("text").as_string(), expected);

  req["stream"] = true;
  auto head = client.StartStream("/v1/messages", json::serialize(req));
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string body = client.ReadAll();
  std::string text;
  for (const json::value& e : SseData(body)) {
    if (e.at("type").as_string() != "content_block_delta") continue;
    text += e.at("delta").at("text").as_string();
  }
  EXPECT_EQ(text, expected) << body;
  EXPECT_NE(body.find("message_stop"), std::string::npos) << body;
  EXPECT_EQ(body.find("EMAIL"), std::string::npos) << body;
  ExpectUpstreamSawOnlyPlaceholders(up);
  ExpectLogClean(gw);
}

TEST(Redact, StillAboveTheProviderAfterRedactionIsBlocked) {
  FakeUpstream up([](const Recorded&) { return Action{.body = ChatCompletionJson("no")}; });
  GatewayProcess gw(Config(up, "3: redact, 4: redact, 5: redact"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  // The client marks the request class 5: redacting the e-mail cannot lower that.
  auto r = client.Request("POST", "/v1/chat/completions", ChatBody(kPrompt),
                          {{"x-hybridgate-data-class", "5"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("policy_blocked"), std::string::npos) << r.body;
  EXPECT_EQ(up.request_count(), 0u);
  // Class 5 without redact (the default, route) and no self-hosted model: blocked as before.
  GatewayProcess plain(Config(up));
  ASSERT_TRUE(plain.started()) << plain.Log();
  TestClient client2(plain.port());
  auto p = client2.Request("POST", "/v1/chat/completions", ChatBody(kPrompt),
                           {{"x-hybridgate-data-class", "5"}});
  EXPECT_EQ(p.status, 403) << p.body;
  EXPECT_EQ(up.request_count(), 0u);
  ExpectLogClean(gw);
  ExpectLogClean(plain);
}

}  // namespace
}  // namespace hybridgate::testing
