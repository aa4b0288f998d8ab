// Hot reload through the real binary: SIGHUP and a changed config file swap providers, models
// and routes for new requests, a stream in flight finishes on the config it started with, and
// an invalid new config is refused with a log line while the old one keeps serving.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Whether the upstream was asked to stream (the encoder omits "stream" when false).
bool Streaming(const Recorded& r) {
  const json::value body = json::parse(r.body);
  const auto* s = body.as_object().if_contains("stream");
  return s && s->is_bool() && s->as_bool();
}

std::string Chat(const std::string& model, bool stream = false) {
  return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
         R"(,"messages":[{"role":"user","content":"hello"}]})";
}

std::string Provider(const std::string& name, const FakeUpstream& up, const std::string& models) {
  return "  - {name: " + name + ", type: openai, base_url: '" + up.base_url() +
         "', zone: self_hosted, models: [" + models + "]}\n";
}

FakeUpstream::Script Answer(const std::string& who) {
  return [who](const Recorded& r) {
    if (Streaming(r)) {
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks({"from ", who}, "m")};
    }
    return Action{.body = ChatCompletionJson("from " + who)};
  };
}

std::string Content(const HttpResult& r) {
  return std::string(
      json::parse(r.body).at("choices").at(0).at("message").at("content").as_string());
}

// Polls until `model` is answered by `who` (the reload is asynchronous to the test).
bool ServedBy(TestClient& c, const std::string& model, const std::string& who,
              milliseconds timeout) {
  return FakeUpstream::WaitFor(
      [&] {
        auto r = c.Post("/v1/chat/completions", Chat(model));
        return r.status == 200 && Content(r) == "from " + who;
      },
      timeout);
}

TEST(Reload, SighupSwapsProvidersWhileAStreamInFlightFinishesOnTheOldConfig) {
  auto gate = std::make_shared<Gate>();
  FakeUpstream a([gate](const Recorded& r) {
    if (Streaming(r)) {
      // Held open across the reload: first chunk, then wait for the test.
      return Action{.content_type = "text/event-stream",
                    .chunks = ChatStreamChunks({"old ", "config ", "stream"}, "m"),
                    .gate = gate};
    }
    return Action{.body = ChatCompletionJson("from a")};
  });
  FakeUpstream b(Answer("b"));
  GatewayProcess gw("server: {watch_config: false}\nproviders:\n" + Provider("a", a, "{name: m}"));
  ASSERT_TRUE(gw.started()) << gw.Log();

  TestClient streaming(gw.port());
  auto head = streaming.StartStream("/v1/chat/completions", Chat("m", true));
  ASSERT_EQ(head.status, 200) << head.body;
  EXPECT_EQ(head.headers["x-hybridgate-provider"], "a");
  // The first event (the role) is out; the rest waits for the gate.
  std::string streamed;
  for (int i = 0; i < 50 && streamed.find("\n\n") == std::string::npos; ++i)
    streamed += streaming.ReadSome(seconds(2));
  ASSERT_NE(streamed.find("data: "), std::string::npos) << streamed;
  ASSERT_EQ(streamed.find("stream\""), std::string::npos) << streamed;

  gw.RewriteConfig("server: {watch_config: false}\nproviders:\n" +
                   Provider("b", b, "{name: m}, {name: m2}"));
  ASSERT_EQ(kill(gw.pid(), SIGHUP), 0);
  ASSERT_TRUE(FakeUpstream::WaitFor(
      [&] { return gw.Log().find("SIGHUP: config reloaded") != std::string::npos; }, seconds(10)))
      << gw.Log();

  // New requests: the new provider serves m, and the new model m2 exists.
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", Chat("m"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Content(r), "from b");
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "b");
  r = c.Post("/v1/chat/completions", Chat("m2"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Content(r), "from b");
  auto models = c.Get("/v1/models");
  EXPECT_NE(models.body.find("\"m2\""), std::string::npos) << models.body;
  auto ready = c.Get("/readyz");
  EXPECT_NE(ready.body.find("\"name\":\"b\""), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("\"name\":\"a\""), std::string::npos) << ready.body;

  // The stream that started before the reload completes, whole, from the old provider.
  gate->Open();
  streamed += streaming.ReadAll();
  EXPECT_NE(streamed.find("\"old \""), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("config "), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("stream"), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("data: [DONE]"), std::string::npos) << streamed;
  EXPECT_FALSE(streaming.stream_failed());
  EXPECT_EQ(a.request_count(), 1u);  // only the stream; everything after the reload went to b
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Reload, AnInvalidConfigIsRefusedAndTheOldOneKeepsServing) {
  FakeUpstream a(Answer("a"));
  const std::string good =
      "server: {watch_config: false}\nproviders:\n" + Provider("a", a, "{name: m}");
  GatewayProcess gw(good);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());

  // Broken YAML, then a config that parses but names an unknown provider type.
  const std::string broken[] = {
      "server: {watch_config: false}\nproviders: [ {name: a, type: openai, base_url: ",
      "server: {watch_config: false}\nproviders:\n  - {name: z, type: no-such-type, base_url: "
      "'http://127.0.0.1:1/v1', models: [{name: m}]}\n"};
  int rejected = 0;
  for (const std::string& yaml : broken) {
    gw.RewriteConfig(yaml);
    ASSERT_EQ(kill(gw.pid(), SIGHUP), 0);
    ++rejected;
    ASSERT_TRUE(FakeUpstream::WaitFor(
        [&] {
          const std::string log = gw.Log();
          size_t n = 0;
          for (size_t at = log.find("config reload rejected"); at != std::string::npos;
               at = log.find("config reload rejected", at + 1)) {
            ++n;
          }
          return n == static_cast<size_t>(rejected);
        },
        seconds(10)))
        << gw.Log();
    auto r = c.Post("/v1/chat/completions", Chat("m"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Content(r), "from a");
  }
  EXPECT_NE(gw.Log().find("still serving the previous config"), std::string::npos);
  EXPECT_NE(gw.Log().find("no-such-type"), std::string::npos) << gw.Log();
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Reload, AChangedConfigFileIsPickedUpWithoutASignal) {
  FakeUpstream a(Answer("a")), b(Answer("b"));
  GatewayProcess gw("providers:\n" + Provider("a", a, "{name: m}"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  ASSERT_TRUE(ServedBy(c, "m", "a", seconds(10)));

  // A route appears in the new file: `auto` now picks tier `t` on provider b.
  gw.RewriteConfig("providers:\n" + Provider("b", b, "{name: m}") +
                   "routes:\n  auto:\n    tiers:\n      - {name: t, deployments: [m]}\n");
  ASSERT_TRUE(ServedBy(c, "auto", "b", seconds(10))) << gw.Log();
  auto r = c.Post("/v1/chat/completions", Chat("auto"));
  EXPECT_EQ(r.headers["x-hybridgate-route"], "auto");
  EXPECT_EQ(r.headers["x-hybridgate-tier"], "t");
  // Info lines reach the log file in batches (within 100 ms).
  EXPECT_TRUE(FakeUpstream::WaitFor(
      [&] { return gw.Log().find("config.yaml changed: config reloaded") != std::string::npos; },
      seconds(5)))
      << gw.Log();

  // Streams keep working across the swap, from the new provider.
  auto s = c.StartStream("/v1/chat/completions", Chat("m", true));
  ASSERT_EQ(s.status, 200);
  const std::string body = c.ReadAll();
  EXPECT_NE(body.find("\"b\""), std::string::npos) << body;
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos) << body;
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

}  // namespace
}  // namespace hybridgate::testing
