#include "learned/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hybridgate::learned {
namespace {

// Ten prompts, scored 10 (rank 0) down to 1 (rank 9). Gain (strong - weak) by rank:
//   rank:  0  1  2  3  4   5  6  7  8  9
//   weak:  0  0  1  0  1   1  0  1  0  1   -> sum 5, quality 0.5
//   strong:1  1  1  0  0   1  1  1  0  1   -> sum 7, quality 0.7
//   gain: +1 +1  0  0 -1   0 +1  0  0  0   gap = 7 - 5 = 2
// Routing the top m: cumulative gain 0 1 2 2 2 1 1 2 2 2 2 (m = 0..10),
// PGR = gain / 2:                   0 .5 1 1 1 .5 .5 1 1 1 1.
std::vector<Outcome> TenPrompts() {
  const int weak[] = {0, 0, 1, 0, 1, 1, 0, 1, 0, 1};
  const int strong[] = {1, 1, 1, 0, 0, 1, 1, 1, 0, 1};
  std::vector<Outcome> o;
  for (int r = 0; r < 10; ++r) o.push_back({10.0 - r, double(weak[r]), double(strong[r])});
  return o;
}

TEST(MetricsTest, DecileCurveAndApgrMatchHandComputation) {
  auto m = Evaluate(TenPrompts());
  ASSERT_TRUE(m.has_value());
  EXPECT_DOUBLE_EQ(m->weak_quality, 0.5);
  EXPECT_DOUBLE_EQ(m->strong_quality, 0.7);
  const double pgr[] = {0, .5, 1, 1, 1, .5, .5, 1, 1, 1, 1};
  ASSERT_EQ(m->deciles.size(), 11u);
  for (int k = 0; k <= 10; ++k) {
    EXPECT_NEAR(m->deciles[k].strong_share, k / 10.0, 1e-12) << k;
    EXPECT_NEAR(m->deciles[k].pgr, pgr[k], 1e-12) << k;
  }
  // Trapezoids of width 0.1: (0+.5)/2 + (.5+1)/2 + 1 + 1 + (1+.5)/2 + (.5+.5)/2 + (.5+1)/2
  //   + 1 + 1 + 1 = .25 + .75 + 1 + 1 + .75 + .5 + .75 + 1 + 1 + 1 = 8.0; times 0.1 = 0.8.
  EXPECT_NEAR(m->apgr, 0.8, 1e-12);
  // PGR first reaches 0.5 with one prompt routed and 0.8 with two.
  EXPECT_NEAR(m->cpt50, 0.1, 1e-12);
  EXPECT_NEAR(m->cpt80, 0.2, 1e-12);
  // Quality at 20 % strong calls: (5 + 2) / 10.
  EXPECT_NEAR(m->deciles[2].quality, 0.7, 1e-12);
}

TEST(MetricsTest, ReversedScoresGiveTheMirrorCurve) {
  auto o = TenPrompts();
  for (Outcome& x : o) x.score = -x.score;
  // Routing from rank 9 upwards: cumulative gain 0 0 0 0 1 1 0 0 0 1 2 (reversed increments),
  // PGR 0 0 0 0 .5 .5 0 0 0 .5 1; trapezoids (x0.1): 0 0 0 .25 .5 .25 0 0 .25 .75 = 2.0 -> 0.2.
  auto m = Evaluate(o);
  ASSERT_TRUE(m.has_value());
  EXPECT_NEAR(m->apgr, 0.2, 1e-12);
  EXPECT_NEAR(m->cpt50, 0.4, 1e-12);
  EXPECT_NEAR(m->cpt80, 1.0, 1e-12);
}

TEST(MetricsTest, TiedScoresMoveTogether) {
  auto o = TenPrompts();
  for (Outcome& x : o) x.score = 0.5;
  // Nothing lies strictly above the tied score until k = 10 (threshold -inf): the curve is
  // (0, 0) ... (0, 0), (1, 1); the last trapezoid is 1 * (0 + 1) / 2 = 0.5, as for random.
  auto m = Evaluate(o);
  ASSERT_TRUE(m.has_value());
  EXPECT_NEAR(m->apgr, 0.5, 1e-12);
  EXPECT_EQ(FullCurve(o).size(), 2u);
  EXPECT_NEAR(m->cpt50, 1.0, 1e-12);
}

TEST(MetricsTest, EqualQualityIsAnError) {
  std::vector<Outcome> o = {{1, 1, 1}, {0, 0, 0}};
  EXPECT_FALSE(Evaluate(o).has_value());
  EXPECT_FALSE(Evaluate({}).has_value());
}

TEST(MetricsTest, ThresholdForShareTakesMidpoints) {
  const std::vector<double> s = {0.5, 0.9, 0.7, 0.6, 0.8};
  auto c = ThresholdForShare(s, 0.4);  // top 2 of 5: 0.9, 0.8 -> midway to 0.7
  ASSERT_TRUE(c.has_value());
  EXPECT_NEAR(c->threshold, 0.75, 1e-12);
  EXPECT_NEAR(c->strong_share, 0.4, 1e-12);
  EXPECT_NEAR(ThresholdForShare(s, 0.0)->strong_share, 0.0, 1e-12);
  EXPECT_NEAR(ThresholdForShare(s, 1.0)->strong_share, 1.0, 1e-12);
  EXPECT_FALSE(ThresholdForShare(s, 1.5).has_value());
  EXPECT_FALSE(ThresholdForShare({}, 0.5).has_value());
}

TEST(MetricsTest, ThresholdForPgrFindsCheapestPoint) {
  // From the table above, PGR 0.8 is first reached with the top two routed (scores 10 and 9);
  // the threshold lies midway between 9 and the next score 8.
  auto c = ThresholdForPgr(TenPrompts(), 0.8);
  ASSERT_TRUE(c.has_value());
  EXPECT_NEAR(c->threshold, 8.5, 1e-12);
  EXPECT_NEAR(c->strong_share, 0.2, 1e-12);
  EXPECT_NEAR(c->pgr, 1.0, 1e-12);
  EXPECT_FALSE(ThresholdForPgr(TenPrompts(), 2.0).has_value());
}

}  // namespace
}  // namespace hybridgate::learned
