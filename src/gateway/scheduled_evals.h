// Scheduled evals (config `evals:`; eval/scheduled.h loads them with each runtime): every
// `every`, a suite's cases go through its models as requests to this gateway itself, on loopback
// (eval/cases.h), made with the eval's virtual key — the one request path: admission against the
// key's budget and limits, the egress gate, a ledger row each. The scores go to /metrics
// (hybridgate_eval_*: metrics.h), with `hybridgate_eval_regression` = 1 for a model whose mean
// score fell more than `max_drop` below its baseline: the pinned `baseline`, else the previous
// completed run of this process.
//
// A loop on worker 0 checks the current runtime's evals every second and starts each due one as
// a background::Job on worker 0's runner (which may shed it: counted as `skipped`, as is a run
// that comes due while the previous one still runs). The first run comes `every` after the start
// (at once with `run_at_start`); each next one `every` after the previous one started. A reload
// keeps each eval's schedule and baseline by name; a changed `every` counts from the last start.
// A running eval keeps the runtime it started on. On shutdown a running eval starts no new case
// (Job::Closing), its requests in flight end with the server's, and the run publishes nothing
// (`interrupted`).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "background/runner.h"
#include "eval/result.h"
#include "gateway/runtime.h"
#include "http/server.h"
#include "metrics/metrics.h"

namespace hybridgate::gateway {

class ScheduledEvals {
 public:
  // `current` returns the runtime new requests get; `internal_errors` counts an exception that
  // escapes the loop.
  ScheduledEvals(std::function<std::shared_ptr<const Runtime>()> current, metrics::Metrics& metrics,
                 std::atomic<uint64_t>& internal_errors)
      : current_(std::move(current)), metrics_(metrics), internal_errors_(internal_errors) {}

  // Starts the loop on worker 0 of `server` (listening already), running evals on `runner`
  // (worker 0's).
  void Start(http::Server& server, background::Runner& runner);

  // A run's end (on worker 0): publishes a completed run, logs, and frees the eval's turn.
  void Finished(const std::string& name, double max_drop,
                const std::map<std::string, double>& pinned, Result<eval::EvalResult> result,
                bool interrupted);

 private:
  struct State {
    bool scheduled = false;
    bool running = false;
    int64_t every_ms = 0;
    std::chrono::steady_clock::time_point next;
    std::optional<std::chrono::steady_clock::time_point> last_start;
    std::map<std::string, double> previous;  // each model's score on the last completed run
  };
  boost::asio::awaitable<void> Loop(http::Server& server, background::Runner& runner);
  void Due(const std::shared_ptr<const Runtime>& rt, http::Server& server,
           background::Runner& runner);

  std::function<std::shared_ptr<const Runtime>()> current_;
  metrics::Metrics& metrics_;
  std::atomic<uint64_t>& internal_errors_;
  std::map<std::string, State> states_;  // by eval name; worker 0 only
};

}  // namespace hybridgate::gateway
