// The data API against the CLI's own arithmetic: the same rows, written to a real SQLite file
// and a real PostgreSQL through the ledger's sinks, give the numbers `hybridgate report`
// (ledger::Aggregate) and `hybridgate audit` (ledger::Audit) give over the window's rows.
#include "dashboard/data_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <random>

#include "dashboard/row_cache.h"
#include "ledger/audit.h"
#include "ledger/report.h"
#include "ledger/sink.h"
#include "ledger/test_util.h"
#include "ledger/testing/pg_cluster.h"

namespace hybridgate::dashboard {
namespace {

namespace json = boost::json;

constexpr int64_t kNow = 1'800'000'000'000;

// 3000 rows, one every 2 s back from kNow (a 1h window holds the newest 1800), with violations
// planted: every 97th row of class >= 3 was sent as it was to an external provider of class 2.
std::vector<ledger::Row> Rows() {
  std::mt19937_64 rng(7);
  std::vector<ledger::Row> rows;
  for (int64_t i = 0; i < 3000; ++i) {
    ledger::Row r = ledger::testing::MakeRow(i, &rng);
    r.time_ms = kNow - 1 - i * 2000;
    if (!r.stream && i % 3 == 0) r.ttft_ms = 1;  // an answer's first byte: not a stream's
    if (i % 97 == 0 && r.data_class >= 3 && r.provider_zone == "external") {
      r.residency_action = "none";
    }
    if (i % 31 == 0) {  // refused by the key's rate limit
      r.status = 429;
      r.error_code = "rate_limited";
    }
    if (i % 37 == 0) {  // no key
      r.status = 401;
      r.error_code = "invalid_api_key";
      r.key = r.team = "";
    }
    if (i % 50 == 0) {  // a blocked request: no provider answered
      r.residency_action = "block";
      r.provider = r.provider_zone = r.egress = r.model = "";
      r.provider_max_class = 0;
      r.status = 403;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<ledger::Row> InWindow(const std::vector<ledger::Row>& rows, const Window& w) {
  std::vector<ledger::Row> out;
  for (const auto& r : rows) {
    if (r.time_ms >= w.since_ms && r.time_ms < w.until_ms) out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
  return out;
}

void ExpectNear(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::abs(want))) << what;
}

// The two ways to a document: the ledger's SQL, or the rows held in memory (row_cache.h).
std::string OverviewDoc(LedgerReader& reader, RowCache* cache, const Window& w) {
  if (cache) return RenderOverview(cache->MakeOverview(w, kNow), w, reader.backend(), "memory");
  auto doc = OverviewJson(reader, w, kNow);
  EXPECT_TRUE(doc) << doc.error().message;
  return doc ? *doc : "{}";
}
std::string ProtectionDoc(LedgerReader& reader, RowCache* cache, const Window& w) {
  if (cache) return RenderProtection(cache->MakeProtection(w), w, reader.backend(), "memory");
  auto doc = ProtectionJson(reader, w);
  EXPECT_TRUE(doc) << doc.error().message;
  return doc ? *doc : "{}";
}

void CheckOverview(LedgerReader& reader, RowCache* cache, const std::vector<ledger::Row>& rows) {
  auto w = ParseWindow("1h", kNow);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->bucket_ms, 60'000);
  const json::object o = json::parse(OverviewDoc(reader, cache, *w)).as_object();
  EXPECT_EQ(o.at("computed_from"), cache ? "memory" : "ledger");
  const auto window_rows = InWindow(rows, *w);
  ASSERT_EQ(window_rows.size(), 1800u);
  const ledger::Report by_tier = ledger::Aggregate(window_rows, ledger::GroupBy::kTier);
  const auto& t = o.at("totals").as_object();
  const auto& want = by_tier.total;
  EXPECT_EQ(t.at("requests").as_int64(), want.requests);
  EXPECT_EQ(t.at("input_tokens").as_int64(), want.input_tokens);
  EXPECT_EQ(t.at("cached_input_tokens").as_int64(), want.cached_input_tokens);
  EXPECT_EQ(t.at("output_tokens").as_int64(), want.output_tokens);
  ExpectNear(t.at("cost_usd").to_number<double>(), want.cost_usd, "cost");
  ExpectNear(t.at("usd_per_mtok").to_number<double>(), want.usd_per_mtok, "usd_per_mtok");
  EXPECT_EQ(t.at("p50_latency_ms").as_int64(), want.p50_latency_ms);
  EXPECT_EQ(t.at("p95_latency_ms").as_int64(), want.p95_latency_ms);
  EXPECT_EQ(t.at("errors").as_int64(), want.errors);
  EXPECT_EQ(t.at("fallbacks").as_int64(), want.fallbacks);
  EXPECT_EQ(t.at("escalations").as_int64(), want.escalations);
  EXPECT_EQ(t.at("estimated_usage_rows").as_int64(), want.estimated_usage);
  // Time to first token: nearest rank over the streamed rows only.
  std::vector<int64_t> ttft;
  for (const auto& r : window_rows) {
    if (r.stream && r.ttft_ms >= 0) ttft.push_back(r.ttft_ms);
  }
  EXPECT_EQ(t.at("streamed_requests").as_int64(), static_cast<int64_t>(ttft.size()));
  auto ttft95 = ttft;
  EXPECT_EQ(t.at("p50_ttft_ms").as_int64(), ledger::NearestRankPercentile(ttft, 50));
  EXPECT_EQ(t.at("p95_ttft_ms").as_int64(), ledger::NearestRankPercentile(ttft95, 95));

  std::map<std::string, const ledger::GroupStats*> tiers;
  for (const auto& g : by_tier.groups) tiers[g.name] = &g;
  const auto& got_tiers = o.at("by_tier").as_array();
  EXPECT_EQ(got_tiers.size(), tiers.size());
  for (const auto& g : got_tiers) {
    const auto& go = g.as_object();
    const std::string name(go.at("name").as_string());
    ASSERT_TRUE(tiers.count(name)) << name;
    EXPECT_EQ(go.at("requests").as_int64(), tiers[name]->requests) << name;
    EXPECT_EQ(go.at("total_tokens").as_int64(), tiers[name]->total_tokens()) << name;
    ExpectNear(go.at("cost_usd").to_number<double>(), tiers[name]->cost_usd, name);
  }
  // Models: the top 20 by cost and no more; here there are 4 and "(none)" for blocked rows.
  const ledger::Report by_model = ledger::Aggregate(window_rows, ledger::GroupBy::kModel);
  EXPECT_EQ(o.at("by_model").as_array().size(), by_model.groups.size());
  EXPECT_EQ(o.at("by_model").as_array()[0].at("name").as_string(), by_model.groups[0].name);

  // The series: every minute of the window, empty or not, summing to the totals.
  const auto& series = o.at("series").as_array();
  EXPECT_GE(series.size(), 60u);
  EXPECT_LE(series.size(), 61u);
  int64_t sum = 0, self_hosted = 0;
  double cost = 0;
  for (const auto& p : series) {
    sum += p.at("requests").as_int64();
    self_hosted += p.at("self_hosted").as_int64();
    cost += p.at("cost_usd").to_number<double>();
  }
  EXPECT_EQ(sum, want.requests);
  int64_t want_self_hosted = 0;
  for (const auto& r : window_rows) want_self_hosted += r.provider_zone == "self_hosted";
  EXPECT_EQ(self_hosted, want_self_hosted);
  ExpectNear(cost, want.cost_usd, "series cost");
  // Spend over 30 days is every row (they span 100 minutes).
  double all = 0;
  for (const auto& r : rows) all += r.cost_usd;
  ExpectNear(o.at("spend").at("last_30d_usd").to_number<double>(), all, "30d spend");
}

void CheckProtection(LedgerReader& reader, RowCache* cache, const std::vector<ledger::Row>& rows) {
  auto w = ParseWindow("1h", kNow);
  ASSERT_TRUE(w);
  const json::object o = json::parse(ProtectionDoc(reader, cache, *w)).as_object();
  const auto window_rows = InWindow(rows, *w);
  const ledger::AuditReport audit = ledger::Audit(window_rows);
  std::map<int64_t, std::array<int64_t, 5>> want;  // requests, none, route, redact, block
  for (const auto& g : audit.groups) {
    auto& c = want[g.data_class];
    c[0] += g.requests;
    c[1] += g.none;
    c[2] += g.route;
    c[3] += g.redact;
    c[4] += g.block;
  }
  const auto& classes = o.at("by_class").as_array();
  ASSERT_EQ(classes.size(), want.size());
  for (const auto& c : classes) {
    const int64_t k = c.at("data_class").as_int64();
    const auto& a = c.at("actions").as_object();
    EXPECT_EQ(c.at("requests").as_int64(), want[k][0]) << k;
    EXPECT_EQ(a.at("none").as_int64(), want[k][1]) << k;
    EXPECT_EQ(a.at("route").as_int64(), want[k][2]) << k;
    EXPECT_EQ(a.at("redact").as_int64(), want[k][3]) << k;
    EXPECT_EQ(a.at("block").as_int64(), want[k][4]) << k;
  }
  // The planted violations, as the audit lists them, and the rows of class >= 3 they are.
  ASSERT_GT(audit.violations.size(), 0u);
  const auto& v = o.at("verdict").as_object();
  EXPECT_EQ(v.at("violations").as_int64(), static_cast<int64_t>(audit.violations.size()));
  int64_t reached = 0;
  for (const auto& r : window_rows) {
    reached += r.data_class >= 3 && r.residency_action == "none" && r.provider_zone == "external";
  }
  EXPECT_EQ(v.at("class3_plus_reached_external").as_int64(), reached);
  EXPECT_GT(reached, 0);
  // Finding types: requests per type, never a value.
  int64_t with_findings = 0;
  for (const auto& r : window_rows) with_findings += !r.finding_types.empty();
  const auto& findings = o.at("findings").as_array();
  ASSERT_EQ(findings.size(), 2u);
  for (const auto& f : findings) EXPECT_EQ(f.at("requests").as_int64(), with_findings);
}

std::string KeysDoc(LedgerReader& reader, RowCache* cache, const Window& w) {
  limits::KeyInfo budgeted{.id = "key_000000000001", .team = "team-1", .name = "key-1"};
  budgeted.budget = limits::Budget{.usd = 0.05, .window = limits::BudgetWindow::kDay};
  limits::KeyInfo unused{.id = "key_000000000009", .team = "team-9", .name = "key-unused"};
  const std::vector<limits::KeyInfo> configured = {budgeted, unused};
  if (cache) {
    return RenderKeys(cache->MakeKeys(w, kNow), configured, w, kNow, reader.backend(), "memory");
  }
  auto use = KeysFromLedger(reader, w, kNow);
  EXPECT_TRUE(use) << use.error().message;
  return use ? RenderKeys(*use, configured, w, kNow, reader.backend(), "ledger") : "{}";
}

// Per key: `report --by key` over the window; spend since the day / month began; the 429s.
void CheckKeys(LedgerReader& reader, RowCache* cache, const std::vector<ledger::Row>& rows) {
  auto w = ParseWindow("1h", kNow);
  const json::object o = json::parse(KeysDoc(reader, cache, *w)).as_object();
  const auto window_rows = InWindow(rows, *w);
  const ledger::Report by_key = ledger::Aggregate(window_rows, ledger::GroupBy::kKey);
  std::map<std::string, const ledger::GroupStats*> want;
  for (const auto& g : by_key.groups) want[g.name] = &g;
  std::map<std::string, int64_t> limited;
  std::map<std::string, double> today;
  for (const auto& r : window_rows) limited[r.key] += r.error_code == "rate_limited";
  for (const auto& r : rows) {
    if (r.time_ms >= DayStartMs(kNow)) today[r.key] += r.cost_usd;
  }
  const auto& keys = o.at("keys").as_array();
  ASSERT_EQ(keys.size(), want.size() + 1);  // key-unused is configured, with no use
  EXPECT_TRUE(want.count("(none)"));        // the requests without a key
  EXPECT_EQ(keys[0].at("key"), "key-1");
  EXPECT_EQ(keys[1].at("key"), "key-unused");
  EXPECT_EQ(keys[1].at("requests"), 0);
  int64_t all_limited = 0;
  for (const auto& k : keys) {
    const std::string name(k.at("key").as_string());
    if (name == "key-unused") continue;
    ASSERT_TRUE(want.count(name)) << name;
    EXPECT_EQ(k.at("requests").as_int64(), want[name]->requests) << name;
    ExpectNear(k.at("cost_usd").to_number<double>(), want[name]->cost_usd, name);
    EXPECT_EQ(k.at("rate_limited").as_int64(), limited[name]) << name;
    all_limited += k.at("rate_limited").as_int64();
  }
  EXPECT_GT(all_limited, 0);
  int64_t unauthenticated = 0;
  for (const auto& r : window_rows) unauthenticated += r.error_code == "invalid_api_key";
  EXPECT_GT(unauthenticated, 0);
  EXPECT_EQ(o.at("rejections").at("unauthenticated").as_int64(), unauthenticated);
  EXPECT_EQ(o.at("rejections").at("rate_limited").as_int64(), all_limited);
  const auto& b = keys[0].at("budget");
  EXPECT_EQ(b.at("window"), "day");
  ExpectNear(b.at("spent_usd").to_number<double>(), today["key-1"], "key-1 today");
  ExpectNear(b.at("used").to_number<double>(), today["key-1"] / 0.05, "key-1 used");
  EXPECT_TRUE(keys[1].at("budget").is_null());
}

TEST(DataApi, SqliteLedgerMatchesReportAndAudit) {
  const std::string path = ledger::testing::FreshPath("dashboard.db");
  auto rows = Rows();
  {
    auto sink = ledger::OpenSqliteSink(path);
    ASSERT_TRUE(sink) << sink.error().message;
    ASSERT_TRUE((*sink)->Write(rows));
  }
  auto reader = OpenLedgerReader(path, 5000);
  CheckOverview(*reader, nullptr, rows);
  CheckProtection(*reader, nullptr, rows);
  CheckKeys(*reader, nullptr, rows);
  RowCache cache;
  ASSERT_TRUE(cache.Refresh(*reader, kNow));
  EXPECT_EQ(cache.rows(), rows.size());
  EXPECT_TRUE(cache.Covers(kNow - 30LL * 86'400'000));
  CheckOverview(*reader, &cache, rows);
  CheckProtection(*reader, &cache, rows);
  CheckKeys(*reader, &cache, rows);
}

TEST(DataApi, PostgresLedgerMatchesReportAndAudit) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  auto rows = Rows();
  {
    auto sink = ledger::OpenPostgresSink(pg.dsn());
    ASSERT_TRUE(sink) << sink.error().message;
    ASSERT_TRUE((*sink)->Write(rows));
  }
  auto reader = OpenLedgerReader(pg.dsn(), 5000);
  EXPECT_EQ(reader->backend(), "postgres");
  CheckOverview(*reader, nullptr, rows);
  CheckProtection(*reader, nullptr, rows);
  CheckKeys(*reader, nullptr, rows);
  RowCache cache;
  ASSERT_TRUE(cache.Refresh(*reader, kNow));
  CheckOverview(*reader, &cache, rows);
  CheckProtection(*reader, &cache, rows);
  CheckKeys(*reader, &cache, rows);
}

// Rows read as they are committed, a late one (a long stream's: an old arrival committed last)
// included, give the documents of all of them; past the cap the oldest minutes go and a window
// reaching them is no longer covered.
TEST(RowCache, ReadsIncrementallyAndBoundsItsRows) {
  const std::string path = ledger::testing::FreshPath("dashboard_cache.db");
  auto rows = Rows();
  std::vector<ledger::Row> first(rows.begin() + 1, rows.begin() + 1500);
  std::vector<ledger::Row> second(rows.begin() + 1500, rows.end());
  second.push_back(rows[0]);  // the newest arrival, committed last
  auto sink = ledger::OpenSqliteSink(path);
  ASSERT_TRUE(sink);
  ASSERT_TRUE((*sink)->Write(first));
  auto reader = OpenLedgerReader(path, 5000);
  RowCache cache;
  ASSERT_TRUE(cache.Refresh(*reader, kNow));
  EXPECT_EQ(cache.rows(), first.size());
  ASSERT_TRUE((*sink)->Write(second));
  ASSERT_TRUE(cache.Refresh(*reader, kNow));
  EXPECT_EQ(cache.rows(), rows.size());
  CheckOverview(*reader, &cache, rows);
  CheckProtection(*reader, &cache, rows);
  ASSERT_TRUE(cache.Refresh(*reader, kNow));  // nothing new: nothing read twice
  EXPECT_EQ(cache.rows(), rows.size());

  // A cap of 1000 rows keeps the newest whole minutes: a 1h window (1800 rows) is not covered,
  // a 15-minute one (450 rows) is; spend over 30 days still counts every row.
  RowCache small(1000);
  ASSERT_TRUE(small.Refresh(*reader, kNow));
  EXPECT_LE(small.rows(), 1000u);
  EXPECT_GT(small.rows(), 900u);
  EXPECT_FALSE(small.Covers(kNow - 3'600'000));
  EXPECT_TRUE(small.Covers(kNow - 900'000));
  double all = 0;
  for (const auto& r : rows) all += r.cost_usd;
  auto w = ParseWindow("15m", kNow);
  const Overview o = small.MakeOverview(*w, kNow);
  EXPECT_NEAR(o.spend_30d, all, 1e-9);
  EXPECT_EQ(o.totals.requests, 450);
}

TEST(DataApi, AMissingLedgerIsEmptyNotAnError) {
  auto reader = OpenLedgerReader(ledger::testing::FreshPath("absent.db"), 5000);
  auto w = ParseWindow("24h", kNow);
  ASSERT_TRUE(w);
  auto doc = OverviewJson(*reader, *w, kNow);
  ASSERT_TRUE(doc) << doc.error().message;
  const json::object o = json::parse(*doc).as_object();
  EXPECT_EQ(o.at("totals").at("requests").as_int64(), 0);
  EXPECT_EQ(o.at("series").as_array().size(), 97u);  // 15-minute buckets, now's included
  auto prot = ProtectionJson(*reader, *w);
  ASSERT_TRUE(prot);
  EXPECT_EQ(json::parse(*prot).at("verdict").at("class3_plus_reached_external").as_int64(), 0);
}

TEST(DataApi, AHungPostgresAnswersWithinTheTimeout) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  {
    auto sink = ledger::OpenPostgresSink(pg.dsn());
    ASSERT_TRUE(sink);
    auto rows = Rows();
    ASSERT_TRUE((*sink)->Write(rows));
  }
  ledger::testing::TableLock lock(pg.dsn(), "requests");
  ASSERT_EQ(lock.error(), "");
  auto reader = OpenLedgerReader(pg.dsn(), 500);
  auto w = ParseWindow("1h", kNow);
  const auto start = std::chrono::steady_clock::now();
  auto doc = OverviewJson(*reader, *w, kNow);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(doc.error().message.find("dashboard: ledger: postgres"), std::string::npos)
      << doc.error().message;
}

TEST(DataApi, WindowsAreBoundedAndBucketed) {
  EXPECT_EQ(ParseWindow("", kNow)->label, "24h");
  EXPECT_EQ(MonthStartMs(kNow), 1'798'761'600'000);  // 2027-01-01T00:00:00Z
  EXPECT_EQ(DayStartMs(kNow), 1'799'971'200'000);    // 2027-01-15T00:00:00Z
  EXPECT_EQ(ParseWindow("24h", kNow)->bucket_ms, 15 * 60'000);
  EXPECT_EQ(ParseWindow("7d", kNow)->bucket_ms, 3 * 3'600'000);
  EXPECT_EQ(ParseWindow("30d", kNow)->bucket_ms, 12 * 3'600'000);
  EXPECT_EQ(ParseWindow("400d", kNow)->bucket_ms, 7 * 86'400'000);
  for (const char* bad : {"0m", "30s", "401d", "abc", "-1h", "1h; DROP TABLE requests"}) {
    auto w = ParseWindow(bad, kNow);
    ASSERT_FALSE(w) << bad;
    EXPECT_EQ(w.error().code, ErrorCode::kInvalidRequest);
    EXPECT_NE(w.error().message.find("15m, 24h, 7d or 30d"), std::string::npos);
  }
}

}  // namespace
}  // namespace hybridgate::dashboard
