#include "classify/cli.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace hybridgate::classify {
namespace {

std::string WriteConfig(const std::string& extra) {
  const std::string path = ::testing::TempDir() + "/classify_test.yaml";
  std::ofstream(path)
      << "providers:\n  - {name: p, type: openai, base_url: 'http://127.0.0.1:1/v1',"
         " models: [{name: m}]}\n"
      << extra;
  return path;
}

TEST(Classify, PromptFormGivesClassAndByteOffsets) {
  const std::string prompt = "Mail jane.doe@example.com the invoice";
  std::istringstream in(R"({"id":"a","prompt":")" + prompt +
                        R"("})"
                        "\n"
                        R"({"id":7,"prompt":"hello there"})"
                        "\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunClassify(WriteConfig(""), in, out, err), 0) << err.str();
  std::istringstream lines(out.str());
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  auto a = boost::json::parse(l1);
  EXPECT_EQ(a.at("id").as_string(), "a");
  EXPECT_EQ(a.at("class").as_int64(), 3);
  ASSERT_EQ(a.at("findings").as_array().size(), 1u);
  const auto& f = a.at("findings").at(0);
  EXPECT_EQ(f.at("type").as_string(), "email");
  EXPECT_EQ(
      prompt.substr(f.at("start").as_int64(), f.at("end").as_int64() - f.at("start").as_int64()),
      "jane.doe@example.com");
  auto b = boost::json::parse(l2);
  EXPECT_EQ(b.at("id").as_string(), "7");
  EXPECT_EQ(b.at("class").as_int64(), 1);
  EXPECT_TRUE(b.at("findings").as_array().empty());
}

TEST(Classify, RequestFormScansToolArgumentsAndSystemPrompt) {
  std::istringstream in(
      R"({"id":"r","request":{"model":"m","messages":[{"role":"system","content":"be nice"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":)"
      R"({"name":"f","arguments":"{\"card\":\"4111 1111 1111 1111\"}"}}]}]}})"
      "\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunClassify(WriteConfig(""), in, out, err), 0) << err.str();
  auto v = boost::json::parse(out.str());
  EXPECT_EQ(v.at("class").as_int64(), 4);
  // The arguments are read as their raw text and, parsed, as their own strings: both find it.
  ASSERT_GE(v.at("findings").as_array().size(), 1u);
  for (const auto& f : v.at("findings").as_array()) {
    EXPECT_EQ(f.at("type").as_string(), "credit_card");
    EXPECT_EQ(f.at("end").as_int64() - f.at("start").as_int64(), 19);
  }
}

// In raw JSON a newline is `\n`: the scan reads such escapes as spaces, so a key after one is
// found like a key after a space, at its byte offsets in the raw arguments.
TEST(Classify, KeyAfterJsonNewlineEscapeInToolArguments) {
  const std::string args = R"({"k":"x\nsk-proj-4fT9kQ2mZ8xW1vB7nR3sL6yH0jD5cE9a"})";
  std::istringstream in(
      R"({"id":"r","request":{"model":"m","messages":[{"role":"user","content":"hi"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":)"
      R"({"name":"f","arguments":)" +
      boost::json::serialize(boost::json::value(args)) + "}}]}]}}\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunClassify(WriteConfig(""), in, out, err), 0) << err.str();
  auto v = boost::json::parse(out.str());
  ASSERT_GE(v.at("findings").as_array().size(), 1u) << out.str();
  for (const auto& f : v.at("findings").as_array()) {
    EXPECT_EQ(f.at("type").as_string(), "api_key");
    EXPECT_EQ(f.at("end").as_int64() - f.at("start").as_int64(), 40);  // the key, whole
  }
}

TEST(Classify, CustomDetectorsComeFromTheConfig) {
  std::istringstream in(R"({"id":"c","prompt":"status of PROJECT-OMEGA?"})"
                        "\n");
  std::ostringstream out, err;
  const auto cfg = WriteConfig(
      "sensitivity:\n  custom:\n    - {name: codename, regex: 'PROJECT-(ALPHA|OMEGA)', class: "
      "5}\n");
  ASSERT_EQ(RunClassify(cfg, in, out, err), 0) << err.str();
  auto v = boost::json::parse(out.str());
  EXPECT_EQ(v.at("class").as_int64(), 5);
  EXPECT_EQ(v.at("findings").at(0).at("type").as_string(), "codename");
}

TEST(Classify, BadLinesAreReportedWithLineNumbersAndExitTwo) {
  std::istringstream in("{\"id\":1,\"prompt\":\"ok\"}\nnot json\n{\"prompt\":\"x\"}\n{\"id\":2}\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunClassify(WriteConfig(""), in, out, err), 2);
  const std::string e = err.str();
  EXPECT_NE(e.find("stdin:2: malformed JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("stdin:3: missing 'id'"), std::string::npos) << e;
  EXPECT_NE(e.find("stdin:4: expected a string 'prompt'"), std::string::npos) << e;
  EXPECT_NE(out.str().find(R"({"id":"1","class":1)"), std::string::npos) << out.str();
}

TEST(Classify, BrokenConfigExitsTwo) {
  std::istringstream in("");
  std::ostringstream out, err;
  EXPECT_EQ(
      RunClassify(WriteConfig("sensitivity:\n  custom:\n    - {name: x, regex: '(', class: 4}\n"),
                  in, out, err),
      2);
  EXPECT_FALSE(err.str().empty());
}

}  // namespace
}  // namespace hybridgate::classify
