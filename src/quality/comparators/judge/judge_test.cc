#include "quality/comparators/judge/judge.h"

#include <gtest/gtest.h>

namespace hybridgate::quality {
namespace {

using W = Verdict::Winner;

TEST(Judge, RequestCarriesTheRubricTheQuestionAndBothAnswersInOrder) {
  api::ChatRequest asked;
  api::Message m;
  m.role = "user";
  m.text = "what is 2+2?";
  asked.messages = {m};
  const api::ChatRequest r = JudgeRequest("judge-model", QuestionOf(asked), "four", "4");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.model, "judge-model");
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_NE(r.messages[0].text.find("\"winner\""), std::string::npos);
  const std::string& user = r.messages[1].text;
  EXPECT_LT(user.find("what is 2+2?"), user.find("[Answer A]\nfour"));
  EXPECT_LT(user.find("[Answer A]\nfour"), user.find("[Answer B]\n4"));
  EXPECT_EQ(r.response_format.kind, api::ResponseFormat::Kind::kJsonObject);
  EXPECT_EQ(r.temperature, 0);
}

TEST(Judge, ParsesVerdictsPlainOrFenced) {
  EXPECT_EQ(ParseVerdict(R"({"winner":"A","rationale":"r"})").winner, W::kA);
  EXPECT_EQ(ParseVerdict("```json\n{\"winner\": \"b\"}\n```").winner, W::kB);
  EXPECT_EQ(ParseVerdict(R"({"winner":"tie"})").winner, W::kTie);
  EXPECT_EQ(ParseVerdict("A is better").winner, W::kUnreadable);
  EXPECT_EQ(ParseVerdict(R"({"winner":"C"})").winner, W::kUnreadable);
  EXPECT_EQ(ParseVerdict(R"({"winner":"A","rationale":"short"})").rationale, "short");
}

TEST(Judge, BothOrdersMustAgreeOrItIsATie) {
  const Verdict a{W::kA, "x"}, b{W::kB, "y"}, tie{W::kTie, "z"}, bad{W::kUnreadable, ""};
  // A = primary first: "B" means the shadow; then A = shadow: "A" means the shadow.
  EXPECT_EQ(CombineVerdicts(b, a, 0.01)->value, 1.0);  // shadow better both times
  EXPECT_EQ(CombineVerdicts(a, b, 0.01)->value, 0.0);  // primary better both times
  const auto flipped = CombineVerdicts(a, a, 0.01);    // always "A": position bias
  EXPECT_EQ(flipped->value, 0.5);
  EXPECT_NE(flipped->detail.find("flipped"), std::string::npos);
  EXPECT_EQ(CombineVerdicts(tie, tie, 0)->value, 0.5);
  EXPECT_EQ(CombineVerdicts(b, tie, 0)->value, 0.5);
  EXPECT_FALSE(CombineVerdicts(bad, a, 0).has_value());
  EXPECT_EQ(CombineVerdicts(b, a, 0.25)->cost_usd, 0.25);
  EXPECT_EQ(CombineVerdicts(b, a, 0)->comparator, "judge");
}

}  // namespace
}  // namespace hybridgate::quality
