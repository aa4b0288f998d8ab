#include "learned/evaluation.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "learned/sgd.h"

namespace hybridgate::learned {
namespace {

std::string BenchmarkOf(const Example& e) { return e.benchmark.empty() ? "all" : e.benchmark; }

// Mean metrics of several random routers: one draw is too noisy on a few hundred prompts.
Result<RouterResult> RandomRouter(const std::vector<Outcome>& base, int draws) {
  RouterResult r{.name = fmt::format("random (mean of {})", draws), .metrics = {}, .curve = {}};
  std::vector<Outcome> o = base;
  for (int d = 0; d < draws; ++d) {
    Rng rng(0xA11CE + static_cast<uint64_t>(d));
    for (Outcome& x : o) x.score = rng.Uniform();
    auto m = Evaluate(o);
    if (!m) return Fail(m.error());
    if (d == 0) {
      r.metrics = *m;
      r.curve = FullCurve(o);
      continue;
    }
    r.metrics.apgr += m->apgr;
    r.metrics.cpt50 += m->cpt50;
    r.metrics.cpt80 += m->cpt80;
  }
  r.metrics.apgr /= draws;
  r.metrics.cpt50 /= draws;
  r.metrics.cpt80 /= draws;
  return r;
}

}  // namespace

Result<std::vector<BenchmarkReport>> EvaluateByBenchmark(const Dataset& data,
                                                         const std::vector<ScoredRouter>& routers,
                                                         int random_draws) {
  std::vector<std::string> names;
  for (const Example& e : data.examples) {
    const std::string b = BenchmarkOf(e);
    if (std::find(names.begin(), names.end(), b) == names.end()) names.push_back(b);
  }
  std::vector<BenchmarkReport> reports;
  for (const std::string& bench : names) {
    BenchmarkReport rep{.benchmark = bench, .n = 0, .routers = {}};
    std::vector<Outcome> base;
    std::vector<size_t> rows;
    for (size_t i = 0; i < data.examples.size(); ++i) {
      if (BenchmarkOf(data.examples[i]) != bench) continue;
      rows.push_back(i);
      base.push_back({0, data.examples[i].weak, data.examples[i].strong});
    }
    rep.n = rows.size();
    for (const ScoredRouter& r : routers) {
      std::vector<Outcome> o = base;
      for (size_t k = 0; k < rows.size(); ++k) o[k].score = r.scores.at(rows[k]);
      auto m = Evaluate(o);
      if (!m)
        return Fail(MakeError(m.error().code, fmt::format("{}: {}", bench, m.error().message)));
      rep.routers.push_back({r.name, std::move(*m), FullCurve(o)});
    }
    if (random_draws > 0) {
      auto r = RandomRouter(base, random_draws);
      if (!r) return Fail(r.error());
      rep.routers.push_back(std::move(*r));
    }
    reports.push_back(std::move(rep));
  }
  return reports;
}

std::vector<double> ScoreAll(const Model& model, const Dataset& data) {
  std::vector<double> s;
  s.reserve(data.examples.size());
  for (const Example& e : data.examples) s.push_back(model.Score(e.prompt));
  return s;
}

std::vector<double> LengthScores(const Dataset& data) {
  std::vector<double> s;
  s.reserve(data.examples.size());
  for (const Example& e : data.examples) s.push_back(static_cast<double>(e.prompt.size()));
  return s;
}

Result<std::vector<double>> CrossValidatedScores(const Dataset& data, const TrainOptions& options,
                                                 int k, int threads, const ProgressFn& progress) {
  if (k < 2 || static_cast<size_t>(k) > data.examples.size()) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest,
                  fmt::format("--cv needs 2 <= K <= {} (got {})", data.examples.size(), k)));
  }
  std::vector<double> scores(data.examples.size(), 0.0);
  std::vector<Error> errors(static_cast<size_t>(k));
  std::vector<char> failed(static_cast<size_t>(k), 0);  // not vector<bool>: written by threads
  std::atomic<int> next{0};
  std::atomic<size_t> done{0};
  std::mutex progress_mu;
  auto worker = [&] {
    for (int f = next++; f < k; f = next++) {
      Dataset train{.examples = {}, .source = data.source};
      for (const Example& e : data.examples) {
        if (FoldOf(e, k, options.seed) != f) train.examples.push_back(e);
      }
      auto model = Train(train, options);
      if (!model) {
        errors[f] = model.error();
        failed[f] = 1;
      } else {
        for (size_t i = 0; i < data.examples.size(); ++i) {
          if (FoldOf(data.examples[i], k, options.seed) == f) {
            scores[i] = model->Score(data.examples[i].prompt);
          }
        }
      }
      std::lock_guard lock(progress_mu);
      if (progress) progress(++done, static_cast<size_t>(k));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, std::min(threads, k)); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (int f = 0; f < k; ++f) {
    if (failed[f]) {
      return Fail(MakeError(errors[f].code, fmt::format("fold {}: {}", f, errors[f].message)));
    }
  }
  return scores;
}

std::string FormatReport(const std::vector<BenchmarkReport>& reports) {
  std::string out;
  for (const BenchmarkReport& rep : reports) {
    const Metrics& any = rep.routers.front().metrics;
    out += fmt::format("{}  (n={}, weak quality {:.3f}, strong quality {:.3f})\n", rep.benchmark,
                       rep.n, any.weak_quality, any.strong_quality);
    out += fmt::format("  {:<22} {:>7} {:>7} {:>7}\n", "router", "APGR", "CPT50", "CPT80");
    for (const RouterResult& r : rep.routers) {
      out += fmt::format("  {:<22} {:>7.3f} {:>6.1f}% {:>6.1f}%\n", r.name, r.metrics.apgr,
                         100 * r.metrics.cpt50, 100 * r.metrics.cpt80);
    }
  }
  return out;
}

}  // namespace hybridgate::learned
