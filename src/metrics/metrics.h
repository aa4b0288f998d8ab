// Prometheus metrics for the gateway: one Metrics object owns a prometheus-cpp registry, takes
// events from the request path on any thread, and renders the text exposition format (0.0.4) for
// `GET /metrics`, which the gateway's own HTTP server serves (prometheus-cpp's pull exposer is not
// used). Names follow Prometheus conventions and, where they exist, the OpenTelemetry GenAI
// semantic conventions (gen_ai_* families and attribute names).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hybridgate::metrics {

// Families rendered by Serialize() (the label names are part of the contract with dashboards):
//
//   hybridgate_requests_total                counter   route tier provider model endpoint status
//   hybridgate_request_duration_seconds      histogram route tier provider model endpoint
//   hybridgate_time_to_first_token_seconds   histogram route tier provider model endpoint
//   hybridgate_tokens_total                  counter   provider model
//   type=input|output|cached_input hybridgate_cost_usd_total                counter   route
//   provider model gen_ai_client_operation_duration_seconds histogram gen_ai_operation_name
//   gen_ai_provider_name
//                                                      gen_ai_request_model
//   gen_ai_server_time_to_first_token_seconds histogram (same three)
//   gen_ai_client_token_usage                histogram (same three) gen_ai_token_type=input|output
//   hybridgate_fallbacks_total               counter   route from_provider
//   hybridgate_escalations_total             counter   route from_tier to_tier
//   hybridgate_circuit_breaker_state         gauge     provider (0 closed, 1 half-open, 2 open)
//   hybridgate_sensitive_findings_total      counter   type
//   hybridgate_residency_actions_total       counter   action
//   hybridgate_limit_rejections_total        counter   reason (budget|rpm|tpm|auth|...)
//   hybridgate_shadow_requests_total         counter   route deployment outcome
//   hybridgate_eval_score                    gauge     suite model (the last run's mean score)
//   hybridgate_eval_baseline_score           gauge     suite model
//   hybridgate_eval_regression               gauge     suite model (1: below baseline - max_drop)
//   hybridgate_eval_failed_cases             gauge     suite model
//   hybridgate_eval_runs_total               counter   suite outcome
//   hybridgate_eval_last_run_timestamp_seconds gauge   suite
//   hybridgate_background_jobs               gauge     state=running|queued
//   hybridgate_background_jobs_total         counter   result=completed|shed|dropped|failed
//   hybridgate_redis_errors_total            counter
//   hybridgate_ledger_dropped_rows_total     counter
//   hybridgate_engine_active_slots           gauge
//   hybridgate_engine_queued_requests        gauge
//   hybridgate_inflight_requests             gauge
//   hybridgate_metrics_series_folded_total   counter   family (events folded into "other")
//   hybridgate_accept_errors_total           counter   (failed accepts: out of descriptors …)
//   hybridgate_internal_errors_total         counter   (exceptions that escaped a coroutine)
//
// `status` is the exact HTTP status code the client got ("200", "429", "503"; "other" outside
// 100..599; use 499 for a client that went away). Exact codes rather than classes because 401, 429
// and 503 mean different things to an operator and the gateway emits only a dozen distinct codes.
//
// Cardinality is bounded, and a label never shows what a client wrote. The labels that name
// config things (route, tier, provider, model; a fallback's route and provider, an escalation's
// route and tiers, a breaker's provider) take only the names of the current config, as given to
// SetLabelVocabulary: any other value is counted under "unknown" — a model the client asked for
// that does not exist, or anything a request refused with 401 carried. The other labels come from
// small fixed vocabularies. On top of that each family keeps at most
// Options::max_request_label_sets (requests) or Options::max_small_label_sets (the others) distinct
// label sets, and once full, new label sets are counted under every label = "other" (status is
// kept) and in hybridgate_metrics_series_folded_total. Label values are truncated to 64 bytes and
// invalid UTF-8 is replaced, so the output always parses.
//
// Buckets are the OpenTelemetry GenAI advisory ones: durations 0.01 s · 2^k up to 81.92 s,
// time to first token 1 ms .. 10 s, tokens 4^k from 1 to 4^13.
//
// Unit conventions of RecordRequest: seconds, USD; a negative duration, time to first token or
// token count means "not known" and is not recorded.

// The Content-Type for the body Serialize() returns.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// The labels of one gateway request. Views are read during the call only.
struct RequestLabels {
  std::string_view route;     // configured route name
  std::string_view tier;      // tier the request was finally served on
  std::string_view provider;  // provider that served it (or the last one tried)
  std::string_view model;     // provider model name, from config
  std::string_view endpoint;  // ingress API, e.g. "chat_completions", "messages", "gemini"
  std::string_view operation = "chat";  // gen_ai_operation_name
};

enum class BreakerState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

struct Options {
  size_t max_request_label_sets = 10000;
  size_t max_small_label_sets = 1000;
};

// Thread safety: every method may be called from any thread at any time, including concurrently
// with Serialize(). Cost: RecordRequest, the per-request call, tallies into the calling thread's
// own shard: after a label set's first use on a thread it is one unlocked hash lookup and plain
// loads and stores (no lock, no atomic read-modify-write, no allocation; the lookup key is built
// in a thread_local buffer that keeps its capacity, the status code on the stack). Serialize()
// first merges every thread's tallies since the previous scrape into the registry. A shard lives
// as long as the Metrics object (a thread's tallies survive the thread), so RecordRequest belongs
// on long-lived threads such as the workers: each new recording thread adds a shard. The other
// Record* calls are one shared-lock hash lookup plus atomic adds, and do not allocate once warm.
// The first use of a label set takes an exclusive lock and allocates.
class Metrics {
 public:
  explicit Metrics(Options options = {});
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished request (success or not): counts it, observes duration and time to first token
  // (`ttft_seconds` < 0: not streamed / never got a token), adds tokens and cost. Tokens are added
  // to the counters whatever the status (a cut stream is still billed); the
  // gen_ai_client_token_usage distribution gets only requests with status < 400.
  // `cached_input_tokens` is the part of `input_tokens` the provider served from its prompt cache
  // (OpenAI's convention).
  void RecordRequest(const RequestLabels& labels, int status, double seconds, double ttft_seconds,
                     int64_t input_tokens, int64_t output_tokens, int64_t cached_input_tokens,
                     double cost_usd);

  void RecordFallback(std::string_view route, std::string_view from_provider);
  void RecordEscalation(std::string_view route, std::string_view from_tier,
                        std::string_view to_tier);
  void SetBreakerState(std::string_view provider, BreakerState state);
  // `type` is a sensitivity finding type (e.g. "email", "api_key"); `count` findings of it.
  void RecordFinding(std::string_view type, int64_t count = 1);
  // `action` is what residency enforcement did (e.g. "rerouted_local", "blocked", "redacted").
  void RecordResidencyAction(std::string_view action);
  // `reason`: "budget", "rpm", "tpm", "auth" (any short fixed word is accepted).
  void RecordRejection(std::string_view reason);
  // Shadow traffic (gateway/shadow.h): `route` and `deployment` ("provider/model") are config
  // names; `outcome` one of a fixed few words.
  void RecordShadow(std::string_view route, std::string_view deployment, std::string_view outcome);
  // Scheduled evals (gateway/scheduled_evals.h): `suite` is the eval's config name, `model` one of
  // its models. A model's result of a completed run; `baseline` NaN when it has none.
  void SetEvalScore(std::string_view suite, std::string_view model, double score, double baseline,
                    bool regression, int64_t failed_cases);
  // A model that answered no case of a run: regression 1, its failed cases; score and baseline
  // stay as they were.
  void SetEvalDown(std::string_view suite, std::string_view model, int64_t failed_cases);
  // A run that ended: `outcome` completed, failed, skipped (the previous run was still going,
  // or the runner shed it) or interrupted (shutdown); `unix_seconds` when it ended (the
  // last-run timestamp follows completed runs only).
  void RecordEvalRun(std::string_view suite, std::string_view outcome, double unix_seconds);
  // Canary rollouts (gateway/rollouts.h): `route` is a config name. The candidate's share of
  // eligible traffic (percent), and a transition to `to` (running, paused, complete,
  // rolled_back, …).
  void SetRolloutShare(std::string_view route, int percent);
  void RecordRolloutTransition(std::string_view route, std::string_view to);
  // The background runners (background/runner.h): gauges set at scrape time, and counters of
  // ended jobs by `result` (completed, shed, dropped, failed), added as deltas.
  void SetBackgroundJobs(int64_t running, int64_t queued);
  void AddBackgroundJobs(std::string_view result, int64_t n);
  // The names the config-name labels may show (see above): every provider, model, "provider/model"
  // deployment, alias, route and tier of the config now served; replaces the previous set. Until
  // the first call any value is shown. A thread that recorded a name before a reload removed it
  // may still show it under that name (the label set stays cached): still a config's name.
  void SetLabelVocabulary(std::vector<std::string> names);
  void AddRedisErrors(int64_t n = 1);
  void AddAcceptErrors(int64_t n);
  void AddInternalErrors(int64_t n);
  void AddLedgerDroppedRows(int64_t n);
  void SetEngine(int64_t active_slots, int64_t queued_requests);
  void InflightInc();
  void InflightDec();

  // Registers `hook`, run by every Serialize() before rendering, to refresh gauges that are
  // cheaper to read at scrape time (breaker states, engine slots). Hooks run on the scraping
  // thread, one scrape at a time, without any Metrics lock held, so they may call any method but
  // Serialize (including OnScrape, which takes effect from the next scrape). They must not throw.
  void OnScrape(std::function<void(Metrics&)> hook);

  // Runs the scrape hooks, then renders every family in text format 0.0.4 (kContentType). Scrapes
  // are serialised with each other, not with recording.
  std::string Serialize();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Counts a request in hybridgate_inflight_requests for the guard's lifetime.
class InflightGuard {
 public:
  explicit InflightGuard(Metrics& metrics) : metrics_(&metrics) { metrics_->InflightInc(); }
  ~InflightGuard() {
    if (metrics_) metrics_->InflightDec();
  }
  InflightGuard(InflightGuard&& other) noexcept
      : metrics_(std::exchange(other.metrics_, nullptr)) {}
  InflightGuard(const InflightGuard&) = delete;
  InflightGuard& operator=(const InflightGuard&) = delete;
  InflightGuard& operator=(InflightGuard&&) = delete;

 private:
  Metrics* metrics_;
};

}  // namespace hybridgate::metrics
