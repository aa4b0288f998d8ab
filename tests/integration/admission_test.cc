// Every request is admitted and paid for, on every endpoint and dialect, through the real binary:
// budgets and rate limits hold on /v1/completions and /v1/embeddings as on chat; a request's worst
// case is reserved before it is forwarded, so a burst overshoots a budget by at most one
// reservation; streams cut short are charged for what was streamed; a key's model list holds
// against the plan; a key revoked with the CLI stops working within a second, without a SIGHUP.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

struct Row {
  std::string key, endpoint, provider;
  int64_t status = 0, input = 0, output = 0, estimated = 0;
  double cost = 0;
};

std::vector<Row> ReadLedger(const std::string& path) {
  std::vector<Row> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return rows;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT key_name, endpoint, provider, status, input_tokens, output_tokens, "
                     "usage_estimated, cost_usd FROM requests",
                     -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    auto text = [&](int i) {
      const auto* t = sqlite3_column_text(st, i);
      return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
    };
    rows.push_back({text(0), text(1), text(2), sqlite3_column_int64(st, 3),
                    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
                    sqlite3_column_int64(st, 6), sqlite3_column_double(st, 7)});
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

// Answers every endpoint the way OpenAI does, with usage: 1000 prompt and 1000 completion tokens.
Action Answer(const Recorded& r) {
  if (r.target.find("/embeddings") != std::string::npos) {
    return Action{.body = R"({"object":"list","data":[{"object":"embedding","index":0,)"
                          R"("embedding":[0.5]}],"model":"m","usage":{"prompt_tokens":1000,)"
                          R"("total_tokens":1000}})"};
  }
  if (r.target.find("/chat/completions") == std::string::npos) {
    return Action{.body = R"({"id":"c","object":"text_completion","created":1,"model":"m",)"
                          R"("choices":[{"index":0,"text":"ok","finish_reason":"stop"}],)"
                          R"("usage":{"prompt_tokens":1000,"completion_tokens":1000,)"
                          R"("total_tokens":2000}})"};
  }
  return Action{.body = ChatCompletionJson("ok", "gpt-4o", 1000, 1000)};
}

// Model requests the upstream received (not the readiness probes' GET /v1/models).
size_t Forwarded(const FakeUpstream& up) {
  size_t n = 0;
  for (const Recorded& r : up.requests("")) n += r.method == "POST";
  return n;
}

// One request per endpoint and dialect, for model gpt-4o.
struct Endpoint {
  std::string name, path, body, key_header;
};
const std::vector<Endpoint>& Endpoints() {
  static const std::vector<Endpoint> kEndpoints = {
      {"chat", "/v1/chat/completions",
       R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})", "authorization"},
      {"messages", "/v1/messages",
       R"({"model":"gpt-4o","max_tokens":50,"messages":[{"role":"user","content":"hi"}]})",
       "x-api-key"},
      {"gemini", "/v1beta/models/gpt-4o:generateContent",
       R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})", "x-goog-api-key"},
      {"completions", "/v1/completions", R"({"model":"gpt-4o","prompt":"hi"})", "authorization"},
      {"embeddings", "/v1/embeddings", R"({"model":"gpt-4o","input":"hi"})", "authorization"},
      {"responses", "/v1/responses", R"({"model":"gpt-4o","input":"hi"})", "authorization"},
  };
  return kEndpoints;
}

HttpResult Send(TestClient& c, const Endpoint& e, const std::string& secret,
                std::map<std::string, std::string> extra = {}) {
  extra[e.key_header] = e.key_header == "authorization" ? "Bearer " + secret : secret;
  if (e.name == "messages") extra["anthropic-version"] = "2023-06-01";
  return c.Request("POST", e.path, e.body, extra);
}

std::string Providers(const FakeUpstream& up, const std::string& prices) {
  return "providers:\n  - {name: cloud, type: openai, base_url: '" + up.base_url() +
         "', zone: external, models: [{name: gpt-4o, " + prices + "}, {name: gpt-4o-mini, " +
         prices + "}]}\n";
}

struct Gateway {
  Scratch s{"hg-admit"};
  std::string cfg;
  std::unique_ptr<GatewayProcess> gw;

  explicit Gateway(const std::string& providers, const std::string& extra = "") {
    cfg = providers + "ledger: {path: '" + s.Path("ledger.db") +
          "', flush_interval_ms: 50}\nlimits: {auth_required: true, keys_db: '" +
          s.Path("keys.db") + "'}\n" + extra;
    std::ofstream(s.Path("gw.yaml")) << "listen: 127.0.0.1:1\n" << cfg;
  }
  Key NewKey(const std::string& args) { return CreateKey(s.Path("gw.yaml"), args); }
  void Start() {
    gw = std::make_unique<GatewayProcess>(cfg);
    ASSERT_TRUE(gw->started()) << gw->Log();
  }
};

TEST(Admission, EveryEndpointStopsAtASpentBudgetAndForwardsNothing) {
  FakeUpstream up(Answer);
  // 1000 tokens in (and 1000 out) at 10 USD per million: every answer costs >= 0.01 USD.
  Gateway g(Providers(up, "input_per_mtok: 10, output_per_mtok: 10"));
  std::map<std::string, Key> keys;
  for (const Endpoint& e : Endpoints())
    keys[e.name] = g.NewKey("--team t-" + e.name + " --budget 0.005usd/day");
  g.Start();
  TestClient c(g.gw->port());
  for (const Endpoint& e : Endpoints()) {
    auto first = Send(c, e, keys[e.name].secret);
    ASSERT_EQ(first.status, 200) << e.name << " " << first.body;
    const size_t forwarded = Forwarded(up);
    for (int i = 0; i < 3; ++i) {
      auto over = Send(c, e, keys[e.name].secret);
      EXPECT_EQ(over.status, 429) << e.name << " " << over.body;
      EXPECT_NE(over.body.find("budget"), std::string::npos) << e.name << " " << over.body;
      // The 429 says how much, and when to come back (the day's end, UTC).
      EXPECT_EQ(over.headers["x-hybridgate-budget-limit-usd"], "0.005") << e.name;
      EXPECT_GE(std::stod(over.headers["x-hybridgate-budget-spent-usd"]), 0.005) << e.name;
      EXPECT_TRUE(over.headers["x-hybridgate-budget-reset"].ends_with("T00:00:00Z")) << e.name;
      const long long retry = std::stoll(over.headers["retry-after"]);
      EXPECT_GE(retry, 1) << e.name;
      EXPECT_LE(retry, 86400) << e.name;
    }
    EXPECT_EQ(Forwarded(up), forwarded) << e.name << ": an over-budget request was sent";
  }
}

TEST(Admission, RateLimitHoldsExactlyUnderAConcurrentMixOfEndpoints) {
  FakeUpstream up([](const Recorded& r) {
    Action a = Answer(r);
    a.delay = 200ms;  // every admitted request is still in flight when the others arrive
    return a;
  });
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 1"));
  const Key key = g.NewKey("--team burst --rpm 5");
  g.Start();
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      TestClient c(g.gw->port());
      auto r = Send(c, Endpoints()[i % Endpoints().size()], key.secret);
      (r.status == 200 ? ok : r.status == 429 ? limited : other)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(limited.load(), 45);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Forwarded(up), 5u);
}

TEST(Admission, ConcurrentStreamsOvershootABudgetByAtMostOneReservation) {
  // Each stream: 10 prompt + 100 completion tokens at 30 USD per million = 0.0033 USD; the
  // request asks for max_tokens 100, so it reserves about that much.
  FakeUpstream up([](const Recorded&) {
    std::vector<std::string> chunks = ChatStreamChunks({"a", "b"}, "gpt-4o", false);
    chunks.insert(
        chunks.end() - 1,
        R"(data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o",)"
        R"("choices":[],"usage":{"prompt_tokens":10,"completion_tokens":100,)"
        R"("total_tokens":110}})"
        "\n\n");
    return Action{.content_type = "text/event-stream", .delay = 300ms, .chunks = std::move(chunks)};
  });
  Gateway g(Providers(up, "input_per_mtok: 30, output_per_mtok: 30"));
  const Key key = g.NewKey("--team streams --budget 0.01usd/day");
  g.Start();
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      TestClient c(g.gw->port());
      auto r = c.Request(
          "POST", "/v1/chat/completions",
          R"({"model":"gpt-4o","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"hi"}]})",
          {{"authorization", "Bearer " + key.secret}});
      (r.status == 200 ? ok : refused)++;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  double spent = 0, one = 0;
  for (const Row& r : ReadLedger(g.s.Path("ledger.db"))) {
    spent += r.cost;
    one = std::max(one, r.cost);
  }
  std::printf("20 concurrent streams on a 0.01 USD budget: %d served, %d refused, %.6f USD spent\n",
              ok.load(), refused.load(), spent);
  EXPECT_GE(ok.load(), 1);
  EXPECT_GT(refused.load(), 10) << "without reservations every stream is admitted";
  EXPECT_LE(spent, 0.01 + one * 1.05) << "overshoot beyond one reservation";
}

TEST(Admission, AbortedAndCutStreamsAreChargedForWhatWasStreamed) {
  auto gate = std::make_shared<Gate>();
  const std::string text(4000, 'x');  // 4000 bytes: 1000 tokens by the byte estimate
  FakeUpstream up([&](const Recorded& r) {
    if (r.body.find("\"stream\":true") == std::string::npos) return Answer(r);
    std::vector<std::string> chunks = ChatStreamChunks({text, "never sent"}, "gpt-4o", false);
    chunks.erase(chunks.begin());  // the text comes first: the gate holds what follows it
    if (r.body.find("cut-me") != std::string::npos) {
      return Action{.content_type = "text/event-stream", .chunks = chunks, .cut_after = 1};
    }
    return Action{.content_type = "text/event-stream", .chunks = chunks, .gate = gate};
  });
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 10"));
  const Key key = g.NewKey("--team abort --tpm 60000");
  g.Start();
  TestClient c(g.gw->port());
  {
    // Aborted by the client after the first chunk.
    TestClient s(g.gw->port());
    auto head = s.StartStream(
        "/v1/chat/completions",
        R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"abort-me"}]})",
        {{"authorization", "Bearer " + key.secret}});
    ASSERT_EQ(head.status, 200) << head.error;
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (got.find(text) == std::string::npos && !s.stream_done() && !s.stream_failed() &&
           std::chrono::steady_clock::now() < deadline) {
      got += s.ReadSome(1s);
    }
    ASSERT_NE(got.find(text), std::string::npos);
    s.Close();
  }
  ASSERT_TRUE(FakeUpstream::WaitFor([&] { return up.hangups() >= 1; }, 5s))
      << "the upstream was not told the client left";
  auto cut = c.Request(
      "POST", "/v1/chat/completions",
      R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"cut-me"}]})",
      {{"authorization", "Bearer " + key.secret}});
  EXPECT_EQ(cut.status, 200);
  EXPECT_EQ(cut.body.find("[DONE]"), std::string::npos) << "a cut stream must not look complete";
  // The TPM window was charged with the streamed tokens: a small request now sees it.
  auto probe =
      c.Request("POST", "/v1/chat/completions",
                R"({"model":"gpt-4o","max_tokens":1,"messages":[{"role":"user","content":"hi"}]})",
                {{"authorization", "Bearer " + key.secret}});
  gate->Open();
  ASSERT_EQ(probe.status, 200) << probe.body;
  const int64_t remaining = std::stoll(probe.headers["x-ratelimit-remaining-tokens"]);
  EXPECT_LT(remaining, 60000 - 1500) << "two streams of ~1000 tokens each were charged";
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  int checked = 0;
  for (const Row& r : ReadLedger(g.s.Path("ledger.db"))) {
    if (r.output == 1000 && r.estimated == 1) {
      // 1000 output tokens at 10 USD/M plus the estimated prompt at 1 USD/M.
      EXPECT_NEAR(r.cost, 1000 * 10e-6 + r.input * 1e-6, 1e-9);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2) << "the aborted and the cut stream, each charged 1000 output tokens";
}

// A client that hangs up before a non-stream answer: the upstream had the prompt (and may
// finish and bill the answer), so the row charges the prompt by estimate, not $0.
TEST(Admission, ANonStreamRequestTheClientHangsUpOnIsChargedItsPrompt) {
  FakeUpstream up([&](const Recorded& r) {
    if (r.body.find("hang-up-on-me") != std::string::npos) return Action{.stall = true};
    return Answer(r);
  });
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 10"));
  const Key key = g.NewKey("--team hangup");
  g.Start();
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), g.gw->port()});
    const std::string body =
        R"({"model":"gpt-4o","messages":[{"role":"user","content":"hang-up-on-me )" +
        std::string(4000, 'x') + R"("}]})";
    boost::asio::write(s, boost::asio::buffer("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                              "Authorization: Bearer " +
                                              key.secret + "\r\nContent-Length: " +
                                              std::to_string(body.size()) + "\r\n\r\n" + body));
    ASSERT_TRUE(FakeUpstream::WaitFor([&] { return Forwarded(up) == 1; }, 5s));
    s.close();
  }
  ASSERT_TRUE(FakeUpstream::WaitFor([&] { return up.hangups() >= 1; }, 5s))
      << "the upstream was not told the client left";
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  const auto rows = ReadLedger(g.s.Path("ledger.db"));
  ASSERT_EQ(rows.size(), 1u);
  const Row& r = rows[0];
  EXPECT_EQ(r.key, key.id);
  EXPECT_EQ(r.provider, "cloud");
  EXPECT_EQ(r.estimated, 1);
  EXPECT_GT(r.input, 900) << "about a token per four bytes of a 4 KB prompt";
  EXPECT_EQ(r.output, 0);
  EXPECT_NEAR(r.cost, r.input * 1e-6, 1e-12);
}

TEST(Admission, KeyModelListHoldsAgainstRouteHeadersAndDuplicateKeys) {
  FakeUpstream up(Answer);
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 1"),
            "routes:\n  smart:\n    tiers:\n      - {name: big, deployments: [gpt-4o]}\n");
  const Key mini = g.NewKey("--team small --models gpt-4o-mini");
  g.Start();
  TestClient c(g.gw->port());
  const std::map<std::string, std::string> auth = {{"authorization", "Bearer " + mini.secret}};
  auto direct =
      c.Request("POST", "/v1/chat/completions",
                R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})", auth);
  EXPECT_EQ(direct.status, 200) << direct.body;
  auto headered = auth;
  headered["x-hybridgate-route"] = "smart";
  auto routed =
      c.Request("POST", "/v1/chat/completions",
                R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})", headered);
  EXPECT_EQ(routed.status, 403) << routed.body;
  EXPECT_NE(routed.body.find("gpt-4o"), std::string::npos) << routed.body;
  auto asked = c.Request("POST", "/v1/chat/completions",
                         R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})", auth);
  EXPECT_EQ(asked.status, 403);
  // A duplicate "model" in a forwarded body: the gateway checks the first and sends only it.
  const size_t before = up.request_count("/v1/completions");
  auto dup = c.Request("POST", "/v1/completions",
                       R"({"model":"gpt-4o-mini","prompt":"hi","model":"gpt-4o"})", auth);
  EXPECT_EQ(dup.status, 200) << dup.body;
  const auto sent = up.requests("/v1/completions");
  ASSERT_EQ(sent.size(), before + 1);
  const std::string& body = sent.back().body;
  EXPECT_EQ(body.find("\"gpt-4o\""), std::string::npos) << body;
  EXPECT_EQ(body.find("\"model\""), body.rfind("\"model\"")) << "one model key: " << body;
  auto dup2 = c.Request("POST", "/v1/completions",
                        R"({"model":"gpt-4o","prompt":"hi","model":"gpt-4o-mini"})", auth);
  EXPECT_EQ(dup2.status, 403) << dup2.body;
  for (const auto& r : up.requests("")) {
    EXPECT_EQ(r.body.find("\"model\":\"gpt-4o\""), std::string::npos) << r.body;
  }
}

TEST(Admission, BudgetSpendSurvivesARestart) {
  FakeUpstream up(Answer);
  Gateway g(Providers(up, "input_per_mtok: 10, output_per_mtok: 10"));
  const Key key = g.NewKey("--team restart --budget 0.005usd/day");
  g.Start();
  {
    TestClient c(g.gw->port());
    ASSERT_EQ(Send(c, Endpoints()[0], key.secret).status, 200);
    EXPECT_EQ(Send(c, Endpoints()[0], key.secret).status, 429);
  }
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  g.Start();  // the same config, key store and ledger
  TestClient c(g.gw->port());
  auto again = Send(c, Endpoints()[0], key.secret);
  EXPECT_EQ(again.status, 429) << "a restart handed the key a fresh budget: " << again.body;
  EXPECT_EQ(Forwarded(up), 1u);
}

TEST(Admission, EveryChoiceIsReservedAndAnswersWithoutUsageAreCharged) {
  // No usage in the answer: 4000 bytes of text are charged as 1000 output tokens.
  const std::string text(4000, 'y');
  FakeUpstream up([&](const Recorded&) {
    return Action{.body = R"({"id":"c","object":"chat.completion","created":1,"model":"gpt-4o",)"
                          R"("choices":[{"index":0,"message":{"role":"assistant","content":")" +
                          text + R"("},"finish_reason":"stop"}]})"};
  });
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 10"));
  const Key one = g.NewKey("--team n1 --tpm 10000");
  const Key many = g.NewKey("--team n20 --tpm 10000");
  g.Start();
  TestClient c(g.gw->port());
  auto ask = [&](const Key& k, int n) {
    return c.Request("POST", "/v1/chat/completions",
                     R"({"model":"gpt-4o","max_tokens":400,"n":)" + std::to_string(n) +
                         R"(,"messages":[{"role":"user","content":"hi"}]})",
                     {{"authorization", "Bearer " + k.secret}});
  };
  auto single = ask(one, 1);
  auto twenty = ask(many, 20);
  ASSERT_EQ(single.status, 200) << single.body;
  ASSERT_EQ(twenty.status, 200) << twenty.body;
  // Admission's remaining tokens: 400 reserved for one answer, 20 x 400 for twenty.
  EXPECT_GT(std::stoll(single.headers["x-ratelimit-remaining-tokens"]), 9000);
  EXPECT_LT(std::stoll(twenty.headers["x-ratelimit-remaining-tokens"]), 2000);
  ASSERT_EQ(g.gw->Stop(), 0) << g.gw->Log();
  int charged = 0;
  for (const Row& r : ReadLedger(g.s.Path("ledger.db"))) {
    EXPECT_EQ(r.output, 1000) << "an answer without usage is charged by its text";
    EXPECT_EQ(r.estimated, 1);
    EXPECT_NEAR(r.cost, 1000 * 10e-6 + r.input * 1e-6, 1e-9);
    ++charged;
  }
  EXPECT_EQ(charged, 2);
}

TEST(Admission, ARequestLargerThanTheWholeTpmLimitIsRefusedOnAFullBucket) {
  FakeUpstream up(Answer);
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 1"));
  const Key key = g.NewKey("--team big --tpm 1000");
  g.Start();
  TestClient c(g.gw->port());
  auto ask = [&](const std::string& extra) {
    return c.Request(
        "POST", "/v1/chat/completions",
        R"({"model":"gpt-4o",)" + extra + R"("messages":[{"role":"user","content":"hi"}]})",
        {{"authorization", "Bearer " + key.secret}});
  };
  // The bucket is full, yet 2000 output tokens can never fit 1000 per minute.
  auto big = ask(R"("max_tokens":2000,)");
  EXPECT_EQ(big.status, 429) << big.body;
  EXPECT_NE(big.body.find("request too large"), std::string::npos) << big.body;
  EXPECT_EQ(big.headers.count("retry-after"), 0u) << "retrying cannot help";
  EXPECT_EQ(Forwarded(up), 0u);
  // Without max_tokens the firm need is the input alone: served.
  EXPECT_EQ(ask("").status, 200);
  EXPECT_EQ(Forwarded(up), 1u);
}

TEST(Admission, KeyStoreReplacedUnderItsNameIsFollowed) {
  FakeUpstream up(Answer);
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 1"));
  const Key key = g.NewKey("--team moved");
  g.Start();
  TestClient c(g.gw->port());
  ASSERT_EQ(Send(c, Endpoints()[0], key.secret).status, 200);
  // A restore or an editor's save: a copy renamed over the file the gateway has open.
  fs::copy_file(g.s.Path("keys.db"), g.s.Path("keys.db.new"));
  fs::rename(g.s.Path("keys.db.new"), g.s.Path("keys.db"));
  std::this_thread::sleep_for(1500ms);  // the poll notices the new file
  int status = -1;
  const std::string out = Shell("'" + BinaryPath() + "' keys revoke --config '" +
                                    g.s.Path("gw.yaml") + "' " + key.id + " 2>&1",
                                &status);
  ASSERT_EQ(status, 0) << out;
  int last = 0;
  for (int i = 0; i < 40 && last != 401; ++i) {
    last = Send(c, Endpoints()[0], key.secret).status;
    if (last != 401) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(last, 401) << "a key revoked in the replaced key store kept working";
}

TEST(Admission, KeyRevokedWithTheCliStopsWithinASecond) {
  FakeUpstream up(Answer);
  Gateway g(Providers(up, "input_per_mtok: 1, output_per_mtok: 1"));
  const Key key = g.NewKey("--team soon-gone");
  ASSERT_FALSE(key.id.empty());
  g.Start();
  TestClient c(g.gw->port());
  const Endpoint& chat = Endpoints()[0];
  ASSERT_EQ(Send(c, chat, key.secret).status, 200);
  int status = -1;
  const std::string out = Shell("'" + BinaryPath() + "' keys revoke --config '" +
                                    g.s.Path("gw.yaml") + "' " + key.id + " 2>&1",
                                &status);
  ASSERT_EQ(status, 0) << out;
  const auto revoked_at = std::chrono::steady_clock::now();
  int last = 0;
  while (std::chrono::steady_clock::now() - revoked_at < 3s) {
    last = Send(c, chat, key.secret).status;
    if (last == 401) break;
    std::this_thread::sleep_for(50ms);
  }
  const auto took = std::chrono::steady_clock::now() - revoked_at;
  EXPECT_EQ(last, 401);
  EXPECT_LT(took, 1500ms) << "a revoked key kept working";
}

}  // namespace
}  // namespace hybridgate::testing
