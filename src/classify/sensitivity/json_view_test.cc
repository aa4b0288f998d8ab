#include "classify/sensitivity/json_view.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "classify/sensitivity/scanner.h"

namespace hybridgate::sensitivity {
namespace {

struct ViewCase {
  const char* name;
  std::string_view json;
  std::string_view want;
};

const ViewCase kViewCases[] = {
    {"newline", R"({"k":"a\nb"})", R"({"k":"a  b"})"},
    {"all_blanked", R"("\n\r\t\b\f\/")", R"("           /")"},
    {"quote_kept", R"({"k":"a\"b\nc"})", R"({"k":"a\"b  c"})"},
    {"backslash_kept", R"({"k":"a\\b"})", R"({"k":"a\\b"})"},
    {"escaped_backslash_then_n", R"({"k":"a\\n"})", R"({"k":"a\\n"})"},
    {"escaped_backslash_then_newline", R"({"k":"a\\\nb"})", R"({"k":"a\\  b"})"},
    {"unicode_kept", R"({"k":"\u00e9\n"})", R"({"k":"\u00e9  "})"},
    {"unicode_n_kept", R"({"k":"\u000a"})", R"({"k":"\u000a"})"},
    {"trailing_backslash", "x\\", "x\\"},
    {"newline_at_end", R"(x\n)", "x  "},
};

class JsonScanViewTest : public testing::TestWithParam<ViewCase> {};

TEST_P(JsonScanViewTest, BlanksWhitespaceEscapesPairwise) {
  const ViewCase& c = GetParam();
  std::string storage;
  const std::string_view got = JsonScanView(c.json, storage);
  EXPECT_EQ(got, c.want);
  EXPECT_EQ(got.size(), c.json.size());
  // A text with nothing to blank is returned as it is, without a copy.
  EXPECT_EQ(got.data() == c.json.data(), c.json == c.want);
  EXPECT_EQ(storage.empty(), c.json == c.want);
}

INSTANTIATE_TEST_SUITE_P(Cases, JsonScanViewTest, testing::ValuesIn(kViewCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(JsonScanViewTest, FastPathReturnsTheRawText) {
  const std::string json = R"({"a":"b \"c\" \\d \u00e9","n":[1,2]})";
  std::string storage;
  const std::string_view got = JsonScanView(json, storage);
  EXPECT_EQ(got.data(), json.data());
  EXPECT_EQ(got.size(), json.size());
  EXPECT_TRUE(storage.empty());
  EXPECT_EQ(JsonScanView("", storage).size(), 0u);
}

// A key after a JSON newline escape is found through the view, at its offsets in the raw JSON.
TEST(JsonScanViewTest, KeyAfterNewlineEscapeIsFoundAtRawOffsets) {
  auto scanner = Scanner::Create({});
  ASSERT_TRUE(scanner) << scanner.error().message;
  const std::string_view key = "sk-proj-4fT9kQ2mZ8xW1vB7nR3sL6yH0jD5cE9a";
  for (std::string_view esc : {R"(\n)", R"(\t)", R"(\r)"}) {
    const std::string json =
        std::string(R"({"k":"x)") + std::string(esc) + std::string(key) + R"(","q":"a\"b"})";
    std::string storage;
    const auto findings = scanner->Scan(JsonScanView(json, storage));
    ASSERT_EQ(findings.size(), 1u) << json;
    EXPECT_EQ(findings[0].type, "api_key");
    EXPECT_EQ(json.substr(findings[0].start, findings[0].size()), key);
    EXPECT_EQ(findings[0].start, json.find("sk-proj-"));
  }
}

}  // namespace
}  // namespace hybridgate::sensitivity
