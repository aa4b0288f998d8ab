// The registered comparators on known pairs: exact, json, json_schema (also over the JSON Schema
// Test Suite's draft-4 keyword files), embedding and judge through a scripted ModelCalls.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "quality/comparators/comparator.h"
#include "quality/comparators/embedding/embedding.h"
#include "quality/comparators/json_schema/json_schema.h"

namespace hybridgate::quality {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Calls answered by scripts; each call costs 0.01.
class ScriptedCalls final : public ModelCalls {
 public:
  std::function<Result<std::string>(std::string_view, const api::ChatRequest&)> chat;
  std::function<Result<std::vector<std::vector<double>>>(std::span<const std::string>)> embed;
  std::vector<std::string> models;  // each call's model, in order

  asio::awaitable<Result<std::string>> Chat(std::string_view model,
                                            const api::ChatRequest& request) override {
    models.emplace_back(model);
    spent_ += 0.01;
    co_return chat(model, request);
  }
  asio::awaitable<Result<std::vector<std::vector<double>>>> Embed(
      std::string_view model, std::span<const std::string> texts) override {
    models.emplace_back(model);
    spent_ += 0.01;
    co_return embed(texts);
  }
  double spent_usd() const override { return spent_; }

 private:
  double spent_ = 0;
};

std::optional<Score> ScoreWith(const ComparatorSpec& spec, const Comparison& c, ModelCalls& calls) {
  auto made = MakeComparator(spec);
  EXPECT_TRUE(made) << made.error().message;
  asio::io_context io;
  auto f = asio::co_spawn(io, (*made)->Compare(c, calls), asio::use_future);
  io.run();
  return f.get();
}

Comparison Pair(std::string primary, std::string shadow) {
  Comparison c;
  c.question = "What is 2+2?";
  c.primary = {.deployment = "cloud/big", .ok = true, .text = std::move(primary)};
  c.shadow = {.deployment = "local/small", .ok = true, .text = std::move(shadow)};
  return c;
}

TEST(Comparators, RegistryNamesAndRefusals) {
  std::vector<std::string_view> names(ComparatorNames().begin(), ComparatorNames().end());
  EXPECT_EQ(names,
            (std::vector<std::string_view>{"exact", "json", "json_schema", "embedding", "judge"}));
  EXPECT_TRUE(ComparatorNeedsModel("judge"));
  EXPECT_FALSE(ComparatorNeedsModel("exact"));
  auto unknown = MakeComparator({"bleu", ""});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("one of: exact, json"), std::string::npos);
  EXPECT_FALSE(MakeComparator({"judge", ""}));
}

TEST(Comparators, ExactFoldsCaseAndSpace) {
  ScriptedCalls calls;
  EXPECT_EQ(ScoreWith({"exact", ""}, Pair("The answer is 4.", "the  answer\nis 4."), calls)->value,
            1);
  EXPECT_EQ(ScoreWith({"exact", ""}, Pair("4", "four"), calls)->value, 0);
  Comparison failed = Pair("4", "");
  failed.shadow.ok = false;
  EXPECT_FALSE(ScoreWith({"exact", ""}, failed, calls));
}

TEST(Comparators, JsonOnlyWhenAskedFor) {
  ScriptedCalls calls;
  Comparison c = Pair(R"({"a":1})", "not json");
  EXPECT_FALSE(ScoreWith({"json", ""}, c, calls)) << "the request asked for no JSON";
  c.wants_json = true;
  EXPECT_EQ(ScoreWith({"json", ""}, c, calls)->value, 0);
  c.shadow.text = R"({"a":2})";
  EXPECT_EQ(ScoreWith({"json", ""}, c, calls)->value, 1);
}

TEST(Comparators, JsonSchemaConformance) {
  ScriptedCalls calls;
  Comparison c = Pair(R"({"name":"Ann","age":41})", R"({"name":"Ann","age":-3})");
  c.wants_json = true;
  EXPECT_FALSE(ScoreWith({"json_schema", ""}, c, calls)) << "no schema was asked for";
  c.schema = R"({"type":"object","properties":{"name":{"type":"string"},
      "age":{"type":"integer","minimum":0}},"required":["name","age"],
      "additionalProperties":false})";
  auto s = ScoreWith({"json_schema", ""}, c, calls);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->value, 0);
  EXPECT_NE(s->detail.find("#/age: minimum"), std::string::npos) << s->detail;
  c.shadow.text = R"({"name":"Ann","age":7})";
  EXPECT_EQ(ScoreWith({"json_schema", ""}, c, calls)->value, 1);
  c.shadow.text = R"({"name":"Ann","age":7,"extra":true})";
  EXPECT_EQ(ScoreWith({"json_schema", ""}, c, calls)->value, 0);
  // $defs references, as OpenAI's structured outputs write them.
  EXPECT_EQ(SchemaViolation(R"({"$defs":{"n":{"type":"number"}},"type":"object",
      "properties":{"x":{"$ref":"#/$defs/n"}}})",
                            R"({"x":"nope"})"),
            "#/x: type");
  EXPECT_EQ(SchemaViolation(R"({"type":"object"})", "```json\n{}\n```").substr(0, 8), "not JSON");
  c.schema = "{not a schema";
  EXPECT_FALSE(ScoreWith({"json_schema", ""}, c, calls));
}

// What the validator cannot apply is said, not passed: an unresolvable $ref, a type that is not
// one, multipleOf 0. A violation found elsewhere still counts.
TEST(Comparators, JsonSchemaKeywordsItCannotApplyMakeItUnusable) {
  struct Row {
    std::string schema;
    std::string document;
    SchemaCheck::Result result;
    std::string detail;
  };
  const Row rows[] = {
      {R"({"$ref":"https://example.com/s.json"})", "1", SchemaCheck::Result::kUnusable,
       "the schema's $ref https://example.com/s.json cannot be resolved here"},
      {R"({"type":"strin"})", R"("x")", SchemaCheck::Result::kUnusable,
       "the schema's type \"strin\" is not a JSON Schema type"},
      {R"({"type":["number","text"]})", R"("x")", SchemaCheck::Result::kUnusable,
       "the schema's type \"text\" is not a JSON Schema type"},
      {R"({"type":["number","string"]})", "true", SchemaCheck::Result::kViolates, "#: type"},
      {R"({"multipleOf":0})", "4", SchemaCheck::Result::kUnusable,
       "the schema's multipleOf is not a number above 0"},
      {R"({"properties":{"a":{"type":"wat"},"b":{"type":"string"}}})", R"({"a":1,"b":2})",
       SchemaCheck::Result::kViolates, "#/b: type"},
      {R"({"type":"object"})", "nope", SchemaCheck::Result::kViolates, "not JSON"},
      {"{", "1", SchemaCheck::Result::kUnusable, "the schema is not JSON"},
  };
  for (const Row& r : rows) {
    const SchemaCheck check = CheckSchemaText(r.schema, r.document);
    EXPECT_EQ(check.result, r.result) << r.schema << " / " << r.document << ": " << check.detail;
    EXPECT_EQ(check.detail.rfind(r.detail, 0), 0u) << r.schema << ": " << check.detail;
  }
}

// The JSON Schema Test Suite (Debian's json-schema-test-suite): every case of the keyword files
// of draft 4 and draft 7 gives the suite's verdict, but for remote references and `format`.
TEST(Comparators, JsonSchemaTestSuite) {
  const std::filesystem::path root = "/usr/share/json-schema-test-suite/tests";
  ASSERT_TRUE(std::filesystem::exists(root)) << root << " missing: scripts/setup.sh installs it";
  int cases = 0;
  for (const char* draft : {"draft4", "draft7"}) {
    for (const auto& entry : std::filesystem::directory_iterator(root / draft)) {
      const std::string file = entry.path().filename().string();
      if (!entry.is_regular_file() || file == "refRemote.json" || file == "format.json" ||
          file == "definitions.json" || file == "id.json" || file == "default.json") {
        continue;  // remote documents, formats, meta-schemas, annotations
      }
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      const json::value groups = json::parse(text.str());
      for (const json::value& group : groups.as_array()) {
        const std::string schema = json::serialize(group.at("schema"));
        if (schema.find("http") != std::string::npos ||
            schema.find("\"$id\"") != std::string::npos ||
            schema.find("\"id\"") != std::string::npos) {
          continue;  // a remote reference or a base URI change: the validator fetches nothing
        }
        for (const json::value& test : group.at("tests").as_array()) {
          const bool valid = test.at("valid").as_bool();
          const std::string violation = SchemaViolation(schema, json::serialize(test.at("data")));
          EXPECT_EQ(violation.empty(), valid)
              << draft << "/" << file << ": " << group.at("description") << " / "
              << test.at("description") << ": " << violation;
          ++cases;
        }
      }
    }
  }
  EXPECT_GT(cases, 650);
}

// A schema built to explode (anyOf over references to itself) is given up on, not run for ever.
TEST(Comparators, JsonSchemaHasAStepBudget) {
  const std::string schema = R"({"anyOf":[{"$ref":"#/$defs/a"},{"$ref":"#/$defs/a"}],
      "$defs":{"a":{"anyOf":[{"$ref":"#/$defs/b"},{"$ref":"#/$defs/b"}],"type":"string"},
               "b":{"anyOf":[{"$ref":"#"},{"$ref":"#"}],"type":"string"}}})";
  EXPECT_EQ(SchemaViolation(schema, "1"), "the schema is too costly to check");
}

TEST(Comparators, EmbeddingIsTheCosineOfBothAnswers) {
  ScriptedCalls calls;
  std::vector<std::string> seen;
  calls.embed = [&](std::span<const std::string> texts) {
    seen.assign(texts.begin(), texts.end());
    return Result<std::vector<std::vector<double>>>(
        std::vector<std::vector<double>>{{1, 0, 1}, {1, 0, 0}});
  };
  auto s = ScoreWith({"embedding", "bge-small"}, Pair("four", "4"), calls);
  ASSERT_TRUE(s);
  EXPECT_NEAR(s->value, 1 / std::sqrt(2.0), 1e-9);
  EXPECT_EQ(seen, (std::vector<std::string>{"four", "4"}));
  EXPECT_EQ(calls.models, std::vector<std::string>{"bge-small"});
  EXPECT_NEAR(s->cost_usd, 0.01, 1e-12);
  EXPECT_NEAR(Cosine(std::vector<double>{1, 2}, std::vector<double>{-1, -2}), -1, 1e-12);
  EXPECT_EQ(Cosine(std::vector<double>{0, 0}, std::vector<double>{1, 2}), 0);
  calls.embed = [](std::span<const std::string>) {
    return Result<std::vector<std::vector<double>>>(
        Fail(MakeError(ErrorCode::kPolicyBlocked, "residency")));
  };
  EXPECT_FALSE(ScoreWith({"embedding", "bge-small"}, Pair("four", "4"), calls));
}

TEST(Comparators, JudgeAsksBothOrders) {
  ScriptedCalls calls;
  std::vector<std::string> asked;
  calls.chat = [&](std::string_view, const api::ChatRequest& r) {
    asked.push_back(r.messages.at(1).text);
    // Prefers whichever answer says "4".
    const std::string& ask = r.messages.at(1).text;
    const bool a_is_four = ask.find("4") < ask.find("four");
    return Result<std::string>(R"({"choices":[{"message":{"content":"{\"winner\":\")" +
                               std::string(a_is_four ? "A" : "B") +
                               R"(\",\"rationale\":\"numeric\"}"},"finish_reason":"stop"}]})");
  };
  auto s = ScoreWith({"judge", "judge-model"}, Pair("four", "4"), calls);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->value, 1) << s->detail;
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_LT(asked[0].find("four"), asked[0].find("4\n")) << asked[0];
  EXPECT_NEAR(s->cost_usd, 0.02, 1e-12);
  calls.chat = [](std::string_view, const api::ChatRequest&) {
    return Result<std::string>(Fail(MakeError(ErrorCode::kBudgetExceeded, "cap")));
  };
  EXPECT_FALSE(ScoreWith({"judge", "judge-model"}, Pair("four", "4"), calls));
}

}  // namespace
}  // namespace hybridgate::quality
