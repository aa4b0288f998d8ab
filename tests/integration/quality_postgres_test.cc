// The quality loop with the ledger on a real PostgreSQL, through the real binary: the quality
// store follows the ledger there, so the shadow calls' ledger rows, their comparisons and the
// users' ratings land in one database; the daily shadow budget is read back from it after a
// restart; a key rates only its own requests; and a reload or a shutdown with shadow calls in
// flight loses no ledger row.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>
#include <vector>

#include "ledger/testing/pg_cluster.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"

namespace hybridgate::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// The first column of the first row of `sql` ("" when none, or on an error, which fails the test).
std::string PgText(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string out;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(conn);
    PQclear(r);
  } else {
    ADD_FAILURE() << PQerrorMessage(conn);
  }
  PQfinish(conn);
  return out;
}

std::string Chat(const std::string& text) {
  return R"({"model":"support","max_tokens":100,"messages":[{"role":"user","content":")" + text +
         R"("}]})";
}

// hybridgate_shadow_requests_total{route="support",deployment="local/llama",outcome=...}.
double ShadowCount(TestClient& c, const std::string& outcome) {
  const std::string text = c.Get("/metrics").body;
  const std::regex line("hybridgate_shadow_requests_total\\{([^}]*)\\} ([0-9.e+]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it) {
    const std::string labels = (*it)[1];
    if (labels.find("deployment=\"local/llama\"") != std::string::npos &&
        labels.find("outcome=\"" + outcome + "\"") != std::string::npos) {
      return std::stod((*it)[2]);
    }
  }
  return 0;
}

// Route `support` answers from the cloud; every request is shadowed to the local model, whose
// answers take `shadow_delay`. Keys in a SQLite file; ledger and quality store in `pg`.
struct PgQualityGateway {
  PgQualityGateway(const ledger::testing::PgCluster& pg, const std::string& shadow,
                   std::chrono::milliseconds shadow_delay = 0ms)
      : local([shadow_delay](const Recorded&) {
          return Action{.body = ChatCompletionJson("from local", "llama"), .delay = shadow_delay};
        }),
        cloud([](const Recorded&) {
          return Action{.body = ChatCompletionJson("from cloud", "gpt-4o")};
        }),
        dsn(pg.dsn()) {
    config = "providers:\n  - {name: local, type: openai, base_url: '" + local.base_url() +
             "', zone: self_hosted, models: [{name: llama, input_per_mtok: 1, output_per_mtok: "
             "10}]}\n  - {name: cloud, type: openai, base_url: '" +
             cloud.base_url() +
             "', zone: external, models: [{name: gpt-4o, input_per_mtok: 1, output_per_mtok: "
             "10}]}\nledger: {backend: postgres, dsn: '" +
             dsn + "', flush_interval_ms: 20}\nquality: {feedback: true}\n" +
             "limits: {auth_required: true, keys_db: '" + s.Path("keys.db") +
             "'}\nroutes:\n  support:\n    tiers: [{name: main, deployments: [gpt-4o]}]\n"
             "    shadow: [" +
             shadow + "]\n";
    std::ofstream(s.Path("gw.yaml")) << config;
  }
  HttpResult As(TestClient& c, const Key& k, const std::string& path, const std::string& body) {
    return c.Request("POST", path, body, {{"authorization", "Bearer " + k.secret}});
  }
  std::string Pg(const std::string& sql) const { return PgText(dsn, sql); }

  Scratch s{"hg-quality-pg"};
  FakeUpstream local, cloud;
  std::string dsn, config;
};

TEST(QualityOnPostgres, ShadowsComparisonsRatingsAndTheDailyBudgetShareTheLedgersDatabase) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  // Each shadow reserves 100 output tokens at 10 USD per million (0.001 USD) and costs ~0.0001:
  // 0.0025 a day lets a dozen or so through, then none.
  PgQualityGateway g(pg, "{deployment: llama, sample: 1, max_usd_per_day: 0.0025}");
  const Key a = CreateKey(g.s.Path("gw.yaml"), "--team a");
  const Key b = CreateKey(g.s.Path("gw.yaml"), "--team b");
  std::string first_id;
  size_t shadowed = 0;
  {
    GatewayProcess gw(g.config);
    ASSERT_TRUE(gw.started()) << gw.Log();
    TestClient c(gw.port());
    for (int i = 0; i < 40; ++i) {
      HttpResult r = g.As(c, a, "/v1/chat/completions", Chat("hello"));
      ASSERT_EQ(r.status, 200) << r.body;
      if (first_id.empty()) first_id = r.headers["x-hybridgate-request-id"];
      std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(300ms);  // the last shadows
    shadowed = g.local.request_count();
    EXPECT_GE(shadowed, 1u);
    EXPECT_LT(shadowed, 25u);
    EXPECT_GT(ShadowCount(c, "spend_cap"), 0);
    // Ratings: another key cannot tell a's request from none; a rates its own.
    const std::string rating =
        R"({"request_id":")" + first_id + R"(","score":0.75,"kind":"rating"})";
    EXPECT_EQ(g.As(c, b, "/v1/feedback", rating).status, 404);
    HttpResult own = g.As(c, a, "/v1/feedback", rating);
    EXPECT_EQ(own.status, 200) << own.body;
    ASSERT_EQ(gw.Stop(), 0) << gw.Log();
  }
  // One ledger row per shadow call, charged to no key; the budget held.
  EXPECT_EQ(g.Pg("SELECT count(*) FROM requests WHERE endpoint = 'shadow'"),
            std::to_string(shadowed));
  EXPECT_EQ(g.Pg("SELECT count(*) FROM requests WHERE endpoint = 'shadow' AND (key_name != '' OR "
                 "provider != 'local' OR status != 200)"),
            "0");
  EXPECT_EQ(g.Pg("SELECT count(*) FROM requests WHERE endpoint != 'shadow'"), "40");
  EXPECT_LE(std::stod(g.Pg("SELECT sum(cost_usd) FROM requests WHERE endpoint = 'shadow'")),
            0.0025);
  // One comparison per shadow call, in the same database, with both answers.
  EXPECT_EQ(g.Pg("SELECT count(*) FROM comparisons WHERE primary_text = 'from cloud' AND "
                 "shadow_text = 'from local' AND shadow_ok = 1"),
            std::to_string(shadowed));
  EXPECT_EQ(g.Pg("SELECT count(*) || '|' || min(key_id) || '|' || min(score) FROM feedback"),
            "1|" + a.id + "|0.75");
  // A restart does not hand the target a fresh day: today's spend is read back from PostgreSQL.
  {
    GatewayProcess again(g.config);
    ASSERT_TRUE(again.started()) << again.Log();
    TestClient c(again.port());
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(g.As(c, a, "/v1/chat/completions", Chat("hello")).status, 200);
    }
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(ShadowCount(c, "spend_cap"), 10);
    EXPECT_EQ(g.local.request_count(), shadowed);
    ASSERT_EQ(again.Stop(), 0) << again.Log();
  }
  // The report reads it all from there (the config names only the ledger's database).
  int status = -1;
  const std::string out = Shell("'" + BinaryPath() + "' quality report --config '" +
                                    g.s.Path("gw.yaml") + "' --format json 2>&1",
                                &status);
  ASSERT_EQ(status, 0) << out;
  const json::value report = json::parse(out);
  const json::object& route = report.at("routes").at(0).as_object();
  EXPECT_EQ(route.at("route"), "support");
  EXPECT_EQ(route.at("feedback").at("count"), 1);
  EXPECT_EQ(route.at("shadows").at(0).at("shadowed").as_int64(), static_cast<int64_t>(shadowed));
}

// Shadow calls that are still waiting on a slow candidate when the config is reloaded, and then
// when the gateway is stopped, each still end as a ledger row in PostgreSQL.
TEST(QualityOnPostgres, AReloadAndAShutdownWithShadowsInFlightLoseNoRow) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  PgQualityGateway g(pg, "{deployment: llama, sample: 1, max_usd_per_day: 100}", 700ms);
  const Key a = CreateKey(g.s.Path("gw.yaml"), "--team a");
  GatewayProcess gw(g.config);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(g.As(c, a, "/v1/chat/completions", Chat("before")).status, 200);
  }
  // A reload while the five wait: the route now shadows half its requests.
  std::string edited = g.config;
  edited.replace(edited.find("sample: 1,"), 10, "sample: 0.5,");
  gw.RewriteConfig(edited);
  ::kill(gw.pid(), SIGHUP);
  ASSERT_TRUE(FakeUpstream::WaitFor(
      [&] { return gw.Log().find("config reloaded") != std::string::npos; }, 10s))
      << gw.Log();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(g.As(c, a, "/v1/chat/completions", Chat("after")).status, 200);
  }
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();  // SIGTERM while the last shadows wait
  const size_t sent = g.local.request_count();
  EXPECT_GE(sent, 5u);
  EXPECT_EQ(g.Pg("SELECT count(*) FROM requests WHERE endpoint = 'shadow' AND status = 200"),
            std::to_string(sent));
  EXPECT_EQ(g.Pg("SELECT count(*) FROM requests WHERE endpoint != 'shadow'"), "10");
  EXPECT_EQ(g.Pg("SELECT count(*) FROM comparisons"), std::to_string(sent));
}

// A database that hangs (here: its feedback and response tables held locked) while ratings and
// stored-response reads wait on it, and then a SIGTERM: the gateway still stops, cleanly (exit
// 0, no sanitizer report: the stores stop before the event loops they answer to, and log while
// the logger exists), each waiting client having had an error or a closed connection.
TEST(QualityOnPostgres, AShutdownWhileTheDatabaseHangsIsCleanAndBounded) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  PgQualityGateway g(pg, "{deployment: llama, sample: 1, max_usd_per_day: 100}");
  // A short drain: requests still waiting on the store at the deadline are abandoned while the
  // store's thread has work queued for them.
  g.config +=
      "responses: {backend: postgres, dsn: '" + g.dsn + "'}\nserver: {shutdown_grace_ms: 500}\n";
  const Key a = CreateKey(g.s.Path("gw.yaml"), "--team a");
  GatewayProcess gw(g.config);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  HttpResult answer = g.As(c, a, "/v1/chat/completions", Chat("hello"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const std::string id = answer.headers["x-hybridgate-request-id"];
  std::this_thread::sleep_for(300ms);  // remembered for rating
  auto locker = std::make_unique<ledger::testing::TableLock>(
      g.dsn, "feedback_requests, feedback, feedback_rollouts, hybridgate_responses");
  ASSERT_EQ(locker->error(), "");
  std::vector<std::thread> waiting;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i) {
    waiting.emplace_back([&, i] {
      TestClient mine(gw.port());
      const HttpResult r = i % 2 == 0
                               ? g.As(mine, a, "/v1/feedback",
                                      R"({"request_id":")" + id + R"(","score":1,"kind":"thumbs"})")
                               : mine.Request("GET", "/v1/responses/resp_missing", "",
                                              {{"authorization", "Bearer " + a.secret}});
      ok += r.status == 200;
    });
  }
  std::this_thread::sleep_for(300ms);
  const auto stop = std::chrono::steady_clock::now();
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, 15s);
  for (auto& t : waiting) t.join();
  EXPECT_EQ(ok.load(), 0) << "nothing could be stored or read";
  locker.reset();
  const std::string log = gw.Log();
  EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;
  EXPECT_EQ(log.find("AddressSanitizer"), std::string::npos) << log;
}

}  // namespace
}  // namespace hybridgate::testing
