#include "routing/backoff.h"

#include <gtest/gtest.h>

namespace hybridgate::routing {
namespace {

TEST(BackoffMs, ExponentialCappedJittered) {
  RetryConfig c{.attempts = 5, .backoff_ms = 200, .max_backoff_ms = 2000, .jitter = Jitter::kNone};
  const int64_t expected[] = {0, 200, 400, 800, 1600, 2000, 2000};
  for (int retry = 0; retry <= 6; ++retry) EXPECT_EQ(BackoffMs(c, retry, 0.5), expected[retry]);
  EXPECT_EQ(BackoffMs(c, 1000, 0.5), 2000);  // no overflow
  c.jitter = Jitter::kFull;
  EXPECT_EQ(BackoffMs(c, 3, 0.0), 0);
  EXPECT_EQ(BackoffMs(c, 3, 0.5), 400);
  EXPECT_EQ(BackoffMs(c, 3, 0.999999), 800);
  c.jitter = Jitter::kEqual;
  EXPECT_EQ(BackoffMs(c, 3, 0.0), 400);
  EXPECT_EQ(BackoffMs(c, 3, 0.999999), 800);
}

TEST(DecideRetry, Table) {
  const RetryConfig c{.attempts = 3,
                      .backoff_ms = 100,
                      .max_backoff_ms = 1000,
                      .jitter = Jitter::kNone,
                      .max_retry_after_ms = 5000};
  Error e503 = MakeError(ErrorCode::kUpstreamUnavailable, "503");
  Error e429 = MakeError(ErrorCode::kRateLimited, "429");
  e429.retry_after_ms = 1500;
  Error e429_long = e429;
  e429_long.retry_after_ms = 60'000;
  const Error e400 = MakeError(ErrorCode::kInvalidRequest, "bad");
  struct Row {
    const Error* error;
    int attempt;
    int64_t remaining;
    bool retry;
    int64_t delay;
  } rows[] = {
      {&e503, 1, -1, true, 100},  {&e503, 2, -1, true, 200},     {&e503, 3, -1, false, 0},
      {&e429, 1, -1, true, 1500}, {&e429_long, 1, -1, false, 0}, {&e400, 1, -1, false, 0},
      {&e503, 1, 50, false, 0},   {&e503, 1, 500, true, 100},
  };
  for (const Row& r : rows) {
    const RetryDecision d = DecideRetry(c, *r.error, r.attempt, 0.5, r.remaining);
    EXPECT_EQ(d.retry, r.retry) << r.error->message << " attempt " << r.attempt << ": " << d.why;
    EXPECT_EQ(d.delay_ms, r.delay) << r.error->message << " attempt " << r.attempt;
  }
}

TEST(BackoffRng, UniformAndDeterministic) {
  BackoffRng a(42), b(42);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = a.Uniform();
    EXPECT_EQ(u, b.Uniform());
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
  const double t = BackoffRng::ThreadLocal().Uniform();
  EXPECT_GE(t, 0.0);
}

}  // namespace
}  // namespace hybridgate::routing
