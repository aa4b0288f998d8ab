// `hybridgate eval` through the real binary against scripted upstreams with known answers: the
// scores each model gets, the report files, the baseline check's exit code, residency on eval
// traffic (a card is never sent to an external model), and the ledger rows every call leaves.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/fake_upstream.h"
#include "tests/support/gateway_process.h"
#include "tests/support/scratch.h"
#include "tests/support/sqlite_text.h"

namespace hybridgate::testing {
namespace {

namespace json = boost::json;

// "good" knows the answers, "bad" does not; a judge's prompt (whichever model it was sent to)
// prefers the answer that says Paris, and calls two that agree a tie.
FakeUpstream::Script Local() {
  return [](const Recorded& r) {
    const auto body = json::parse(r.body);
    const std::string model(body.at("model").as_string());
    const std::string all = json::serialize(body.at("messages"));
    if (all.find("[Answer A]") != std::string::npos) {
      const std::string user(body.at("messages").at(1).at("content").as_string());
      const size_t a = user.find("[Answer A]"), b = user.find("[Answer B]");
      const bool a_paris = user.find("Paris", a) < b;
      const bool b_paris = user.find("Paris", b) != std::string::npos;
      const std::string winner = a_paris == b_paris ? "tie" : a_paris ? "A" : "B";
      return Action{.body = ChatCompletionJson(R"({"winner":")" + winner + R"("})", "judge")};
    }
    const bool good = model == "good";
    std::string answer = good ? "Paris" : "Lyon";
    if (all.find("as JSON") != std::string::npos) answer = good ? R"({"city":"Paris"})" : "no";
    return Action{.body = ChatCompletionJson(answer, model, 10, 5)};
  };
}

struct CliRun {
  int status = -1;
  std::string out, err;
};

class EvalTest : public ::testing::Test {
 protected:
  EvalTest()
      : s_("hg-eval"), local_(Local()), cloud_([](const Recorded&) {
          return Action{.body = ChatCompletionJson("Paris", "gpt-4o", 10, 5)};
        }) {
    std::ofstream(s_.Path("gw.yaml"))
        << "providers:\n  - {name: local, type: openai, base_url: '" << local_.base_url()
        << "', zone: self_hosted, models: [{name: good, input_per_mtok: 1, output_per_mtok: 2}, "
           "{name: bad}, {name: judge}]}\n"
           "  - {name: cloud, type: openai, base_url: '"
        << cloud_.base_url()
        << "', zone: external, models: [{name: gpt-4o, input_per_mtok: 5, output_per_mtok: 15}]}\n"
           "ledger: {path: '"
        << s_.Path("ledger.db") << "', flush_interval_ms: 20}\n";
    std::ofstream(s_.Path("suite.jsonl"))
        << R"({"id":"capital","prompt":"What is the capital of France?","reference":"Paris"})"
           "\n\n"
           R"({"id":"json","messages":[{"role":"system","content":"terse"},)"
           R"({"role":"user","content":"The city as JSON"}],)"
           R"("schema":{"type":"object","required":["city"],)"
           R"("properties":{"city":{"type":"string"}}}})"
           "\n"
           R"({"id":"free","prompt":"Say anything"})"
           "\n";
  }

  CliRun Eval(const std::string& args) {
    CliRun r;
    r.out = Shell("'" + BinaryPath() + "' eval --config '" + s_.Path("gw.yaml") + "' " + args +
                      " 2>'" + s_.Path("stderr") + "'",
                  &r.status);
    r.err = ReadFile(s_.Path("stderr"));
    return r;
  }

  Scratch s_;
  FakeUpstream local_;
  FakeUpstream cloud_;
};

TEST_F(EvalTest, KnownAnswersGiveTheExpectedScoresAndARegressionExits1) {
  const std::string suite = s_.Path("suite.jsonl");
  CliRun r = Eval("--suite '" + suite + "' --models good,bad --judge judge --out '" +
                  s_.Path("report.md") + "'");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const json::value result = json::parse(ReadFile(s_.Path("report.json")));
  const auto& models = result.at("models").as_array();
  ASSERT_EQ(models.size(), 2u);
  // good: capital = mean(exact 1, judge 0.5: a tie with the reference); json = conforms (1).
  EXPECT_EQ(models[0].at("model"), "good");
  EXPECT_DOUBLE_EQ(models[0].at("score").to_number<double>(), 0.875);
  EXPECT_EQ(models[0].at("scored"), 2);  // "free" has nothing to score it by
  EXPECT_EQ(models[0].at("failed"), 0);
  EXPECT_DOUBLE_EQ(models[0].at("comparators").at("exact").to_number<double>(), 1.0);
  EXPECT_DOUBLE_EQ(models[0].at("comparators").at("judge").to_number<double>(), 0.5);
  EXPECT_DOUBLE_EQ(models[0].at("comparators").at("json_schema").to_number<double>(), 1.0);
  // 3 answers at 10 in / 5 out on good's price (1 and 2 per million); the judge is free.
  EXPECT_NEAR(models[0].at("cost_usd").to_number<double>(), 3 * (10 * 1 + 5 * 2) / 1e6, 1e-12);
  // bad: wrong everywhere, and the judge prefers the reference in both orders.
  EXPECT_EQ(models[1].at("model"), "bad");
  EXPECT_DOUBLE_EQ(models[1].at("score").to_number<double>(), 0.0);
  EXPECT_DOUBLE_EQ(models[1].at("comparators").at("judge").to_number<double>(), 0.0);
  const auto& free = models[1].at("results").at(2);
  EXPECT_EQ(free.at("id"), "free");
  EXPECT_TRUE(free.at("score").is_null());
  EXPECT_EQ(free.at("answer"), "Lyon");
  // The report and chart beside it; the table on stdout.
  const std::string md = ReadFile(s_.Path("report.md"));
  EXPECT_NE(md.find("| good | 0.875 | 2 | 0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("![scores](report.svg)"), std::string::npos) << md;
  const std::string svg = ReadFile(s_.Path("report.svg"));
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u) << svg;
  EXPECT_NE(svg.find(">good</text>"), std::string::npos) << svg;
  EXPECT_NE(r.out.find("good"), std::string::npos) << r.out;
  // Every call was a metered request: 6 answers and the judge asked twice per capital case.
  EXPECT_EQ(local_.request_count(), 10u);
  EXPECT_EQ(SqliteText(s_.Path("ledger.db"), "SELECT count(*) FROM requests"), "10");

  // Against its own result: no regression. Against a better baseline: exit 1, named.
  CliRun same = Eval("--suite '" + suite + "' --models good,bad --judge judge --baseline '" +
                     s_.Path("report.json") + "'");
  EXPECT_EQ(same.status, 0) << same.err;
  std::ofstream(s_.Path("baseline.json"))
      << R"({"models":[{"model":"good","score":0.95},{"model":"bad","score":0.02}]})";
  CliRun worse = Eval("--suite '" + suite + "' --models good,bad --judge judge --baseline '" +
                      s_.Path("baseline.json") + "' --max-drop 0.05");
  EXPECT_EQ(worse.status, 1) << worse.err;
  EXPECT_EQ(worse.err,
            "eval: REGRESSION good: score 0.875 is 0.075 below its baseline 0.950 (more than "
            "0.050)\n");
}

TEST_F(EvalTest, EvalTrafficIsHeldToResidency) {
  std::ofstream(s_.Path("cards.jsonl"))
      << R"({"id":"card","prompt":"Charge card 4111 1111 1111 1111 please","reference":"ok"})"
         "\n"
         R"({"id":"plain","prompt":"What is the capital of France?","reference":"Paris"})"
         "\n";
  CliRun r = Eval("--suite '" + s_.Path("cards.jsonl") + "' --models gpt-4o --out '" +
                  s_.Path("r.md") + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(cloud_.request_count(), 1u);  // only the plain case reached the external model
  for (const Recorded& sent : cloud_.requests()) {
    EXPECT_EQ(sent.body.find("4111"), std::string::npos) << sent.body;
  }
  const json::value result = json::parse(ReadFile(s_.Path("r.json")));
  const auto& cases = result.at("models").at(0).at("results").as_array();
  // The card case was served by a self-hosted model instead: that answer is not gpt-4o's, so
  // it is a failed case, named, not a score for gpt-4o.
  EXPECT_FALSE(cases.at(0).at("ok").as_bool()) << cases.at(0);
  EXPECT_NE(std::string(cases.at(0).at("error").as_string()).find("not gpt-4o"), std::string::npos)
      << cases.at(0);
  EXPECT_EQ(cases.at(1).at("served_by"), "cloud/gpt-4o");
  EXPECT_EQ(cases.at(1).at("answer"), "Paris");
  EXPECT_DOUBLE_EQ(cases.at(1).at("score").to_number<double>(), 1.0);

  // A judge held to residency too: a reference with a card cannot go to gpt-4o, and the
  // self-hosted stand-in's verdict is not gpt-4o's: no judge score, said so.
  std::ofstream(s_.Path("ssn.jsonl"))
      << R"({"id":"ref","prompt":"Where is Paris?","reference":"Paris; card 4111 1111 1111 1111"})"
         "\n";
  const size_t before = cloud_.request_count();
  CliRun judged = Eval("--suite '" + s_.Path("ssn.jsonl") +
                       "' --models good --judge gpt-4o --out '" + s_.Path("j.md") + "'");
  ASSERT_EQ(judged.status, 0) << judged.err;
  EXPECT_EQ(cloud_.request_count(), before);
  const json::value j = json::parse(ReadFile(s_.Path("j.json")));
  const auto& ref = j.at("models").at(0).at("results").at(0);
  EXPECT_EQ(ref.at("unscored"), json::parse(R"(["judge"])")) << ref;

  // A schema the validator cannot apply is the schema's fault: unscored, not a 0.
  std::ofstream(s_.Path("remote.jsonl"))
      << R"({"id":"r","prompt":"The city as JSON","schema":{"$ref":"https://example.com/c.json"}})"
         "\n";
  CliRun remote = Eval("--suite '" + s_.Path("remote.jsonl") + "' --models good --out '" +
                       s_.Path("remote.md") + "'");
  ASSERT_EQ(remote.status, 0) << remote.err;
  const json::value remote_result = json::parse(ReadFile(s_.Path("remote.json")));
  const auto& r0 = remote_result.at("models").at(0);
  EXPECT_EQ(r0.at("results").at(0).at("unscored"), json::parse(R"(["json_schema"])")) << r0;
  EXPECT_TRUE(r0.at("results").at(0).at("score").is_null()) << r0;
}

TEST_F(EvalTest, AModelThatAnswersNothingExits1AndSaysWhy) {
  FakeUpstream hollow([](const Recorded&) { return Action{.body = "{}"}; });
  std::ofstream(s_.Path("gw.yaml"), std::ios::app)
      << "  - {name: gone, type: openai, base_url: 'http://127.0.0.1:1/v1', zone: self_hosted, "
         "models: [{name: dead}]}\n  - {name: hollow, type: openai, base_url: '"
      << hollow.base_url() << "', zone: self_hosted, models: [{name: hollow}]}\n";
  std::string yaml = ReadFile(s_.Path("gw.yaml"));
  // The appended provider belongs in the providers list, before `ledger:`.
  const size_t ledger = yaml.find("ledger:");
  const size_t gone = yaml.find("  - {name: gone");
  yaml = yaml.substr(0, ledger) + yaml.substr(gone) + yaml.substr(ledger, gone - ledger);
  std::ofstream(s_.Path("gw.yaml"), std::ios::trunc) << yaml;
  CliRun r = Eval("--suite '" + s_.Path("suite.jsonl") + "' --models good,dead,hollow");
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("eval: FAILED dead: no case was answered (first error: "), std::string::npos)
      << r.err;
  // A 200 without an answer is not an answer.
  EXPECT_NE(r.err.find("eval: FAILED hollow: no case was answered (first error: hollow/hollow "
                       "answered 200 without an answer"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("FAILED good"), std::string::npos) << r.err;

  // A case larger than the gateway takes gets the gateway's 413, not a broken pipe.
  std::ofstream(s_.Path("big.jsonl"))
      << R"({"id":"big","prompt":")" << std::string(9 << 20, 'a') << R"("})"
      << "\n";
  CliRun big = Eval("--suite '" + s_.Path("big.jsonl") + "' --models good --out '" +
                    s_.Path("big.md") + "'");
  EXPECT_EQ(big.status, 1) << big.err;
  const json::value big_result = json::parse(ReadFile(s_.Path("big.json")));
  const std::string big_error(
      big_result.at("models").at(0).at("results").at(0).at("error").as_string());
  EXPECT_EQ(big_error.find("did not answer"), std::string::npos) << big_error;
  EXPECT_NE(big_error.find("payload_too_large"), std::string::npos) << big_error;
}

TEST_F(EvalTest, BadInputExits2WithAMessage) {
  std::ofstream(s_.Path("broken.jsonl")) << R"({"id":"a","prompt":"x"})"
                                            "\n"
                                            R"({"id":"a","prompt":"y"})"
                                            "\n";
  CliRun dup = Eval("--suite '" + s_.Path("broken.jsonl") + "' --models good");
  EXPECT_EQ(dup.status, 2);
  EXPECT_EQ(dup.err, "eval: " + s_.Path("broken.jsonl") + ":2: `id` \"a\" is used twice\n");
  CliRun unknown = Eval("--suite '" + s_.Path("suite.jsonl") + "' --models good,nope");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_EQ(unknown.err, "eval: model 'nope' is not served by this config\n");
  EXPECT_EQ(local_.request_count(), 0u);  // nothing was sent
  CliRun missing = Eval("--suite /nonexistent.jsonl --models good");
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.err, "eval: /nonexistent.jsonl: cannot read it (not a regular file)\n");
  const std::string suite = ReadFile(s_.Path("suite.jsonl"));
  CliRun over = Eval("--suite '" + s_.Path("suite.jsonl") + "' --models good --out '" +
                     s_.Path("suite.jsonl") + "'");
  EXPECT_EQ(over.status, 2);
  EXPECT_NE(over.err.find("--out would overwrite"), std::string::npos) << over.err;
  EXPECT_EQ(ReadFile(s_.Path("suite.jsonl")), suite);  // untouched
  // Nor the gateway's own state: the ledger stays whole.
  const std::string ledger = ReadFile(s_.Path("ledger.db"));
  CliRun onto_ledger = Eval("--suite '" + s_.Path("suite.jsonl") + "' --models good --out '" +
                            s_.Path("ledger.db") + "'");
  EXPECT_EQ(onto_ledger.status, 2);
  EXPECT_NE(onto_ledger.err.find("--out would overwrite " + s_.Path("ledger.db")),
            std::string::npos)
      << onto_ledger.err;
  EXPECT_EQ(ReadFile(s_.Path("ledger.db")), ledger);
  CliRun nan = Eval("--suite '" + s_.Path("suite.jsonl") + "' --models good --max-drop nan");
  EXPECT_EQ(nan.status, 2) << nan.err;
  CliRun twice = Eval("--suite '" + s_.Path("suite.jsonl") + "' --models good,good");
  EXPECT_EQ(twice.status, 2);
  EXPECT_EQ(twice.err, "eval: model 'good' is listed twice\n");
  EXPECT_EQ(local_.request_count(), 0u);
}

TEST_F(EvalTest, SigtermEndsTheRequestsInFlightAndTheLedgerHasThem) {
  FakeUpstream slow([](const Recorded&) {
    return Action{.body = ChatCompletionJson("late", "slow"), .delay = std::chrono::seconds(30)};
  });
  std::ofstream(s_.Path("slow.yaml"))
      << "providers:\n  - {name: slow, type: openai, base_url: '" << slow.base_url()
      << "', zone: self_hosted, models: [{name: slow, input_per_mtok: 1, output_per_mtok: 1}]}\n"
         "server: {shutdown_grace_ms: 200}\n"
         "ledger: {path: '"
      << s_.Path("slow.db") << "', flush_interval_ms: 20}\n";
  int status = -1;
  const std::string out =
      Shell("'" + BinaryPath() + "' eval --config '" + s_.Path("slow.yaml") + "' --suite '" +
                s_.Path("suite.jsonl") + "' --models slow --concurrency 2 2>'" + s_.Path("stderr") +
                "' & pid=$!; sleep 2; kill -TERM $pid; wait $pid; echo rc=$?",
            &status);
  EXPECT_NE(out.find("rc=130"), std::string::npos) << out << ReadFile(s_.Path("stderr"));
  EXPECT_NE(ReadFile(s_.Path("stderr")).find("eval: interrupted"), std::string::npos);
  EXPECT_EQ(slow.request_count(), 2u);  // two in flight; no case started after the signal
  EXPECT_EQ(SqliteText(s_.Path("slow.db"), "SELECT count(*) FROM requests"), "2");
}

}  // namespace
}  // namespace hybridgate::testing
