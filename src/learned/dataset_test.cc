#include "learned/dataset.h"

#include <gtest/gtest.h>

namespace hybridgate::learned {
namespace {

constexpr std::string_view kGood =
    R"({"id":"a","benchmark":"mmlu","category":"x","prompt":"p1","scores":{"weak":1,"strong":0}})";

TEST(DatasetTest, ParsesLinesAndSkipsBlankOnes) {
  const std::string text = std::string(kGood) + "\n\n" +
                           R"({"id":7,"prompt":"p2","scores":{"weak":3.5,"strong":9,"x":1}})" +
                           "\n";
  auto ds = ParseDataset(text, "d.jsonl");
  ASSERT_TRUE(ds.has_value()) << ds.error().message;
  ASSERT_EQ(ds->examples.size(), 2u);
  EXPECT_EQ(ds->examples[0].benchmark, "mmlu");
  EXPECT_EQ(ds->examples[1].id, "7");
  EXPECT_EQ(ds->examples[1].benchmark, "");
  EXPECT_DOUBLE_EQ(ds->examples[1].weak, 3.5);
  EXPECT_DOUBLE_EQ(ds->examples[1].strong, 9);
}

TEST(DatasetTest, CustomLabels) {
  auto ds = ParseDataset(R"({"id":"a","prompt":"p","scores":{"m1":2,"m2":8}})", "d",
                         LabelNames{"m1", "m2"});
  ASSERT_TRUE(ds.has_value());
  EXPECT_DOUBLE_EQ(ds->examples[0].strong, 8);
}

struct BadCase {
  std::string second_line;
  std::string expected;  // substring of the message
};

class DatasetErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(DatasetErrorTest, NamesFileAndLine) {
  const std::string text = std::string(kGood) + "\n" + GetParam().second_line + "\n";
  auto ds = ParseDataset(text, "data.jsonl");
  ASSERT_FALSE(ds.has_value());
  EXPECT_NE(ds.error().message.find("data.jsonl:2: "), std::string::npos) << ds.error().message;
  EXPECT_NE(ds.error().message.find(GetParam().expected), std::string::npos) << ds.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    BadLines, DatasetErrorTest,
    ::testing::Values(
        BadCase{R"({"id":"b","prompt":"p","scores":{"weak":1}})", "unknown label \"strong\""},
        BadCase{R"({"id":"b","prompt":"p","scores":{"weak":"x","strong":1}})", "not a number"},
        BadCase{R"({"id":"b","scores":{"weak":1,"strong":1}})", "missing field \"prompt\""},
        BadCase{R"({"prompt":"p","scores":{"weak":1,"strong":1}})", "missing field \"id\""},
        BadCase{R"({"id":"b","prompt":"p"})", "missing field \"scores\""},
        BadCase{R"({"id":"b","prompt":3,"scores":{"weak":1,"strong":1}})", "must be a string"},
        BadCase{R"({"id":"b","prompt":"p","scores":[1,2]})", "must be an object"},
        BadCase{R"({"id":"b","prompt":"p",)", "malformed JSON"},
        BadCase{R"([1,2,3])", "expected a JSON object"}));

TEST(DatasetTest, EmptyInputIsAnError) {
  auto ds = ParseDataset("\n  \n", "empty.jsonl");
  ASSERT_FALSE(ds.has_value());
  EXPECT_NE(ds.error().message.find("empty.jsonl"), std::string::npos);
  EXPECT_FALSE(ParsePrompts("", "p").has_value());
}

TEST(DatasetTest, MissingFileIsAnError) {
  auto ds = LoadDataset("/nonexistent/dir/x.jsonl");
  ASSERT_FALSE(ds.has_value());
  EXPECT_NE(ds.error().message.find("cannot open"), std::string::npos);
}

TEST(DatasetTest, PromptsIgnoreExtraFields) {
  auto p = ParsePrompts(std::string(kGood) + "\n{\"id\":\"z\",\"prompt\":\"q\"}", "p");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1].id, "z");
  auto bad = ParsePrompts("{\"id\":\"z\"}\n", "p.jsonl");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("p.jsonl:1: missing field \"prompt\""), std::string::npos);
}

TEST(DatasetTest, FoldsAreStableAndBalanced) {
  int counts[5] = {};
  for (int i = 0; i < 1000; ++i) {
    Example e;
    e.prompt = "prompt " + std::to_string(i);
    const int f = FoldOf(e, 5);
    ASSERT_GE(f, 0);
    ASSERT_LT(f, 5);
    EXPECT_EQ(f, FoldOf(e, 5));
    ++counts[f];
  }
  for (int c : counts) EXPECT_GT(c, 150);
}

}  // namespace
}  // namespace hybridgate::learned
