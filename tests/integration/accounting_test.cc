// Cost ledger, virtual keys, budgets, rate limits and /metrics through the real binary, with a
// real SQLite ledger, real redis-server for limits shared by two gateway processes, and a fake
// OpenAI upstream whose record shows what was (not) forwarded.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "metrics/text_format_parser.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/redis_server.h"
#include "tests/support/scratch.h"
#include "tests/support/sqlite_text.h"

namespace hybridgate::testing {
namespace {

namespace fs = std::filesystem;
const auto& LedgerText = SqliteText;
namespace json = boost::json;
using namespace std::chrono_literals;

struct LedgerRow {
  std::string id, key, provider, model, error_code;
  int64_t status = 0, input = 0, output = 0;
  double cost = 0;
};

std::vector<LedgerRow> ReadLedger(const std::string& path) {
  std::vector<LedgerRow> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return rows;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT id, key_name, provider, model, error_code, status, input_tokens, "
                     "output_tokens, cost_usd FROM requests",
                     -1, &st, nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    auto text = [&](int i) {
      const auto* t = sqlite3_column_text(st, i);
      return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
    };
    rows.push_back({text(0), text(1), text(2), text(3), text(4), sqlite3_column_int64(st, 5),
                    sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7),
                    sqlite3_column_double(st, 8)});
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

std::string Chat(const std::string& model = "gpt-4o", const std::string& text = "hello") {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + text + R"("}]})";
}

std::string Upstream(const FakeUpstream& up) {
  return "  - {name: cloud, type: openai, base_url: '" + up.base_url() +
         "', zone: external, models: [{name: gpt-4o, input_per_mtok: 2.5, output_per_mtok: 10, "
         "cached_input_per_mtok: 1.25}]}\n";
}

TEST(Accounting, EveryRequestIsARowWhoseCostIsTheCatalogArithmetic) {
  Scratch s{"hg-acct"};
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ChatCompletionJson("hi", "gpt-4o", 1200, 345)};
  });
  const std::string cfg =
      "providers:\n" + Upstream(up) + "ledger: {path: '" + s.Path("ledger.db") + "'}\n";
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = c.Post("/v1/chat/completions", Chat());
    ASSERT_EQ(r.status, 200) << r.body;
    ids.insert(r.headers["x-hybridgate-request-id"]);
  }
  auto bad = c.Post("/v1/chat/completions", Chat("no-such-model"));
  EXPECT_EQ(bad.status, 404);
  // Prometheus exposition, checked by a strict text-format parser.
  auto m = c.Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  auto parsed = metrics::testing::ParseTextFormat(m.body);
  ASSERT_TRUE(parsed) << parsed.error().message << "\n" << m.body;
  EXPECT_EQ(parsed->Value("hybridgate_requests_total", {{"route", "gpt-4o"},
                                                        {"tier", ""},
                                                        {"provider", "cloud"},
                                                        {"model", "gpt-4o"},
                                                        {"endpoint", "chat_completions"},
                                                        {"status", "200"}}),
            5.0);
  EXPECT_EQ(parsed->Value("hybridgate_tokens_total",
                          {{"provider", "cloud"}, {"model", "gpt-4o"}, {"type", "output"}}),
            5.0 * 345);
  // And by the third-party parser the issue names.
  const char* src = std::getenv("HYBRIDGATE_SOURCE_DIR");
  const std::string e2e = std::string(src ? src : ".") + "/tests/e2e";
  if (fs::exists(e2e + "/node_modules/parse-prometheus-text-format")) {
    std::ofstream(s.Path("metrics.txt")) << m.body;
    int status = -1;
    const std::string out = Shell("node '" + e2e + "/metrics_parse.mjs' '" + s.Path("metrics.txt") +
                                      "' hybridgate_requests_total:counter 2>&1",
                                  &status);
    EXPECT_EQ(status, 0) << out;
  }
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();  // SIGTERM flushes the ledger

  const auto rows = ReadLedger(s.Path("ledger.db"));
  ASSERT_EQ(rows.size(), 6u);
  const double expected = (1200 * 2.5 + 345 * 10.0) / 1e6;
  double total = 0;
  for (const LedgerRow& r : rows) {
    total += r.cost;
    if (r.status != 200) {
      EXPECT_EQ(r.status, 404);
      EXPECT_EQ(r.error_code, "model_not_found");
      EXPECT_EQ(r.cost, 0.0);
      continue;
    }
    EXPECT_TRUE(ids.count(r.id)) << r.id;
    EXPECT_EQ(r.provider, "cloud");
    EXPECT_EQ(r.input, 1200);
    EXPECT_EQ(r.output, 345);
    EXPECT_NEAR(r.cost, expected, 1e-12);
  }
  // `hybridgate report` totals equal a recomputation from the rows.
  int status = -1;
  const std::string report = Shell("'" + BinaryPath() + "' report --ledger '" +
                                       s.Path("ledger.db") + "' --by model --format json",
                                   &status);
  ASSERT_EQ(status, 0) << report;
  auto v = json::parse(report).as_object();
  EXPECT_EQ(v["total"].at("requests").as_int64(), 6);
  EXPECT_NEAR(v["total"].at("cost_usd").as_double(), total, 1e-12);
  EXPECT_EQ(v["total"].at("output_tokens").as_int64(), 5 * 345);

  // Residency facts and the hash chain (src/ledger/README.md): each answered row went to the
  // external provider, within its default max_data_class of 2.
  EXPECT_EQ(
      LedgerText(s.Path("ledger.db"),
                 "SELECT group_concat(DISTINCT provider_zone || '|' || provider_max_class || "
                 "'|' || residency_action || '|' || egress) FROM requests WHERE status = 200"),
      "external|2|none|cloud:external:2:ok");
  const std::string audit = Shell(
      "'" + BinaryPath() + "' audit --ledger '" + s.Path("ledger.db") + "' --format json", &status);
  ASSERT_EQ(status, 0) << audit;
  auto a = json::parse(audit).as_object();
  EXPECT_EQ(a["requests"].as_int64(), 6);
  EXPECT_EQ(a["upstream_attempts_checked"].as_int64(), 5);  // the 404 never left
  EXPECT_EQ(a["verdict"].as_string(), "no violations");
  const std::string verify =
      Shell("'" + BinaryPath() + "' audit verify --ledger '" + s.Path("ledger.db") + "'", &status);
  EXPECT_EQ(status, 0) << verify;
  EXPECT_EQ(verify.rfind("6 rows, chain intact; head seq 6 hash ", 0), 0u) << verify;
}

// A card number cannot go to the external provider (max_data_class 2): residency serves it from
// the self-hosted one, and the ledger row says so — finding type (not the number), zone, the
// provider's limit, the action and the trail — and the audit finds nothing wrong.
TEST(Accounting, TheLedgerRecordsWhereRegulatedDataWent) {
  Scratch s{"hg-acct"};
  FakeUpstream cloud([](const Recorded&) { return Action{.body = ChatCompletionJson("hi")}; });
  FakeUpstream onprem(
      [](const Recorded&) { return Action{.body = ChatCompletionJson("hi", "llama")}; });
  const std::string cfg = "providers:\n" + Upstream(cloud) +
                          "  - {name: onprem, type: openai, base_url: '" + onprem.base_url() +
                          "', zone: self_hosted, models: [{name: llama}]}\n"
                          "ledger: {path: '" +
                          s.Path("ledger.db") + "'}\n";
  std::ofstream(s.Path("gw.yaml")) << cfg;
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const std::string card = "4111 1111 1111 1111";
  auto r = c.Post("/v1/chat/completions", Chat("gpt-4o", "charge my card " + card + " please"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(c.Post("/v1/chat/completions", Chat("gpt-4o", "hello")).status, 200);
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();

  const std::string row = LedgerText(
      s.Path("ledger.db"),
      "SELECT provider || '|' || provider_zone || '|' || provider_max_class || '|' || "
      "residency_action || '|' || finding_types || '|' || egress || '|' || (data_class >= 3) "
      "FROM requests WHERE finding_types != ''");
  EXPECT_EQ(row, "onprem|self_hosted|5|route|credit_card|onprem:self_hosted:5:ok|1");
  EXPECT_EQ(LedgerText(s.Path("ledger.db"),
                       "SELECT count(*) FROM requests WHERE egress LIKE '%cloud%' AND "
                       "finding_types = '' AND residency_action = 'none'"),
            "1");
  // No value of a finding is stored anywhere in the file.
  std::ifstream raw(s.Path("ledger.db"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("4111"), std::string::npos);

  int status = -1;
  const std::string audit =
      Shell("'" + BinaryPath() + "' audit --config '" + s.Path("gw.yaml") + "'", &status);
  EXPECT_EQ(status, 0) << audit;
  EXPECT_NE(audit.find("no violations: "), std::string::npos) << audit;
  EXPECT_NE(audit.find("self_hosted"), std::string::npos) << audit;
  const std::string verify =
      Shell("'" + BinaryPath() + "' audit verify --config '" + s.Path("gw.yaml") + "'", &status);
  EXPECT_EQ(status, 0) << verify;
  EXPECT_EQ(verify.rfind("2 rows, chain intact", 0), 0u) << verify;
}

std::string CreateKey(const std::string& cfg_path, const std::string& args) {
  int status = -1;
  std::string out =
      Shell("'" + BinaryPath() + "' keys create --config '" + cfg_path + "' " + args, &status);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  EXPECT_EQ(status, 0) << out;
  return out;
}

TEST(Accounting, KeysBudgetsAndRateLimitsStopRequestsBeforeTheUpstream) {
  Scratch s{"hg-acct"};
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ChatCompletionJson("hi", "gpt-4o", 1000, 1000)};
  });
  const std::string cfg = "providers:\n" + Upstream(up) + "ledger: {path: '" + s.Path("ledger.db") +
                          "'}\nlimits: {auth_required: true, keys_db: '" + s.Path("keys.db") +
                          "'}\n";
  std::ofstream(s.Path("gw.yaml")) << "listen: 127.0.0.1:1\n" << cfg;
  // One request costs 0.0125 USD: a 0.01 USD daily budget admits one, then refuses.
  const std::string budget_key = CreateKey(s.Path("gw.yaml"), "--team red --budget 0.01usd/day");
  const std::string rpm_key = CreateKey(s.Path("gw.yaml"), "--team blue --rpm 2");
  ASSERT_EQ(budget_key.rfind("hg-", 0), 0u) << budget_key;
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());

  auto none = c.Post("/v1/chat/completions", Chat());
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(json::parse(none.body).at("error").at("type").as_string(), "authentication_error");
  auto wrong = c.Request("POST", "/v1/chat/completions", Chat(),
                         {{"authorization", "Bearer hg-not-a-real-key"}});
  EXPECT_EQ(wrong.status, 401);
  auto anthropic =
      c.Request("POST", "/v1/messages",
                R"({"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"x"}]})",
                {{"anthropic-version", "2023-06-01"}, {"x-api-key", "hg-wrong"}});
  EXPECT_EQ(anthropic.status, 401);
  EXPECT_EQ(json::parse(anthropic.body).at("error").at("type").as_string(), "authentication_error");
  EXPECT_EQ(up.request_count(), 0u);

  const std::map<std::string, std::string> budget_auth = {
      {"authorization", "Bearer " + budget_key}};
  auto first = c.Request("POST", "/v1/chat/completions", Chat(), budget_auth);
  EXPECT_EQ(first.status, 200) << first.body;
  std::this_thread::sleep_for(100ms);  // spend is settled right after the answer
  auto over = c.Request("POST", "/v1/chat/completions", Chat(), budget_auth);
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(json::parse(over.body).at("error").at("code").as_string(), "budget_exceeded");
  EXPECT_EQ(up.request_count(), 1u) << "the over-budget request reached the upstream";

  const std::map<std::string, std::string> rpm_auth = {{"authorization", "Bearer " + rpm_key}};
  EXPECT_EQ(c.Request("POST", "/v1/chat/completions", Chat(), rpm_auth).status, 200);
  auto second = c.Request("POST", "/v1/chat/completions", Chat(), rpm_auth);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.headers["x-ratelimit-limit-requests"], "2");
  EXPECT_EQ(second.headers["x-ratelimit-remaining-requests"], "0");
  auto limited = c.Request("POST", "/v1/chat/completions", Chat(), rpm_auth);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(json::parse(limited.body).at("error").at("code").as_string(), "rate_limited");
  EXPECT_FALSE(limited.headers["retry-after"].empty());
  EXPECT_EQ(up.request_count(), 3u);

  // A key created while the gateway runs works after SIGHUP.
  const std::string late = CreateKey(s.Path("gw.yaml"), "--team green");
  kill(gw.pid(), SIGHUP);
  bool ok = false;
  for (int i = 0; i < 50 && !ok; ++i) {
    std::this_thread::sleep_for(50ms);
    ok = c.Request("POST", "/v1/chat/completions", Chat(), {{"authorization", "Bearer " + late}})
             .status == 200;
  }
  EXPECT_TRUE(ok);
  ASSERT_EQ(gw.Stop(), 0) << gw.Log();
  // Ledger rows name the key's team, never the secret.
  std::set<std::string> teams;
  for (const auto& r : ReadLedger(s.Path("ledger.db"))) {
    EXPECT_EQ(r.key.find("hg-"), std::string::npos);
  }
  std::ifstream raw(s.Path("ledger.db"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(raw)), {});
  EXPECT_EQ(bytes.find(budget_key), std::string::npos);
}

TEST(Accounting, AdminApiCreatesListsAndRevokesKeys) {
  Scratch s{"hg-acct"};
  FakeUpstream up([](const Recorded&) { return Action{.body = ChatCompletionJson("hi")}; });
  setenv("HG_TEST_ADMIN_KEY", "admin-secret-123", 1);
  const std::string cfg = "providers:\n" + Upstream(up) +
                          "ledger: {enabled: false}\nlimits: {auth_required: true, keys_db: '" +
                          s.Path("keys.db") + "', admin_key_env: HG_TEST_ADMIN_KEY}\n";
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  const std::string spec = R"({"team":"ops","name":"ci","rpm":100,"budget":"5usd/day"})";
  EXPECT_EQ(c.Request("POST", "/admin/keys", spec, {{"authorization", "Bearer wrong"}}).status,
            401);
  const std::map<std::string, std::string> admin = {{"authorization", "Bearer admin-secret-123"}};
  auto bad = c.Request("POST", "/admin/keys", R"({"name":"no team"})", admin);
  EXPECT_EQ(bad.status, 400) << bad.body;
  auto created = c.Request("POST", "/admin/keys", spec, admin);
  ASSERT_EQ(created.status, 201) << created.body;
  auto key = json::parse(created.body).as_object();
  const std::string secret(key["key"].as_string());
  const std::string id(key["id"].as_string());
  EXPECT_EQ(secret.rfind("hg-", 0), 0u);
  EXPECT_EQ(key["budget"].as_string(), "5usd/day");
  const std::map<std::string, std::string> user = {{"authorization", "Bearer " + secret}};
  EXPECT_EQ(c.Request("POST", "/v1/chat/completions", Chat(), user).status, 200);
  auto list = c.Request("GET", "/admin/keys", "", admin);
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(id), std::string::npos);
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "the secret is shown once, at creation";
  EXPECT_EQ(c.Request("DELETE", "/admin/keys/" + id, "", admin).status, 200);
  EXPECT_EQ(c.Request("POST", "/v1/chat/completions", Chat(), user).status, 401);
  EXPECT_EQ(up.request_count(), 1u);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
}

TEST(Accounting, TwoGatewaysSharingRedisEnforceOneLimitAndOneBudget) {
  RedisServer redis;
  ASSERT_TRUE(redis.started()) << "redis-server (Debian package) is needed";
  Scratch s{"hg-acct"};
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ChatCompletionJson("hi", "gpt-4o", 1000, 1000)};
  });
  const std::string cfg = "providers:\n" + Upstream(up) +
                          "ledger: {enabled: false}\n"
                          "limits: {auth_required: true, backend: redis, redis_url: "
                          "'redis://127.0.0.1:" +
                          std::to_string(redis.port()) + "', keys_db: '" + s.Path("keys.db") +
                          "'}\n";
  std::ofstream(s.Path("gw.yaml")) << "listen: 127.0.0.1:1\n" << cfg;
  const std::string rpm_key = CreateKey(s.Path("gw.yaml"), "--team a --rpm 3");
  const std::string budget_key = CreateKey(s.Path("gw.yaml"), "--team b --budget 0.01usd/day");
  GatewayProcess a(cfg), b(cfg);
  ASSERT_TRUE(a.started()) << a.Log();
  ASSERT_TRUE(b.started()) << b.Log();
  TestClient ca(a.port()), cb(b.port());
  int allowed = 0;
  for (int i = 0; i < 6; ++i) {
    TestClient& c = i % 2 ? cb : ca;
    auto r =
        c.Request("POST", "/v1/chat/completions", Chat(), {{"authorization", "Bearer " + rpm_key}});
    if (r.status == 200)
      ++allowed;
    else
      EXPECT_EQ(r.status, 429) << r.body;
  }
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(up.request_count(), 3u);
  const std::map<std::string, std::string> auth = {{"authorization", "Bearer " + budget_key}};
  EXPECT_EQ(ca.Request("POST", "/v1/chat/completions", Chat(), auth).status, 200);
  // Spend is settled right after the answer; give gateway A that moment.
  std::this_thread::sleep_for(200ms);
  auto over = cb.Request("POST", "/v1/chat/completions", Chat(), auth);
  EXPECT_EQ(over.status, 429) << "the budget spent through gateway A binds gateway B";
  EXPECT_EQ(up.request_count(), 4u);
  EXPECT_EQ(a.Stop(), 0) << a.Log();
  EXPECT_EQ(b.Stop(), 0) << b.Log();
}

// A broken or hostile upstream that reports negative token counts refunds nothing: the row
// reads them as 0 and the cost is never negative.
TEST(Accounting, NegativeUsageFromTheUpstreamIsReadAsZero) {
  Scratch s{"hg-acct-neg"};
  FakeUpstream up([](const Recorded&) {
    return Action{.body = ChatCompletionJson("hi", "gpt-4o", -1000000, -5)};
  });
  GatewayProcess gw("providers:\n" + Upstream(up) + "ledger: {path: '" + s.Path("ledger.db") +
                    "', flush_interval_ms: 20}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  auto r = c.Post("/v1/chat/completions", Chat());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(gw.Stop(), 0);
  EXPECT_EQ(LedgerText(s.Path("ledger.db"),
                       "SELECT input_tokens || '|' || output_tokens || '|' || (cost_usd >= 0) "
                       "FROM requests"),
            "0|0|1");
}

// Usage no upstream could mean (INT64_MAX, 5e18) is not believed: the row is an estimate, and no
// sum — of a row, of the ledger, of a metric, of a budget — overflows (UBSan aborted here).
TEST(Accounting, ImpossibleUsageFromTheUpstreamIsEstimatedNotSummed) {
  Scratch s{"hg-acct-huge"};
  FakeUpstream up([](const Recorded& r) {
    const bool max = r.body.find("first") != std::string::npos;
    const std::string n = max ? "9223372036854775807" : "5000000000000000000";
    return Action{.body = R"({"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o",)"
                          R"("choices":[{"index":0,"message":{"role":"assistant","content":"hi"},)"
                          R"("finish_reason":"stop"}],"usage":{"prompt_tokens":)" +
                          n + R"(,"completion_tokens":)" + n + R"(,"total_tokens":)" + n + "}}"};
  });
  GatewayProcess gw("providers:\n" + Upstream(up) + "ledger: {path: '" + s.Path("ledger.db") +
                    "', flush_interval_ms: 20}\n");
  ASSERT_TRUE(gw.started()) << gw.Log();
  TestClient c(gw.port());
  for (const char* text : {"first", "second", "third"}) {
    auto r = c.Post("/v1/chat/completions", Chat("gpt-4o", text));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(c.Get("/metrics").status, 200);
  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(LedgerText(s.Path("ledger.db"),
                       "SELECT COUNT(*) || '|' || SUM(usage_estimated) || '|' || "
                       "(MAX(input_tokens) < 1000) || '|' || (SUM(cost_usd) < 0.01) FROM requests"),
            "3|3|1|1");
}

TEST(Accounting, KillNineLosesAtMostTheLastFlushInterval) {
  Scratch s{"hg-acct"};
  FakeUpstream up([](const Recorded&) { return Action{.body = ChatCompletionJson("hi")}; });
  const std::string cfg = "providers:\n" + Upstream(up) + "ledger: {path: '" + s.Path("ledger.db") +
                          "', flush_interval_ms: 100}\n";
  GatewayProcess gw(cfg);
  ASSERT_TRUE(gw.started()) << gw.Log();
  struct Answered {
    std::string id;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mu;
  std::vector<Answered> answered;
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t) {
    load.emplace_back([&] {
      TestClient c(gw.port());
      while (!stop) {
        auto r = c.Post("/v1/chat/completions", Chat());
        if (r.status != 200) continue;
        std::lock_guard l(mu);
        answered.push_back(
            {r.headers["x-hybridgate-request-id"], std::chrono::steady_clock::now()});
      }
    });
  }
  std::this_thread::sleep_for(1500ms);
  const auto killed_at = std::chrono::steady_clock::now();
  kill(gw.pid(), SIGKILL);
  stop = true;
  for (auto& t : load) t.join();
  std::set<std::string> in_ledger;
  for (const auto& r : ReadLedger(s.Path("ledger.db"))) in_ledger.insert(r.id);
  int old_enough = 0;
  for (const Answered& a : answered) {
    if (a.at > killed_at - 250ms) continue;  // one flush interval (100 ms) plus commit time
    ++old_enough;
    EXPECT_TRUE(in_ledger.count(a.id)) << a.id << " answered well before the kill but lost";
  }
  EXPECT_GT(old_enough, 50);
  // The gateway restarts on the same ledger.
  GatewayProcess again(cfg);
  ASSERT_TRUE(again.started()) << again.Log();
  TestClient c(again.port());
  EXPECT_EQ(c.Post("/v1/chat/completions", Chat()).status, 200);
  EXPECT_EQ(again.Stop(), 0) << again.Log();
  EXPECT_EQ(ReadLedger(s.Path("ledger.db")).size(), in_ledger.size() + 1);
  // The kill lost at most a batch, never a link: the chain runs unbroken across the restart.
  int status = -1;
  const std::string verify =
      Shell("'" + BinaryPath() + "' audit verify --ledger '" + s.Path("ledger.db") + "'", &status);
  EXPECT_EQ(status, 0) << verify;
  EXPECT_EQ(verify.rfind(std::to_string(in_ledger.size() + 1) + " rows, chain intact", 0), 0u)
      << verify;
}

}  // namespace
}  // namespace hybridgate::testing
