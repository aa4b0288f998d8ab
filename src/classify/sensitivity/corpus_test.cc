// Recall and false-positive rate of the default detectors (plus two custom ones) over the
// hand-labelled corpus in testdata/corpus.jsonl. Prints a per-type table.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "classify/sensitivity/scanner.h"
#include "classify/sensitivity/sensitivity_config.h"

namespace hybridgate::sensitivity {
namespace {

struct Labelled {
  std::string id;
  std::string text;
  std::multiset<std::pair<std::string, std::string>> expect;  // (type, value)
};

std::vector<Labelled> LoadCorpus() {
  std::ifstream in("testdata/corpus.jsonl");
  std::vector<Labelled> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    boost::json::object obj = boost::json::parse(line).as_object();
    Labelled l;
    l.id = obj.at("id").as_string().c_str();
    l.text = obj.at("text").as_string().c_str();
    for (const auto& e : obj.at("expect").as_array()) {
      l.expect.emplace(e.at("type").as_string().c_str(), e.at("value").as_string().c_str());
    }
    out.push_back(std::move(l));
  }
  return out;
}

constexpr char kCorpusConfig[] = R"(
sensitivity:
  custom:
    - {name: project_codename, regex: "\\bPROJECT-(?:ALPHA|OMEGA)\\b", class: 4}
    - {name: customer, words: [Acme Corp, Globex Corporation, Initech], class: 3}
)";

struct TypeStats {
  int tp = 0, fn = 0;
  int fp_lines = 0, negative_lines = 0;
};

TEST(CorpusTest, RecallAndFalsePositiveRate) {
  std::vector<Labelled> corpus = LoadCorpus();
  ASSERT_GE(corpus.size(), 150u) << "run from the source folder (ctest does)";
  auto config = ParseSensitivityConfig(YAML::Load(kCorpusConfig), "corpus_config.yaml");
  ASSERT_TRUE(config) << config.error().message;
  auto scanner = Scanner::Create(*config);
  ASSERT_TRUE(scanner) << scanner.error().message;

  std::set<std::string> types(BuiltinTypes().begin(), BuiltinTypes().end());
  types.insert({"project_codename", "customer"});
  std::map<std::string, TypeStats> stats;
  int lines_with_fp = 0;
  std::string mistakes;
  for (const Labelled& l : corpus) {
    auto remaining = l.expect;
    std::set<std::string> fp_types;
    for (const Finding& f : scanner->Scan(l.text)) {
      auto key = std::make_pair(f.type, l.text.substr(f.start, f.size()));
      types.insert(f.type);
      if (auto it = remaining.find(key); it != remaining.end()) {
        remaining.erase(it);
        ++stats[f.type].tp;
      } else {
        fp_types.insert(f.type);
        mistakes += "  FP " + l.id + " " + key.first + " [" + key.second + "]\n";
      }
    }
    for (const auto& [type, value] : remaining) {
      ++stats[type].fn;
      mistakes += "  FN " + l.id + " " + type + " [" + value + "]\n";
    }
    for (const std::string& type : types) {
      bool expected = std::any_of(l.expect.begin(), l.expect.end(),
                                  [&](const auto& e) { return e.first == type; });
      if (!expected) ++stats[type].negative_lines;
      if (!expected && fp_types.contains(type)) ++stats[type].fp_lines;
    }
    // A type first seen on this line was not counted as negative for earlier lines; the corpus
    // labels every type the detectors emit, so `types` is complete after the first line anyway.
    if (!fp_types.empty()) ++lines_with_fp;
  }

  int tp = 0, fn = 0, fp_lines = 0, negatives = 0;
  std::printf("\n%-22s %5s %5s %8s %8s %9s %7s\n", "type", "TP", "FN", "recall", "FP-lines",
              "neg-lines", "FPR");
  for (const std::string& type : types) {
    const TypeStats& s = stats[type];
    tp += s.tp;
    fn += s.fn;
    fp_lines += s.fp_lines;
    negatives += s.negative_lines;
    double recall = s.tp + s.fn == 0 ? 1.0 : static_cast<double>(s.tp) / (s.tp + s.fn);
    double fpr = s.negative_lines == 0 ? 0.0 : static_cast<double>(s.fp_lines) / s.negative_lines;
    std::printf("%-22s %5d %5d %8.3f %8d %9d %7.4f\n", type.c_str(), s.tp, s.fn, recall, s.fp_lines,
                s.negative_lines, fpr);
  }
  double recall = static_cast<double>(tp) / (tp + fn);
  double fpr_type = static_cast<double>(fp_lines) / negatives;
  double fpr_line = static_cast<double>(lines_with_fp) / corpus.size();
  std::printf("%-22s %5d %5d %8.3f %8d %9d %7.4f\n", "overall (per type)", tp, fn, recall, fp_lines,
              negatives, fpr_type);
  std::printf("lines: %zu, lines with any false positive: %d (FPR per line %.4f)\n%s\n",
              corpus.size(), lines_with_fp, fpr_line, mistakes.c_str());
  EXPECT_GE(recall, 0.95);
  // The stricter of the two rates: a line counts once whatever the type of its false positive.
  EXPECT_LE(fpr_line, 0.02);
}

// Ordinary business and developer text (testdata/negative.jsonl, written by make_negative.py):
// version strings, build ids, order and tracking numbers, timestamps, hashes, UUIDs, invoices,
// prices, stack traces, log lines. Any finding on a line is a false positive.
TEST(CorpusTest, NegativeFalsePositiveRate) {
  std::ifstream in("testdata/negative.jsonl");
  std::vector<std::pair<std::string, std::string>> lines;  // (id, text)
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    boost::json::object obj = boost::json::parse(line).as_object();
    lines.emplace_back(obj.at("id").as_string().c_str(), obj.at("text").as_string().c_str());
  }
  ASSERT_GE(lines.size(), 300u) << "run from the source folder (ctest does)";
  auto scanner = Scanner::Create({});
  ASSERT_TRUE(scanner) << scanner.error().message;
  int flagged = 0;
  std::string mistakes;
  for (const auto& [id, text] : lines) {
    std::vector<Finding> findings = scanner->Scan(text);
    if (findings.empty()) continue;
    ++flagged;
    for (const Finding& f : findings) {
      mistakes += "  FP " + id + " " + f.type + " [" + text.substr(f.start, f.size()) + "]\n";
    }
  }
  const double rate = static_cast<double>(flagged) / static_cast<double>(lines.size());
  std::printf("\nnegative corpus: %zu lines, %d with a finding (false-positive rate %.4f)\n%s\n",
              lines.size(), flagged, rate, mistakes.c_str());
  EXPECT_LE(rate, 0.02);
}

}  // namespace
}  // namespace hybridgate::sensitivity
