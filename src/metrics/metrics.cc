#include "metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <mutex>
#include <sstream>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "metrics/series_cache.h"

namespace hybridgate::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr size_t kMaxLabelValueBytes = 64;
constexpr std::string_view kOther = "other";
constexpr std::string_view kUnknown = "unknown";

using NameSet = std::unordered_set<std::string, KeyHash, std::equal_to<>>;

// `v` when the vocabulary allows it (no vocabulary yet, empty, or a config name), else "unknown".
std::string_view Restrict(std::string_view v, const NameSet* names) {
  return names == nullptr || v.empty() || names->contains(v) ? v : kUnknown;
}

// The request labels that name config things, restricted to `names`.
RequestLabels Restrict(const RequestLabels& l, const NameSet* names) {
  RequestLabels out = l;
  out.route = Restrict(l.route, names);
  out.tier = Restrict(l.tier, names);
  out.provider = Restrict(l.provider, names);
  out.model = Restrict(l.model, names);
  return out;
}

bool SameLabels(const RequestLabels& a, const RequestLabels& b) {
  return a.route == b.route && a.tier == b.tier && a.provider == b.provider && a.model == b.model &&
         a.endpoint == b.endpoint && a.operation == b.operation;
}

// OpenTelemetry GenAI semantic conventions, advisory bucket boundaries.
const Histogram::BucketBoundaries kDurationBuckets = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                                      1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
const Histogram::BucketBoundaries kTtftBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                  0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
const Histogram::BucketBoundaries kTokenBuckets = {
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  // Overlong forms, surrogates and code points above U+10FFFF.
  if (c == 0xE0 && b(i + 1) < 0xA0) return 0;
  if (c == 0xED && b(i + 1) >= 0xA0) return 0;
  if (c == 0xF0 && b(i + 1) < 0x90) return 0;
  if (c == 0xF4 && b(i + 1) >= 0x90) return 0;
  return n;
}

// A label value that always renders as valid exposition text: at most kMaxLabelValueBytes,
// cut on a character boundary, invalid UTF-8 replaced by U+FFFD. Runs only on a label set's first
// use. (The text serializer escapes backslash, quote and newline itself.)
std::string SanitizeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(std::min(v.size(), kMaxLabelValueBytes));
  for (size_t i = 0; i < v.size();) {
    size_t n = Utf8SequenceLength(v, i);
    std::string_view piece = n ? v.substr(i, n) : std::string_view("\xEF\xBF\xBD");
    if (out.size() + piece.size() > kMaxLabelValueBytes) break;
    out.append(piece);
    i += n ? n : 1;
  }
  return out;
}

template <size_t N>
prometheus::Labels MakeLabels(const std::array<const char*, N>& names,
                              const std::array<std::string_view, N>& values) {
  prometheus::Labels labels;
  for (size_t i = 0; i < N; ++i) labels.emplace(names[i], SanitizeLabelValue(values[i]));
  return labels;
}

template <size_t N>
std::string_view KeyOf(const std::array<std::string_view, N>& values) {
  return std::apply([](const auto&... v) { return MakeKey(v...); }, values);
}

// A family with N labels behind a SeriesCache, folding label sets past the cap into "other".
template <class T, size_t N>
class LabeledFamily {
 public:
  LabeledFamily(Family<T>& family, std::array<const char*, N> names, size_t cap, Counter& folded)
      : family_(family), names_(names), cache_(cap), folded_(folded) {}

  T& Get(const std::array<std::string_view, N>& values) {
    auto make = [&] { return &family_.Add(MakeLabels(names_, values)); };
    if (T* const* series = cache_.Get(KeyOf(values), false, make)) return **series;
    folded_.Increment();
    std::array<std::string_view, N> other;
    other.fill(kOther);
    return **cache_.Get(KeyOf(other), true,
                        [&] { return &family_.Add(MakeLabels(names_, other)); });
  }

 private:
  Family<T>& family_;
  const std::array<const char*, N> names_;
  SeriesCache<T*> cache_;
  Counter& folded_;
};

Family<Counter>& CounterFamily(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
Family<Gauge>& GaugeFamily(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}
Family<Histogram>& HistogramFamily(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

bool Known(double v) { return std::isfinite(v) && v >= 0; }

// Every series one request touches, resolved once per (labels, status).
struct RequestSeries {
  Counter* requests;
  Histogram* duration;
  Histogram* ttft;
  Counter* input_tokens;
  Counter* output_tokens;
  Counter* cached_input_tokens;
  Counter* cost;
  Histogram* genai_duration;
  Histogram* genai_ttft;
  Histogram* genai_input_tokens;
  Histogram* genai_output_tokens;
};

// A number that one thread (its owner) adds to and scrapes read: the owner's add is a plain load
// and store, with no lock and no read-modify-write, which is safe because no other thread writes.
template <class T>
class OwnedCell {
 public:
  void Add(T d) {
    value_.store(value_.load(std::memory_order_relaxed) + d, std::memory_order_release);
  }
  T Read() const { return value_.load(std::memory_order_acquire); }

 private:
  std::atomic<T> value_{0};
};

// An owned counter and the part of it a scrape has already added to the registry's counter.
template <class T>
struct OwnedCounter {
  OwnedCell<T> value;
  T flushed = 0;  // scrape side

  void FlushInto(Counter& target) {
    const T now = value.Read();
    if (now == flushed) return;
    target.Increment(static_cast<double>(now - flushed));
    flushed = now;
  }
};

// The largest bucket list above has 16 boundaries, hence 17 buckets with +Inf.
constexpr size_t kMaxBuckets = 17;

// An owned histogram with prometheus-cpp's bucket rule (the first boundary >= the value, else
// +Inf). The owner adds to the sum before the count and a scrape reads the counts before the sum,
// so a scrape that races an observation may see its value in the sum while its count shows up
// one scrape later; the totals are exact once recording pauses.
class OwnedHistogram {
 public:
  explicit OwnedHistogram(const Histogram::BucketBoundaries& bounds) : bounds_(bounds) {}

  void Observe(double v) {
    sum_.Add(v);
    counts_[static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                bounds_.begin())]
        .Add(1);
  }

  // Adds what was observed since the last flush to `a` and, if given, `b` (same buckets).
  void FlushInto(Histogram& a, Histogram* b) {
    std::vector<double> deltas(bounds_.size() + 1);
    bool any = false;
    for (size_t i = 0; i < deltas.size(); ++i) {
      const uint64_t now = counts_[i].Read();
      deltas[i] = static_cast<double>(now - flushed_counts_[i]);
      any = any || now != flushed_counts_[i];
      flushed_counts_[i] = now;
    }
    if (!any) return;
    const double sum = sum_.Read();
    a.ObserveMultiple(deltas, sum - flushed_sum_);
    if (b) b->ObserveMultiple(deltas, sum - flushed_sum_);
    flushed_sum_ = sum;
  }

 private:
  const Histogram::BucketBoundaries& bounds_;
  std::array<OwnedCell<uint64_t>, kMaxBuckets> counts_;
  OwnedCell<double> sum_;
  std::array<uint64_t, kMaxBuckets> flushed_counts_{};  // scrape side
  double flushed_sum_ = 0;                              // scrape side
};

// One thread's tallies for one request label set, merged into `target`'s series at scrape time.
// The duration and time-to-first-token histograms are kept once and merged into both their
// hybridgate_* and gen_ai_* series, which have the same buckets.
struct OwnedRequestSeries {
  OwnedRequestSeries(const RequestSeries& target, bool folded) : target(target), folded(folded) {}

  const RequestSeries& target;
  const bool folded;  // the label set was folded into "other": each request counts as folded
  OwnedCounter<uint64_t> requests, folded_events;
  OwnedCounter<int64_t> input_tokens, output_tokens, cached_input_tokens;
  OwnedCounter<double> cost;
  OwnedHistogram duration{kDurationBuckets}, ttft{kTtftBuckets}, input_usage{kTokenBuckets},
      output_usage{kTokenBuckets};

  void FlushInto(Counter& folded_counter) {
    requests.FlushInto(*target.requests);
    folded_events.FlushInto(folded_counter);
    input_tokens.FlushInto(*target.input_tokens);
    output_tokens.FlushInto(*target.output_tokens);
    cached_input_tokens.FlushInto(*target.cached_input_tokens);
    cost.FlushInto(*target.cost);
    duration.FlushInto(*target.duration, target.genai_duration);
    ttft.FlushInto(*target.ttft, target.genai_ttft);
    input_usage.FlushInto(*target.genai_input_tokens, nullptr);
    output_usage.FlushInto(*target.genai_output_tokens, nullptr);
  }
};

// The request series one thread records into. Only the owner inserts, under `mu`; the owner's
// lookups need no lock (nobody else mutates the map), scrapes iterate under `mu`.
struct Shard {
  std::mutex mu;
  std::unordered_map<std::string, std::unique_ptr<OwnedRequestSeries>, KeyHash, std::equal_to<>>
      series;
};

// Identifies a Metrics object to the threads' shard lists (an address could be reused).
std::atomic<uint64_t> next_metrics_id{1};

}  // namespace

struct Metrics::Impl {
  explicit Impl(Options o) : options(o) {}

  // Resolves (or creates) the series for one label set; values are already folded if need be.
  RequestSeries MakeRequestSeries(const RequestLabels& l, std::string_view status) {
    const std::string route = SanitizeLabelValue(l.route), tier = SanitizeLabelValue(l.tier),
                      provider = SanitizeLabelValue(l.provider),
                      model = SanitizeLabelValue(l.model),
                      endpoint = SanitizeLabelValue(l.endpoint),
                      operation = SanitizeLabelValue(l.operation);
    const prometheus::Labels base = {{"route", route},
                                     {"tier", tier},
                                     {"provider", provider},
                                     {"model", model},
                                     {"endpoint", endpoint}};
    prometheus::Labels with_status = base;
    with_status.emplace("status", std::string(status));
    const prometheus::Labels genai = {{"gen_ai_operation_name", operation},
                                      {"gen_ai_provider_name", provider},
                                      {"gen_ai_request_model", model}};
    auto token_labels = [&](const char* type) {
      prometheus::Labels t = genai;
      t.emplace("gen_ai_token_type", type);
      return t;
    };
    auto tokens = [&](const char* type) -> Counter* {
      return &tokens_total.Add({{"provider", provider}, {"model", model}, {"type", type}});
    };
    return RequestSeries{
        .requests = &requests_total.Add(with_status),
        .duration = &request_duration.Add(base, kDurationBuckets),
        .ttft = &time_to_first_token.Add(base, kTtftBuckets),
        .input_tokens = tokens("input"),
        .output_tokens = tokens("output"),
        .cached_input_tokens = tokens("cached_input"),
        .cost = &cost_total.Add({{"route", route}, {"provider", provider}, {"model", model}}),
        .genai_duration = &genai_duration.Add(genai, kDurationBuckets),
        .genai_ttft = &genai_ttft.Add(genai, kTtftBuckets),
        .genai_input_tokens = &genai_token_usage.Add(token_labels("input"), kTokenBuckets),
        .genai_output_tokens = &genai_token_usage.Add(token_labels("output"), kTokenBuckets),
    };
  }

  // The registry's series for a label set; `*folded` says whether it is the "other" one because
  // the family is full (the caller counts that in hybridgate_metrics_series_folded_total).
  const RequestSeries& RequestSeriesFor(const RequestLabels& l, std::string_view status,
                                        bool* folded) {
    std::string_view key =
        MakeKey(l.route, l.tier, l.provider, l.model, l.endpoint, l.operation, status);
    *folded = false;
    if (const RequestSeries* s =
            request_cache.Get(key, false, [&] { return MakeRequestSeries(l, status); })) {
      return *s;
    }
    *folded = true;
    const RequestLabels other{kOther, kOther, kOther, kOther, kOther, kOther};
    key = MakeKey(kOther, kOther, kOther, kOther, kOther, kOther, status);
    return *request_cache.Get(key, true, [&] { return MakeRequestSeries(other, status); });
  }

  // The calling thread's shard of this object, registered on the thread's first use. A thread
  // remembers its shards of the last kRememberedShards Metrics objects it recorded into.
  Shard& OwnShard() {
    struct Mine {
      uint64_t metrics_id;
      Shard* shard;
    };
    constexpr size_t kRememberedShards = 16;
    thread_local std::vector<Mine> mine;
    for (const Mine& m : mine) {
      if (m.metrics_id == id) return *m.shard;
    }
    auto shard = std::make_unique<Shard>();
    Shard* raw = shard.get();
    {
      std::lock_guard lock(shards_mu);
      shards.push_back(std::move(shard));
    }
    if (mine.size() >= kRememberedShards) mine.erase(mine.begin());
    mine.push_back({id, raw});
    return *raw;
  }

  // The shard's entry for `key` (a MakeKey view of `raw`'s values), made on first use. Values
  // outside the vocabulary are tallied under "unknown": only under that key, so a client's
  // made-up names add no entry here (each of their requests comes this way again, a lookup in
  // the vocabulary more). A shard holds at most as many label sets as the family may have; past
  // that, a new one is tallied as "other" (with its status), so a shard stays bounded whatever
  // the label values.
  OwnedRequestSeries* OwnSeries(Shard& shard, std::string_view key, const RequestLabels& raw,
                                std::string_view status) {
    if (auto it = shard.series.find(key); it != shard.series.end()) return it->second.get();
    const std::shared_ptr<const NameSet> names = Vocabulary();
    const RequestLabels l = Restrict(raw, names.get());
    const bool restricted = !SameLabels(l, raw);
    std::string owned_key(
        restricted ? MakeKey(l.route, l.tier, l.provider, l.model, l.endpoint, l.operation, status)
                   : key);  // RequestSeriesFor reuses MakeKey's buffer
    if (restricted) {
      if (auto it = shard.series.find(owned_key); it != shard.series.end()) {
        return it->second.get();
      }
    }
    const bool full = shard.series.size() >= options.max_request_label_sets;
    const RequestLabels other{kOther, kOther, kOther, kOther, kOther, kOther};
    if (full) {
      owned_key = MakeKey(kOther, kOther, kOther, kOther, kOther, kOther, status);
      if (auto it = shard.series.find(owned_key); it != shard.series.end()) {
        return it->second.get();
      }
    }
    bool folded = false;
    const RequestSeries& target = RequestSeriesFor(full ? other : l, status, &folded);
    auto entry = std::make_unique<OwnedRequestSeries>(target, folded || full);
    OwnedRequestSeries* raw_entry = entry.get();
    std::lock_guard lock(shard.mu);
    shard.series.emplace(std::move(owned_key), std::move(entry));
    return raw_entry;
  }

  std::shared_ptr<const NameSet> Vocabulary() {
    std::lock_guard lock(vocabulary_mu);
    return vocabulary;
  }

  // Adds every thread's tallies since the last flush to the registry. Scrapes only.
  void FlushShards() {
    std::vector<Shard*> all;
    {
      std::lock_guard lock(shards_mu);
      for (const auto& s : shards) all.push_back(s.get());
    }
    for (Shard* shard : all) {
      std::lock_guard lock(shard->mu);
      for (auto& [key, series] : shard->series) series->FlushInto(folded_requests);
    }
  }

  Options options;
  const uint64_t id = next_metrics_id.fetch_add(1);
  prometheus::Registry registry;

  Family<Counter>& requests_total = CounterFamily(
      registry, "hybridgate_requests_total",
      "Requests the gateway finished, by route, tier, serving provider and model, ingress endpoint "
      "and HTTP status code sent to the client.");
  Family<Histogram>& request_duration = HistogramFamily(
      registry, "hybridgate_request_duration_seconds",
      "End-to-end request duration in seconds, including fallbacks and escalations.");
  Family<Histogram>& time_to_first_token = HistogramFamily(
      registry, "hybridgate_time_to_first_token_seconds",
      "Seconds from request arrival to the first output token sent to the client (streaming).");
  Family<Counter>& tokens_total = CounterFamily(
      registry, "hybridgate_tokens_total",
      "Tokens by provider and model; type is input, output or cached_input (the part of input "
      "served from the provider's prompt cache).");
  Family<Counter>& cost_total = CounterFamily(registry, "hybridgate_cost_usd_total",
                                              "Estimated provider cost in US dollars.");
  Family<Histogram>& genai_duration = HistogramFamily(
      registry, "gen_ai_client_operation_duration_seconds",
      "GenAI operation duration in seconds (OpenTelemetry gen_ai.client.operation.duration).");
  Family<Histogram>& genai_ttft =
      HistogramFamily(registry, "gen_ai_server_time_to_first_token_seconds",
                      "Time to generate the first token in seconds (OpenTelemetry "
                      "gen_ai.server.time_to_first_token).");
  Family<Histogram>& genai_token_usage =
      HistogramFamily(registry, "gen_ai_client_token_usage",
                      "Tokens per successful operation, by gen_ai_token_type (OpenTelemetry "
                      "gen_ai.client.token.usage).");
  Family<Counter>& fallbacks_total = CounterFamily(
      registry, "hybridgate_fallbacks_total",
      "Candidates abandoned for the next one in the route plan, by the provider that failed.");
  Family<Counter>& escalations_total = CounterFamily(
      registry, "hybridgate_escalations_total", "Requests escalated from one tier to another.");
  Family<Gauge>& breaker_state =
      GaugeFamily(registry, "hybridgate_circuit_breaker_state",
                  "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.");
  Family<Counter>& findings_total = CounterFamily(registry, "hybridgate_sensitive_findings_total",
                                                  "Sensitive-data findings by type.");
  Family<Counter>& residency_total = CounterFamily(registry, "hybridgate_residency_actions_total",
                                                   "Data-residency enforcement actions.");
  Family<Counter>& rejections_total =
      CounterFamily(registry, "hybridgate_limit_rejections_total",
                    "Requests rejected before routing, by reason (budget, rpm, tpm, auth).");
  Family<Counter>& shadow_total = CounterFamily(
      registry, "hybridgate_shadow_requests_total",
      "Shadow traffic by route, target deployment and outcome: submitted, answered, failed, and "
      "not shadowed for residency, concurrency, spend_cap, shed (the background runner was "
      "full) or answered_primary (the target answered the client itself).");
  Family<Gauge>& eval_score =
      GaugeFamily(registry, "hybridgate_eval_score",
                  "Scheduled evals: a model's mean score (0 to 1) on the suite's last completed "
                  "run.");
  Family<Gauge>& eval_baseline = GaugeFamily(
      registry, "hybridgate_eval_baseline_score",
      "Scheduled evals: the score a model's last run was compared with (the pinned baseline, "
      "else the previous run).");
  Family<Gauge>& eval_regression = GaugeFamily(
      registry, "hybridgate_eval_regression",
      "Scheduled evals: 1 when a model's last score fell more than max_drop below its baseline, "
      "or it answered no case of the last run (the drift alert), else 0.");
  Family<Gauge>& eval_failed = GaugeFamily(
      registry, "hybridgate_eval_failed_cases",
      "Scheduled evals: cases of the last completed run a model did not answer itself.");
  Family<Counter>& eval_runs_total = CounterFamily(
      registry, "hybridgate_eval_runs_total",
      "Scheduled eval runs by outcome: completed, failed (no answer at all, or the run could not "
      "start), skipped (still running, or shed), interrupted (shutdown).");
  Family<Gauge>& eval_last_run = GaugeFamily(
      registry, "hybridgate_eval_last_run_timestamp_seconds",
      "Scheduled evals: when the suite's last completed run ended (Unix seconds); alert on "
      "its age to catch an eval that no longer completes.");
  Family<Gauge>& rollout_share = GaugeFamily(
      registry, "hybridgate_rollout_share_percent",
      "Canary rollouts: the percent of a route's eligible traffic its candidate gets now.");
  Family<Counter>& rollout_transitions_total = CounterFamily(
      registry, "hybridgate_rollout_transitions_total",
      "Canary rollouts: transitions by the phase moved to (running = a new stage, complete, "
      "rolled_back, paused).");
  Family<Counter>& background_total = CounterFamily(
      registry, "hybridgate_background_jobs_total",
      "Background jobs (shadow calls) that ended, by result: completed, shed (not "
      "taken: the runner was full or closing), dropped (queued at shutdown), failed.");
  Family<Gauge>& background_now = GaugeFamily(registry, "hybridgate_background_jobs",
                                              "Background jobs now running or queued, by state.");
  Family<Counter>& folded_total = CounterFamily(
      registry, "hybridgate_metrics_series_folded_total",
      "Events recorded under label value \"other\" because the family hit its label-set cap.");

  Counter& redis_errors =
      CounterFamily(registry, "hybridgate_redis_errors_total", "Failed Redis commands.").Add({});
  Counter& ledger_dropped =
      CounterFamily(registry, "hybridgate_ledger_dropped_rows_total",
                    "Ledger rows dropped because the write queue was full or the write failed.")
          .Add({});
  Gauge& engine_active = GaugeFamily(registry, "hybridgate_engine_active_slots",
                                     "Local inference engine slots currently generating.")
                             .Add({});
  Gauge& engine_queued = GaugeFamily(registry, "hybridgate_engine_queued_requests",
                                     "Requests waiting for a local inference engine slot.")
                             .Add({});
  Gauge& inflight = GaugeFamily(registry, "hybridgate_inflight_requests",
                                "Requests the gateway is currently handling.")
                        .Add({});

  Counter& folded_requests = folded_total.Add({{"family", "hybridgate_requests_total"}});
  SeriesCache<RequestSeries> request_cache{options.max_request_label_sets};

  LabeledFamily<Counter, 2> fallbacks{fallbacks_total,
                                      {"route", "from_provider"},
                                      options.max_small_label_sets,
                                      folded_total.Add({{"family", "hybridgate_fallbacks_total"}})};
  LabeledFamily<Counter, 3> escalations{
      escalations_total,
      {"route", "from_tier", "to_tier"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_escalations_total"}})};
  LabeledFamily<Gauge, 1> breakers{
      breaker_state,
      {"provider"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_circuit_breaker_state"}})};
  LabeledFamily<Counter, 1> findings{
      findings_total,
      {"type"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_sensitive_findings_total"}})};
  LabeledFamily<Counter, 1> residency{
      residency_total,
      {"action"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_residency_actions_total"}})};
  LabeledFamily<Counter, 3> shadows{
      shadow_total,
      {"route", "deployment", "outcome"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_shadow_requests_total"}})};
  LabeledFamily<Gauge, 2> eval_scores{eval_score,
                                      {"suite", "model"},
                                      options.max_small_label_sets,
                                      folded_total.Add({{"family", "hybridgate_eval_score"}})};
  LabeledFamily<Gauge, 2> eval_baselines{
      eval_baseline,
      {"suite", "model"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_eval_baseline_score"}})};
  LabeledFamily<Gauge, 2> eval_regressions{
      eval_regression,
      {"suite", "model"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_eval_regression"}})};
  LabeledFamily<Gauge, 2> eval_failures{
      eval_failed,
      {"suite", "model"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_eval_failed_cases"}})};
  LabeledFamily<Counter, 2> eval_runs{eval_runs_total,
                                      {"suite", "outcome"},
                                      options.max_small_label_sets,
                                      folded_total.Add({{"family", "hybridgate_eval_runs_total"}})};
  LabeledFamily<Gauge, 1> rollout_shares{
      rollout_share,
      {"route"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_rollout_share_percent"}})};
  LabeledFamily<Counter, 2> rollout_transitions{
      rollout_transitions_total,
      {"route", "to"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_rollout_transitions_total"}})};
  LabeledFamily<Gauge, 1> eval_ended{
      eval_last_run,
      {"suite"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_eval_last_run_timestamp_seconds"}})};
  Gauge& background_running = background_now.Add({{"state", "running"}});
  Gauge& background_queued = background_now.Add({{"state", "queued"}});
  LabeledFamily<Counter, 1> rejections{
      rejections_total,
      {"reason"},
      options.max_small_label_sets,
      folded_total.Add({{"family", "hybridgate_limit_rejections_total"}})};

  Counter& accept_errors =
      CounterFamily(registry, "hybridgate_accept_errors_total",
                    "Failed accepts of client connections (e.g. out of file descriptors); the "
                    "server backs off while they fail.")
          .Add({});
  Counter& internal_errors =
      CounterFamily(registry, "hybridgate_internal_errors_total",
                    "Exceptions that escaped a request handler or a background coroutine (each "
                    "is logged).")
          .Add({});

  std::mutex vocabulary_mu;                   // guards vocabulary
  std::shared_ptr<const NameSet> vocabulary;  // null: no restriction yet

  std::mutex shards_mu;  // guards shards (the list; each shard has its own mutex)
  std::vector<std::unique_ptr<Shard>> shards;

  std::mutex scrape_mu;  // one scrape at a time
  std::mutex hooks_mu;   // guards hooks
  std::vector<std::function<void(Metrics&)>> hooks;
};

Metrics::Metrics(Options options) : impl_(std::make_unique<Impl>(options)) {}
Metrics::~Metrics() = default;

void Metrics::RecordRequest(const RequestLabels& labels, int status, double seconds,
                            double ttft_seconds, int64_t input_tokens, int64_t output_tokens,
                            int64_t cached_input_tokens, double cost_usd) {
  char code[4] = {};
  std::string_view status_label = kOther;
  if (status >= 100 && status <= 599) {
    code[0] = static_cast<char>('0' + status / 100);
    code[1] = static_cast<char>('0' + status / 10 % 10);
    code[2] = static_cast<char>('0' + status % 10);
    status_label = std::string_view(code, 3);
  }
  const std::string_view key = MakeKey(labels.route, labels.tier, labels.provider, labels.model,
                                       labels.endpoint, labels.operation, status_label);
  OwnedRequestSeries* own = impl_->OwnSeries(impl_->OwnShard(), key, labels, status_label);
  own->requests.value.Add(1);
  if (own->folded) own->folded_events.value.Add(1);
  if (Known(seconds)) own->duration.Observe(seconds);
  if (Known(ttft_seconds)) own->ttft.Observe(ttft_seconds);
  if (input_tokens > 0) own->input_tokens.value.Add(input_tokens);
  if (output_tokens > 0) own->output_tokens.value.Add(output_tokens);
  if (cached_input_tokens > 0) own->cached_input_tokens.value.Add(cached_input_tokens);
  if (status < 400) {
    if (input_tokens >= 0) own->input_usage.Observe(static_cast<double>(input_tokens));
    if (output_tokens >= 0) own->output_usage.Observe(static_cast<double>(output_tokens));
  }
  if (Known(cost_usd) && cost_usd > 0) own->cost.value.Add(cost_usd);
}

void Metrics::RecordFallback(std::string_view route, std::string_view from_provider) {
  const auto names = impl_->Vocabulary();
  impl_->fallbacks.Get({Restrict(route, names.get()), Restrict(from_provider, names.get())})
      .Increment();
}

void Metrics::RecordEscalation(std::string_view route, std::string_view from_tier,
                               std::string_view to_tier) {
  const auto names = impl_->Vocabulary();
  impl_->escalations
      .Get({Restrict(route, names.get()), Restrict(from_tier, names.get()),
            Restrict(to_tier, names.get())})
      .Increment();
}

void Metrics::SetBreakerState(std::string_view provider, BreakerState state) {
  const auto names = impl_->Vocabulary();
  impl_->breakers.Get({Restrict(provider, names.get())}).Set(static_cast<double>(state));
}

void Metrics::SetLabelVocabulary(std::vector<std::string> names) {
  auto set = std::make_shared<NameSet>();
  for (std::string& n : names) set->insert(std::move(n));
  std::lock_guard lock(impl_->vocabulary_mu);
  impl_->vocabulary = std::move(set);
}

void Metrics::RecordFinding(std::string_view type, int64_t count) {
  if (count > 0) impl_->findings.Get({type}).Increment(static_cast<double>(count));
}

void Metrics::RecordResidencyAction(std::string_view action) {
  impl_->residency.Get({action}).Increment();
}

void Metrics::RecordShadow(std::string_view route, std::string_view deployment,
                           std::string_view outcome) {
  const auto names = impl_->Vocabulary();
  impl_->shadows.Get({Restrict(route, names.get()), Restrict(deployment, names.get()), outcome})
      .Increment();
}

void Metrics::SetEvalScore(std::string_view suite, std::string_view model, double score,
                           double baseline, bool regression, int64_t failed_cases) {
  impl_->eval_scores.Get({suite, model}).Set(score);
  if (!std::isnan(baseline)) impl_->eval_baselines.Get({suite, model}).Set(baseline);
  impl_->eval_regressions.Get({suite, model}).Set(regression ? 1 : 0);
  impl_->eval_failures.Get({suite, model}).Set(static_cast<double>(failed_cases));
}

void Metrics::SetEvalDown(std::string_view suite, std::string_view model, int64_t failed_cases) {
  impl_->eval_regressions.Get({suite, model}).Set(1);
  impl_->eval_failures.Get({suite, model}).Set(static_cast<double>(failed_cases));
}

void Metrics::RecordEvalRun(std::string_view suite, std::string_view outcome, double unix_seconds) {
  impl_->eval_runs.Get({suite, outcome}).Increment();
  if (outcome == "completed") impl_->eval_ended.Get({suite}).Set(unix_seconds);
}

void Metrics::SetRolloutShare(std::string_view route, int percent) {
  impl_->rollout_shares.Get({route}).Set(percent);
}

void Metrics::RecordRolloutTransition(std::string_view route, std::string_view to) {
  impl_->rollout_transitions.Get({route, to}).Increment();
}

void Metrics::SetBackgroundJobs(int64_t running, int64_t queued) {
  impl_->background_running.Set(static_cast<double>(running));
  impl_->background_queued.Set(static_cast<double>(queued));
}

void Metrics::AddBackgroundJobs(std::string_view result, int64_t n) {
  if (n > 0)
    impl_->background_total.Add({{"result", std::string(result)}})
        .Increment(static_cast<double>(n));
}

void Metrics::RecordRejection(std::string_view reason) {
  impl_->rejections.Get({reason}).Increment();
}

void Metrics::AddRedisErrors(int64_t n) {
  if (n > 0) impl_->redis_errors.Increment(static_cast<double>(n));
}

void Metrics::AddAcceptErrors(int64_t n) {
  if (n > 0) impl_->accept_errors.Increment(static_cast<double>(n));
}

void Metrics::AddInternalErrors(int64_t n) {
  if (n > 0) impl_->internal_errors.Increment(static_cast<double>(n));
}

void Metrics::AddLedgerDroppedRows(int64_t n) {
  if (n > 0) impl_->ledger_dropped.Increment(static_cast<double>(n));
}

void Metrics::SetEngine(int64_t active_slots, int64_t queued_requests) {
  impl_->engine_active.Set(static_cast<double>(active_slots));
  impl_->engine_queued.Set(static_cast<double>(queued_requests));
}

void Metrics::InflightInc() { impl_->inflight.Increment(); }
void Metrics::InflightDec() { impl_->inflight.Decrement(); }

void Metrics::OnScrape(std::function<void(Metrics&)> hook) {
  std::lock_guard lock(impl_->hooks_mu);
  impl_->hooks.push_back(std::move(hook));
}

std::string Metrics::Serialize() {
  std::lock_guard scrape(impl_->scrape_mu);
  std::vector<std::function<void(Metrics&)>> hooks;
  {
    std::lock_guard lock(impl_->hooks_mu);
    hooks = impl_->hooks;
  }
  for (auto& hook : hooks) hook(*this);
  impl_->FlushShards();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->registry.Collect());
  return std::move(out).str();
}

}  // namespace hybridgate::metrics
