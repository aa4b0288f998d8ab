#include "quality/report.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ledger/sink.h"
#include "ledger/testing/pg_cluster.h"
#include "quality/cli.h"

namespace hybridgate::quality {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

StoredComparison Compared(const std::string& route, const std::string& shadow,
                          std::vector<Score> scores, double primary_cost, double shadow_cost,
                          bool shadow_ok = true) {
  static int made = 0;
  StoredComparison row;
  Comparison& c = row.comparison;
  c.request_id = "hg-c" + std::to_string(++made);
  c.time_ms = kT0;
  c.route = route;
  c.primary = {.deployment = "cloud/gpt-4o", .ok = true, .cost_usd = primary_cost};
  c.shadow = {.deployment = shadow, .ok = shadow_ok, .cost_usd = shadow_cost};
  c.scores = std::move(scores);
  return row;
}

Feedback Rating(const std::string& request_id, const std::string& route, const std::string& kind,
                double score) {
  return {.request_id = request_id,
          .kind = kind,
          .score = score,
          .time_ms = kT0 + 5,
          .request_time_ms = kT0,
          .route = route};
}

TEST(QualityReport, IntervalsAreWilsonForZeroOneScoresAndNormalOtherwise) {
  const std::vector<double> eight_of_ten = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  const MeanScore w = Summarize(eight_of_ten);
  EXPECT_EQ(w.n, 10);
  EXPECT_DOUBLE_EQ(w.mean, 0.8);
  EXPECT_EQ(w.interval, "wilson");
  EXPECT_NEAR(w.low, 0.490162, 1e-6);
  EXPECT_NEAR(w.high, 0.943318, 1e-6);
  const std::vector<double> none_of_three = {0, 0, 0};
  EXPECT_NEAR(Summarize(none_of_three).high, 0.561497, 1e-6);  // never [0, 0]
  const std::vector<double> graded = {0.2, 0.4, 0.9};
  const MeanScore n = Summarize(graded);
  EXPECT_EQ(n.interval, "normal");
  EXPECT_NEAR(n.mean, 0.5, 1e-12);
  EXPECT_NEAR(n.low, 0.092001, 1e-6);
  EXPECT_NEAR(n.high, 0.907999, 1e-6);
  const std::vector<double> one = {0.3};
  EXPECT_EQ(Summarize(one).low, 0);
  EXPECT_EQ(Summarize(one).high, 1);
  EXPECT_EQ(Summarize({}).interval, "");
}

TEST(QualityReport, PairwiseVerdictsComeFromTheJudgeThenAnExactMatch) {
  auto of = [](std::vector<Score> scores) {
    Comparison c;
    c.scores = std::move(scores);
    return PairwiseOf(c);
  };
  EXPECT_EQ(of({{"exact", 1}}), Pairwise::kTie);
  EXPECT_EQ(of({{"exact", 0}}), Pairwise::kUndecided);
  EXPECT_EQ(of({{"json", 1}}), Pairwise::kUndecided);
  EXPECT_EQ(of({{"exact", 0}, {"judge", 1}}), Pairwise::kWin);
  EXPECT_EQ(of({{"exact", 1}, {"judge", 0}}), Pairwise::kLoss);
  EXPECT_EQ(of({{"judge", 0.5}}), Pairwise::kTie);
}

ReportInput Sample() {
  ReportInput in;
  in.comparisons = {
      Compared("support", "local/llama", {{"exact", 1}}, 0.002, 0.0002),
      Compared("support", "local/llama", {{"exact", 0}, {"judge", 1}}, 0.002, 0.0002),
      Compared("support", "local/llama", {{"exact", 0}, {"judge", 0}}, 0.002, 0.0002),
      Compared("support", "local/llama", {}, 0.002, 0, /*shadow_ok=*/false),
      Compared("support", "local/mistral", {{"exact", 0}}, 0.004, 0.001),
      Compared("code", "local/llama", {{"exact", 1}}, 0.01, 0.001),
  };
  in.feedback = {Rating("hg-1", "support", "thumbs", 1), Rating("hg-1", "support", "rating", 0.5),
                 Rating("hg-2", "support", "thumbs", -1), Rating("hg-9", "code", "thumbs", 1)};
  in.traffic.emplace();
  (*in.traffic)["support"] = {.answered = 40, .cost_usd = 0.08};
  (*in.traffic)["code"] = {.answered = 0};
  return in;
}

TEST(QualityReport, NumbersPerRouteAndShadowDeployment) {
  const QualityReport report = BuildQualityReport(Sample());
  ASSERT_EQ(report.routes.size(), 2u);
  const RouteStats& code = report.routes[0];
  EXPECT_EQ(code.route, "code");
  EXPECT_EQ(code.answered, 0);
  EXPECT_FALSE(code.feedback_rate);  // no answered requests: no rate
  EXPECT_FALSE(code.usd_per_1k);
  const RouteStats& support = report.routes[1];
  EXPECT_EQ(support.route, "support");
  EXPECT_EQ(support.answered, 40);
  EXPECT_DOUBLE_EQ(*support.usd_per_1k, 2.0);  // 0.08 over 40, per 1000
  EXPECT_EQ(support.feedback_count, 3);
  EXPECT_EQ(support.rated_requests, 2);
  EXPECT_DOUBLE_EQ(*support.feedback_rate, 2.0 / 40);
  EXPECT_DOUBLE_EQ(support.feedback.mean, (1 + 0.5 + 0) / 3);  // a thumbs down counts 0
  EXPECT_EQ(support.feedback.interval, "normal");
  EXPECT_DOUBLE_EQ(*support.usd_per_quality_point, 2.0 / 0.5);
  ASSERT_EQ(support.shadows.size(), 2u);
  const ShadowStats& llama = support.shadows[0];
  EXPECT_EQ(llama.deployment, "local/llama");
  EXPECT_EQ(llama.primaries, std::vector<std::string>{"cloud/gpt-4o"});
  EXPECT_EQ(llama.shadowed, 4);
  EXPECT_EQ(llama.compared, 3);
  EXPECT_EQ(llama.shadow_failed, 1);
  EXPECT_EQ(llama.win, 1);
  EXPECT_EQ(llama.tie, 1);
  EXPECT_EQ(llama.loss, 1);
  EXPECT_EQ(llama.undecided, 0);
  EXPECT_DOUBLE_EQ(llama.primary_usd_per_1k, 2.0);
  EXPECT_DOUBLE_EQ(llama.shadow_usd_per_1k, 0.0006 / 4 * 1000);
  ASSERT_EQ(llama.comparators.size(), 2u);
  EXPECT_EQ(llama.comparators[0].comparator, "exact");
  EXPECT_EQ(llama.comparators[0].score.n, 3);
  EXPECT_DOUBLE_EQ(llama.comparators[0].score.mean, 1.0 / 3);
  EXPECT_DOUBLE_EQ(*llama.comparators[0].usd_per_quality_point, 0.15 / (1.0 / 3));
  EXPECT_EQ(llama.comparators[1].comparator, "judge");
  EXPECT_EQ(llama.comparators[1].score.n, 2);
  const ShadowStats& mistral = support.shadows[1];
  EXPECT_EQ(mistral.undecided, 1);
  EXPECT_FALSE(mistral.comparators[0].usd_per_quality_point);  // a mean of 0 has no cost per point

  ReportInput only = Sample();
  only.route = "support";
  EXPECT_EQ(BuildQualityReport(only).routes.size(), 1u);
  only.route = "quiet";  // asked for: listed, with its (absent) traffic
  const QualityReport quiet = BuildQualityReport(only);
  ASSERT_EQ(quiet.routes.size(), 1u);
  EXPECT_EQ(quiet.routes[0].answered, 0);
  EXPECT_EQ(quiet.routes[0].feedback.n, 0);
  ReportInput no_ledger = Sample();
  no_ledger.traffic.reset();
  EXPECT_FALSE(BuildQualityReport(no_ledger).routes[1].answered);
  EXPECT_FALSE(BuildQualityReport(no_ledger).routes[1].feedback_rate);
}

TEST(QualityReport, JsonCsvAndTableSayTheSame) {
  const QualityReport report = BuildQualityReport(Sample());
  const boost::json::value json = boost::json::parse(RenderQualityJson(report));
  const auto& support = json.at("routes").at(1).as_object();
  EXPECT_EQ(support.at("route"), "support");
  EXPECT_EQ(support.at("answered"), 40);
  EXPECT_EQ(support.at("feedback").at("count"), 3);
  EXPECT_EQ(support.at("feedback").at("interval"), "normal");
  const auto& llama = support.at("shadows").at(0).as_object();
  EXPECT_EQ(llama.at("deployment"), "local/llama");
  EXPECT_EQ(llama.at("win"), 1);
  EXPECT_EQ(llama.at("comparators").at(0).at("comparator"), "exact");
  EXPECT_EQ(llama.at("comparators").at(0).at("ci95").as_array().size(), 2u);
  EXPECT_TRUE(json.at("routes").at(0).at("feedback").at("rate").is_null());

  const std::string csv = RenderQualityCsv(report);
  std::istringstream lines(csv);
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) all.push_back(line);
  // Header; code: feedback, llama exact; support: feedback, llama exact + judge, mistral exact.
  ASSERT_EQ(all.size(), 7u) << csv;
  EXPECT_TRUE(all[0].starts_with("route,deployment,comparator,n,mean,ci95_low,ci95_high,"));
  EXPECT_TRUE(all[3].starts_with("support,,feedback,3,0.5,")) << all[3];
  EXPECT_TRUE(all[4].starts_with("support,local/llama,exact,3,")) << all[4];
  EXPECT_NE(all[4].find(",4,1,1,1,1,0,,,"), std::string::npos) << all[4];

  const std::string table = RenderQualityTable(report);
  EXPECT_NE(table.find("W/T/L/U"), std::string::npos) << table;
  EXPECT_NE(table.find("1/1/1/0"), std::string::npos) << table;
  EXPECT_NE(table.find("5.00%"), std::string::npos) << table;  // support's feedback rate
  EXPECT_EQ(RenderQualityTable(QualityReport{}), "no comparisons or feedback in this period\n");
}

// --- the command, over real stores -------------------------------------------------------------

ledger::Row LedgerRow(const std::string& id, const std::string& route, int64_t status, double cost,
                      const std::string& endpoint = "chat_completions") {
  ledger::Row row;
  row.id = id;
  row.time_ms = kT0;
  row.endpoint = endpoint;
  row.route = route;
  row.status = status;
  row.cost_usd = cost;
  return row;
}

// Writes two comparisons, a rating and four ledger rows where `config` says, then checks the
// report's JSON against them.
void ReportOverStores(const std::string& config_path, const StoreConfig& store,
                      const std::string& ledger_source) {
  {
    auto comparisons = ComparisonStore::Open(store);
    ASSERT_TRUE(comparisons) << comparisons.error().message;
    (*comparisons)
        ->Save(Compared("support", "local/llama", {{"exact", 1}}, 0.002, 0.0004).comparison);
    (*comparisons)
        ->Save(Compared("support", "local/llama", {{"exact", 0}}, 0.004, 0.0002).comparison);
    auto feedback = FeedbackStore::Open(store);
    ASSERT_TRUE(feedback) << feedback.error().message;
    ASSERT_TRUE((*feedback)->Remember({.request_id = "hg-r1", .time_ms = kT0, .route = "support"}));
    auto input = ParseFeedback(R"({"request_id":"hg-r1","score":-1,"kind":"thumbs"})");
    ASSERT_TRUE(input);
    boost::asio::io_context io;
    bool found = false;
    boost::asio::co_spawn(
        io, (*feedback)->Rate(*input, 1, "", true),
        [&](std::exception_ptr, Result<FeedbackStore::Rated> r) { found = r && r->found; });
    io.run();
    ASSERT_TRUE(found);
  }
  auto sink = ledger_source.find('=') != std::string::npos || ledger_source.starts_with("postgres")
                  ? ledger::OpenPostgresSink(ledger_source)
                  : ledger::OpenSqliteSink(ledger_source);
  ASSERT_TRUE(sink) << sink.error().message;
  std::vector<ledger::Row> rows = {
      LedgerRow("hg-r1", "support", 200, 0.003), LedgerRow("hg-r2", "support", 200, 0.001),
      LedgerRow("hg-r3", "support", 502, 0.5),
      LedgerRow("hg-r1/shadow/local/llama", "support", 200, 0.5, "shadow"),
      LedgerRow("hg-r1/judge/1", "support", 200, 0.7, "judge")};
  ASSERT_TRUE((*sink)->Write(rows));

  std::ostringstream out, err;
  ASSERT_EQ(RunQualityReport({.config = config_path, .format = "json"}, out, err), 0) << err.str();
  const boost::json::value json = boost::json::parse(out.str());
  ASSERT_EQ(json.at("routes").as_array().size(), 1u) << out.str();
  const auto& support = json.at("routes").at(0);
  EXPECT_EQ(support.at("answered"), 2);  // the 502 and the shadow and judge calls do not count
  EXPECT_DOUBLE_EQ(support.at("usd_per_1k").to_number<double>(), 0.004 / 2 * 1000);
  const auto& llama = support.at("shadows").at(0);
  EXPECT_EQ(llama.at("shadowed"), 2);
  EXPECT_EQ(llama.at("tie"), 1);
  EXPECT_EQ(llama.at("undecided"), 1);
  EXPECT_DOUBLE_EQ(llama.at("primary_usd_per_1k").to_number<double>(), 0.006 / 2 * 1000);
  EXPECT_DOUBLE_EQ(llama.at("shadow_usd_per_1k").to_number<double>(), 0.0006 / 2 * 1000);
  EXPECT_DOUBLE_EQ(llama.at("comparators").at(0).at("mean").to_number<double>(), 0.5);
  const auto& feedback = support.at("feedback");
  EXPECT_EQ(feedback.at("count"), 1);
  EXPECT_DOUBLE_EQ(feedback.at("rate").to_number<double>(), 0.5);  // one of the two answered
  EXPECT_DOUBLE_EQ(feedback.at("mean").to_number<double>(), 0);    // a thumbs down
  EXPECT_TRUE(feedback.at("usd_per_quality_point").is_null());

  std::ostringstream since_out;
  ASSERT_EQ(
      RunQualityReport({.config = config_path, .since = "1h", .format = "csv"}, since_out, err), 0)
      << err.str();
  EXPECT_EQ(since_out.str().find("support"), std::string::npos)  // kT0 is long ago
      << since_out.str();
}

std::string WriteConfig(const std::string& dir, const std::string& yaml) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/gw.yaml";
  std::ofstream(path) << "providers: [{name: p, type: openai, base_url: 'http://127.0.0.1:9/v1', "
                         "models: [{name: m}]}]\n"
                      << yaml;
  return path;
}

TEST(QualityCommand, ReportsFromTheConfigsSqliteStoresRelativeToIt) {
  const std::string dir = ::testing::TempDir() + "/hg_quality_cli";
  std::filesystem::remove_all(dir);
  const std::string config =
      WriteConfig(dir, "ledger: {path: ledger.db}\nquality: {path: q/quality.db}\n");
  std::filesystem::create_directories(dir + "/q");
  ReportOverStores(config, {.path = dir + "/q/quality.db", .retention_days = 100000},
                   dir + "/ledger.db");
}

TEST(QualityCommand, ReportsFromTheLedgersPostgresDatabase) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  const std::string dir = ::testing::TempDir() + "/hg_quality_cli_pg";
  std::filesystem::remove_all(dir);
  // No quality backend: the store is in the ledger's database.
  const std::string config =
      WriteConfig(dir, "ledger: {backend: postgres, dsn: '" + pg.dsn() + "'}\n");
  ReportOverStores(config, {.backend = "postgres", .dsn = pg.dsn(), .retention_days = 100000},
                   pg.dsn());
}

TEST(QualityCommand, BadInputExitsTwoAndSaysWhy) {
  const std::string dir = ::testing::TempDir() + "/hg_quality_cli_bad";
  std::filesystem::remove_all(dir);
  const std::string config = WriteConfig(dir, "ledger: {path: ledger.db}\n");
  struct Case {
    ReportOptions options;
    const char* says;
  };
  const Case cases[] = {
      {{.config = config, .format = "xml"}, "unknown format 'xml'"},
      {{.config = config, .since = "7 days"}, "--since"},
      {{.config = dir + "/missing.yaml"}, "missing.yaml"},
      {{.config = config}, "no quality store at"},
      {{}, "--config"},
  };
  for (const Case& c : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(RunQualityReport(c.options, out, err), 2) << c.says;
    EXPECT_NE(err.str().find(c.says), std::string::npos) << err.str();
    EXPECT_TRUE(err.str().starts_with("quality report: error: ")) << err.str();
    EXPECT_EQ(out.str(), "");
  }
}

}  // namespace
}  // namespace hybridgate::quality
