#include "ledger/cli.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

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

}  // namespace
}  // namespace hybridgate::ledger
