#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>

#include "eval/result.h"
#include "eval/suite.h"

namespace hybridgate::eval {
namespace {

TEST(Suite, ParsesPromptsMessagesReferencesAndSchemas) {
  auto s = ParseSuite(
      R"({"id":"a","prompt":"hi \"there\"","reference":"hello"})"
      "\n  \n"
      R"({"id":"b","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"q1"},{"type":"text","text":"q2"}]}],"schema":{"type":"object"}})",
      "s.jsonl");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].messages_json, R"([{"role":"user","content":"hi \"there\""}])");
  EXPECT_EQ((*s)[0].question, "hi \"there\"");
  EXPECT_EQ((*s)[0].reference, "hello");
  EXPECT_FALSE((*s)[0].schema);
  EXPECT_EQ((*s)[1].line, 3);
  EXPECT_EQ((*s)[1].question, "q1\nq2");
  EXPECT_EQ((*s)[1].schema, R"({"type":"object"})");
  EXPECT_FALSE((*s)[1].reference);
}

TEST(Suite, AByteOrderMarkIsSkipped) {
  auto s = ParseSuite(
      "\xEF\xBB\xBF"
      R"({"id":"a","prompt":"hi"})",
      "bom.jsonl");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].id, "a");
}

TEST(Suite, AFifoIsRefusedWithoutBlocking) {
  const std::string path = ::testing::TempDir() + "/hg_suite_fifo.jsonl";
  std::remove(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  auto s = LoadSuite(path);  // opening it would wait for a writer forever
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, path + ": cannot read it (not a regular file)");
  std::remove(path.c_str());
}

TEST(Suite, BadLinesNameTheFileAndLine) {
  const struct {
    std::string text, error;
  } cases[] = {
      {"", "s.jsonl: no cases"},
      {"{", "s.jsonl:1: not JSON: "},
      {"[1]", "s.jsonl:1: a case must be a JSON object"},
      {R"({"prompt":"x"})", "s.jsonl:1: `id` must be a non-empty string"},
      {R"({"id":"a"})", "s.jsonl:1: give `messages` (an array) or `prompt` (a string)"},
      {R"({"id":"a","prompt":"x","messages":[]})", "s.jsonl:1: give `messages`"},
      {R"({"id":"a","messages":[]})", "s.jsonl:1: `messages` must be a non-empty array"},
      {R"({"id":"a","messages":[{"content":"x"}]})", "s.jsonl:1: each message needs a string"},
      {R"({"id":"a","prompt":7})", "s.jsonl:1: `prompt` must be a string"},
      {R"({"id":"a","prompt":"x","reference":1})", "s.jsonl:1: `reference` must be a string"},
      {R"({"id":"a","prompt":"x","schema":"s"})", "s.jsonl:1: `schema` must be an object"},
      {"{\"id\":\"a\",\"prompt\":\"x\"}\n{\"id\":\"a\",\"prompt\":\"y\"}",
       "s.jsonl:2: `id` \"a\" is used twice"},
  };
  for (const auto& c : cases) {
    auto s = ParseSuite(c.text, "s.jsonl");
    ASSERT_FALSE(s) << c.text;
    EXPECT_EQ(s.error().message.rfind(c.error, 0), 0u) << s.error().message;
  }
}

ModelResult Model(std::string name, std::vector<std::optional<double>> scores) {
  ModelResult m{.model = std::move(name)};
  for (size_t i = 0; i < scores.size(); ++i) {
    CaseResult c{.id = "c" + std::to_string(i), .ok = scores[i].value_or(1) > 0};
    if (!c.ok) c.error = "upstream_unavailable: down";
    if (scores[i]) c.scores.push_back({"exact", *scores[i], "d"});
    c.score = scores[i];
    c.latency_ms = static_cast<int64_t>(10 * (i + 1));
    m.cases.push_back(std::move(c));
  }
  Summarize(m);
  return m;
}

TEST(Result, SummaryBaselineAndRegressions) {
  EvalResult r{.suite = "s<1>.jsonl", .time_unix_ms = 1};
  r.models.push_back(Model("a", {1.0, 0.0, std::nullopt}));
  r.models.push_back(Model("b&c", {1.0, 1.0}));
  EXPECT_DOUBLE_EQ(r.models[0].score, 0.5);
  EXPECT_EQ(r.models[0].scored, 2);
  EXPECT_EQ(r.models[0].failed, 1);
  EXPECT_EQ(r.models[0].p50_latency_ms, 10);  // over the answered cases: 10 and 30
  // A run's JSON result is the next run's baseline.
  auto baseline = ParseBaseline(RenderJson(r), "r.json");
  ASSERT_TRUE(baseline) << baseline.error().message;
  EXPECT_EQ(baseline->at("a"), 0.5);
  EXPECT_EQ(baseline->at("b&c"), 1.0);
  EXPECT_TRUE(Regressions(r, *baseline, 0.05).empty());
  (*baseline)["a"] = 0.56;
  EXPECT_TRUE(Regressions(r, *baseline, 0.06).empty());  // a drop of exactly max_drop is fine
  ASSERT_EQ(Regressions(r, *baseline, 0.05).size(), 1u);
  EXPECT_EQ(Regressions(r, *baseline, 0.05)[0],
            "a: score 0.500 is 0.060 below its baseline 0.560 (more than 0.050)");
  EXPECT_TRUE(Regressions(r, {{"unknown", 1.0}}, 0.05).empty());
  // A NaN score never passes; a model with nothing scored is not compared.
  EvalResult odd = r;
  odd.models[0].score = std::nan("");
  EXPECT_EQ(Regressions(odd, *baseline, 0.05).size(), 1u);
  odd.models[0].scored = 0;
  EXPECT_TRUE(Regressions(odd, *baseline, 0.05).empty());
  EXPECT_FALSE(ParseBaseline("{}", "x.json"));
  EXPECT_FALSE(ParseBaseline(R"({"models":[{"model":"a"}]})", "x.json"));
  EXPECT_EQ(ParseBaseline("{", "x.json").error().message.rfind("x.json: not JSON", 0), 0u);
  for (const char* bad :
       {R"({"models":[{"model":"a","score":2}]})", R"({"models":[{"model":"a","score":-1e308}]})",
        R"({"models":[{"model":"a","score":1},{"model":"a","score":1}]})"}) {
    EXPECT_FALSE(ParseBaseline(bad, "x.json")) << bad;
  }
  // Names are escaped in the chart and kept whole in JSON.
  const std::string svg = RenderSvg(r, *baseline);
  EXPECT_NE(svg.find(">b&amp;c</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("s&lt;1&gt;.jsonl"), std::string::npos) << svg;
  EXPECT_NE(svg.find("<title>baseline 0.560</title>"), std::string::npos) << svg;
  const auto v = boost::json::parse(RenderJson(r));
  EXPECT_EQ(v.at("models").at(1).at("model"), "b&c");
  EXPECT_TRUE(v.at("models").at(0).at("results").at(2).at("score").is_null());
  const std::string md = RenderMarkdown(r, "r.svg");
  EXPECT_NE(md.find("| a | 0.500 | 2 | 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| c1 | 0.000 | upstream_unavailable: down; exact: d |"), std::string::npos)
      << md;
}

}  // namespace
}  // namespace hybridgate::eval
