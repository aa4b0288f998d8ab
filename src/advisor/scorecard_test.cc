#include "advisor/scorecard.h"

#include <gtest/gtest.h>

namespace hybridgate::advisor {
namespace {

Answers AllScored(std::array<int, kDimensions> s) {
  Answers a;
  a.data_can_leave = true;
  for (size_t i = 0; i < kDimensions; ++i) a.scores[i] = s[i];
  return a;
}

TEST(Scorecard, BandsAtTheirEdges) {
  struct Row {
    std::array<int, kDimensions> scores;
    int total;
    std::string_view band;
  };
  const Row rows[] = {
      {{1, 1, 1, 1, 1, 1}, 6, "closed"},        {{2, 2, 2, 2, 2, 2}, 12, "closed"},
      {{3, 2, 2, 2, 2, 2}, 13, "hybrid"},       {{3, 3, 3, 3, 3, 3}, 18, "hybrid"},
      {{4, 3, 3, 3, 3, 3}, 19, "open_primary"}, {{4, 4, 4, 4, 4, 4}, 24, "open_primary"},
      {{5, 4, 4, 4, 4, 4}, 25, "open_only"},    {{5, 5, 5, 5, 5, 5}, 30, "open_only"},
  };
  for (const Row& r : rows) {
    auto s = Score(AllScored(r.scores), {});
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->total, r.total);
    EXPECT_EQ(s->band, r.band) << r.total;
    EXPECT_FALSE(s->privacy_override);
  }
}

TEST(Scorecard, DataThatMayNotLeaveOverridesEveryOtherDimension) {
  Answers a = AllScored({1, 1, 1, 1, 1, 1});
  a.scores[kPrivacy].reset();
  a.data_can_leave = false;
  LedgerFacts l{.present = true, .days = 1, .requests = 10, .tokens = 1000};
  l.routes.push_back({.name = "support", .requests = 10});
  auto s = Score(a, l);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->scores[kPrivacy], 5);
  EXPECT_EQ(s->total, 10);
  EXPECT_EQ(s->band, "closed");  // the total says closed; the override decides
  EXPECT_TRUE(s->privacy_override);
  EXPECT_EQ(s->recommendation.rfind("Privacy override", 0), 0u) << s->recommendation;
  ASSERT_EQ(s->placements.size(), 1u);
  EXPECT_EQ(s->placements[0].where, "self-hosted");
}

TEST(Scorecard, TheQuestionsAndTheLedgerFillTheDimensions) {
  Answers a;
  a.data_can_leave = true;
  a.frontier = "some";
  a.team = "dedicated";
  a.scores[kCustomisation] = 2;
  // 3M tokens a day for 30 days (90M a month), 10% of requests with class >= 3 data, p95 400 ms.
  LedgerFacts l{.present = true, .days = 2, .requests = 100, .tokens = 6'000'000};
  l.by_class = {0, 80, 10, 8, 2, 0};
  l.p95_latency_ms = 400;
  l.has_latency = true;
  l.routes.push_back({.name = "chat", .requests = 90});
  l.routes.push_back({.name = "claims", .requests = 10, .sensitive = 10, .max_class = 4});
  auto s = Score(a, l);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->scores[kPrivacy], 3);     // 10% sensitive
  EXPECT_EQ(s->scores[kCostVolume], 2);  // 90M a month: 10M..100M
  EXPECT_EQ(s->scores[kCapability], 3);
  EXPECT_EQ(s->scores[kOperations], 5);
  EXPECT_EQ(s->scores[kLatency], 4);
  EXPECT_EQ(s->total, 19);
  EXPECT_EQ(s->band, "open_primary");
  EXPECT_EQ(s->placements[0].where, "self-hosted, external fallback");
  EXPECT_EQ(s->placements[1].where, "self-hosted");  // it carries class-4 data
  EXPECT_NE(s->why[kCostVolume].find("90000000 tokens a month"), std::string::npos)
      << s->why[kCostVolume];
}

TEST(Scorecard, BadAndMissingAnswersAreClearErrors) {
  struct Row {
    std::string yaml;
    std::string error;
  };
  const Row rows[] = {
      {"scores: {latency: 7}", "a.yaml:1: 'scores.latency': 7 is not 1 to 5"},
      {"scores: {latency: high}", "a.yaml:1: 'scores.latency': 'high' is not a number from 1 to 5"},
      {"scores: {speed: 3}", "a.yaml:1: 'scores.speed': unknown dimension"},
      {"data_can_leave: maybe", "a.yaml:1: 'data_can_leave': 'maybe' is not yes or no"},
      {"monthly_tokens: -5", "'monthly_tokens': '-5' is not a whole number of tokens"},
      {"frontier_capability: lots", "'frontier_capability': 'lots' is not required, some or none"},
      {"team: big", "a.yaml:1: 'team': unknown key"},
      {"[1, 2]", "the answers must be a YAML mapping"},
      {"data_can_leave: no\nteam_capacity: some\ndata_can_leave: yes\n",
       "a.yaml:3: 'data_can_leave': is answered twice"},
      {"scores: {latency: 3, latency: 5}", "a.yaml:1: 'scores.latency': is scored twice"},
  };
  for (const Row& r : rows) {
    auto a = ParseAnswers(r.yaml, "a.yaml");
    ASSERT_FALSE(a) << r.yaml;
    EXPECT_NE(a.error().message.find(r.error), std::string::npos)
        << r.yaml << ": " << a.error().message;
  }
  auto yes = ParseAnswers("data_can_leave: Yes", "a.yaml");  // YAML's booleans, any case
  ASSERT_TRUE(yes) << yes.error().message;
  EXPECT_EQ(yes->data_can_leave, true);
  Answers conflicting = AllScored({3, 1, 3, 3, 3, 3});
  conflicting.data_can_leave = false;
  auto c = Score(conflicting, {});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message.rfind("conflicting answers: data_can_leave is no", 0), 0u)
      << c.error().message;
  auto partial = ParseAnswers("data_can_leave: yes\nscores: {latency: 2}\n", "a.yaml");
  ASSERT_TRUE(partial) << partial.error().message;
  auto s = Score(*partial, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "not answered: monthly_tokens, frontier_capability, team_capacity, customisation "
            "(answer them in --answers, by flags, or on a terminal)");
}

}  // namespace
}  // namespace hybridgate::advisor
