// The Responses API's conversation state through the real binary: a stored conversation is the
// key's alone, and continuing it keeps its data class — a conversation that held a card number
// never reaches an external provider, even when the new turn is harmless.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

std::string Body(const std::string& model, const std::string& input,
                 const std::string& previous = "") {
  json::object b{{"model", model}, {"input", input}};
  if (!previous.empty()) b["previous_response_id"] = previous;
  return json::serialize(b);
}

// `n` bytes of prose (a long run of one letter would be a base64 blob, classed as unreadable).
std::string Words(size_t n) {
  std::string out;
  while (out.size() < n) out += "lorem ipsum ";
  out.resize(n);
  return out;
}

std::string IdOf(const HttpResult& r) {
  return std::string(json::parse(r.body).at("id").as_string());
}

TEST(Responses, ContinuedConversationKeepsItsDataClass) {
  FakeUpstream local, cloud;
  Scratch s{"hg-resp"};
  GatewayProcess gw("providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
                    "', zone: self_hosted, models: [{name: llama}]}\n"
                    "  - {name: cloud, type: openai, base_url: '" +
                    cloud.base_url() +
                    "', zone: external, models: [{name: gpt-4o}]}\n"
                    "responses: {path: '" +
                    s.Path("responses.db") + "'}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());

  // A harmless conversation goes where it was asked.
  auto plain = c.Post("/v1/responses", Body("gpt-4o", "what is a haiku?"));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.headers["x-hybridgate-provider"], "cloud");
  const size_t cloud_before = cloud.request_count();

  // A card number: rerouted to the self-hosted model, and stored.
  auto first = c.Post("/v1/responses", Body("gpt-4o", "charge my card 4111 1111 1111 1111"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["x-hybridgate-provider"], "local");
  // The harmless follow-up still carries the card in its history: it stays self-hosted.
  auto second =
      c.Post("/v1/responses", Body("gpt-4o", "thanks! and the weather today?", IdOf(first)));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.headers["x-hybridgate-provider"], "local");
  EXPECT_GE(std::stoi(second.headers["x-hybridgate-data-class"]), 4);
  auto third = c.Post("/v1/responses", Body("gpt-4o", "one more", IdOf(second)));
  ASSERT_EQ(third.status, 200) << third.body;
  EXPECT_EQ(third.headers["x-hybridgate-provider"], "local");
  EXPECT_EQ(cloud.request_count(), cloud_before) << "the conversation reached the cloud";
  // The self-hosted model got the whole conversation: both earlier turns and their answers.
  const auto last = json::parse(local.requests().back().body);
  const auto& msgs = last.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 5u) << last;
  EXPECT_NE(json::serialize(msgs[0]).find("4111 1111 1111 1111"), std::string::npos);
  EXPECT_EQ(msgs[1].at("role"), "assistant");
  EXPECT_EQ(msgs[4].at("content"), "one more");

  // The harmless conversation continues to the cloud.
  auto plain2 = c.Post("/v1/responses", Body("gpt-4o", "and a limerick?", IdOf(plain)));
  ASSERT_EQ(plain2.status, 200) << plain2.body;
  EXPECT_EQ(plain2.headers["x-hybridgate-provider"], "cloud");
}

// What the model said counts too: an answer that holds a card number makes its conversation
// class 4, so the follow-up is served self-hosted, not refused at the egress gate.
TEST(Responses, AnAnswerThatHoldsRegulatedDataKeepsItsConversationHome) {
  FakeUpstream local, cloud([](const Recorded&) {
    return Action{.body = ChatCompletionJson("the card on file is 4111 1111 1111 1111")};
  });
  Scratch s{"hg-resp"};
  GatewayProcess gw("providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
                    "', zone: self_hosted, models: [{name: llama}]}\n"
                    "  - {name: cloud, type: openai, base_url: '" +
                    cloud.base_url() +
                    "', zone: external, models: [{name: gpt-4o}]}\n"
                    "responses: {path: '" +
                    s.Path("responses.db") + "'}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto first = c.Post("/v1/responses", Body("gpt-4o", "which card do you have for me?"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["x-hybridgate-provider"], "cloud");
  const size_t cloud_before = cloud.request_count();
  auto next = c.Post("/v1/responses", Body("gpt-4o", "thanks", IdOf(first)));
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.headers["x-hybridgate-provider"], "local");
  EXPECT_GE(std::stoi(next.headers["x-hybridgate-data-class"]), 4);
  EXPECT_EQ(cloud.request_count(), cloud_before);
}

TEST(Responses, StoredAnswersBelongToTheirKeyAndSurviveARestart) {
  FakeUpstream up;
  Scratch s{"hg-resp"};
  const std::string cfg = "providers:\n  - {name: up, type: openai, base_url: '" + up.base_url() +
                          "', models: [{name: m}]}\nlimits: {auth_required: true, keys_db: '" +
                          s.Path("keys.db") + "'}\nresponses: {path: '" + s.Path("r.db") +
                          "'}\nledger: {path: '" + s.Path("ledger.db") + "'}\n";
  std::ofstream(s.Path("gw.yaml")) << "listen: 127.0.0.1:1\n" << cfg;
  const Key a = CreateKey(s.Path("gw.yaml"), "--team a");
  const Key b = CreateKey(s.Path("gw.yaml"), "--team b");
  const std::map<std::string, std::string> as_a{{"authorization", "Bearer " + a.secret}};
  const std::map<std::string, std::string> as_b{{"authorization", "Bearer " + b.secret}};
  std::string id;
  {
    GatewayProcess gw(cfg);
    ASSERT_TRUE(gw.started()) << gw.Log();
    TestClient c(gw.port());
    auto r = c.Request("POST", "/v1/responses", Body("m", "hello"), as_a);
    ASSERT_EQ(r.status, 200) << r.body;
    id = IdOf(r);
    EXPECT_EQ(c.Request("GET", "/v1/responses/" + id, "", as_a).status, 200);
    // Another key sees nothing: not the answer, not its items, not a continuation.
    EXPECT_EQ(c.Request("GET", "/v1/responses/" + id, "", as_b).status, 404);
    EXPECT_EQ(c.Request("GET", "/v1/responses/" + id + "/input_items", "", as_b).status, 404);
    auto cont = c.Request("POST", "/v1/responses", Body("m", "more", id), as_b);
    EXPECT_EQ(cont.status, 404) << cont.body;
    EXPECT_EQ(json::parse(cont.body).at("error").at("param"), "previous_response_id");
    EXPECT_EQ(c.Request("DELETE", "/v1/responses/" + id, "", as_b).status, 404);
    EXPECT_EQ(c.Request("GET", "/v1/responses/" + id, "").status, 401);
  }
  GatewayProcess gw(cfg);  // the same store
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto got = c.Request("GET", "/v1/responses/" + id, "", as_a);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body).at("output").at(0).at("content").at(0).at("text"), "hello");
  auto cont = c.Request("POST", "/v1/responses", Body("m", "again", id), as_a);
  ASSERT_EQ(cont.status, 200) << cont.body;
  EXPECT_EQ(json::parse(up.requests().back().body).at("messages").as_array().size(), 3u);
  auto del = c.Request("DELETE", "/v1/responses/" + id, "", as_a);
  EXPECT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(json::parse(del.body).at("deleted"), true);
  EXPECT_EQ(c.Request("GET", "/v1/responses/" + id, "", as_a).status, 404);
}

// An answer the client has read is stored, even when the gateway is killed the moment after:
// streamed and not, every one of them is there after a restart.
TEST(Responses, AnAnsweredResponseSurvivesAKillNineRightAfter) {
  FakeUpstream up([](const Recorded& r) {
    if (r.body.find("\"stream\":true") == std::string::npos) {
      return Action{.body = ChatCompletionJson("hello")};
    }
    return Action{.content_type = "text/event-stream", .chunks = ChatStreamChunks({"hel", "lo"})};
  });
  Scratch s{"hg-resp"};
  const std::string cfg = "providers:\n  - {name: up, type: openai, base_url: '" + up.base_url() +
                          "', models: [{name: m}]}\nresponses: {path: '" + s.Path("r.db") +
                          "'}\nledger: {path: '" + s.Path("ledger.db") + "'}\n";
  std::vector<std::string> ids;
  for (int round = 0; round < 4; ++round) {
    GatewayProcess gw(cfg);
    ASSERT_TRUE(gw.started()) << gw.Log();
    TestClient c(gw.port());
    json::object b{{"model", "m"}, {"input", "turn " + std::to_string(round)}};
    if (round % 2 == 1) b["stream"] = true;
    auto r = c.Post("/v1/responses", json::serialize(b));
    ASSERT_EQ(r.status, 200) << r.body;
    if (round % 2 == 0) {
      ids.push_back(IdOf(r));
    } else {
      const size_t at = r.body.find("\"id\":\"resp_");
      ASSERT_NE(at, std::string::npos) << r.body;
      ids.push_back(r.body.substr(at + 6, r.body.find('"', at + 6) - at - 6));
    }
    kill(gw.pid(), SIGKILL);
  }
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  for (const std::string& id : ids) {
    EXPECT_EQ(c.Request("GET", "/v1/responses/" + id, "").status, 200) << id << " was lost";
  }
}

// A gateway whose upstream answers "hello", slowly for a request that says "slow".
struct SlowUpstreamGateway {
  explicit SlowUpstreamGateway(const std::string& extra)
      : up([](const Recorded& r) {
          Action a{.body = ChatCompletionJson("hello")};
          if (r.body.find("slow") != std::string::npos) a.delay = std::chrono::milliseconds(600);
          return a;
        }),
        gw("providers:\n  - {name: up, type: openai, base_url: '" + up.base_url() +
           "', models: [{name: m}]}\nresponses: {path: '" + s.Path("r.db") + "'" + extra + "}\n" +
           "server: {max_body_bytes: 4096}\n") {}
  FakeUpstream up;
  Scratch s{"hg-resp"};
  GatewayProcess gw;
};

TEST(Responses, AContinuedConversationIsBoundedLikeOneRequest) {
  SlowUpstreamGateway g("");
  ASSERT_TRUE(g.gw.started()) << g.gw.Log();
  TestClient c(g.gw.port());
  // The replayed history counts toward the one-request limit: 2000 bytes of history plus a
  // 2000-byte turn is over 4096; a short turn still fits.
  auto first = c.Post("/v1/responses", Body("m", Words(2000)));
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string id = IdOf(first);
  const size_t before = g.up.request_count();
  auto over = c.Post("/v1/responses", Body("m", Words(2000), id));
  ASSERT_EQ(over.status, 400) << over.body;
  EXPECT_EQ(json::parse(over.body).at("error").at("param"), "previous_response_id");
  EXPECT_EQ(g.up.request_count(), before);
  EXPECT_EQ(c.Post("/v1/responses", Body("m", "short", id)).status, 200);

  // The stored-response paths: wrong methods are 405, bad list parameters 400.
  EXPECT_EQ(c.Request("PUT", "/v1/responses/" + id, "").status, 405);
  EXPECT_EQ(c.Request("DELETE", "/v1/responses/" + id + "/input_items", "").status, 405);
  for (const char* q :
       {"?limit=0", "?limit=abc", "?limit=101", "?order=sideways", "?after=item_nope"}) {
    auto r = c.Get("/v1/responses/" + id + "/input_items" + q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
  }
  EXPECT_EQ(c.Get("/v1/responses/" + id + "/input_items?limit=1&order=asc").status, 200);
  // Duplicate item ids in one input are refused.
  auto dup = c.Post("/v1/responses", R"({"model":"m","input":[
      {"id":"msg_1","role":"user","content":"a"},{"id":"msg_1","role":"user","content":"b"}]})");
  EXPECT_EQ(dup.status, 400) << dup.body;
}

TEST(Responses, AFullStoreRefusesWhatItCouldNotStore) {
  using namespace std::chrono_literals;
  SlowUpstreamGateway g(", max_pending: 1");
  ASSERT_TRUE(g.gw.started()) << g.gw.Log();
  TestClient c(g.gw.port());
  // One store operation may wait: a second answer to store while the first runs is a 503, not
  // a 200 that is then never stored.
  std::thread slow([&] {
    TestClient c2(g.gw.port());
    EXPECT_EQ(c2.Post("/v1/responses", Body("m", "slow")).status, 200);
  });
  std::this_thread::sleep_for(200ms);
  auto busy = c.Post("/v1/responses", Body("m", "quick"));
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_FALSE(busy.headers["retry-after"].empty());
  // store:false needs no place in the queue.
  EXPECT_EQ(c.Post("/v1/responses", R"({"model":"m","input":"q","store":false})").status, 200);
  slow.join();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i, std::this_thread::sleep_for(20ms)) {
    status = c.Post("/v1/responses", Body("m", "later")).status;
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace hybridgate::testing
