// The rollout rules (gates.h), the sticky assignment (board.h) and the store (store.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "ledger/testing/pg_cluster.h"
#include "rollout/board.h"
#include "rollout/cli.h"
#include "rollout/store.h"
#include "tests/support/redis_server.h"

namespace hybridgate::rollout {
namespace {

routing::RolloutConfig Config() {
  routing::RolloutConfig c;
  c.candidate = "llama";
  c.incumbent = "gpt";
  c.stages = {5, 50, 100};
  c.min_requests = 20;
  c.min_duration_ms = 1000;
  c.gates.error_rate_max = 0.05;
  return c;
}

State Running(int stage) {
  return {.route = "r", .candidate = "llama", .phase = Phase::kRunning, .stage = stage};
}

StageCounts Counts(int64_t requests, int64_t errors) {
  StageCounts c;
  c.candidate.requests = requests;
  c.candidate.errors = errors;
  return c;
}

TEST(RolloutGates, PromotesOnlyWithRequestsTimeAndGates) {
  const routing::RolloutConfig c = Config();
  const State s = Running(0);
  Verdict v = Evaluate(c, s, Counts(19, 0), 5000);
  EXPECT_EQ(v.action, Verdict::Action::kWait);
  EXPECT_EQ(v.requests_left, 1);
  EXPECT_NE(v.why.find("1 more candidate requests"), std::string::npos) << v.why;
  v = Evaluate(c, s, Counts(20, 0), 500);  // too early
  EXPECT_EQ(v.action, Verdict::Action::kWait);
  EXPECT_EQ(v.ms_left, 500);
  v = Evaluate(c, s, Counts(20, 1), 1000);  // 5%: at the limit, holds
  EXPECT_EQ(v.action, Verdict::Action::kPromote) << v.why;
  ASSERT_EQ(v.gates.size(), 1u);
  EXPECT_DOUBLE_EQ(v.gates[0].value, 0.05);
  EXPECT_LT(v.gates[0].low, 0.05);
  EXPECT_GT(v.gates[0].high, 0.05);
}

TEST(RolloutGates, RollsBackWhenTheIntervalIsAboveTheLimit) {
  const routing::RolloutConfig c = Config();
  // 3 of 10 failed: Wilson's lower bound is ~10.8% > 5%.
  Verdict v = Evaluate(c, Running(1), Counts(10, 3), 0);
  EXPECT_EQ(v.action, Verdict::Action::kRollBack);
  EXPECT_NE(v.why.find("gate error_rate failed"), std::string::npos) << v.why;
  // Too few samples decide nothing, however bad.
  v = Evaluate(c, Running(1), Counts(9, 9), 0);
  EXPECT_EQ(v.action, Verdict::Action::kWait);
  // 1 of 10 (10%) is over the limit but not surely: wait, do not promote.
  v = Evaluate(c, Running(1), Counts(30, 3), 5000);
  EXPECT_EQ(v.action, Verdict::Action::kWait) << v.why;
  // Paused: rolls back still, never promotes.
  State paused = Running(1);
  paused.phase = Phase::kPaused;
  EXPECT_EQ(Evaluate(c, paused, Counts(10, 3), 0).action, Verdict::Action::kRollBack);
  EXPECT_EQ(Evaluate(c, paused, Counts(100, 0), 5000).action, Verdict::Action::kWait);
  // Complete: the gates still guard it.
  State complete = Running(2);
  complete.phase = Phase::kComplete;
  EXPECT_EQ(Evaluate(c, complete, Counts(10, 3), 0).action, Verdict::Action::kRollBack);
  EXPECT_EQ(Evaluate(c, complete, Counts(100, 0), 5000).action, Verdict::Action::kWait);
  State rolled = Running(0);
  rolled.phase = Phase::kRolledBack;
  EXPECT_EQ(Evaluate(c, rolled, Counts(10, 10), 0).action, Verdict::Action::kWait);
}

TEST(RolloutGates, FeedbackComparesTheArmsRatings) {
  routing::RolloutConfig c = Config();
  c.gates = {};
  c.gates.feedback_drop_max = 0.1;
  StageCounts k = Counts(100, 0);
  const auto rate = [](FeedbackCounts& f, int n, double score) {
    for (int i = 0; i < n; ++i) {
      ++f.n;
      f.sum += score;
      f.sq_sum += score * score;
    }
  };
  rate(k.feedback_incumbent, 30, 1);
  rate(k.feedback_candidate, 5, 0);
  Verdict v = Evaluate(c, Running(0), k, 5000);
  EXPECT_EQ(v.action, Verdict::Action::kWait) << "5 ratings of the candidate decide nothing";
  EXPECT_FALSE(v.gates[0].known);
  // Both arms rated alike (4 in 5 up): within the limit.
  k.feedback_incumbent = k.feedback_candidate = {};
  rate(k.feedback_incumbent, 40, 1);
  rate(k.feedback_incumbent, 10, 0);
  rate(k.feedback_candidate, 20, 1);
  rate(k.feedback_candidate, 5, 0);
  v = Evaluate(c, Running(0), k, 5000);
  ASSERT_EQ(v.gates.size(), 1u);
  EXPECT_EQ(v.gates[0].name, "feedback_drop");
  EXPECT_NEAR(v.gates[0].value, 0, 1e-9);
  EXPECT_TRUE(v.gates[0].holds);
  EXPECT_EQ(v.action, Verdict::Action::kPromote) << v.why;
  // The candidate's answers rated down: 0.8 - 0.2, well over 0.1 with 95% confidence.
  k.feedback_candidate = {};
  rate(k.feedback_candidate, 5, 1);
  rate(k.feedback_candidate, 20, 0);
  v = Evaluate(c, Running(0), k, 5000);
  EXPECT_NEAR(v.gates[0].value, 0.6, 1e-9);
  EXPECT_GT(v.gates[0].low, 0.1);
  EXPECT_EQ(v.action, Verdict::Action::kRollBack) << v.why;
  EXPECT_NE(v.why.find("feedback_drop"), std::string::npos) << v.why;
  // A small drop whose interval reaches under the limit neither fails nor holds.
  k.feedback_candidate = {};
  rate(k.feedback_candidate, 17, 1);
  rate(k.feedback_candidate, 8, 0);
  v = Evaluate(c, Running(0), k, 5000);
  EXPECT_FALSE(v.gates[0].failed);
  EXPECT_FALSE(v.gates[0].holds);
  EXPECT_EQ(v.action, Verdict::Action::kWait) << v.why;
}

TEST(RolloutGates, QualityAndLatency) {
  routing::RolloutConfig c = Config();
  c.gates = {};
  c.gates.quality_drop_max = 0.1;
  c.gates.p95_latency_ratio_max = 1.5;
  StageCounts k = Counts(100, 0);
  for (int i = 0; i < 30; ++i) {
    k.incumbent.latency[LatencyBucket(100)]++;
    k.candidate.latency[LatencyBucket(120)]++;
  }
  Verdict v = Evaluate(c, Running(0), k, 5000);
  EXPECT_EQ(v.action, Verdict::Action::kWait) << "no comparisons yet: " << v.why;
  for (int i = 0; i < 20; ++i) {
    k.comparisons++;
    k.score_sum += 0.95;
    k.score_sq_sum += 0.95 * 0.95;
  }
  v = Evaluate(c, Running(0), k, 5000);
  EXPECT_EQ(v.action, Verdict::Action::kPromote) << v.why;
  EXPECT_NEAR(v.gates[0].value, 0.05, 1e-9);
  EXPECT_NEAR(v.gates[1].value, 1.2, 0.15);
  for (int i = 0; i < 30; ++i) k.candidate.latency[LatencyBucket(400)]++;
  v = Evaluate(c, Running(0), k, 5000);
  EXPECT_EQ(v.action, Verdict::Action::kRollBack) << v.why;
  EXPECT_NE(v.why.find("p95_latency_ratio"), std::string::npos);
  // At 100% no incumbent answers: the ratio is to the baseline kept from before.
  StageCounts only_candidate = Counts(100, 0);
  for (int i = 0; i < 30; ++i) only_candidate.candidate.latency[LatencyBucket(120)]++;
  State full = Running(2);
  v = Evaluate(c, full, only_candidate, 5000);
  EXPECT_FALSE(v.gates[1].known);
  // Without a baseline (promoted by hand before the incumbent was measured) the gate cannot
  // decide: it is waived, says so, and does not hold the rollout at 100% forever.
  EXPECT_TRUE(v.gates[1].waived);
  EXPECT_EQ(v.why.find("p95_latency_ratio"), std::string::npos) << v.why;
  EXPECT_NE(VerdictJson(v, only_candidate).find("\"waived\":true"), std::string::npos);
  full.baseline_p95_ms = 100;
  v = Evaluate(c, full, only_candidate, 5000);
  EXPECT_TRUE(v.gates[1].known);
  EXPECT_FALSE(v.gates[1].waived);
}

TEST(RolloutGates, Commands) {
  const routing::RolloutConfig c = Config();
  State s{.route = "r", .candidate = "llama"};
  EXPECT_EQ(SharePercent(c, s), 0);
  ASSERT_TRUE(Apply(c, s, Command::kPromote, 10, "go").has_value());
  EXPECT_EQ(s.phase, Phase::kRunning);
  EXPECT_EQ(SharePercent(c, s), 5);
  const int64_t epoch = s.epoch;
  ASSERT_TRUE(Apply(c, s, Command::kPause, 20, "hold").has_value());
  EXPECT_EQ(SharePercent(c, s), 5);
  EXPECT_EQ(s.epoch, epoch) << "a pause keeps the stage's evidence";
  EXPECT_FALSE(Apply(c, s, Command::kPause, 20, "again").has_value());
  ASSERT_TRUE(Apply(c, s, Command::kResume, 30, "go on").has_value());
  ASSERT_TRUE(Apply(c, s, Command::kPromote, 40, "").has_value());
  ASSERT_TRUE(Apply(c, s, Command::kPromote, 50, "").has_value());
  EXPECT_EQ(SharePercent(c, s), 100);
  EXPECT_EQ(s.phase, Phase::kRunning);
  ASSERT_TRUE(Apply(c, s, Command::kPromote, 60, "").has_value());
  EXPECT_EQ(s.phase, Phase::kComplete);
  auto st = Apply(c, s, Command::kPromote, 70, "");
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("complete"), std::string::npos);
  ASSERT_TRUE(Apply(c, s, Command::kRollBack, 80, "bad").has_value());
  EXPECT_EQ(SharePercent(c, s), 0);
  EXPECT_FALSE(Apply(c, s, Command::kPromote, 90, "").has_value()) << "resume first";
  ASSERT_TRUE(Apply(c, s, Command::kResume, 100, "again").has_value());
  EXPECT_EQ(s.stage, 0);
  EXPECT_EQ(s.stage_started_ms, 100);
}

// Another incumbent in the config makes the stage's evidence a comparison with a deployment that
// no longer answers: the rollout starts again at its first stage, counters and baseline fresh.
TEST(RolloutGates, AnotherIncumbentStartsTheEvidenceAgain) {
  routing::RolloutConfig c = Config();
  State s = Running(1);
  s.epoch = 4;
  s.baseline_p95_ms = 120;
  EXPECT_FALSE(AdoptIncumbent(c, s, 7)) << "a row stored without one only records it";
  EXPECT_EQ(s.incumbent, "gpt");
  EXPECT_EQ(s.stage, 1);
  EXPECT_EQ(s.epoch, 4);
  EXPECT_FALSE(AdoptIncumbent(c, s, 8)) << "the same one";
  c.incumbent = "claude";
  EXPECT_TRUE(AdoptIncumbent(c, s, 9));
  EXPECT_EQ(s.incumbent, "claude");
  EXPECT_EQ(s.stage, 0);
  EXPECT_EQ(s.epoch, 5);
  EXPECT_EQ(s.stage_started_ms, 9);
  EXPECT_EQ(s.baseline_p95_ms, 0);
  State done = s;
  done.phase = Phase::kComplete;
  done.stage = 2;
  c.incumbent = "gpt";
  EXPECT_TRUE(AdoptIncumbent(c, done, 10));
  EXPECT_EQ(done.phase, Phase::kComplete) << "a complete rollout stays complete";
  EXPECT_EQ(done.stage, 2);
  EXPECT_EQ(FeedbackName("r", c), "r/llama/gpt");
}

TEST(RolloutGates, ANewStageListKeepsTheShareAtOrBelowWhereItWas) {
  routing::RolloutConfig c = Config();  // 5, 50, 100
  State s = Running(1);                 // 50%
  s.stages = c.stages;
  EXPECT_FALSE(AdoptStages(c, s, 0));
  c.stages = {10, 100};
  const int64_t epoch = s.epoch;
  EXPECT_TRUE(AdoptStages(c, s, 7));
  EXPECT_EQ(SharePercent(c, s), 10) << "never more than it was";
  EXPECT_EQ(s.stage_started_ms, 7);
  EXPECT_EQ(s.epoch, epoch + 1) << "the stage starts afresh";
  c.stages = {20, 60, 100};
  EXPECT_TRUE(AdoptStages(c, s, 8));
  EXPECT_EQ(SharePercent(c, s), 20) << "none at or below 10%: the first";
  c.stages = {20, 40, 100};
  s.stage = 1;  // 60% of the stored {20, 60, 100}
  EXPECT_TRUE(AdoptStages(c, s, 9));
  EXPECT_EQ(SharePercent(c, s), 40);
  // Commands use the stored stages.
  ASSERT_TRUE(Apply(c, s, Command::kPromote, 10, "").has_value());
  EXPECT_EQ(SharePercent(c, s), 100);
}

TEST(RolloutBoard, StickyAndMonotone) {
  LiveRollout r;
  r.salt = StickySalt("support", "llama");
  int at5 = 0, at50 = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    r.percent = 5;
    const bool a = r.InCandidateArm(key);
    EXPECT_EQ(a, r.InCandidateArm(key));
    r.percent = 50;
    const bool b = r.InCandidateArm(key);
    if (a) EXPECT_TRUE(b) << "a candidate-arm caller stays there as the share grows";
    at5 += a;
    at50 += b;
  }
  EXPECT_NEAR(at5, 1000, 200);
  EXPECT_NEAR(at50, 10'000, 500);
  // Another rollout draws another cohort.
  EXPECT_NE(StickyBucket(StickySalt("support", "llama"), "key-1"),
            StickyBucket(StickySalt("other", "llama"), "key-1"));
}

TEST(RolloutStoreConfig, FollowsTheLedgerAndTheLimitsUnlessSet) {
  config::Config c;
  c.source = "/etc/hg/gw.yaml";
  EXPECT_EQ(ResolveStoreConfig(c).backend, "sqlite");
  EXPECT_EQ(ResolveStoreConfig(c).path, "/etc/hg/rollouts.db");
  c.ledger.backend = "postgres";
  c.ledger.dsn = "host=db dbname=hg";
  StoreConfig w = ResolveStoreConfig(c);
  EXPECT_EQ(w.backend, "postgres");
  EXPECT_EQ(w.dsn, "host=db dbname=hg");
  EXPECT_EQ(w.Name(), "postgres") << "no dsn (it may hold a password) in logs";
  c.rollouts.backend = "redis";
  c.limits.redis_url = "redis://:secret@cache:6380/2";
  w = ResolveStoreConfig(c);
  EXPECT_EQ(w.backend, "redis");
  EXPECT_EQ(w.redis_url, "redis://:secret@cache:6380/2");
  EXPECT_EQ(w.Name(), "redis cache:6380/2");
  c.rollouts.backend = "sqlite";
  EXPECT_EQ(ResolveStoreConfig(c).backend, "sqlite") << "set: the ledger does not decide";
}

// Every backend behaves the same: each test runs on SQLite, on a real PostgreSQL and on a real
// Redis (started once for the suite; a fresh schema or database per test).
class RolloutStore : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() {
    pg_.reset();
    redis_.reset();
  }
  StoreConfig Where() {
    StoreConfig w{.backend = GetParam()};
    if (GetParam() == "postgres") {
      if (!pg_) pg_ = std::make_unique<ledger::testing::PgCluster>();
      EXPECT_TRUE(pg_->started()) << pg_->error();
      EXPECT_EQ(pg_->Exec("DROP TABLE IF EXISTS rollouts, rollout_events, rollout_counts, "
                          "rollout_leases"),
                "");
      w.dsn = pg_->dsn();
    } else if (GetParam() == "redis") {
      if (!redis_) redis_ = std::make_unique<::hybridgate::testing::RedisServer>();
      EXPECT_TRUE(redis_->started());
      w.redis_url =
          "redis://127.0.0.1:" + std::to_string(redis_->port()) + "/" + std::to_string(next_db_++);
    } else {
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(name.begin(), name.end(), '/', '_');
      w.path = (std::filesystem::temp_directory_path() /
                ("rollout_test_" + std::to_string(getpid()) + "_" + name))
                   .string();
      std::filesystem::remove(w.path);
      paths_.push_back(w.path);
    }
    return w;
  }
  void TearDown() override {
    for (const std::string& p : paths_) std::filesystem::remove(p);
  }
  static inline std::unique_ptr<ledger::testing::PgCluster> pg_;
  static inline std::unique_ptr<::hybridgate::testing::RedisServer> redis_;
  static inline int next_db_ = 1;
  std::vector<std::string> paths_;
};

INSTANTIATE_TEST_SUITE_P(Backends, RolloutStore, ::testing::Values("sqlite", "postgres", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(RolloutStore, CreatesComparesAndSets) {
  auto store = Store::Open(Where());
  ASSERT_TRUE(store.has_value()) << store.error().message;
  routing::RolloutConfig c = Config();
  auto s = (*store)->Get("r", c, 1000);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->phase, Phase::kRunning);
  EXPECT_EQ(s->stage_started_ms, 1000);
  EXPECT_EQ(s->incumbent, "gpt");
  auto stored = (*store)->Peek("r");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  EXPECT_EQ((*stored)->incumbent, "gpt") << "the incumbent is stored";
  State a = *s, b = *s;
  ASSERT_TRUE(Apply(c, a, Command::kPromote, 2000, "x").has_value());
  auto put = (*store)->Put(a);
  ASSERT_TRUE(put.has_value() && *put);
  ASSERT_TRUE(Apply(c, b, Command::kRollBack, 2000, "y").has_value());
  put = (*store)->Put(b);
  ASSERT_TRUE(put.has_value());
  EXPECT_FALSE(*put) << "a stale version must not overwrite";
  s = (*store)->Get("r", c, 3000);
  EXPECT_EQ(s->stage, 1);
  // Another candidate does not displace a running rollout …
  routing::RolloutConfig other = c;
  other.candidate = "mistral";
  other.start_paused = true;
  std::string replaced;
  s = (*store)->Get("r", other, 4000, &replaced);
  EXPECT_EQ(s->candidate, "llama");
  EXPECT_EQ(s->phase, Phase::kRunning);
  EXPECT_EQ(replaced, "");
  // … but starts over once it is over (paused when configured so).
  State over = *s;
  ASSERT_TRUE(Apply(c, over, Command::kRollBack, 4500, "bad").has_value());
  ASSERT_TRUE(*(*store)->Put(over));
  s = (*store)->Get("r", other, 5000, &replaced);
  EXPECT_EQ(s->phase, Phase::kPending);
  EXPECT_EQ(s->candidate, "mistral");
  EXPECT_EQ(s->stage, 0);
  EXPECT_EQ(replaced, "llama: rolled_back");
  auto peeked = (*store)->Peek("r");
  ASSERT_TRUE(peeked && *peeked);
  EXPECT_EQ((*peeked)->candidate, "mistral");
  EXPECT_FALSE(*(*store)->Peek("nope"));
  ASSERT_TRUE(
      (*store)
          ->AddEvent({.time_ms = 1, .route = "r", .candidate = "mistral", .from = "a", .to = "b"})
          .has_value());
  EXPECT_EQ((*store)->Events("r", "llama", 5)->size(), 0u);
  auto events = (*store)->Events("r", "", 5);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].to, "b");
  // Following: from the last id on, oldest first.
  int64_t last = -7;
  ASSERT_TRUE((*store)->EventsAfter("r", -1, 10, &last));
  EXPECT_EQ(last, (*events)[0].id);
  ASSERT_TRUE((*store)->AddEvent({.time_ms = 2, .route = "r", .candidate = "mistral", .to = "c"}));
  ASSERT_TRUE((*store)->AddEvent({.time_ms = 3, .route = "q", .candidate = "mistral", .to = "x"}));
  ASSERT_TRUE((*store)->AddEvent({.time_ms = 4,
                                  .route = "r",
                                  .candidate = "mistral",
                                  .to = "d",
                                  .reason = "a \"quoted\" reason\n",
                                  .actor = "cli"}));
  int64_t after = 0;
  auto next = (*store)->EventsAfter("r", last, 10, &after);
  ASSERT_TRUE(next.has_value());
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].to, "c");
  EXPECT_EQ((*next)[1].to, "d");
  EXPECT_EQ((*next)[1].reason, "a \"quoted\" reason\n");
  EXPECT_EQ((*next)[1].actor, "cli");
  EXPECT_EQ((*next)[1].time_ms, 4);
  EXPECT_EQ(after, (*next)[1].id);
  EXPECT_TRUE((*store)->EventsAfter("r", after, 10, &after)->empty());
}

TEST_P(RolloutStore, AReplicaReadsWhatAnotherWroteAndStaleWritesAreRefused) {
  const StoreConfig where = Where();
  auto a = Store::Open(where);
  auto b = Store::Open(where);
  ASSERT_TRUE(a && b);
  routing::RolloutConfig c = Config();
  auto sa = (*a)->Get("r", c, 1000);
  ASSERT_TRUE(sa);
  // A created and promoted it: B reads that, and never creates it afresh.
  State promoted = *sa;
  ASSERT_TRUE(Apply(c, promoted, Command::kPromote, 2000, "x").has_value());
  ASSERT_TRUE(*(*a)->Put(promoted));
  auto sb = (*b)->Get("r", c, 2500);
  ASSERT_TRUE(sb);
  EXPECT_EQ(sb->stage, 1);
  EXPECT_EQ(sb->version, promoted.version);
  EXPECT_EQ(sb->stages, c.stages);
  State stale = *sa;
  stale.reason = "stale";
  EXPECT_FALSE(*(*b)->Put(stale)) << "a write from an old read is refused";
  State other = *sb;
  other.candidate = "mistral";
  EXPECT_FALSE(*(*b)->Put(other)) << "a write for another candidate is refused";
}

TEST_P(RolloutStore, ReplicasShareCountersAndOneHoldsTheLease) {
  const StoreConfig where = Where();
  auto a = Store::Open(where);
  auto b = Store::Open(where);  // a second replica on the same store
  ASSERT_TRUE(a && b);
  StageCounts one = Counts(10, 1), two = Counts(5, 2);
  one.candidate.latency[LatencyBucket(100)] = 3;
  two.candidate.latency[LatencyBucket(100)] = 4;
  two.comparisons = 2;
  two.score_sum = 1.5;
  two.score_sq_sum = 0.1;  // not a sum of halves: the bytes must carry every bit
  ASSERT_TRUE((*a)->PutCounts("r", 7, "a", one, 1000));
  ASSERT_TRUE((*b)->PutCounts("r", 7, "b", two, 1000));
  ASSERT_TRUE((*a)->PutCounts("r", 7, "a", one, 2000)) << "a replica replaces its own row";
  auto sum = (*a)->SumCounts("r", 7);
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->candidate.requests, 15);
  EXPECT_EQ(sum->candidate.errors, 3);
  EXPECT_EQ(sum->candidate.latency[LatencyBucket(100)], 7);
  EXPECT_EQ(sum->comparisons, 2);
  EXPECT_DOUBLE_EQ(sum->score_sum, 1.5);
  EXPECT_EQ(sum->score_sq_sum, 0.1);
  // A new epoch forgets the old ones.
  ASSERT_TRUE((*b)->PutCounts("r", 8, "b", two, 3000));
  EXPECT_EQ((*a)->SumCounts("r", 7)->candidate.requests, 0);
  // The lease: one holder until it expires or is given up.
  EXPECT_TRUE(*(*a)->Lease("r", "a", 10'000, 3000));
  EXPECT_FALSE(*(*b)->Lease("r", "b", 11'000, 3000));
  EXPECT_TRUE(*(*b)->Lease("other", "b", 11'000, 3000)) << "one lease per rollout";
  EXPECT_TRUE(*(*a)->Lease("r", "a", 12'000, 3000)) << "renewed";
  EXPECT_FALSE(*(*b)->Lease("r", "b", 14'000, 3000));
  EXPECT_TRUE(*(*b)->Lease("r", "b", 15'001, 3000)) << "a's lease ran out at 15000";
  EXPECT_FALSE(*(*a)->Lease("r", "a", 15'002, 3000));
  (*b)->ReleaseLeases("b");
  EXPECT_TRUE(*(*a)->Lease("r", "a", 15'003, 3000));
  EXPECT_TRUE(*(*a)->Lease("other", "a", 15'003, 3000));
}

// A PostgreSQL that does not answer (here: a statement waiting on another session's lock) is an
// unreadable store after a second, not a controller stuck for as long as it lasts; the next call
// connects again.
// A store file written before rollouts kept their incumbent opens, reads its row (no incumbent
// yet) and stores one from then on.
TEST(RolloutStoreSqlite, AFileFromBeforeTheIncumbentColumnOpens) {
  const std::string path = ::testing::TempDir() + "/hg_rollouts_old.db";
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "CREATE TABLE rollouts (route TEXT PRIMARY KEY, candidate TEXT NOT NULL, "
                   "phase TEXT NOT NULL, stage INTEGER NOT NULL, stage_started_ms BIGINT NOT "
                   "NULL, epoch BIGINT NOT NULL, reason TEXT NOT NULL, baseline_p95_ms DOUBLE "
                   "PRECISION NOT NULL, version BIGINT NOT NULL, updated_ms BIGINT NOT NULL, "
                   "report TEXT NOT NULL, stages TEXT NOT NULL DEFAULT '');"
                   "INSERT INTO rollouts VALUES ('r', 'llama', 'running', 1, 1000, 3, "
                   "'configured', 0, 2, 1000, '{}', '5,50,100');",
                   nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store) << store.error().message;
  auto s = (*store)->Get("r", Config(), 2000);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->stage, 1);
  EXPECT_EQ(s->epoch, 3);
  EXPECT_EQ(s->incumbent, "");
  State recorded = *s;
  EXPECT_FALSE(AdoptIncumbent(Config(), recorded, 3000));
  auto put = (*store)->Put(recorded);
  ASSERT_TRUE(put && *put);
  auto again = (*store)->Peek("r");
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->incumbent, "gpt");
  EXPECT_EQ((*again)->stage, 1);
}

TEST(RolloutStorePostgres, AStatementWithoutAnAnswerTimesOut) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  auto store = Store::Open({.backend = "postgres", .dsn = pg.dsn()});
  ASSERT_TRUE(store) << store.error().message;
  auto locker = std::make_unique<ledger::testing::TableLock>(pg.dsn(), "rollouts");
  ASSERT_EQ(locker->error(), "");
  const auto start = std::chrono::steady_clock::now();
  auto read = (*store)->Peek("r");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("no answer in 1000 ms"), std::string::npos)
      << read.error().message;
  EXPECT_LT(took, std::chrono::seconds(3));
  // For a timeout's length after it, calls fail at once (calls queued behind a hung server
  // cost one timeout in all, not one each).
  const auto quiet = std::chrono::steady_clock::now();
  auto at_once = (*store)->Peek("r");
  ASSERT_FALSE(at_once);
  EXPECT_NE(at_once.error().message.find("not asked again"), std::string::npos)
      << at_once.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - quiet, std::chrono::milliseconds(500));
  locker.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto again = (*store)->Peek("r");
  EXPECT_TRUE(again) << again.error().message;
  // PostgreSQL's text cannot hold a NUL: a value with one is refused, not stored cut short.
  auto nul = (*store)->AddEvent({.time_ms = 1,
                                 .route = "r",
                                 .candidate = "llama",
                                 .from = "a",
                                 .to = "b",
                                 .reason = std::string("cut\0here", 8),
                                 .actor = "test"});
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().code, ErrorCode::kInvalidRequest);
  EXPECT_NE(nul.error().message.find("NUL"), std::string::npos) << nul.error().message;
}

// A server that takes the connection and never answers (a hung PostgreSQL): opening the store
// gives up within a second or so, not libpq's connect_timeout of at least 2 s.
TEST(RolloutStorePostgres, AServerThatNeverAnswersIsNotWaitedFor) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string dsn =
      "host=127.0.0.1 port=" + std::to_string(ntohs(addr.sin_port)) + " dbname=x user=x";
  const auto start = std::chrono::steady_clock::now();
  auto store = Store::Open({.backend = "postgres", .dsn = dsn});
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(listener);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("no answer in 1000 ms"), std::string::npos)
      << store.error().message;
  EXPECT_LT(took, std::chrono::milliseconds(1800));
}

// A person's reason is shown in every status and terminal: printable UTF-8 only.
TEST(RolloutCommand, AReasonIsPrintableUtf8) {
  auto cfg = config::ParseConfig(R"(providers:
  - {name: a, type: openai, base_url: 'http://127.0.0.1:9', models: [{name: gpt}, {name: llama}]}
routes:
  r:
    tiers: [{name: main, deployments: [gpt]}]
    rollout: {candidate: llama, gates: {error_rate_max: 0.1}}
)",
                                 "gw.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto store = OpenSqliteStore(":memory:");
  ASSERT_TRUE(store);
  const std::pair<std::string, std::string> bad[] = {
      {"a\nb", "control characters"},
      {"\x7f", "control characters"},
      {"next\xc2\x85line", "control characters"},  // U+0085, a C1 control
      {"\xe2\x80\xae"
       "desrever",
       "bidirectional"},                                      // U+202E
      {"\xe2\x81\xa6isolated\xe2\x81\xa9", "bidirectional"},  // U+2066 … U+2069
      {"\xff", "not UTF-8"},
      {"cut \xc3", "not UTF-8"},
      {"\xc0\xaf", "not UTF-8"},      // an overlong '/'
      {"\xed\xa0\x80", "not UTF-8"},  // a surrogate
      {std::string(1001, 'x'), "at most 1000"},
  };
  for (const auto& [reason, why] : bad) {
    auto r = RunCommand(**store, *cfg, "r", Command::kPause, reason, "cli", 1000);
    ASSERT_FALSE(r) << reason;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidRequest);
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  }
  auto ok = RunCommand(**store, *cfg, "r", Command::kPause,
                       "fixed \xe2\x80\x94 \xc3\xbcn\xc3\xaf \xf0\x9f\x9a\x80 \"quoted\" \\", "cli",
                       1000);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->phase, Phase::kPaused);
}

// A person's promotion keeps the incumbent's p95 of the stage it ends, as the controller's
// does, so the latency gate still has something to compare with at 100%.
TEST(RolloutCommand, APromotionByHandKeepsTheIncumbentsLatency) {
  auto cfg = config::ParseConfig(R"(providers:
  - {name: a, type: openai, base_url: 'http://127.0.0.1:9', models: [{name: gpt}, {name: llama}]}
routes:
  r:
    tiers: [{name: main, deployments: [gpt]}]
    rollout: {candidate: llama, stages: [50, 100], gates: {p95_latency_ratio_max: 1.5}}
)",
                                 "gw.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto store = OpenSqliteStore(":memory:");
  ASSERT_TRUE(store);
  auto first = RunCommand(**store, *cfg, "r", Command::kPromote, "start", "cli", 1000);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->phase, Phase::kRunning);
  StageCounts counts;
  for (int i = 0; i < 40; ++i) counts.incumbent.latency[LatencyBucket(200)]++;
  ASSERT_TRUE((*store)->PutCounts("r", first->epoch, "replica-a", counts, 1500));
  auto full = RunCommand(**store, *cfg, "r", Command::kPromote, "looks fine", "cli", 2000);
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(SharePercent(cfg->routes.routes[0].rollout.value(), *full), 100);
  EXPECT_NEAR(full->baseline_p95_ms, 200, 40);
  StageCounts slow;
  for (int i = 0; i < 30; ++i) slow.candidate.latency[LatencyBucket(900)]++;
  const Verdict v = Evaluate(*cfg->routes.routes[0].rollout, *full, slow, 3000);
  EXPECT_EQ(v.action, Verdict::Action::kRollBack) << v.why;
}

}  // namespace
}  // namespace hybridgate::rollout
