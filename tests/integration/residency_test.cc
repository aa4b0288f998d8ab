// Data residency through the real binary: regulated data never reaches an external provider.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <set>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string ChatBody(const std::string& model, const std::string& text) {
  json::object body{{"model", model},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}};
  return json::serialize(body);
}

struct CorpusLine {
  std::string id;
  std::string text;
  std::vector<std::string> values;  // the sensitive substrings it holds
};

std::vector<CorpusLine> LoadCorpus() {
  const char* src = std::getenv("HYBRIDGATE_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") +
                   "/src/classify/sensitivity/testdata/corpus.jsonl");
  std::vector<CorpusLine> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = json::parse(line).as_object();
    CorpusLine c{std::string(v["id"].as_string()), std::string(v["text"].as_string()), {}};
    for (const auto& e : v["expect"].as_array()) {
      c.values.emplace_back(e.at("value").as_string());
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The self-hosted provider is down (nothing listens on its port); the external one is healthy.
std::string Config(const FakeUpstream& external, const std::string& extra = "") {
  return "providers:\n"
         "  - {name: local, type: openai, base_url: 'http://127.0.0.1:" +
         std::to_string(FreePort()) +
         "/v1', zone: self_hosted, models: [{name: llama}]}\n"
         "  - {name: cloud, type: openai, base_url: '" +
         external.base_url() + "', zone: external, models: [{name: gpt-4o}]}\n" + extra;
}

// The corpus's custom detectors, as its unit test configures them.
constexpr char kCorpusSensitivity[] = R"(sensitivity:
  custom:
    - {name: project_codename, regex: "\\bPROJECT-(?:ALPHA|OMEGA)\\b", class: 4}
    - {name: customer, words: [Acme Corp, Globex Corporation, Initech], class: 3}
)";

// Lines the detectors are known to miss (src/classify/sensitivity/README.md, "Known misses"):
// a bare 9-digit SSN, an undotted ICD-10 code, a lowercase-only password. They are sent, and this
// list makes any new miss fail the test.
const std::set<std::string> kKnownMisses = {"c170", "c172"};

TEST(Residency, CorpusSentToAnExternalModelNeverLeavesWhenSelfHostedIsDown) {
  FakeUpstream cloud;
  GatewayProcess gw(Config(cloud, kCorpusSensitivity));
  ASSERT_TRUE(gw.started()) << gw.Log();
  const auto corpus = LoadCorpus();
  ASSERT_GT(corpus.size(), 100u);
  TestClient client(gw.port());
  std::set<std::string> missed;
  std::vector<const CorpusLine*> stopped;
  int answered_clean = 0;
  for (const CorpusLine& c : corpus) {
    auto r = client.Post("/v1/chat/completions", ChatBody("gpt-4o", c.text));
    if (c.values.empty()) {
      if (r.status == 200) ++answered_clean;
      continue;
    }
    if (r.status == 200) {
      missed.insert(c.id);
    } else {
      stopped.push_back(&c);
      EXPECT_EQ(r.headers.count("x-hybridgate-provider"), 0u) << c.id;
    }
  }
  EXPECT_EQ(missed, kKnownMisses);
  // The external upstream's own record of every byte it received: no stopped line's text, and
  // none of its sensitive values (unless a line that was sent carries the same string).
  std::string received, clean_text;
  for (const Recorded& r : cloud.requests("")) received += r.body + "\n";
  for (const CorpusLine& c : corpus) {
    if (c.values.empty() || missed.count(c.id)) clean_text += c.text + "\n";
  }
  for (const CorpusLine* c : stopped) {
    const std::string body = ChatBody("gpt-4o", c->text);
    const std::string escaped_text = body.substr(body.find("\"content\":\"") + 11);
    EXPECT_EQ(received.find(escaped_text.substr(0, escaped_text.size() - 4)), std::string::npos)
        << c->id << " was sent";
    for (const std::string& v : c->values) {
      if (clean_text.find(v) != std::string::npos) continue;
      EXPECT_EQ(received.find(v), std::string::npos) << c->id << " leaked '" << v << "'";
    }
  }
  EXPECT_GT(stopped.size(), 80u);
  EXPECT_GT(answered_clean, 50) << "clean prompts should still reach the external model";
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  // Logs carry finding types and offsets, never the matched text.
  const std::string log = gw.Log();
  // (`text` indexes the body's strings, keys included: the message content is not the first.)
  EXPECT_NE(log.find(R"("findings":[{"type":"email","text":)"), std::string::npos);
  for (const CorpusLine* c : stopped) {
    for (const std::string& v : c->values) {
      if (v.size() >= 6 && clean_text.find(v) == std::string::npos) {
        EXPECT_EQ(log.find(v), std::string::npos) << c->id << " logged '" << v << "'";
      }
    }
  }
}

TEST(Residency, SensitiveRequestForAnExternalModelIsServedSelfHosted) {
  FakeUpstream local(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("from local")}; });
  FakeUpstream cloud;
  const std::string cfg =
      "providers:\n"
      "  - {name: local, type: openai, base_url: '" +
      local.base_url() +
      "', zone: self_hosted, models: [{name: llama}]}\n"
      "  - {name: cloud, type: openai, base_url: '" +
      cloud.base_url() + "', zone: external, models: [{name: gpt-4o}]}\n";
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r =
      client.Post("/v1/chat/completions",
                  ChatBody("gpt-4o", "Patient MRN 00123456, card 4111 1111 1111 1111: summarise"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["x-hybridgate-provider"], "local");
  EXPECT_EQ(r.headers["x-hybridgate-data-class"], "4");
  EXPECT_NE(r.body.find("from local"), std::string::npos);
  EXPECT_EQ(cloud.request_count(), 0u);
  // A clean request still goes where it asked.
  auto clean = client.Post("/v1/chat/completions", ChatBody("gpt-4o", "What is a monad?"));
  EXPECT_EQ(clean.status, 200);
  EXPECT_EQ(clean.headers["x-hybridgate-provider"], "cloud");
  EXPECT_EQ(clean.headers["x-hybridgate-data-class"], "1");
  // The header may raise the class, never lower it.
  auto raised =
      client.Request("POST", "/v1/chat/completions", ChatBody("gpt-4o", "What is a monad?"),
                     {{"x-hybridgate-data-class", "3"}});
  EXPECT_EQ(raised.headers["x-hybridgate-provider"], "local");
  auto lowered = client.Request("POST", "/v1/chat/completions",
                                ChatBody("gpt-4o", "email me at jane@corp.example"),
                                {{"x-hybridgate-data-class", "1"}});
  EXPECT_EQ(lowered.headers["x-hybridgate-provider"], "local");
  EXPECT_EQ(lowered.headers["x-hybridgate-data-class"], "3");
  auto bad = client.Request("POST", "/v1/chat/completions", ChatBody("gpt-4o", "hi"),
                            {{"x-hybridgate-data-class", "9"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(cloud.request_count(), 1u);  // only the clean one
  // Embeddings are checked too: the whole body is scanned.
  auto emb = client.Post("/v1/embeddings", R"({"model":"gpt-4o","input":"ssn 078-05-1120"})");
  EXPECT_EQ(emb.status, 200) << emb.body;
  EXPECT_EQ(emb.headers["x-hybridgate-provider"], "local");
  EXPECT_EQ(cloud.request_count("/v1/embeddings"), 0u);
  ASSERT_EQ(local.request_count("/v1/embeddings"), 1u);
  EXPECT_NE(local.requests("/v1/embeddings")[0].body.find(R"("model":"llama")"), std::string::npos);
}

TEST(Residency, BlockActionRefusesWithAPolicyError) {
  FakeUpstream cloud;
  GatewayProcess gw(Config(cloud, "residency: {actions: {4: block}}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  auto r = client.Post(
      "/v1/chat/completions",
      ChatBody("gpt-4o", "my key is AKIAIOSFODNN7EXAMPLE, and card 4111-1111-1111-1111"));
  EXPECT_EQ(r.status, 403);
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("error").at("code").as_string(), "policy_blocked");
  const std::string msg(v.at("error").at("message").as_string());
  EXPECT_NE(msg.find("credit_card"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("4111"), std::string::npos) << "the error must not echo the data: " << msg;
  EXPECT_EQ(cloud.request_count(), 0u);
}

// A key after a newline, which raw JSON carries as the escape `\n`: in the whole body of a
// /v1/completions request and in an earlier turn's tool-call arguments it is still found, so the
// request is refused (block) rather than sent to the external provider.
TEST(Residency, KeyAfterJsonNewlineEscapeIsBlocked) {
  constexpr char kKey[] = "sk-proj-4fT9kQ2mZ8xW1vB7nR3sL6yH0jD5cE9a";
  FakeUpstream cloud;
  GatewayProcess gw(Config(cloud, "residency: {actions: {4: block}}\n"));
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient client(gw.port());
  json::object completion{{"model", "gpt-4o"}, {"prompt", std::string("notes\n") + kKey}};
  auto r = client.Post("/v1/completions", json::serialize(completion));
  EXPECT_EQ(r.status, 403) << r.body;

  const std::string args = json::serialize(json::object{{"note", std::string("line\n") + kKey}});
  const json::array messages = ToolRoundMessages("Save my note.", "save", args, "saved", "Thanks.");
  auto c = client.Post("/v1/chat/completions",
                       json::serialize(json::object{{"model", "gpt-4o"}, {"messages", messages}}));
  EXPECT_EQ(c.status, 403) << c.body;
  EXPECT_EQ(cloud.request_count("/v1/completions"), 0u);
  EXPECT_EQ(cloud.request_count(), 0u);
  for (std::string_view target : {"/v1/completions", "/v1/chat/completions"}) {
    for (const Recorded& rec : cloud.requests(target)) {
      EXPECT_EQ(rec.body.find(kKey), std::string::npos) << rec.body;
    }
  }
}

}  // namespace
}  // namespace hybridgate::testing
