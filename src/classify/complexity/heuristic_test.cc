#include "classify/complexity/heuristic.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace hybridgate::complexity {
namespace {

api::ChatRequest User(std::string text) {
  api::ChatRequest r;
  r.model = "auto";
  r.messages.push_back({.role = "user", .text = std::move(text)});
  return r;
}

double ScoreOf(const api::ChatRequest& req) {
  return Classify(HeuristicClassifier(), req).complexity;
}

// Hand-picked prompts in increasing order of difficulty: each must score above the previous one.
TEST(HeuristicClassifier, OrdersEasyBelowHard) {
  const char* const kOrdered[] = {
      "hi, thanks!",
      "What is the capital of France?",
      "Summarize this paragraph in one sentence: The meeting moved to Tuesday because the room "
      "was booked.",
      "A shop sells pens at $3 each. Tom buys 4 pens and pays with a $20 bill. How much change "
      "does he get?",
      "Write a Python function `dedupe(xs)` that removes duplicates from a list while keeping "
      "order. It must run in O(n) and should not use external libraries.",
      "Prove that the sum of the first n odd numbers is n^2. First state the base case, then the "
      "inductive step, and justify each step formally.",
      "Design a distributed rate limiter for a multi-region API gateway. Requirements:\n"
      "1. It must enforce at least 10000 requests/s per tenant with at most 1% error.\n"
      "2. It should tolerate a region failing without losing more than 5 s of state.\n"
      "3. Analyze the tradeoffs of token buckets vs sliding windows, then derive the memory "
      "complexity of your design.\n"
      "```\nstruct Bucket { double tokens; int64_t last_ms; };\n```\n"
      "Finally, compare your design with Redis-based approaches and explain why it is correct.",
  };
  double prev = -1;
  const char* prev_text = "";
  for (const char* text : kOrdered) {
    const double s = ScoreOf(User(text));
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
    EXPECT_GT(s, prev) << "\"" << text << "\" should score above \"" << prev_text << "\"";
    prev = s;
    prev_text = text;
  }
}

struct SignalRow {
  const char* text;
  int Signals::*field;
  int expected;
};

TEST(MeasureText, CountsSignals) {
  const SignalRow rows[] = {
      {"Explain it step by step", &Signals::step_words, 2},
      {"first do A, then B, finally C", &Signals::step_words, 3},
      {"1. one\n2) two\n  3. three\n10 apples", &Signals::numbered_lines, 3},
      {"- a\n* b\n-c\nx - y", &Signals::bullet_lines, 2},
      {"You must use at least 3 and no more than 5", &Signals::constraint_words, 3},
      {"Use `x` and `y` here", &Signals::inline_code, 2},
      {"```\ncode\n```", &Signals::code_fences, 2},
      {"#include <x>\nint main() { return 0; }", &Signals::code_words, 2},
      {"x^2 + 3x = 10", &Signals::math_ops, 3},
      {"$\\frac{a}{b}$", &Signals::latex, 3},
      {"1,250.5 and 3 and 42", &Signals::numbers, 3},
      {"Prove and derive; ANALYZE", &Signals::hard_words, 3},
      {"Hello! Thanks", &Signals::easy_words, 2},
      {"Why? How? What?", &Signals::questions, 3},
  };
  for (const SignalRow& r : rows) {
    Signals s;
    MeasureText(r.text, true, s);
    EXPECT_EQ(s.*r.field, r.expected) << r.text;
  }
}

TEST(HeuristicClassifier, ConversationDepthAndContext) {
  api::ChatRequest one = User("Now make it faster.");
  api::ChatRequest deep;
  for (int i = 0; i < 6; ++i) {
    deep.messages.push_back({.role = "user", .text = "Now make it faster."});
    deep.messages.push_back({.role = "assistant", .text = std::string(400, 'x')});
  }
  EXPECT_GT(ScoreOf(deep), ScoreOf(one));
}

TEST(HeuristicClassifier, ExplainsTopContributions) {
  const auto f = Classify(HeuristicClassifier(),
                          User("Prove the theorem and derive the bound; justify each step."));
  EXPECT_EQ(f.classifier, "heuristic");
  ASSERT_FALSE(f.top.empty());
  EXPECT_EQ(f.top[0].name, "reasoning_verbs");
  for (size_t i = 1; i < f.top.size(); ++i) {
    EXPECT_GE(std::abs(f.top[i - 1].value), std::abs(f.top[i].value));
  }
}

TEST(HeuristicClassifier, DeterministicAndBounded) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "word 12 + x = y; `c` must then ";
  const auto req = User(big);
  const double a = ScoreOf(req);
  EXPECT_EQ(a, ScoreOf(req));
  EXPECT_LE(a, 1.0);
  EXPECT_EQ(HeuristicClassifier::ScorePrompt(""), HeuristicClassifier::ScorePrompt(""));
  // Pathological bytes: long runs, unterminated code, binary.
  std::string odd(100000, '`');
  odd += std::string(100000, 'a');
  odd += std::string("\0\xff\xfe$\\", 5);
  const double b = HeuristicClassifier::ScorePrompt(odd);
  EXPECT_GE(b, 0.0);
  EXPECT_LE(b, 1.0);
}

TEST(ExtractBaseFeatures, CapabilitiesAndTokens) {
  api::ChatRequest r = User(std::string(4000, 'a'));
  r.messages[0].parts.push_back({.kind = api::ContentPart::Kind::kImage, .image_url = "x"});
  r.messages[0].content_is_parts = true;
  r.tools.push_back({.name = "f", .description = "d"});
  r.response_format.kind = api::ResponseFormat::Kind::kJsonSchema;
  r.messages.push_back({.role = "assistant", .text = "ok"});
  r.messages.push_back({.role = "user", .text = "more"});
  const Features f = ExtractBaseFeatures(r);
  EXPECT_TRUE(f.has_images);
  EXPECT_TRUE(f.has_tools);
  EXPECT_TRUE(f.wants_json);
  EXPECT_TRUE(f.wants_json_schema);
  EXPECT_EQ(f.turns, 2);
  EXPECT_EQ(f.messages, 3);
  EXPECT_GT(f.est_input_tokens, 1000 + 765);
  EXPECT_LT(f.est_input_tokens, 1000 + 765 + 40);
}

TEST(PromptText, UserAndSystemOnly) {
  api::ChatRequest r;
  r.messages.push_back({.role = "system", .text = "Be brief."});
  r.messages.push_back({.role = "user", .text = "Q1"});
  r.messages.push_back({.role = "assistant", .text = "A1"});
  r.messages.push_back({.role = "user", .text = "Q2"});
  EXPECT_EQ(PromptText(r), "Be brief.\n\nQ1\n\nQ2");
}

TEST(HeuristicClassifier, Microseconds) {
  const auto req = User(
      "Write a function that parses ISO-8601 dates. It must handle time zones and should "
      "reject invalid input. First describe the approach, then give the code.");
  const HeuristicClassifier c;
  const auto t0 = std::chrono::steady_clock::now();
  double sum = 0;
  for (int i = 0; i < 1000; ++i) sum += Classify(c, req).complexity;
  const auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0);
  EXPECT_GT(sum, 0);
  // Generous (sanitizer builds): a typical prompt is a few microseconds in release.
  EXPECT_LT(us.count() / 1000, 500.0);
}

}  // namespace
}  // namespace hybridgate::complexity
