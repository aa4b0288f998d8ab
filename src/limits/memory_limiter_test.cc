#include "limits/memory_limiter.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace hybridgate::limits {
namespace {

using namespace std::chrono;

// A clock the test moves by hand.
struct FakeClock {
  WallTime now = sys_days(year(2026) / 11 / 5) + hours(12);
  WallClock fn() {
    return [this] { return now; };
  }
};

KeyInfo Key(std::string id, std::string team = "team-a") {
  KeyInfo k;
  k.id = std::move(id);
  k.team = std::move(team);
  return k;
}

std::string Header(const Decision& d, std::string_view name) {
  for (const auto& [k, v] : d.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(MemoryLimiter, RpmBucketAllowsNThenRetryAfter) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  KeyInfo key = Key("key_rpm");
  key.rpm = 3;
  for (int i = 0; i < 3; ++i) {
    Decision d = limiter.AdmitNow(key, 0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(Header(d, "x-ratelimit-limit-requests"), "3");
    EXPECT_EQ(Header(d, "x-ratelimit-remaining-requests"), std::to_string(2 - i));
  }
  Decision d = limiter.AdmitNow(key, 0);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ErrorCode::kRateLimited);
  EXPECT_EQ(d.error.HttpStatus(), 429);
  EXPECT_EQ(d.error.retry_after_ms, 20000);  // one request per 20 s refills
  EXPECT_NE(d.error.message.find("key_rpm"), std::string::npos);
  EXPECT_NE(d.error.message.find("3 requests per minute"), std::string::npos);
  EXPECT_EQ(Header(d, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(Header(d, "x-ratelimit-reset-requests"), "1m0s");
  EXPECT_EQ(Header(d, "x-ratelimit-limit-tokens"), "<absent>");

  clock.now += milliseconds(19999);
  EXPECT_FALSE(limiter.AdmitNow(key, 0).allowed);
  clock.now += milliseconds(1);
  EXPECT_TRUE(limiter.AdmitNow(key, 0).allowed);
  EXPECT_FALSE(limiter.AdmitNow(key, 0).allowed);
  clock.now += minutes(5);  // refills to capacity, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.AdmitNow(key, 0).allowed);
  EXPECT_FALSE(limiter.AdmitNow(key, 0).allowed);
}

TEST(MemoryLimiter, KeysHaveSeparateBuckets) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  KeyInfo a = Key("key_a"), b = Key("key_b");
  a.rpm = b.rpm = 1;
  EXPECT_TRUE(limiter.AdmitNow(a, 0).allowed);
  EXPECT_FALSE(limiter.AdmitNow(a, 0).allowed);
  EXPECT_TRUE(limiter.AdmitNow(b, 0).allowed);
}

TEST(MemoryLimiter, TpmReservesEstimateAndSettleCorrects) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  KeyInfo key = Key("key_tpm");
  key.tpm = 1000;
  Decision d = limiter.AdmitNow(key, 600);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(Header(d, "x-ratelimit-remaining-tokens"), "400");
  EXPECT_EQ(Header(d, "x-ratelimit-limit-tokens"), "1000");
  d = limiter.AdmitNow(key, 600);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ErrorCode::kRateLimited);
  EXPECT_EQ(d.error.retry_after_ms, 12000);  // 200 tokens at 1000/min
  EXPECT_NE(d.error.message.find("1000 tokens per minute"), std::string::npos);

  limiter.SettleNow(key, 600, 100, 0);  // used far fewer: 500 back
  d = limiter.AdmitNow(key, 600);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(Header(d, "x-ratelimit-remaining-tokens"), "300");

  limiter.SettleNow(key, 600, 1600, 0);  // used more: the bucket goes into debt
  d = limiter.AdmitNow(key, 1);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.error.retry_after_ms, 42060);  // from -700 to 1 token
}

TEST(MemoryLimiter, RequestLargerThanTpmPassesOnlyWithFullBucket) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  KeyInfo key = Key("key_big");
  key.tpm = 100;
  EXPECT_TRUE(limiter.AdmitNow(key, 500).allowed);
  EXPECT_FALSE(limiter.AdmitNow(key, 500).allowed);
  clock.now += minutes(5);  // pays back 500 tokens of debt, then refills
  clock.now += minutes(1);
  EXPECT_TRUE(limiter.AdmitNow(key, 500).allowed);
}

TEST(MemoryLimiter, DeniedRequestCountsNothing) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  KeyInfo key = Key("key_both");
  key.rpm = 2;
  key.tpm = 100;
  EXPECT_TRUE(limiter.AdmitNow(key, 100).allowed);
  EXPECT_FALSE(limiter.AdmitNow(key, 100).allowed);  // tpm short: rpm not consumed
  clock.now += seconds(60);
  Decision d = limiter.AdmitNow(key, 100);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(Header(d, "x-ratelimit-remaining-requests"), "1");
}

TEST(MemoryLimiter, KeyBudgetPerDayWindow) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  KeyInfo key = Key("key_budget");
  key.budget = Budget{1.0, BudgetWindow::kDay};
  ASSERT_TRUE(limiter.AdmitNow(key, 10).allowed);
  limiter.SettleNow(key, 10, 10, 0.6);
  EXPECT_TRUE(limiter.AdmitNow(key, 10).allowed);  // spend is checked before, not predicted
  limiter.SettleNow(key, 10, 10, 0.5);
  EXPECT_DOUBLE_EQ(limiter.KeySpendUsd(key), 1.1);
  Decision d = limiter.AdmitNow(key, 10);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ErrorCode::kBudgetExceeded);
  EXPECT_EQ(d.error.HttpStatus(), 429);
  EXPECT_FALSE(d.error.Retryable());
  EXPECT_NE(d.error.message.find("key_budget"), std::string::npos) << d.error.message;
  EXPECT_NE(d.error.message.find("$1.10 of $1.00 today"), std::string::npos) << d.error.message;
  EXPECT_NE(d.error.message.find("2026-11-05"), std::string::npos) << d.error.message;
  EXPECT_NE(d.error.message.find("resets at 2026-11-06T00:00:00Z"), std::string::npos);

  clock.now += hours(12);  // next UTC day: a fresh window
  EXPECT_TRUE(limiter.AdmitNow(key, 10).allowed);
  EXPECT_DOUBLE_EQ(limiter.KeySpendUsd(key), 0);
}

TEST(MemoryLimiter, TeamBudgetIsSharedByTheTeamsKeys) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  KeyInfo a = Key("key_a", "ml"), b = Key("key_b", "ml"), other = Key("key_c", "web");
  a.team_budget = b.team_budget = Budget{2.0, BudgetWindow::kMonth};
  other.team_budget = Budget{2.0, BudgetWindow::kMonth};
  limiter.SettleNow(a, 0, 0, 1.5);
  EXPECT_TRUE(limiter.AdmitNow(b, 0).allowed);
  limiter.SettleNow(b, 0, 0, 0.5);
  EXPECT_DOUBLE_EQ(limiter.TeamSpendUsd(a), 2.0);
  for (const KeyInfo* k : {&a, &b}) {
    Decision d = limiter.AdmitNow(*k, 0);
    ASSERT_FALSE(d.allowed);
    EXPECT_EQ(d.error.code, ErrorCode::kBudgetExceeded);
    EXPECT_NE(d.error.message.find("team 'ml'"), std::string::npos) << d.error.message;
    EXPECT_NE(d.error.message.find("this month"), std::string::npos) << d.error.message;
  }
  EXPECT_TRUE(limiter.AdmitNow(other, 0).allowed);
  clock.now = sys_days(year(2026) / 12 / 1);
  EXPECT_TRUE(limiter.AdmitNow(a, 0).allowed);
}

TEST(MemoryLimiter, NoLimitsNoHeaders) {
  MemoryLimiter limiter;
  Decision d = limiter.AdmitNow(Key("key_free"), 1000000);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.headers.empty());
}

TEST(MemoryLimiter, AwaitableInterface) {
  FakeClock clock;
  MemoryLimiter limiter(clock.fn());
  Limiter& base = limiter;
  KeyInfo key = Key("key_async");
  key.rpm = 1;
  key.budget = Budget{1, BudgetWindow::kMonth};
  asio::io_context io;
  auto fut = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::pair<bool, bool>> {
        Decision first = co_await base.Admit(key, 5);
        co_await base.Settle(key, 5, 7, 2.0);
        Decision second = co_await base.Admit(key, 5);
        co_return std::pair(first.allowed, second.allowed);
      },
      asio::use_future);
  io.run();
  auto [first, second] = fut.get();
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_EQ(base.redis_errors(), 0u);
}

}  // namespace
}  // namespace hybridgate::limits
