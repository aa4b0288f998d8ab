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

void ExpectUpstreamSawOnlyPlaceholders(const FakeUpstream& up,
                                       std::string_view target = "/v1/chat/completions") {
  const auto recorded = up.requests(target);
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

// Values that are not safe as is inside JSON: a password with a quote and a backslash, and a PEM
// block (newlines). The model puts their placeholders into a tool call's arguments (JSON inside
// the JSON body); the client parses the body, then the arguments, and gets them back byte for
// byte.
constexpr char kPassword[] = "Xy9\"kQ2\\mP4vN8";
constexpr char kPem[] =
    "-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8\n"
    "-----END PRIVATE KEY-----";
const std::string kSecretPrompt =
    std::string("Log in with password: '") + kPassword + "' and sign with this key:\n" + kPem;

void ExpectArgumentsHoldOriginals(const std::string& arguments) {
  json::value args = json::parse(arguments);
  EXPECT_EQ(args.at("user").as_string(), "say \"hi\"");
  EXPECT_EQ(args.at("pw").as_string(), kPassword);
  EXPECT_EQ(args.at("key").as_string(), kPem);
}

void ExpectUpstreamSawNoSecrets(const FakeUpstream& up) {
  ASSERT_FALSE(up.requests().empty());
  for (const Recorded& r : up.requests()) {
    EXPECT_NE(r.body.find("<SECRET_1>"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("<PRIVATE_KEY_1>"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("Xy9"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8"), std::string::npos) << r.body;
  }
}

// The arguments of tool call 0 of a whole answer.
std::string MessageArguments(const std::string& body) {
  const json::value v = json::parse(body);
  return std::string(v.at("choices")
                         .at(0)
                         .at("message")
                         .at("tool_calls")
                         .at(0)
                         .at("function")
                         .at("arguments")
                         .as_string());
}

// The arguments of tool call 0 of a streamed answer, its deltas concatenated.
std::string StreamedArguments(const std::string& body) {
  std::string streamed;
  for (const json::value& e : SseData(body)) {
    const auto& choices = e.at("choices").as_array();
    if (choices.empty()) continue;
    const auto* calls = choices[0].at("delta").as_object().if_contains("tool_calls");
    if (!calls) continue;
    const auto* fn = calls->at(0).as_object().if_contains("function");
    const auto* a = fn ? fn->as_object().if_contains("arguments") : nullptr;
    if (a && a->is_string()) streamed += a->as_string();
  }
  return streamed;
}

TEST(Redact, ToolCallArgumentsGetJsonEscapedOriginalsNonStreamAndStream) {
  const std::string args = R"({"user":"say \"hi\"","pw":"<SECRET_1>","key":"<PRIVATE_KEY_1>"})";
  FakeUpstream up([&](const Recorded& rec) {
    if (rec.body.find(R"("stream":true)") != std::string::npos) {
      return Action{.content_type = "text/event-stream",
                    .chunks = ToolCallStreamChunks("call_1", "login",
                                                   {R"({"user":"say \"hi\"","pw":"<SEC)",
                                                    R"(RET_1>","key":"<PRIVATE_)", R"(KEY_1>"})"})};
    }
    return Action{.body = ToolCallCompletionJson("call_1", "login", args)};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", ChatBody(kSecretPrompt));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "2");
  ExpectArgumentsHoldOriginals(MessageArguments(r.body));

  auto head = client.StartStream("/v1/chat/completions", ChatBody(kSecretPrompt, true));
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string body = client.ReadAll();
  EXPECT_TRUE(client.stream_done()) << body;
  ExpectArgumentsHoldOriginals(StreamedArguments(body));
  EXPECT_EQ(body.find("SECRET_1"), std::string::npos) << body;
  ExpectUpstreamSawNoSecrets(up);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(gw.Log().find("Xy9"), std::string::npos) << gw.Log();
}

// The password of kSecretPrompt in an earlier turn's tool-call arguments and in the tool's JSON
// result, so JSON-escaped in those texts (`Xy9\"kQ2\\mP4vN8`): no piece of it may reach the
// external provider, and the model's new tool call gets it back byte for byte.
std::string ToolTurnsBody(bool stream) {
  const std::string args = json::serialize(json::object{{"user", "ann"}, {"password", kPassword}});
  const std::string result = json::serialize(json::object{{"ok", false}, {"token", kPassword}});
  const json::array messages = ToolRoundMessages("Log me in.", "login", args, result, "Try again.");
  return json::serialize(
      json::object{{"model", "gpt-4o"}, {"stream", stream}, {"messages", messages}});
}

// Every string of `v`, decoded, and the strings of those that are JSON themselves.
void DecodedStrings(const json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.emplace_back(v.as_string());
    boost::system::error_code ec;
    const json::value inner = json::parse(out.back(), ec);
    if (!ec) DecodedStrings(inner, out);
  } else if (v.is_array()) {
    for (const json::value& e : v.as_array()) DecodedStrings(e, out);
  } else if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      out.emplace_back(kv.key());
      DecodedStrings(kv.value(), out);
    }
  }
}

// No 4-byte piece of the password, raw or in any decoded string of the recorded body.
void ExpectUpstreamSawNoPartOfPassword(const FakeUpstream& up) {
  const std::string_view pw = kPassword;
  ASSERT_FALSE(up.requests().empty());
  for (const Recorded& r : up.requests()) {
    EXPECT_NE(r.body.find("<SECRET_1>"), std::string::npos) << r.body;
    std::vector<std::string> texts{r.body};
    DecodedStrings(json::parse(r.body), texts);
    for (const std::string& t : texts) {
      for (std::size_t i = 0; i + 4 <= pw.size(); ++i) {
        EXPECT_EQ(t.find(pw.substr(i, 4)), std::string::npos) << pw.substr(i, 4) << " in " << t;
      }
    }
  }
}

TEST(Redact, JsonEscapedSecretInEarlierToolTurnsNeverLeavesAndComesBack) {
  FakeUpstream up([&](const Recorded& rec) {
    if (rec.body.find(R"("stream":true)") != std::string::npos) {
      return Action{
          .content_type = "text/event-stream",
          .chunks = ToolCallStreamChunks("call_2", "login", {R"({"pw":"<SEC)", R"(RET_1>"})"})};
    }
    return Action{.body = ToolCallCompletionJson("call_2", "login", R"({"pw":"<SECRET_1>"})")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post("/v1/chat/completions", ToolTurnsBody(false));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "2");
  // JSON.parse twice: the body, then the arguments.
  EXPECT_EQ(json::parse(MessageArguments(r.body)).at("pw").as_string(), kPassword);

  auto head = client.StartStream("/v1/chat/completions", ToolTurnsBody(true));
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string body = client.ReadAll();
  EXPECT_TRUE(client.stream_done()) << body;
  EXPECT_EQ(json::parse(StreamedArguments(body)).at("pw").as_string(), kPassword) << body;
  ExpectUpstreamSawNoPartOfPassword(up);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(gw.Log().find("Xy9"), std::string::npos) << gw.Log();
}

// /v1/completions and /v1/embeddings with the `redact` action: Gateway::Forward redacts the
// prompt / input strings (gateway::RedactRawBody) and restores completions' text.

std::string CompletionJson(const std::string& text) {
  json::object v{
      {"id", "cmpl-1"},
      {"object", "text_completion"},
      {"created", 7},
      {"model", "m"},
      {"choices",
       json::array{json::object{
           {"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", "stop"}}}},
      {"usage",
       json::object{{"prompt_tokens", 5}, {"completion_tokens", 7}, {"total_tokens", 12}}}};
  return json::serialize(v);
}

std::vector<std::string> CompletionStreamChunks(const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i <= pieces.size(); ++i) {
    json::object choice{
        {"index", 0}, {"text", i < pieces.size() ? pieces[i] : ""}, {"logprobs", nullptr}};
    choice["finish_reason"] = i < pieces.size() ? json::value(nullptr) : json::value("stop");
    json::object v{{"id", "cmpl-1"},
                   {"object", "text_completion"},
                   {"created", 7},
                   {"model", "m"},
                   {"choices", json::array{choice}}};
    out.push_back("data: " + json::serialize(v) + "\n\n");
  }
  out.push_back("data: [DONE]\n\n");
  return out;
}

TEST(RedactRawEndpoints, CompletionsNonStreamAndStream) {
  FakeUpstream up([](const Recorded& rec) {
    if (rec.body.find(R"("stream":true)") != std::string::npos) {
      return Action{
          .content_type = "text/event-stream",
          .chunks = CompletionStreamChunks({"Mail <EMA", "IL_1> about <CRED", "IT_CARD_1", ">."})};
    }
    return Action{.body = CompletionJson("Mail <EMAIL_1> about <CREDIT_CARD_1>.")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  const std::string expected = std::string("Mail ") + kEmail + " about " + kCard + ".";
  json::object req{{"model", "gpt-4o"}, {"prompt", kPrompt}, {"max_tokens", 16}};
  auto r = client.Post("/v1/completions", json::serialize(req));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "2");
  EXPECT_EQ(r.headers["x-hybridgate-data-class"], "4");
  EXPECT_EQ(json::parse(r.body).at("choices").at(0).at("text").as_string(), expected);

  req["stream"] = true;
  req["prompt"] = json::array{"first", kPrompt};  // an array of prompts is redacted too
  auto head = client.StartStream("/v1/completions", json::serialize(req));
  ASSERT_EQ(head.status, 200) << client.ReadAll();
  const std::string body = client.ReadAll();
  std::string text;
  for (const json::value& e : SseData(body)) {
    text += e.at("choices").at(0).at("text").as_string();
  }
  EXPECT_EQ(text, expected) << body;
  EXPECT_EQ(body.find("EMAIL"), std::string::npos) << body;
  ExpectUpstreamSawOnlyPlaceholders(up, "/v1/completions");
  ExpectLogClean(gw);
}

// Embeddings are not restored: the provider embeds the placeholder text.
TEST(RedactRawEndpoints, EmbeddingsInputRedacted) {
  const std::string embedding =
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],)"
      R"("model":"m","usage":{"prompt_tokens":5,"total_tokens":5}})";
  FakeUpstream up([&](const Recorded&) { return Action{.body = embedding}; });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  json::object req{{"model", "gpt-4o"}, {"input", json::array{kPrompt, "plain"}}};
  auto r = client.Post("/v1/embeddings", json::serialize(req));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "2");
  EXPECT_EQ(json::parse(r.body).at("data").at(0).at("embedding").as_array().size(), 2u);
  ExpectUpstreamSawOnlyPlaceholders(up, "/v1/embeddings");
  // A finding outside prompt/input cannot be redacted: still refused.
  json::object other{{"model", "gpt-4o"}, {"input", "plain"}, {"user", kEmail}};
  const std::size_t before = up.request_count("/v1/embeddings");
  auto blocked = client.Post("/v1/embeddings", json::serialize(other));
  EXPECT_EQ(blocked.status, 403) << blocked.body;
  EXPECT_EQ(up.request_count("/v1/embeddings"), before);
  ExpectLogClean(gw);
}

// A key after a newline: in the raw JSON that is scanned (the whole body of /v1/completions,
// tool-call arguments) the newline is the escape `\n`, which the scan must read as a boundary.
constexpr char kKey[] = "sk-proj-4fT9kQ2mZ8xW1vB7nR3sL6yH0jD5cE9a";

TEST(RedactRawEndpoints, KeyAfterJsonNewlineEscapeNeverLeaves) {
  FakeUpstream up([](const Recorded& rec) {
    if (rec.target == "/v1/completions") return Action{.body = CompletionJson("ok")};
    return Action{.body = ChatCompletionJson("ok")};
  });
  GatewayProcess gw(Config(up));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  json::object completion{
      {"model", "gpt-4o"}, {"prompt", std::string("notes\n") + kKey}, {"max_tokens", 16}};
  auto r = client.Post("/v1/completions", json::serialize(completion));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-redacted"], "1");

  const std::string args = json::serialize(json::object{{"note", std::string("line\n") + kKey}});
  const json::array messages = ToolRoundMessages("Save my note.", "save", args, "saved", "Thanks.");
  auto c = client.Post("/v1/chat/completions",
                       json::serialize(json::object{{"model", "gpt-4o"}, {"messages", messages}}));
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.headers["x-hybridgate-redacted"], "1");

  for (std::string_view target : {"/v1/completions", "/v1/chat/completions"}) {
    ASSERT_EQ(up.request_count(target), 1u) << target;
    for (const Recorded& rec : up.requests(target)) {
      std::vector<std::string> texts{rec.body};
      DecodedStrings(json::parse(rec.body), texts);
      for (const std::string& t : texts) EXPECT_EQ(t.find(kKey), std::string::npos) << t;
    }
  }
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(gw.Log().find(kKey), std::string::npos) << gw.Log();
}

}  // namespace
}  // namespace hybridgate::testing
