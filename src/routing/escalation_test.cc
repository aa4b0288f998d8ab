#include "routing/escalation.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hybridgate::routing {
namespace {

std::string Answer(std::string_view content_json, std::string_view logprobs_json = "null") {
  return std::string(R"({"id":"x","object":"chat.completion","choices":[{"index":0,)") +
         R"("message":{"role":"assistant","content":)" + std::string(content_json) +
         R"(},"logprobs":)" + std::string(logprobs_json) +
         R"(,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}})";
}

const char kLowLogprobs[] =
    R"({"content":[{"token":"a","logprob":-2.0,"bytes":[97],"top_logprobs":[]},)"
    R"({"token":"b","logprob":-1.0,"bytes":[98],"top_logprobs":[]}]})";

TEST(Escalation, ConfidenceIsExpOfTheMeanTokenLogprob) {
  const auto c = AnswerConfidence(Answer(R"("ab")", kLowLogprobs));
  ASSERT_TRUE(c.has_value());
  EXPECT_NEAR(*c, std::exp(-1.5), 1e-9);
  const auto sure =
      AnswerConfidence(Answer(R"("a")", R"({"content":[{"token":"a","logprob":0}]})"));
  ASSERT_TRUE(sure.has_value());
  EXPECT_DOUBLE_EQ(*sure, 1.0);
}

TEST(Escalation, NoLogprobsMeansNoJudgement) {
  EXPECT_FALSE(AnswerConfidence(Answer(R"("a")")).has_value());
  EXPECT_FALSE(AnswerConfidence(Answer(R"("a")", R"({"content":[]})")).has_value());
  EXPECT_FALSE(AnswerConfidence("not json").has_value());
  EXPECT_FALSE(AnswerConfidence(R"({"choices":[]})").has_value());
}

TEST(Escalation, JsonObjectCheck) {
  EXPECT_TRUE(AnswerIsJsonObject(Answer(R"("{\"a\": 1}")")));
  EXPECT_FALSE(AnswerIsJsonObject(Answer(R"("Sure! {\"a\": 1}")")));
  EXPECT_FALSE(AnswerIsJsonObject(Answer(R"("[1, 2]")")));
  EXPECT_FALSE(AnswerIsJsonObject(Answer(R"("{\"a\": ")")));
  EXPECT_TRUE(AnswerIsJsonObject(Answer("null")));  // tool calls only: nothing to check
}

TEST(Escalation, CheckAnswerAppliesOnlyTheConfiguredTriggers) {
  EscalationConfig cfg{.enabled = true, .min_confidence = 0.5, .on = {}};
  cfg.on = {EscalationTrigger::kLowLogprob};
  api::ChatRequest req;
  EXPECT_TRUE(CheckAnswer(cfg, req, Answer(R"("ab")", kLowLogprobs)).escalate);
  EXPECT_FALSE(CheckAnswer(cfg, req, Answer(R"("ab")")).escalate);
  cfg.min_confidence = 0.2;  // exp(-1.5) = 0.22
  EXPECT_FALSE(CheckAnswer(cfg, req, Answer(R"("ab")", kLowLogprobs)).escalate);

  req.response_format.kind = api::ResponseFormat::Kind::kJsonObject;
  EXPECT_FALSE(CheckAnswer(cfg, req, Answer(R"("not json")")).escalate)
      << "invalid_json is not configured";
  cfg.on.push_back(EscalationTrigger::kInvalidJson);
  const auto v = CheckAnswer(cfg, req, Answer(R"("not json")"));
  EXPECT_TRUE(v.escalate);
  EXPECT_NE(v.why.find("JSON"), std::string::npos);
  EXPECT_FALSE(CheckAnswer(cfg, req, Answer(R"("{}")")).escalate);
  req.response_format.kind = api::ResponseFormat::Kind::kText;
  EXPECT_FALSE(CheckAnswer(cfg, req, Answer(R"("not json")")).escalate);
}

TEST(Escalation, StripLogprobsNullsThemAndKeepsTheRest) {
  const std::string stripped = StripLogprobs(Answer(R"("ab")", kLowLogprobs));
  EXPECT_EQ(stripped.find("top_logprobs"), std::string::npos);
  EXPECT_NE(stripped.find(R"("logprobs":null)"), std::string::npos);
  EXPECT_NE(stripped.find(R"("content":"ab")"), std::string::npos);
  EXPECT_NE(stripped.find(R"("usage":{"prompt_tokens":1,"completion_tokens":2})"),
            std::string::npos);
  EXPECT_FALSE(AnswerConfidence(stripped).has_value());
  EXPECT_EQ(StripLogprobs("not json"), "not json");
}

}  // namespace
}  // namespace hybridgate::routing
