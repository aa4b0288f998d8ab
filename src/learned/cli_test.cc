#include "learned/cli.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "common/cli_testing.h"
#include "learned/test_util.h"

namespace hybridgate::learned {
namespace {

std::string TempPath(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ToJsonl(const Dataset& ds) {
  std::string out;
  for (const Example& e : ds.examples) {
    out += "{\"id\":\"" + e.id + "\",\"benchmark\":\"" + e.benchmark + "\",\"category\":\"" +
           e.category + "\",\"prompt\":\"";
    for (char c : e.prompt) out += c == '\n' ? std::string("\\n") : std::string(1, c);
    out += "\",\"scores\":{\"weak\":" + std::to_string(e.weak) +
           ",\"strong\":" + std::to_string(e.strong) + "}}\n";
  }
  return out;
}

using RunResult = cli_testing::CliRun;

RunResult RunRouter(const std::string& command_line) {
  return cli_testing::Run([](CLI::App& app, int& code) { AddRouterCommand(app, code); },
                          command_line);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = TempPath("cli_train.jsonl");
    model_ = TempPath("cli.model");
    WriteFile(data_, ToJsonl(testing::SyntheticDataset(150)));
  }
  std::string data_, model_;
};

TEST_F(CliTest, TrainScoreEvalCalibrate) {
  RunResult t = RunRouter("router train --data " + data_ + " --out " + model_ + " --seed 3");
  ASSERT_EQ(t.exit_code, 0) << t.err;

  RunResult s = RunRouter("router score --model " + model_ + " --data " + data_);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 150);
  EXPECT_EQ(s.out.rfind("{\"id\":\"s/0\",\"score\":0.", 0), 0u) << s.out.substr(0, 80);

  const std::string svg = TempPath("cli.svg");
  RunResult e = RunRouter("router eval --model " + model_ + " --data " + data_ + " --plot " + svg);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("prompt length"), std::string::npos);
  EXPECT_NE(e.out.find("APGR"), std::string::npos);
  EXPECT_EQ(ReadFile(svg).rfind("<svg", 0), 0u);

  RunResult c =
      RunRouter("router calibrate --model " + model_ + " --data " + data_ + " --strong-share 0.2");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("\"strong_share\":0.2"), std::string::npos) << c.out;
  RunResult p =
      RunRouter("router calibrate --model " + model_ + " --data " + data_ + " --target-pgr 0.8");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("\"pgr\":"), std::string::npos) << p.out;
}

TEST_F(CliTest, CrossValidationNeedsNoModel) {
  RunResult r =
      RunRouter("router eval --cv 3 --data " + data_ + " --hash-bits 12 --subject-bits 10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("learned (3-fold CV)"), std::string::npos) << r.out;
}

TEST_F(CliTest, BadDataGivesFileAndLine) {
  const std::string bad = TempPath("cli_bad.jsonl");
  const std::string good_line = ToJsonl(testing::SyntheticDataset(1));
  struct Case {
    std::string text, extra_flags, expected;
  };
  const Case cases[] = {
      {good_line + "{\"id\":1,\"prompt\":\"x\",\n", "", "cli_bad.jsonl:2: malformed JSON"},
      {good_line + good_line + R"({"id":1,"prompt":"x","scores":{"weak":"high","strong":1}})", "",
       "cli_bad.jsonl:3: score \"weak\" is not a number"},
      {good_line, "--weak mixtral", "cli_bad.jsonl:1: unknown label \"mixtral\""},
      {"", "", "cli_bad.jsonl: no examples"},
      {R"({"id":"x","scores":{"weak":1,"strong":0}})", "",
       "cli_bad.jsonl:1: missing field \"prompt\""},
  };
  for (const Case& c : cases) {
    WriteFile(bad, c.text);
    RunResult r =
        RunRouter("router train --data " + bad + " --out " + model_ + " " + c.extra_flags);
    EXPECT_EQ(r.exit_code, 2) << c.expected;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
  WriteFile(bad, "{\"id\":1}\n");
  RunResult s = RunRouter("router score --model " + model_ + " --data " + bad);
  EXPECT_EQ(s.exit_code, 2);
}

TEST_F(CliTest, BadModelAndOptions) {
  const std::string junk = TempPath("cli_junk.model");
  WriteFile(junk, "not a model");
  RunResult r = RunRouter("router score --model " + junk + " --data " + data_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a valid model file"), std::string::npos) << r.err;
  RunResult m = RunRouter("router eval --data " + data_);
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_NE(m.err.find("--model or --cv"), std::string::npos);
  RunResult c = RunRouter("router calibrate --model " + junk + " --data " + data_);
  EXPECT_EQ(c.exit_code, 2);
  RunResult t = RunRouter("router train --data " + data_ + " --out " + model_ + " --target nope");
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_NE(t.err.find("unknown target"), std::string::npos);
  RunResult missing = RunRouter("router train --data " + data_);  // --out is required
  EXPECT_EQ(missing.exit_code, 100);
}

}  // namespace
}  // namespace hybridgate::learned
