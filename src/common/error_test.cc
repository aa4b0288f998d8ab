#include "common/error.h"

#include <gtest/gtest.h>

#include "common/result.h"

namespace hybridgate {
namespace {

struct Row {
  ErrorCode code;
  int status;
  std::string_view openai_type;
  bool retryable;
};

TEST(Error, StatusTypeAndRetryability) {
  const Row rows[] = {
      {ErrorCode::kInvalidRequest, 400, "invalid_request_error", false},
      {ErrorCode::kUnauthenticated, 401, "authentication_error", false},
      {ErrorCode::kNotFound, 404, "invalid_request_error", false},
      {ErrorCode::kModelNotFound, 404, "invalid_request_error", false},
      {ErrorCode::kPayloadTooLarge, 413, "invalid_request_error", false},
      {ErrorCode::kRateLimited, 429, "rate_limit_error", true},
      {ErrorCode::kUpstreamUnavailable, 502, "api_error", true},
      {ErrorCode::kUpstreamTimeout, 504, "api_error", true},
      {ErrorCode::kUpstreamAuth, 502, "upstream_auth_error", false},
      {ErrorCode::kPolicyBlocked, 403, "permission_error", false},
  };
  for (const Row& r : rows) {
    Error e = MakeError(r.code, "m");
    EXPECT_EQ(e.HttpStatus(), r.status) << e.CodeName();
    EXPECT_EQ(e.OpenAiType(), r.openai_type) << e.CodeName();
    EXPECT_EQ(e.Retryable(), r.retryable) << e.CodeName();
  }
}

// A path that matches nothing is not a missing model: clients branch on "model_not_found".
TEST(Error, NotFoundAndModelNotFoundHaveTheirOwnCodes) {
  EXPECT_EQ(MakeError(ErrorCode::kNotFound, "m").CodeName(), "not_found");
  EXPECT_EQ(MakeError(ErrorCode::kModelNotFound, "m").CodeName(), "model_not_found");
  EXPECT_EQ(MakeError(ErrorCode::kModelNotFound, "m").AnthropicType(), "not_found_error");
}

TEST(Error, UpstreamErrorKeepsTheUpstreamStatus) {
  Error e = MakeError(ErrorCode::kUpstreamError, "bad");
  e.upstream_status = 422;
  EXPECT_EQ(e.HttpStatus(), 422);
}

Result<int> Half(int x) {
  if (x % 2) return Fail(MakeError(ErrorCode::kInvalidRequest, "odd", "x"));
  return x / 2;
}

TEST(Result, CarriesValueOrError) {
  ASSERT_TRUE(Half(4).has_value());
  EXPECT_EQ(*Half(4), 2);
  auto r = Half(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "x");
}

}  // namespace
}  // namespace hybridgate
