#include "routing/balancer.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <thread>

namespace hybridgate::routing {
namespace {

// Candidates point at their deployment; these live for the whole test binary.
RouteCandidate Cand(std::string key, int weight = 1) {
  static std::deque<DeploymentInfo> infos;
  RouteCandidate c;
  c.info = &infos.emplace_back(DeploymentInfo{.key = std::move(key)});
  c.weight = weight;
  return c;
}

TEST(Balancer, WeightedThreeToOneWithinFivePercent) {
  Balancer b(BalanceStrategy::kWeighted);
  std::map<std::string, int> picks;
  for (int i = 0; i < 10000; ++i) {
    std::vector<RouteCandidate> c = {Cand("a", 3), Cand("b", 1)};
    b.Order(c, nullptr);
    ASSERT_EQ(c.size(), 2u);
    ++picks[c[0].deployment().key];
  }
  EXPECT_NEAR(picks["a"] / 10000.0, 0.75, 0.05 * 0.75);
  EXPECT_NEAR(picks["b"] / 10000.0, 0.25, 0.05 * 0.25);
}

TEST(Balancer, WeightedIsSmoothAndThreadSafe) {
  Balancer b(BalanceStrategy::kWeighted);
  const int weights[] = {1, 1};
  // Equal weights never give the same pick three times in a row.
  int run = 0, last = -1;
  for (int i = 0; i < 1000; ++i) {
    const int p = static_cast<int>(b.PickWeighted(weights));
    run = p == last ? run + 1 : 1;
    last = p;
    ASSERT_LT(run, 3);
  }
  std::atomic<int> first{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      const int w[] = {1, 3};
      for (int i = 0; i < 2500; ++i) first += b.PickWeighted(w) == 0 ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_NEAR(first.load() / 10000.0, 0.25, 0.0125);
}

TEST(Balancer, LeastOutstanding) {
  StatsSet stats;
  stats.Get("a").Begin();
  stats.Get("a").Begin();
  stats.Get("b").Begin();
  Balancer bal(BalanceStrategy::kLeastOutstanding);
  std::vector<RouteCandidate> c = {Cand("a"), Cand("b"), Cand("c")};
  bal.Order(c, &stats);
  EXPECT_EQ(c[0].deployment().key, "c");
  EXPECT_EQ(c[1].deployment().key, "b");
  EXPECT_EQ(c[2].deployment().key, "a");
}

TEST(Balancer, LatencyEwmaPrefersFaster) {
  StatsSet stats;
  for (int i = 0; i < 20; ++i) {
    stats.Get("slow").Begin();
    stats.Get("slow").End(400);
    stats.Get("fast").Begin();
    stats.Get("fast").End(100);
  }
  EXPECT_NEAR(stats.Find("fast")->ewma_ms(), 100, 1e-9);
  EXPECT_EQ(stats.Find("fast")->outstanding(), 0);
  Balancer bal(BalanceStrategy::kLatencyEwma);
  int fast_first = 0;
  for (int i = 0; i < 100; ++i) {
    std::vector<RouteCandidate> c = {Cand("slow"), Cand("fast")};
    bal.Order(c, &stats);
    fast_first += c[0].deployment().key == "fast" ? 1 : 0;
  }
  EXPECT_EQ(fast_first, 100);
  // The EWMA follows a change: "fast" becomes slow.
  for (int i = 0; i < 20; ++i) {
    stats.Get("fast").Begin();
    stats.Get("fast").End(1000);
  }
  std::vector<RouteCandidate> c = {Cand("slow"), Cand("fast")};
  bal.Order(c, &stats);
  EXPECT_EQ(c[0].deployment().key, "slow");
  // Load counts too: 3 requests in flight on a 100 ms deployment cost more than 1 at 300 ms.
  StatsSet s2;
  for (const char* k : {"x", "y"}) {
    s2.Get(k).Begin();
    s2.Get(k).End(k[0] == 'x' ? 100 : 300);
  }
  for (int i = 0; i < 3; ++i) s2.Get("x").Begin();
  std::vector<RouteCandidate> d = {Cand("x"), Cand("y")};
  bal.Order(d, &s2);
  EXPECT_EQ(d[0].deployment().key, "y");
}

TEST(AttemptLoad, EndsEachAttemptExactlyOnce) {
  StatsSet stats;
  {
    AttemptLoad load;
    load.Start(&stats, "a");
    EXPECT_EQ(stats.Find("a")->outstanding(), 1);
    load.Finish(40);
    load.Finish(400);  // already ended: neither a second decrement nor a second sample
    EXPECT_EQ(stats.Find("a")->outstanding(), 0);
    EXPECT_EQ(stats.Find("a")->samples(), 1);
    load.Start(&stats, "a");
    load.Start(&stats, "b");  // a new attempt ends the one still counted, without a sample
    EXPECT_EQ(stats.Find("a")->outstanding(), 0);
    EXPECT_EQ(stats.Find("b")->outstanding(), 1);
  }  // an exit that never called Finish: the destructor ends it
  EXPECT_EQ(stats.Find("b")->outstanding(), 0);
  EXPECT_EQ(stats.Find("b")->samples(), 0);
  EXPECT_NEAR(stats.Find("a")->ewma_ms(), 40, 1e-9);
  AttemptLoad none;
  none.Start(nullptr, "c");  // no stats (plain model routing): nothing to count
  EXPECT_FALSE(none.active());
}

// The executor's loop in miniature: order the tier, run the first candidate under an
// AttemptLoad, sample its latency. Traffic follows the latency.
TEST(AttemptLoad, EwmaShiftsTrafficToTheFasterDeployment) {
  StatsSet stats;
  Balancer bal(BalanceStrategy::kLatencyEwma);
  std::map<std::string, double> latency = {{"a", 50}, {"b", 50}};
  auto run = [&](int n) {
    std::map<std::string, int> picks;
    for (int i = 0; i < n; ++i) {
      std::vector<RouteCandidate> c = {Cand("a"), Cand("b")};
      bal.Order(c, &stats);
      const std::string key = c[0].deployment().key;
      AttemptLoad load;
      load.Start(&stats, key);
      load.Finish(latency[key]);
      ++picks[key];
    }
    return picks;
  };
  auto even = run(100);  // equal latency: the tie rotates
  EXPECT_GE(even["a"], 40);
  EXPECT_GE(even["b"], 40);
  latency["b"] = 300;  // b slows down: after its next sample the traffic moves to a
  run(10);
  auto shifted = run(100);
  EXPECT_EQ(shifted["a"], 100);
  // Failures record no sample, so they do not make a deployment look fast.
  const double before = stats.Find("b")->ewma_ms();
  AttemptLoad failed;
  failed.Start(&stats, "b");
  failed.Finish(-1);
  EXPECT_EQ(stats.Find("b")->ewma_ms(), before);
}

TEST(Balancer, ProbesStayLastAndTiesRotate) {
  Balancer bal(BalanceStrategy::kLeastOutstanding);
  std::map<std::string, int> first;
  for (int i = 0; i < 100; ++i) {
    std::vector<RouteCandidate> c = {Cand("a"), Cand("p"), Cand("b")};
    c[1].probe = true;
    bal.Order(c, nullptr);
    EXPECT_EQ(c[2].deployment().key, "p");
    ++first[c[0].deployment().key];
  }
  EXPECT_EQ(first["a"], 50);
  EXPECT_EQ(first["b"], 50);
}

}  // namespace
}  // namespace hybridgate::routing
