#include "ledger/cli.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "ledger/test_util.h"

namespace hybridgate::ledger {
namespace {

using testing::FreshPath;
using testing::MakeRow;

struct Output {
  int code = -1;
  std::string out, err;
};

Output RunCli(ReportOptions o) {
  std::ostringstream out, err;
  Output r;
  r.code = RunReport(o, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

class ReportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = FreshPath("cli.db");
    LedgerConfig config;
    config.path = path_;
    auto ledger = Ledger::Open(config);
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (int i = 0; i < 50; ++i) (*ledger)->Record(MakeRow(i));
  }
  ReportOptions Options() const {
    ReportOptions o;
    o.ledger = path_;
    return o;
  }
  std::string path_;
};

TEST_F(ReportCliTest, PrintsEachFormat) {
  ReportOptions o = Options();
  Output table = RunCli(o);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("TOTAL"), std::string::npos);
  o.format = "json";
  o.by = "model";
  Output json = RunCli(o);
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(boost::json::parse(json.out).at("total").at("requests").as_int64(), 50);
  o.format = "csv";
  o.by = "team";
  Output csv = RunCli(o);
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("team,requests,", 0), 0u);
}

TEST_F(ReportCliTest, SinceIsRelativeToNow) {
  ReportOptions o = Options();
  o.format = "json";
  o.since = "10s";
  o.now_ms = MakeRow(49).time_ms;  // rows are 1 s apart: rows 39..49 are within 10 s
  Output r = RunCli(o);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).at("total").at("requests").as_int64(), 11);
}

TEST_F(ReportCliTest, ReadsTheLedgerLocationFromTheConfig) {
  const std::string config = FreshPath("cli_config.yaml");
  std::ofstream(config) << "listen: 0.0.0.0:8080\nledger:\n  path: " << path_ << "\n";
  ReportOptions o;
  o.config = config;
  o.format = "json";
  Output r = RunCli(o);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).at("total").at("requests").as_int64(), 50);

  std::ofstream(config) << "ledger:\n  flush_interval_ms: 999\n";
  r = RunCli(o);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'ledger.flush_interval_ms': must be 1..200"), std::string::npos) << r.err;
}

// A join (cli.h) with two lines for one route and one for another, as the quality library gives.
ReportJoin FakeJoin(std::vector<ReportJoinInput>* seen) {
  return [seen](const ReportJoinInput& in) -> Result<std::optional<JoinedColumns>> {
    seen->push_back(in);
    JoinedColumns j{.name = "quality",
                    .table_headers = {"shadow", "score"},
                    .csv_headers = {"shadow_deployment", "mean_score"}};
    j.groups["code"] = {{{"local/a", "0.500"}, {"local/a", "0.5"}, R"({"s":"a"})"},
                        {{"local/bb", "1.000"}, {"local/bb", "1"}, R"({"s":"bb"})"}};
    j.groups["cheap"] = {{{"x,y", "-"}, {"x,y", ""}, R"({"s":"x"})"}};
    j.groups["absent"] = {{{"z", "1"}, {"z", "1"}, R"({"s":"z"})"}};
    return std::optional<JoinedColumns>(std::move(j));
  };
}

TEST_F(ReportCliTest, AJoinAddsItsColumnsToEachFormat) {
  const std::string config = FreshPath("join_config.yaml");
  std::ofstream(config) << "ledger:\n  path: " << path_ << "\n";
  std::vector<ReportJoinInput> seen;
  ReportOptions o;
  o.config = config;
  o.join = FakeJoin(&seen);
  o.since = "1h";
  o.now_ms = MakeRow(49).time_ms;
  Output table = RunCli(o);
  ASSERT_EQ(table.code, 0) << table.err;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].config, config);
  EXPECT_EQ(seen[0].since_ms, MakeRow(49).time_ms - 3'600'000);
  EXPECT_EQ(seen[0].by, GroupBy::kRoute);
  // The ledger's table, each line extended: the header by the join's, a route's line by its
  // first joined line, its further ones below it, the rule by dashes, the rest by nothing.
  ReportOptions plain = o;
  plain.join = nullptr;
  const std::string base = RunCli(plain).out;
  std::vector<std::string> base_lines, lines;
  for (std::istringstream in(base); std::getline(in, base_lines.emplace_back());) {
  }
  for (std::istringstream in(table.out); std::getline(in, lines.emplace_back());) {
  }
  base_lines.pop_back();
  lines.pop_back();
  ASSERT_EQ(lines.size(), base_lines.size() + 1) << table.out;
  const size_t w = base_lines[0].size();
  EXPECT_EQ(lines[0], base_lines[0] + "  shadow    score");
  size_t at = 1;
  for (size_t i = 1; i + 2 < base_lines.size(); ++i) {
    const std::string name = base_lines[i].substr(0, base_lines[i].find(' '));
    std::string padded = base_lines[i];
    padded.resize(w, ' ');
    if (name == "code") {
      EXPECT_EQ(lines[at++], padded + "  local/a   0.500");
      EXPECT_EQ(lines[at++], std::string(w, ' ') + "  local/bb  1.000");
    } else if (name == "cheap") {
      EXPECT_EQ(lines[at++], padded + "  x,y           -");
    } else {
      EXPECT_EQ(lines[at++], base_lines[i]);
    }
  }
  EXPECT_EQ(lines[at++], base_lines[base_lines.size() - 2] + std::string(17, '-'));
  EXPECT_EQ(lines[at++], base_lines.back());
  EXPECT_EQ(table.out.find("absent"), std::string::npos);

  o.format = "csv";
  plain.format = "csv";
  Output csv = RunCli(o);
  ASSERT_EQ(csv.code, 0) << csv.err;
  const std::string base_csv = RunCli(plain).out;
  const std::string header = base_csv.substr(0, base_csv.find('\n'));
  EXPECT_EQ(csv.out.rfind(header + ",shadow_deployment,mean_score\n", 0), 0u) << csv.out;
  const size_t commas = static_cast<size_t>(std::count(header.begin(), header.end(), ','));
  EXPECT_NE(csv.out.find(",local/a,0.5\ncode" + std::string(commas, ',') + ",local/bb,1\n"),
            std::string::npos)
      << csv.out;
  EXPECT_NE(csv.out.find(",\"x,y\",\n"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("\ndefault,"), std::string::npos);

  o.format = "json";
  Output json = RunCli(o);
  ASSERT_EQ(json.code, 0) << json.err;
  const boost::json::value v = boost::json::parse(json.out);
  EXPECT_EQ(v.at("total").at("requests").as_int64(), 50);
  EXPECT_EQ(boost::json::serialize(v.at("quality")),
            R"({"code":[{"s":"a"},{"s":"bb"}],"cheap":[{"s":"x"}]})");

  // Without --config (the ledger named directly) there is no join.
  ReportOptions direct = Options();
  direct.join = FakeJoin(&seen);
  seen.clear();
  EXPECT_EQ(RunCli(direct).code, 0);
  EXPECT_TRUE(seen.empty());
  // A failing join fails the report.
  o.join = [](const ReportJoinInput&) -> Result<std::optional<JoinedColumns>> {
    return Fail(MakeError(ErrorCode::kInvalidRequest, "no quality store at 'q.db'"));
  };
  Output bad = RunCli(o);
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err, "report: error: no quality store at 'q.db'\n");
}

TEST_F(ReportCliTest, BadInputIsAClearErrorAndExitTwo) {
  const std::string corrupt = FreshPath("corrupt.db");
  std::ofstream(corrupt) << std::string(4096, 'x');
  const std::string other = FreshPath("other.db");
  {
    sqlite3* db = nullptr;
    sqlite3_open(other.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE t (x INTEGER)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  struct Case {
    std::function<void(ReportOptions&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](ReportOptions& o) { o.by = "colour"; }, "--by: unknown grouping 'colour'"},
      {[](ReportOptions& o) { o.since = "7 days"; }, "--since: cannot read '7 days'"},
      {[](ReportOptions& o) { o.since = "-1h"; }, "--since"},
      {[](ReportOptions& o) { o.format = "xml"; }, "--format: unknown format 'xml'"},
      {[](ReportOptions& o) { o.ledger = "/nonexistent/ledger.db"; }, "no such file"},
      {[&](ReportOptions& o) { o.ledger = corrupt; }, "file is not a database"},
      {[&](ReportOptions& o) { o.ledger = other; }, "no such table: requests"},
      {[](ReportOptions& o) { o.config = "gw.yaml"; }, "exactly one of --ledger"},
      {[](ReportOptions& o) { o.ledger.clear(); }, "exactly one of --ledger"},
      {[](ReportOptions& o) {
         o.ledger.clear();
         o.config = "/nonexistent/gw.yaml";
       },
       "/nonexistent/gw.yaml: cannot read the file"},
  };
  for (const Case& c : cases) {
    ReportOptions o = Options();
    c.change(o);
    Output r = RunCli(o);
    EXPECT_EQ(r.code, 2) << c.message;
    EXPECT_TRUE(r.out.empty()) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

TEST_F(ReportCliTest, RegistersTheSubcommand) {
  CLI::App app("test");
  int exit_code = -1;
  AddReportCommand(app, exit_code);
  ::testing::internal::CaptureStdout();
  app.parse("report --ledger " + path_ + " --by provider --format csv", false);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(out.rfind("provider,requests,", 0), 0u) << out;

  CLI::App app2("test");
  exit_code = -1;
  AddReportCommand(app2, exit_code);
  ::testing::internal::CaptureStderr();
  app2.parse("report --ledger " + path_ + " --by nope", false);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(exit_code, 2);
  EXPECT_NE(err.find("unknown grouping 'nope'"), std::string::npos) << err;
}

// `hybridgate audit` and `audit verify`: exit codes and what they print.
class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = FreshPath("audit_cli.db");
    config_ = FreshPath("audit_cli.yaml");
    std::ofstream(config_) << "ledger:\n  path: " << path_ << "\n";
    rows_.clear();
    for (int i = 0; i < 20; ++i) rows_.push_back(Allowed(i));
    Write(rows_);
  }
  // A row that went where its class may go.
  static Row Allowed(int i) {
    Row r = MakeRow(i);
    r.data_class = 1 + i % 2;
    r.provider = "openai";
    r.provider_zone = "external";
    r.provider_max_class = 2;
    r.residency_action = "none";
    r.egress = "openai:external:2:ok";
    return r;
  }
  void Write(const std::vector<Row>& rows) {
    LedgerConfig config;
    config.path = path_;
    auto ledger = Ledger::Open(config);
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (const Row& r : rows) (*ledger)->Record(r);
    ASSERT_TRUE((*ledger)->Flush());
  }
  AuditOptions Options() const {
    AuditOptions o;
    o.config = config_;
    return o;
  }
  static Output Audit(const AuditOptions& o) {
    std::ostringstream out, err;
    Output r;
    r.code = RunAudit(o, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
  static Output Verify(const AuditOptions& o) {
    std::ostringstream out, err;
    Output r;
    r.code = RunAuditVerify(o, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    sqlite3_close(db);
  }
  std::string path_, config_;
  std::vector<Row> rows_;
};

TEST_F(AuditCliTest, NoViolationsAndAnIntactChainExitZero) {
  Output audit = Audit(Options());
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_NE(audit.out.find("Data residency: 20 requests"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("no violations: "), std::string::npos) << audit.out;
  AuditOptions o = Options();
  o.format = "json";
  Output json = Audit(o);
  ASSERT_EQ(json.code, 0) << json.err;
  const boost::json::value v = boost::json::parse(json.out);
  EXPECT_EQ(v.at("requests").as_int64(), 20);
  EXPECT_EQ(v.at("verdict").as_string(), "no violations");
  ASSERT_EQ(v.at("groups").as_array().size(), 2u);  // classes 1 and 2, both to openai
  EXPECT_EQ(v.at("groups").at(0).at("requests").as_int64(), 10);
  EXPECT_EQ(v.at("groups").at(0).at("zone").as_string(), "external");

  Output verify = Verify(Options());
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_EQ(verify.out.rfind("20 rows, chain intact; head seq 20 hash ", 0), 0u) << verify.out;
  EXPECT_EQ(std::count(verify.out.begin(), verify.out.end(), '\n'), 1);  // one line
}

TEST_F(AuditCliTest, AViolationExitsOneAndListsTheRow) {
  Row planted = Allowed(100);
  planted.id = "planted-violation";
  planted.data_class = 4;
  Write({planted});
  Output r = Audit(Options());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("1 VIOLATION: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seq 21 (id planted-violation, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data class 4 sent to openai (external, max_data_class 2)"),
            std::string::npos)
      << r.out;
  // --since: rows from 10 s before "now" on.
  AuditOptions o = Options();
  o.format = "json";
  o.since = "10s";
  o.now_ms = MakeRow(100).time_ms;  // only the planted row is that recent
  Output recent = Audit(o);
  EXPECT_EQ(recent.code, 1) << recent.err;
  EXPECT_EQ(boost::json::parse(recent.out).at("requests").as_int64(), 1);
  o.now_ms = MakeRow(200).time_ms;  // nothing is
  Output none = Audit(o);
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(boost::json::parse(none.out).at("requests").as_int64(), 0);
}

TEST_F(AuditCliTest, VerifyNamesTheFirstBrokenRowAndExitsOne) {
  Tamper("UPDATE requests SET cost_usd = 0, data_class = 1 WHERE seq = 7");
  Output edited = Verify(Options());
  EXPECT_EQ(edited.code, 1);
  EXPECT_EQ(edited.out.rfind("chain broken at seq 7 (id " + rows_[6].id + "): hash mismatch", 0),
            0u)
      << edited.out;

  SetUp();  // a fresh ledger
  Tamper("DELETE FROM requests WHERE seq = 12");
  Output deleted = Verify(Options());
  EXPECT_EQ(deleted.code, 1);
  EXPECT_EQ(
      deleted.out.rfind("chain broken at seq 13 (id " + rows_[12].id + "): prev_hash mismatch", 0),
      0u)
      << deleted.out;
}

// The chain alone cannot show rows cut off its end; the anchor the writer keeps beside the
// ledger can, and the gateway refuses to chain on from the cut (which would overwrite it).
TEST_F(AuditCliTest, RowsCutOffTheEndAreFoundThroughTheAnchor) {
  Output clean = Verify(Options());
  EXPECT_EQ(clean.code, 0) << clean.err;
  EXPECT_NE(clean.out.find("; the anchor '" + path_ + ".head' (seq 20) agrees"), std::string::npos)
      << clean.out;
  Tamper("DELETE FROM requests WHERE seq > 17");
  Output cut = Verify(Options());
  EXPECT_EQ(cut.code, 1);
  EXPECT_EQ(cut.out.rfind("chain broken after seq 17: the anchor holds seq 20 (hash ", 0), 0u)
      << cut.out;
  EXPECT_NE(cut.out.find("the table ends at seq 17 — rows were cut off the end"), std::string::npos)
      << cut.out;
  LedgerConfig config;
  config.path = path_;
  auto refused = Ledger::Open(config);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("rows were cut off the end of the ledger"),
            std::string::npos)
      << refused.error().message;
  // Rows chained on after the cut (by an old binary, or with the anchor moved aside) rewrite the
  // anchor's seq: found too.
  std::rename((path_ + ".head").c_str(), (path_ + ".head.kept").c_str());
  Write({Allowed(50), Allowed(51), Allowed(52), Allowed(53)});
  AuditOptions kept = Options();
  kept.anchor = path_ + ".head.kept";
  Output rewritten = Verify(kept);
  EXPECT_EQ(rewritten.code, 1);
  EXPECT_NE(rewritten.out.find("the row at the anchor's seq 20 has hash "), std::string::npos)
      << rewritten.out;
  // The new anchor agrees with the new table; a missing --anchor is bad input.
  EXPECT_EQ(Verify(Options()).code, 0);
  kept.anchor = path_ + ".nowhere";
  Output missing = Verify(kept);
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;
  std::remove((path_ + ".head.kept").c_str());
}

TEST_F(AuditCliTest, BadInputExitsTwoWithAClearMessage) {
  const std::string corrupt = FreshPath("audit_corrupt.db");
  std::ofstream(corrupt) << std::string(4096, 'x');
  struct Case {
    std::function<void(AuditOptions&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](AuditOptions& o) { o.config = "/nonexistent/gw.yaml"; },
       "/nonexistent/gw.yaml: cannot read the file"},
      {[](AuditOptions& o) {
         o.config.clear();
         o.ledger = "/nonexistent/ledger.db";
       },
       "no such file"},
      {[&](AuditOptions& o) {
         o.config.clear();
         o.ledger = corrupt;
       },
       "file is not a database"},
      {[](AuditOptions& o) { o.config.clear(); }, "exactly one of --ledger"},
      {[](AuditOptions& o) { o.ledger = "x.db"; }, "exactly one of --ledger"},
  };
  for (const Case& c : cases) {
    AuditOptions o = Options();
    c.change(o);
    for (const Output& r : {Audit(o), Verify(o)}) {
      EXPECT_EQ(r.code, 2) << c.message;
      EXPECT_TRUE(r.out.empty()) << c.message;
      EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    }
  }
  AuditOptions o = Options();
  o.format = "csv";
  Output r = Audit(o);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("audit: error: --format: unknown format 'csv'"), std::string::npos) << r.err;
  o = Options();
  o.since = "forever";
  r = Audit(o);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--since: cannot read 'forever'"), std::string::npos) << r.err;
}

TEST_F(AuditCliTest, RegistersAuditAndVerify) {
  struct Case {
    std::string args;
    int code;
    std::string out;
  };
  Tamper("UPDATE requests SET data_class = 5 WHERE seq = 3");  // no longer matches its hash
  const std::vector<Case> cases = {
      {"audit --config " + config_, 1, "1 VIOLATION: "},  // the edit made seq 3 a violation
      {"audit verify --config " + config_, 1, "chain broken at seq 3 "},
      {"audit --config " + config_ + " verify", 1, "chain broken at seq 3 "},
      {"audit verify --ledger " + path_, 1, "chain broken at seq 3 "},
      {"audit verify --config /nonexistent.yaml", 2, ""},
  };
  for (const Case& c : cases) {
    CLI::App app("test");
    int exit_code = -1;
    AddAuditCommand(app, exit_code);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    app.parse(c.args, false);
    const std::string out = ::testing::internal::GetCapturedStdout();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(exit_code, c.code) << c.args << "\n" << out << err;
    EXPECT_NE(out.find(c.out), std::string::npos) << c.args << "\n" << out;
    // `audit verify` only verifies: the residency table is not printed as well.
    if (c.args.find("verify") != std::string::npos) {
      EXPECT_EQ(out.find("Data residency"), std::string::npos) << out;
    }
  }
}

}  // namespace
}  // namespace hybridgate::ledger
