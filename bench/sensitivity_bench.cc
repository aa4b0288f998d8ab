// Sensitivity scanner throughput and latency: a 4 KB prompt with a few findings (the common
// request), 4 KB of number-dense log text, 4 KB prompts with non-ASCII text (with and without
// characters the scanner folds), and 1 MB of clean prose (throughput), next to a baseline in the
// same run: one pass of std::count over the same bytes, i.e. what touching the memory costs.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "classify/sensitivity/scanner.h"

namespace hybridgate::sensitivity {
namespace {

const Scanner& TheScanner() {
  static const Scanner* scanner = new Scanner(std::move(*Scanner::Create({})));
  return *scanner;
}

// Deterministic filler with nothing a detector should flag. kProse is ordinary English with the
// odd number; kTechnical is a worst-ish case for this scanner: a number, version, time or a
// keyword that starts a context check ("token", "version", "build", "std::") every few words.
enum class Style { kProse, kTechnical };

std::string CleanText(std::size_t size, Style style) {
  static constexpr const char* kProse[] = {
      "the",     "of",      "and",      "to",      "in",      "a",       "is",      "that",
      "for",     "it",      "as",       "was",     "with",    "be",      "by",      "on",
      "not",     "this",    "are",      "or",      "from",    "at",      "which",   "but",
      "have",    "an",      "they",     "you",     "were",    "their",   "one",     "all",
      "we",      "can",     "has",      "there",   "been",    "if",      "more",    "when",
      "will",    "would",   "who",      "so",      "model",   "request", "summary", "please",
      "report",  "meeting", "customer", "team",    "project", "design",  "system",  "data",
      "users",   "should",  "could",    "about",   "into",    "than",    "review",  "draft",
      "time",    "only",    "new",      "also",    "after",   "first",   "two",     "like",
      "over",    "such",    "our",      "most",    "made",    "before",  "must",    "through",
      "years",   "where",   "much",     "your",    "well",    "because", "each",    "people",
      "how",     "state",   "good",     "very",    "make",    "world",   "still",   "work",
      "long",    "get",     "here",     "between", "both",    "under",   "never",   "day",
      "same",    "another", "know",     "while",   "last",    "great",   "year",    "since",
      "against", "right",   "used",     "three",   "budget",  "quarter", "London",  "Paris"};
  static constexpr const char* kTechnical[] = {
      "the",     "request", "latency", "model",   "router",   "prompt",  "token",     "cache",
      "returns", "with",    "and",     "of",      "a",        "deploy",  "version",   "2.14.3",
      "at",      "10:30",   "in",      "42",      "percent",  "users",   "build",     "queue",
      "should",  "retry",   "after",   "timeout", "customer", "report",  "quarterly", "numbers",
      "summary", "draft",   "please",  "review",  "function", "returns", "vector",    "std::sort"};
  std::span<const char* const> words =
      style == Style::kProse ? std::span<const char* const>(kProse) : kTechnical;
  std::string out;
  out.reserve(size + 32);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  std::size_t words_in_sentence = 0;
  while (out.size() < size) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    out += words[(state >> 33) % words.size()];
    if (++words_in_sentence == 12) {
      out += (state >> 40) % 7 == 0 ? " 42.\n" : ".\n";
      words_in_sentence = 0;
    } else {
      out += ' ';
    }
  }
  out.resize(size);
  return out;
}

std::string Prompt4K() {
  std::string text =
      "You are a support assistant. Summarise the ticket below for the on-call engineer and "
      "draft a reply to the customer.\n\nTicket #48213 from maria.gonzalez@northwind-legal.com "
      "(phone +1 (415) 555-0132): our payment with card 4111 1111 1111 1111 failed twice "
      "yesterday and the dashboard at 10.20.30.40 shows error 502. ";
  std::string filler = CleanText(4096, Style::kProse);
  text += filler.substr(0, 4096 - text.size());
  return text;
}

void BM_Classify4K(benchmark::State& state) {
  const Scanner& scanner = TheScanner();
  std::string text = Prompt4K();
  std::string_view texts[] = {text};
  std::size_t findings = 0;
  std::vector<int64_t> ns;
  ns.reserve(1 << 20);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    Classification c = scanner.Classify(texts);
    auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(c);
    findings = c.findings.size();
    if (ns.size() < ns.capacity()) ns.push_back((t1 - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) {
    return ns.empty() ? 0.0
                      : static_cast<double>(ns[static_cast<std::size_t>(p * (ns.size() - 1))]);
  };
  state.counters["findings"] = static_cast<double>(findings);
  state.counters["p50_us"] = pct(0.50) / 1000.0;
  state.counters["p99_us"] = pct(0.99) / 1000.0;
  state.counters["p999_us"] = pct(0.999) / 1000.0;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Classify4K);

// Log and order text where nearly every token is a number: timestamps, ids, versions, prices,
// durations, ports, tracking numbers, ISBNs, hashes. Few findings; every digit run is looked at.
std::string NumberDense4K() {
  std::string out;
  uint64_t state = 0x2545F4914F6CDD1Dull;
  auto next = [&](uint64_t mod) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % mod;
  };
  auto num = [&](int digits) {
    std::string s(1, static_cast<char>('1' + next(9)));
    for (int i = 1; i < digits; ++i) s += static_cast<char>('0' + next(10));
    return s;
  };
  while (out.size() < 4096) {
    switch (next(8)) {
      case 0:
        out += "2024-0" + std::to_string(1 + next(9)) + "-1" + std::to_string(next(10)) + "T1" +
               std::to_string(next(10)) + ":3" + std::to_string(next(10)) + ":0" +
               std::to_string(next(10)) + ".123Z ";
        break;
      case 1:
        out += "order " + num(3) + "-" + num(7) + "-" + num(7) + " total " + num(3) + "." + num(2) +
               " qty " + num(2) + " ";
        break;
      case 2:
        out += "v" + num(1) + "." + num(2) + "." + num(1) + " build " + num(5) + " took " + num(3) +
               " ms ";
        break;
      case 3:
        out += "port " + num(4) + " pid " + num(5) + " fd " + num(2) + " ";
        break;
      case 4:
        out += "tracking " + num(4) + " " + num(4) + " " + num(4) + " ts=" + num(13) + " ";
        break;
      case 5:
        out += "ISBN 978-" + num(1) + "-" + num(3) + "-" + num(5) + "-" + num(1) + " ";
        break;
      case 6:
        out += "rows " + num(2) + " " + num(3) + " " + num(2) + " " + num(4) + " " + num(1) + " ";
        break;
      default:
        out += "sha " + num(8) + "ab" + num(6) + "cd" + num(8) + "\n";
        break;
    }
  }
  out.resize(4096);
  return out;
}

// The 4 KB prompt written the way people paste text: curly quotes and accents, which the
// scanner keeps as they are; with_folds adds what it folds: em dashes, no-break spaces, a card
// in full-width digits and an e-mail with a full-width at sign.
std::string NonAscii4K(bool with_folds) {
  std::string text =
      "You are a support assistant. Summarise the ticket below for the on-call engineer and "
      "draft a reply to the customer, Ren\xc3\xa9"
      "e M\xc3\xbcller.\n\n"
      "\xe2\x80\x9cOur payment failed twice yesterday,\xe2\x80\x9d she writes. ";
  if (with_folds) {
    text +=
        "It failed \xe2\x80\x94 twice \xe2\x80\x94 with card "
        "\xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xc2\xa0\xef\xbc\x91\xef\xbc\x91"
        "\xef\xbc\x91\xef\xbc\x91\xc2\xa0"
        "1111\xc2\xa0"
        "1111, mail "
        "renee.mueller\xef\xbc\xa0northwind-legal.com. ";
  }
  std::string filler = CleanText(4096, Style::kProse);
  for (std::size_t i = 600; i + 40 < filler.size(); i += 600) {
    filler.replace(i, 1, "\xe2\x80\x99");  // a curly apostrophe every 600 bytes
  }
  text += filler;
  text.resize(4096);
  while ((static_cast<unsigned char>(text.back()) & 0xC0) == 0x80 ||
         static_cast<unsigned char>(text.back()) >= 0xC0) {
    text.pop_back();  // no character cut in half
  }
  return text;
}

void BM_Classify4KText(benchmark::State& state, std::string text) {
  const Scanner& scanner = TheScanner();
  std::string_view texts[] = {text};
  std::size_t findings = 0;
  for (auto _ : state) {
    Classification c = scanner.Classify(texts);
    benchmark::DoNotOptimize(c);
    findings = c.findings.size();
  }
  state.counters["findings"] = static_cast<double>(findings);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK_CAPTURE(BM_Classify4KText, number_dense, NumberDense4K());
BENCHMARK_CAPTURE(BM_Classify4KText, non_ascii_kept, NonAscii4K(false));
BENCHMARK_CAPTURE(BM_Classify4KText, non_ascii_folded, NonAscii4K(true));

void BM_Scan1MClean(benchmark::State& state, Style style) {
  const Scanner& scanner = TheScanner();
  std::string text = CleanText(1 << 20, style);
  std::size_t findings = 0;
  for (auto _ : state) {
    auto f = scanner.Scan(text);
    findings = f.size();
    benchmark::DoNotOptimize(f);
  }
  state.counters["findings"] = static_cast<double>(findings);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK_CAPTURE(BM_Scan1MClean, prose, Style::kProse)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Scan1MClean, technical, Style::kTechnical)->Unit(benchmark::kMicrosecond);

void BM_Baseline1MCount(benchmark::State& state) {
  std::string text = CleanText(1 << 20, Style::kProse);
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::count(text.begin(), text.end(), '@'));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Baseline1MCount)->Unit(benchmark::kMicrosecond);

void BM_CreateScanner(benchmark::State& state) {
  for (auto _ : state) {
    auto s = Scanner::Create({});
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CreateScanner)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace hybridgate::sensitivity

BENCHMARK_MAIN();
