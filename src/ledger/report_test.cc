#include "ledger/report.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <random>

#include "ledger/ledger.h"
#include "ledger/sink.h"
#include "ledger/test_util.h"

namespace hybridgate::ledger {
namespace {

using testing::FreshPath;
using testing::MakeRow;

std::vector<Row> RandomRows(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) rows.push_back(MakeRow(i, &rng));
  return rows;
}

// The textbook definition, written independently of the implementation: the smallest value such
// that at least p% of the values are <= it.
int64_t ReferencePercentile(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  for (size_t i = 0; i < v.size(); ++i) {
    if (static_cast<double>(i + 1) >= p / 100.0 * static_cast<double>(v.size()) - 1e-9) {
      return v[i];
    }
  }
  return 0;
}

TEST(PercentileTest, NearestRank) {
  std::vector<int64_t> ten = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_EQ(NearestRankPercentile(ten, 50), 5);
  EXPECT_EQ(NearestRankPercentile(ten, 95), 10);
  std::vector<int64_t> twenty;
  for (int i = 1; i <= 20; ++i) twenty.push_back(i);
  EXPECT_EQ(NearestRankPercentile(twenty, 95), 19);
  EXPECT_EQ(NearestRankPercentile(twenty, 50), 10);
  std::vector<int64_t> one = {42};
  EXPECT_EQ(NearestRankPercentile(one, 50), 42);
  EXPECT_EQ(NearestRankPercentile(one, 95), 42);
  std::vector<int64_t> none;
  EXPECT_EQ(NearestRankPercentile(none, 50), 0);
}

TEST(ParseTest, DurationsAndGroupings) {
  EXPECT_EQ(*ParseDuration("30m"), 30 * 60'000);
  EXPECT_EQ(*ParseDuration("24h"), 24 * 3'600'000);
  EXPECT_EQ(*ParseDuration("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(*ParseDuration("2w"), 14 * 86'400'000LL);
  EXPECT_EQ(*ParseDuration("90s"), 90'000);
  for (const char* bad : {"", "d", "7", "7x", "-7d", "0d", "7.5d", "d7", "99999999999999999999d"}) {
    EXPECT_FALSE(ParseDuration(bad)) << bad;
  }
  for (GroupBy by : {GroupBy::kRoute, GroupBy::kTier, GroupBy::kProvider, GroupBy::kModel,
                     GroupBy::kKey, GroupBy::kTeam}) {
    EXPECT_EQ(*ParseGroupBy(GroupByName(by)), by);
  }
  auto bad = ParseGroupBy("colour");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'colour'"), std::string::npos);
}

class AggregateTest : public ::testing::TestWithParam<GroupBy> {};

TEST_P(AggregateTest, TotalsEqualARecomputationFromRows) {
  const GroupBy by = GetParam();
  const std::vector<Row> rows = RandomRows(2000, 7);
  const Report report = Aggregate(rows, by);

  double cost = 0;
  int64_t in = 0, out = 0, errors = 0, fallbacks = 0, escalations = 0;
  std::vector<int64_t> latencies;
  for (const Row& r : rows) {
    cost += r.cost_usd;
    in += r.input_tokens;
    out += r.output_tokens;
    errors += (r.status < 200 || r.status >= 300);
    fallbacks += r.fallback;
    escalations += r.escalated;
    latencies.push_back(r.latency_ms);
  }
  const GroupStats& t = report.total;
  EXPECT_EQ(t.requests, 2000);
  EXPECT_EQ(t.cost_usd, cost);  // same additions in the same order: exactly equal
  EXPECT_EQ(t.input_tokens, in);
  EXPECT_EQ(t.output_tokens, out);
  EXPECT_EQ(t.usd_per_mtok, cost / static_cast<double>(in + out) * 1e6);
  EXPECT_EQ(t.errors, errors);
  EXPECT_EQ(t.error_rate, errors / 2000.0);
  EXPECT_EQ(t.fallback_rate, fallbacks / 2000.0);
  EXPECT_EQ(t.escalation_rate, escalations / 2000.0);
  EXPECT_EQ(t.p50_latency_ms, ReferencePercentile(latencies, 50));
  EXPECT_EQ(t.p95_latency_ms, ReferencePercentile(latencies, 95));
  EXPECT_EQ(t.request_share, 1.0);

  // Each group against its own recomputation.
  int64_t group_requests = 0;
  double share = 0;
  for (const GroupStats& g : report.groups) {
    std::vector<int64_t> lat;
    double gcost = 0;
    int64_t n = 0, tokens = 0;
    for (const Row& r : rows) {
      std::string value = by == GroupBy::kRoute      ? r.route
                          : by == GroupBy::kTier     ? r.tier
                          : by == GroupBy::kProvider ? r.provider
                          : by == GroupBy::kModel    ? r.model
                          : by == GroupBy::kKey      ? r.key
                                                     : r.team;
      if ((value.empty() ? "(none)" : value) != g.name) continue;
      ++n;
      gcost += r.cost_usd;
      tokens += r.input_tokens + r.output_tokens;
      lat.push_back(r.latency_ms);
    }
    EXPECT_EQ(g.requests, n) << g.name;
    EXPECT_EQ(g.cost_usd, gcost) << g.name;
    EXPECT_EQ(g.usd_per_mtok, gcost / static_cast<double>(tokens) * 1e6) << g.name;
    EXPECT_EQ(g.request_share, static_cast<double>(n) / 2000.0) << g.name;
    EXPECT_EQ(g.p50_latency_ms, ReferencePercentile(lat, 50)) << g.name;
    EXPECT_EQ(g.p95_latency_ms, ReferencePercentile(lat, 95)) << g.name;
    group_requests += g.requests;
    share += g.request_share;
  }
  EXPECT_EQ(group_requests, 2000);
  EXPECT_NEAR(share, 1.0, 1e-12);
  for (size_t i = 1; i < report.groups.size(); ++i) {
    EXPECT_GE(report.groups[i - 1].cost_usd, report.groups[i].cost_usd);
  }
}

INSTANTIATE_TEST_SUITE_P(AllGroupings, AggregateTest,
                         ::testing::Values(GroupBy::kRoute, GroupBy::kTier, GroupBy::kProvider,
                                           GroupBy::kModel, GroupBy::kKey, GroupBy::kTeam));

TEST(AggregateTest, EmptyInput) {
  const Report r = Aggregate({}, GroupBy::kModel);
  EXPECT_EQ(r.total.requests, 0);
  EXPECT_TRUE(r.groups.empty());
  EXPECT_EQ(r.total.usd_per_mtok, 0);
  EXPECT_NE(RenderTable(r).find("TOTAL"), std::string::npos);
  EXPECT_FALSE(boost::json::parse(RenderJson(r)).as_object().empty());
}

TEST(RenderTest, JsonAndCsvCarryTheExactNumbers) {
  const std::vector<Row> rows = RandomRows(500, 11);
  const Report report = Aggregate(rows, GroupBy::kTier);
  const boost::json::object json = boost::json::parse(RenderJson(report)).as_object();
  EXPECT_EQ(json.at("by").as_string(), "tier");
  EXPECT_EQ(json.at("total").at("cost_usd").as_double(), report.total.cost_usd);
  EXPECT_EQ(json.at("total").at("requests").as_int64(), 500);
  EXPECT_EQ(json.at("groups").as_array().size(), report.groups.size());

  const std::string csv = RenderCsv(report);
  EXPECT_EQ(csv.rfind("tier,requests,request_share,", 0), 0u) << csv;
  EXPECT_EQ(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')),
            report.groups.size() + 1);
  const std::string table = RenderTable(report);
  EXPECT_NE(table.find("TOTAL"), std::string::npos);
  EXPECT_NE(table.find("p95_ms"), std::string::npos);
  for (const GroupStats& g : report.groups) EXPECT_NE(table.find(g.name), std::string::npos);
}

TEST(RenderTest, CsvQuotesAwkwardNames) {
  Row r = MakeRow(1);
  r.team = "R&D, \"core\"";
  const std::string csv = RenderCsv(Aggregate(std::span<const Row>(&r, 1), GroupBy::kTeam));
  EXPECT_NE(csv.find("\n\"R&D, \"\"core\"\"\","), std::string::npos) << csv;
}

TEST(LoadRowsTest, SinceFiltersAndRoundTripsThroughTheLedger) {
  const std::string path = FreshPath("report_load.db");
  const std::vector<Row> rows = RandomRows(300, 3);
  {
    LedgerConfig config;
    config.path = path;
    auto ledger = Ledger::Open(config);
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (const Row& r : rows) (*ledger)->Record(r);
  }
  auto all = LoadRows(path, 0);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    // Oldest first, every field intact (plus the chain the sink stamped).
    ASSERT_EQ(testing::Unchained((*all)[i]), rows[i]) << i;
  }
  const int64_t since = rows[200].time_ms;
  auto recent = LoadRows(path, since);
  ASSERT_TRUE(recent) << recent.error().message;
  EXPECT_EQ(recent->size(), 100u);
  EXPECT_EQ(Aggregate(*all, GroupBy::kModel).total.cost_usd,
            Aggregate(rows, GroupBy::kModel).total.cost_usd);
}

}  // namespace
}  // namespace hybridgate::ledger

namespace hybridgate::ledger {
namespace {

TEST(LoadRowsTest, TellsDsnsFromFiles) {
  EXPECT_TRUE(IsPostgresDsn("postgresql://gw@db/ledger"));
  EXPECT_TRUE(IsPostgresDsn("postgres://db"));
  EXPECT_TRUE(IsPostgresDsn("host=db dbname=ledger"));
  EXPECT_TRUE(IsPostgresDsn("dbname=ledger"));
  EXPECT_FALSE(IsPostgresDsn("hybridgate-ledger.db"));
  EXPECT_FALSE(IsPostgresDsn("/var/lib/hg/host=1.db"));
}

}  // namespace
}  // namespace hybridgate::ledger
