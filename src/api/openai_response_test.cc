#include "api/openai_response.h"

#include <gtest/gtest.h>

namespace hybridgate::api {
namespace {

TEST(InspectOpenAiResponse, ReadsUsageAndModel) {
  auto info = InspectOpenAiResponse(
      R"({"id":"x","model":"gpt-4o-2024","choices":[{"index":0}],"usage":{"prompt_tokens":12,
      "completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":4}}})");
  EXPECT_TRUE(info.valid_json);
  EXPECT_EQ(info.model, "gpt-4o-2024");
  EXPECT_TRUE(info.usage.reported);
  EXPECT_EQ(info.usage.input_tokens, 12);
  EXPECT_EQ(info.usage.output_tokens, 5);
  EXPECT_EQ(info.usage.cached_input_tokens, 4);
  EXPECT_TRUE(info.has_choices);
}

TEST(InspectOpenAiResponse, NegativeCountsReadAsZeroAndCachedIsAtMostTheInput) {
  auto info = InspectOpenAiResponse(
      R"({"choices":[{"index":0}],"usage":{"prompt_tokens":-1000000,"completion_tokens":-5,
      "prompt_tokens_details":{"cached_tokens":9}}})");
  EXPECT_TRUE(info.usage.reported);
  EXPECT_EQ(info.usage.input_tokens, 0);
  EXPECT_EQ(info.usage.output_tokens, 0);
  EXPECT_EQ(info.usage.cached_input_tokens, 0);
  info = InspectOpenAiResponse(
      R"({"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":99}}})");
  EXPECT_EQ(info.usage.cached_input_tokens, 10);
}

TEST(InspectOpenAiResponse, RecognisesTheUsageOnlyStreamChunk) {
  auto info =
      InspectOpenAiResponse(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}})");
  EXPECT_FALSE(info.has_choices);
  EXPECT_EQ(info.usage.output_tokens, 2);
  EXPECT_FALSE(InspectOpenAiResponse("not json").valid_json);
  EXPECT_FALSE(InspectOpenAiResponse(R"({"choices":[]})").usage.reported);
}

TEST(UpstreamErrorMessage, PrefersTheErrorMessage) {
  EXPECT_EQ(UpstreamErrorMessage(R"({"error":{"message":"model overloaded"}})"),
            "model overloaded");
  EXPECT_EQ(UpstreamErrorMessage("<html>\nBad Gateway</html>"), "<html> Bad Gateway</html>");
}

}  // namespace
}  // namespace hybridgate::api
