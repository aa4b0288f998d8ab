// What the request-level sensitivity check costs: the gateway scans every string of the body
// (classify::CollectBodyStrings + ClassifyStrings). Beside it, in the same run, the scan of only
// the decoded request's modelled texts (classify::CollectScanTexts + Scanner::Classify), which is
// what the gateway scanned before every string was read — so the ratio is the price of reading
// every string. Bodies: bench/run.sh's request, and a 4 KB number-dense chat request. The
// CollectOnly and ScanOnly rows are EveryString's two halves, timed apart.
//
// The same file builds in an older tree without classify/body_strings.h (only the ModelledTexts
// rows then), so bench/scan_compare.sh can time the scan of a baseline commit beside this one.
// `classify_bench --scans=N CASE` runs N scans of one case and nothing else, collecting
// instructions under callgrind only around them (CASE: bench_every_string, dense_every_string,
// bench_modelled_texts, dense_modelled_texts).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "api/openai_chat.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/scanner.h"

#if __has_include("classify/body_strings.h")
#include "classify/body_strings.h"
#define HG_EVERY_STRING 1
#endif
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

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

#ifdef HG_EVERY_STRING
void BodyStringsScan(benchmark::State& state, const std::string& body) {
  const config::ResidencyConfig residency;
  BodyStrings strings;
  for (auto _ : state) {
    (void)CollectBodyStrings(body, strings);
    benchmark::DoNotOptimize(ClassifyStrings(TheScanner(), residency, strings));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
#endif

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

const std::string& NumberDense() {
  static const std::string body = NumberDenseRequest();
  return body;
}

void BM_BenchRequest_ModelledTexts(benchmark::State& s) { ModelledTextsScan(s, kBenchRequest); }
void BM_NumberDense4K_ModelledTexts(benchmark::State& s) { ModelledTextsScan(s, NumberDense()); }
BENCHMARK(BM_BenchRequest_ModelledTexts);
#ifdef HG_EVERY_STRING
void BM_BenchRequest_EveryString(benchmark::State& s) { BodyStringsScan(s, kBenchRequest); }
void BM_NumberDense4K_EveryString(benchmark::State& s) { BodyStringsScan(s, NumberDense()); }
BENCHMARK(BM_BenchRequest_EveryString);
#endif
BENCHMARK(BM_NumberDense4K_ModelledTexts);
#ifdef HG_EVERY_STRING
BENCHMARK(BM_NumberDense4K_EveryString);

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
void BM_NumberDense4K_CollectOnly(benchmark::State& s) { CollectOnly(s, NumberDense()); }
void BM_NumberDense4K_ScanOnly(benchmark::State& s) { ScanOnly(s, NumberDense()); }
BENCHMARK(BM_BenchRequest_CollectOnly);
BENCHMARK(BM_BenchRequest_ScanOnly);
BENCHMARK(BM_NumberDense4K_CollectOnly);
BENCHMARK(BM_NumberDense4K_ScanOnly);
#endif

// --scans=N CASE: N scans, one untimed scan first (the thread's buffers grow there), callgrind
// collecting only around the N. Returns the process's exit status.
int CountScans(long n, std::string_view name) {
  const bool dense = name.starts_with("dense_");
  const std::string& body = dense ? NumberDense() : kBenchRequest;
  const sensitivity::Scanner& scanner = TheScanner();
  int data_class = 0;
  if (name.ends_with("_modelled_texts")) {
    std::string copy = body;
    auto req = api::DecodeOpenAiChat(copy);
    if (!req) return 1;
    std::vector<std::string_view> texts;
    std::list<std::string> storage;
    for (long i = 0; i <= n; ++i) {
      if (i == 1) CALLGRIND_TOGGLE_COLLECT;
      texts.clear();
      storage.clear();
      CollectScanTexts(*req, texts, storage);
      data_class += scanner.Classify(texts).data_class;
    }
    CALLGRIND_TOGGLE_COLLECT;
#ifdef HG_EVERY_STRING
  } else if (name.ends_with("_every_string")) {
    const config::ResidencyConfig residency;
    BodyStrings strings;
    for (long i = 0; i <= n; ++i) {
      if (i == 1) CALLGRIND_TOGGLE_COLLECT;
      (void)CollectBodyStrings(body, strings);
      data_class += ClassifyStrings(scanner, residency, strings).data_class;
    }
    CALLGRIND_TOGGLE_COLLECT;
#endif
  } else {
    std::fprintf(stderr, "unknown case '%.*s'\n", static_cast<int>(name.size()), name.data());
    return 2;
  }
  std::printf("%.*s: %ld scans, data class sum %d\n", static_cast<int>(name.size()), name.data(), n,
              data_class);
  return 0;
}

}  // namespace
}  // namespace hybridgate::classify

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]).starts_with("--scans=")) {
    return hybridgate::classify::CountScans(std::atol(argv[1] + 8), argv[2]);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Compiled before any timing: the first benchmark's iteration count is sized by its first run.
  (void)hybridgate::classify::TheScanner();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
