#include "learned/model.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "learned/evaluation.h"
#include "learned/model_io.h"
#include "learned/test_util.h"
#include "learned/train.h"

namespace hybridgate::learned {
namespace {

using testing::SmallOptions;
using testing::SyntheticDataset;

TEST(ModelTest, SameSeedGivesByteIdenticalModel) {
  const Dataset ds = SyntheticDataset(240);
  auto a = Train(ds, SmallOptions());
  auto b = Train(ds, SmallOptions());
  ASSERT_TRUE(a.has_value()) << a.error().message;
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(SerializeModel(*a), SerializeModel(*b));
  TrainOptions other = SmallOptions();
  other.seed = 99;
  auto c = Train(ds, other);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(SerializeModel(*a), SerializeModel(*c));
}

TEST(ModelTest, SaveLoadRoundTripGivesIdenticalScores) {
  const Dataset ds = SyntheticDataset(240);
  auto model = Train(ds, SmallOptions());
  ASSERT_TRUE(model.has_value());
  const std::string path = ::testing::TempDir() + "/router_roundtrip.model";
  ASSERT_TRUE(SaveModel(*model, path).has_value());
  auto loaded = LoadModel(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(SerializeModel(*loaded), SerializeModel(*model));
  for (const Example& e : SyntheticDataset(50, 1000).examples) {
    EXPECT_EQ(model->Score(e.prompt), loaded->Score(e.prompt)) << e.prompt;
  }
  EXPECT_EQ(model->Score(""), loaded->Score(""));
  std::remove(path.c_str());
}

TEST(ModelTest, CorruptFilesAreRejected) {
  auto model = Train(SyntheticDataset(120), SmallOptions());
  ASSERT_TRUE(model.has_value());
  const std::string bytes = SerializeModel(*model);
  EXPECT_FALSE(DeserializeModel("").has_value());
  EXPECT_FALSE(DeserializeModel("NOTAMODEL 1\n{}\n").has_value());
  EXPECT_FALSE(DeserializeModel(bytes.substr(0, bytes.size() - 4)).has_value());  // truncated
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x40;  // a weight byte
  auto bad = DeserializeModel(flipped, "m.bin");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("checksum"), std::string::npos) << bad.error().message;
  std::string newer = bytes;
  newer.replace(newer.find("\"format_version\":1"), 18, "\"format_version\":9");
  EXPECT_FALSE(DeserializeModel(newer).has_value());
  EXPECT_FALSE(LoadModel("/nonexistent/router.model").has_value());
}

TEST(ModelTest, LearnsSyntheticRoutingSignal) {
  auto model = Train(SyntheticDataset(400), SmallOptions());
  ASSERT_TRUE(model.has_value());
  const Dataset test = SyntheticDataset(200, 5000);
  auto reports = EvaluateByBenchmark(test, {{"learned", ScoreAll(*model, test)}}, 5);
  ASSERT_TRUE(reports.has_value()) << reports.error().message;
  ASSERT_EQ(reports->size(), 2u);
  for (const BenchmarkReport& r : *reports) {
    EXPECT_GT(r.routers[0].metrics.apgr, 0.75) << r.benchmark;
    EXPECT_LT(r.routers[0].metrics.cpt80, 0.6) << r.benchmark;
  }
  // The subject model separates the two categories.
  // "algebra" sorts first; example 5001 (5001 % 3 == 0) is a maths prompt, 5000 is not.
  ASSERT_EQ(test.examples[1].category, "algebra");
  const auto post = model->SubjectPosterior(test.examples[1].prompt);
  ASSERT_EQ(post.size(), 2u);
  EXPECT_GT(post[0], 0.5f);
  EXPECT_LT(model->SubjectPosterior(test.examples[0].prompt)[0], 0.5f);
}

TEST(ModelTest, ScoresAreProbabilitiesForAnyInput) {
  auto model = Train(SyntheticDataset(120), SmallOptions());
  ASSERT_TRUE(model.has_value());
  for (std::string_view p : {std::string_view(""), std::string_view("\n\n\nA."),
                             std::string_view("\xff\xfe\x00 ünïcode \t 123456789012345678")}) {
    const double s = model->Score(p);
    EXPECT_GT(s, 0.0);
    EXPECT_LT(s, 1.0);
  }
}

TEST(ModelTest, GradedLabelsAndErrors) {
  Dataset ds = SyntheticDataset(120);
  for (Example& e : ds.examples) {
    e.weak = 1 + 9 * e.weak;  // 1..10 ratings
    e.strong = 1 + 9 * e.strong;
  }
  auto y = MakeTargets(ds, Target::kGain);
  ASSERT_TRUE(y.has_value());
  for (float v : *y) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  EXPECT_TRUE(Train(ds, SmallOptions()).has_value());
  for (Example& e : ds.examples) e.weak = e.strong = 3;
  EXPECT_FALSE(Train(ds, SmallOptions()).has_value());
  TrainOptions bad = SmallOptions();
  bad.epochs = 0;
  EXPECT_FALSE(Train(SyntheticDataset(20), bad).has_value());
}

TEST(ModelTest, CrossValidationScoresEveryExample) {
  const Dataset ds = SyntheticDataset(150);
  auto one = CrossValidatedScores(ds, SmallOptions(), 3, 1);
  auto two = CrossValidatedScores(ds, SmallOptions(), 3, 2);
  ASSERT_TRUE(one.has_value());
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(*one, *two);  // thread count does not change results
  for (double s : *one) EXPECT_GT(s, 0.0);
  EXPECT_FALSE(CrossValidatedScores(ds, SmallOptions(), 1).has_value());
}

}  // namespace
}  // namespace hybridgate::learned
