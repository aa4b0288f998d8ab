// Scoring latency of the learned router on a typical prompt, next to a baseline measured in the
// same run (copying the prompt into a std::string, i.e. the cheapest thing the gateway does with
// it anyway). Reports p50/p99 from manual timing since Google Benchmark reports means.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "learned/dataset.h"
#include "learned/model_io.h"
#include "learned/train.h"

namespace {

using hybridgate::learned::Dataset;
using hybridgate::learned::Model;

constexpr const char* kTypicalPrompt =
    "A local bakery sells muffins for $3 each and cookies for $1.50 each. On Monday it sold 48 "
    "muffins and twice as many cookies as muffins. On Tuesday it sold half as many muffins as on "
    "Monday and 20 more cookies than on Monday. How much money did the bakery make over the two "
    "days?";

// Uses HYBRIDGATE_ROUTER_MODEL when set (a real trained model); otherwise trains a small model on
// synthetic prompts with the production feature set and default table sizes.
const Model& BenchModel() {
  static const Model model = [] {
    if (const char* path = std::getenv("HYBRIDGATE_ROUTER_MODEL")) {
      auto m = hybridgate::learned::LoadModel(path);
      if (m) return std::move(*m);
      std::fprintf(stderr, "%s\n", m.error().message.c_str());
      std::exit(1);
    }
    Dataset ds;
    for (int i = 0; i < 600; ++i) {
      hybridgate::learned::Example e;
      e.id = std::to_string(i);
      e.category = "c" + std::to_string(i % 58);  // as many subjects as MMLU + GSM8K
      e.prompt = std::string(kTypicalPrompt) + " variant " + std::to_string(i * 7919 % 1000);
      e.weak = i % 3 == 0 ? 0 : 1;
      e.strong = 1;
      ds.examples.push_back(std::move(e));
    }
    auto m = hybridgate::learned::Train(ds, {});
    if (!m) std::exit(1);
    return std::move(*m);
  }();
  return model;
}

void BM_Score(benchmark::State& state) {
  const Model& model = BenchModel();
  for (auto _ : state) benchmark::DoNotOptimize(model.Score(kTypicalPrompt));
}
BENCHMARK(BM_Score);

void BM_BaselineCopyPrompt(benchmark::State& state) {
  for (auto _ : state) {
    std::string copy(kTypicalPrompt);
    benchmark::DoNotOptimize(copy.data());
  }
}
BENCHMARK(BM_BaselineCopyPrompt);

// Tail latency: times 20k single calls and reports percentiles as counters.
void BM_ScoreTail(benchmark::State& state) {
  const Model& model = BenchModel();
  std::vector<double> us;
  for (auto _ : state) {
    us.clear();
    for (int i = 0; i < 20000; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(model.Score(kTypicalPrompt));
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
  state.counters["max_us"] = us.back();
}
BENCHMARK(BM_ScoreTail)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
