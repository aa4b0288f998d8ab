// What the request-level sensitivity check costs: the gateway scans every string of the body
// (classify::CollectBodyStrings + ClassifyStrings). Beside it, in the same run, the scan of only
// the decoded request's modelled texts (classify::CollectScanTexts + Scanner::Classify), which is
// what the gateway scanned before every string was read — so the ratio is the price of reading
// every string. Bodies: bench/run.sh's request, and a 4 KB number-dense chat request. The
// CollectOnly and ScanOnly rows are EveryString's two halves, timed apart.
#include <benchmark/benchmark.h>

#include <list>
#include <string>
#include <vector>

#include "api/openai_chat.h"
#include "classify/body_strings.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/scanner.h"

namespace hybridgate::classify {
namespace {

const sensitivity::Scanner& TheScanner() {
  static const sensitivity::Scanner* scanner =
      new sensitivity::Scanner(std::move(*sensitivity::Scanner::Create({})));
  return *scanner;
}

// bench/run.sh's request body.
const std::string kBenchRequest =
    R"({"model":"auto","messages":[{"role":"system","content":"You are a helpful assistant."},)"
    R"({"role":"user","content":"Say hello in one short sentence, please."}],)"
    R"("temperature":0.2,"max_tokens":64})";

// A chat request with 4 KB of log lines: numbers, versions, times, ids.
std::string NumberDenseRequest() {
  std::string log;
  for (int i = 0; log.size() < 4096; ++i) {
    log += "2026-11-0" + std::to_string(i % 9 + 1) + "T10:" + std::to_string(10 + i % 50) +
           ":07Z worker-" + std::to_string(i % 16) + " build 4." + std::to_string(i % 7) + "." +
           std::to_string(i * 37 % 1000) + " took " + std::to_string(i * 13 % 997) + "ms order " +
           std::to_string(100000 + i * 7919) + " port 8" + std::to_string(i % 10) + "80\\n";
  }
  return R"({"model":"m","messages":[{"role":"user","content":"Summarise these logs:\n)" + log +
         R"("}],"max_tokens":256})";
}

void BodyStringsScan(benchmark::State& state, const std::string& body) {
  const config::ResidencyConfig residency;
  BodyStrings strings;
  for (auto _ : state) {
    (void)CollectBodyStrings(body, strings);
    benchmark::DoNotOptimize(ClassifyStrings(TheScanner(), residency, strings));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void ModelledTextsScan(benchmark::State& state, const std::string& body) {
  std::string copy = body;
  auto req = api::DecodeOpenAiChat(copy);
  if (!req) {
    state.SkipWithError(req.error().message.c_str());
    return;
  }
  std::vector<std::string_view> texts;
  std::list<std::string> storage;
  for (auto _ : state) {
    texts.clear();
    storage.clear();
    CollectScanTexts(*req, texts, storage);
    benchmark::DoNotOptimize(TheScanner().Classify(texts));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void BM_BenchRequest_EveryString(benchmark::State& s) { BodyStringsScan(s, kBenchRequest); }
void BM_BenchRequest_ModelledTexts(benchmark::State& s) { ModelledTextsScan(s, kBenchRequest); }
void BM_NumberDense4K_EveryString(benchmark::State& s) {
  static const std::string body = NumberDenseRequest();
  BodyStringsScan(s, body);
}
void BM_NumberDense4K_ModelledTexts(benchmark::State& s) {
  static const std::string body = NumberDenseRequest();
  ModelledTextsScan(s, body);
}
// EveryString's two halves apart: reading the body's strings, and the scanner over them.
void CollectOnly(benchmark::State& state, const std::string& body) {
  BodyStrings strings;
  for (auto _ : state) {
    (void)CollectBodyStrings(body, strings);
    benchmark::DoNotOptimize(strings.texts.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
void ScanOnly(benchmark::State& state, const std::string& body) {
  const config::ResidencyConfig residency;
  BodyStrings strings;
  (void)CollectBodyStrings(body, strings);
  for (auto _ : state) benchmark::DoNotOptimize(ClassifyStrings(TheScanner(), residency, strings));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
void BM_BenchRequest_CollectOnly(benchmark::State& s) { CollectOnly(s, kBenchRequest); }
void BM_BenchRequest_ScanOnly(benchmark::State& s) { ScanOnly(s, kBenchRequest); }
void BM_NumberDense4K_CollectOnly(benchmark::State& s) {
  static const std::string body = NumberDenseRequest();
  CollectOnly(s, body);
}
BENCHMARK(BM_BenchRequest_ModelledTexts);
BENCHMARK(BM_BenchRequest_EveryString);
BENCHMARK(BM_NumberDense4K_ModelledTexts);
BENCHMARK(BM_NumberDense4K_EveryString);
BENCHMARK(BM_BenchRequest_CollectOnly);
BENCHMARK(BM_BenchRequest_ScanOnly);
BENCHMARK(BM_NumberDense4K_CollectOnly);

}  // namespace
}  // namespace hybridgate::classify

BENCHMARK_MAIN();
