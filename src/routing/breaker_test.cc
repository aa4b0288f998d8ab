#include "routing/breaker.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace hybridgate::routing {
namespace {

struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'000'000);
  Clock clock() const {
    return [n = now] { return n->load(); };
  }
  void Advance(int64_t ms) { *now += ms; }
};

TEST(Breaker, ConsecutiveFailuresOpenThenProbeCloses) {
  FakeClock t;
  Breaker b({.consecutive_failures = 3, .error_rate = 0, .cooldown_ms = 1000}, t.clock());
  EXPECT_EQ(static_cast<int>(b.state()), 0);
  b.OnFailure();
  b.OnFailure();
  b.OnSuccess();  // resets the run
  b.OnFailure();
  b.OnFailure();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(static_cast<int>(b.state()), 1);
  EXPECT_FALSE(b.Allow());
  t.Advance(999);
  EXPECT_FALSE(b.Allow());
  t.Advance(1);
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(static_cast<int>(b.state()), 2);
  EXPECT_TRUE(b.Allow());   // the probe
  EXPECT_FALSE(b.Allow());  // only one
  b.OnSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow());
}

TEST(Breaker, FailedProbeReopens) {
  FakeClock t;
  Breaker b({.consecutive_failures = 1, .error_rate = 0, .cooldown_ms = 100}, t.clock());
  b.OnFailure();
  t.Advance(100);
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow());
  t.Advance(100);
  ASSERT_TRUE(b.Allow());
  b.OnCancel();  // the probe said nothing; another may go
  EXPECT_TRUE(b.Allow());
}

TEST(Breaker, ErrorRateOverWindow) {
  FakeClock t;
  Breaker b({.consecutive_failures = 0,
             .error_rate = 0.5,
             .min_requests = 10,
             .window_ms = 1000,
             .cooldown_ms = 100},
            t.clock());
  // Alternating success/failure: 50 % once 10 requests are in the window.
  for (int i = 0; i < 4; ++i) {
    b.OnSuccess();
    b.OnFailure();
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);  // 8 requests < min_requests
  b.OnSuccess();
  b.OnFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  // Old failures age out of the window.
  Breaker c({.consecutive_failures = 0,
             .error_rate = 0.5,
             .min_requests = 10,
             .window_ms = 1000,
             .cooldown_ms = 100},
            t.clock());
  for (int i = 0; i < 9; ++i) c.OnFailure();
  t.Advance(2000);
  for (int i = 0; i < 9; ++i) c.OnSuccess();
  c.OnFailure();
  EXPECT_EQ(c.state(), BreakerState::kClosed);
}

TEST(Breaker, ConcurrentProbeIsSingle) {
  FakeClock t;
  Breaker b({.consecutive_failures = 1, .error_rate = 0, .cooldown_ms = 10}, t.clock());
  b.OnFailure();
  t.Advance(10);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) allowed += b.Allow() ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1);
}

TEST(BreakerSet, PerKey) {
  FakeClock t;
  BreakerSet set({.consecutive_failures = 1, .error_rate = 0, .cooldown_ms = 10}, t.clock());
  set.Get("a/x").OnFailure();
  EXPECT_EQ(set.StateOf("a/x"), BreakerState::kOpen);
  EXPECT_EQ(set.StateOf("b/y"), BreakerState::kClosed);
  int n = 0;
  set.ForEach([&](std::string_view key, BreakerState s) {
    ++n;
    EXPECT_EQ(key, "a/x");
    EXPECT_EQ(s, BreakerState::kOpen);
  });
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace hybridgate::routing
