#include "gateway/scheduled_evals.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <limits>

#include "eval/cases.h"
#include "gateway/request_log.h"

namespace hybridgate::gateway {
namespace {

namespace asio = boost::asio;

double NowUnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Where the gateway's own listener answers on this host: its address, or loopback for a
// wildcard address.
eval::Endpoint Loopback(const http::Server& server) {
  std::string host = "127.0.0.1";
  if (auto listen = config::ParseListen(server.config().listen)) {
    host = listen->first;
    if (host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
    if (host == "::") host = "::1";
  }
  return {.address = host, .port = server.port()};
}

// One run of one scheduled eval, on worker 0's runner.
class EvalJob final : public background::Job {
 public:
  EvalJob(std::shared_ptr<const Runtime> rt, const eval::ScheduledSuite& suite, eval::Endpoint at,
          ScheduledEvals& owner)
      : rt_(std::move(rt)),
        suite_(suite),
        owner_(owner),
        run_(rt_->config, suite_.cases, suite_.options, std::move(at), nullptr, stop_) {}

  asio::awaitable<void> Run(http::CancelToken& cancel) override {
    cancel.Set([this] {
      stop_ = true;
      run_.CancelAll();
    });
    auto result = co_await run_.Run();
    cancel.Set(nullptr);
    owner_.Finished(suite_.config->name, suite_.config->max_drop, suite_.baseline,
                    std::move(result), stop_.load());
  }

  void Closing() override { stop_ = true; }

 private:
  std::shared_ptr<const Runtime> rt_;  // the suite and config live in it
  const eval::ScheduledSuite& suite_;
  ScheduledEvals& owner_;
  std::atomic<bool> stop_{false};
  eval::CaseRun run_;
};

}  // namespace

void ScheduledEvals::Start(http::Server& server, background::Runner& runner) {
  asio::co_spawn(server.worker_context(0), Loop(server, runner),
                 http::LogFailure{"the scheduled eval loop", &internal_errors_});
}

asio::awaitable<void> ScheduledEvals::Loop(http::Server& server, background::Runner& runner) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!server.draining()) {
    Due(current_(), server, runner);
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void ScheduledEvals::Due(const std::shared_ptr<const Runtime>& rt, http::Server& server,
                         background::Runner& runner) {
  const auto now = std::chrono::steady_clock::now();
  for (const eval::ScheduledSuite& suite : rt->evals) {
    const config::ScheduledEvalConfig& e = *suite.config;
    State& s = states_[e.name];
    const auto every = std::chrono::milliseconds(e.every_ms);
    if (!s.scheduled) {
      s.scheduled = true;
      s.next = e.run_at_start ? now : now + every;
    } else if (s.every_ms != e.every_ms) {
      s.next = s.last_start.value_or(now) + every;
    }
    s.every_ms = e.every_ms;
    if (now < s.next) continue;
    s.next = now + every;
    if (s.running) {
      LogWarn(fmt::format("scheduled eval '{}': skipped, the previous run is still going", e.name));
      metrics_.RecordEvalRun(e.name, "skipped", NowUnixSeconds());
      continue;
    }
    // The job holds the runtime `suite` lives in (not whatever is current by now).
    auto job = std::make_unique<EvalJob>(rt, suite, Loopback(server), *this);
    if (!runner.Submit(std::move(job))) {
      LogWarn(fmt::format("scheduled eval '{}': skipped, the background runner is full", e.name));
      metrics_.RecordEvalRun(e.name, "skipped", NowUnixSeconds());
      continue;
    }
    s.running = true;
    s.last_start = now;
    LogInfo(fmt::format("scheduled eval '{}': started ({} cases, {} models)", e.name,
                        suite.cases.size(), suite.options.models.size()));
  }
}

void ScheduledEvals::Finished(const std::string& name, double max_drop,
                              const std::map<std::string, double>& pinned,
                              Result<eval::EvalResult> result, bool interrupted) {
  State& s = states_[name];
  s.running = false;
  const double ended = NowUnixSeconds();
  if (interrupted) {
    LogInfo(fmt::format("scheduled eval '{}': interrupted by shutdown; nothing published", name));
    metrics_.RecordEvalRun(name, "interrupted", ended);
    return;
  }
  if (!result) {
    LogWarn(fmt::format("scheduled eval '{}': failed: {}", name, result.error().message));
    metrics_.RecordEvalRun(name, "failed", ended);
    return;
  }
  std::string summary;
  bool any_answered = false;
  for (const eval::ModelResult& m : result->models) {
    const auto answered =
        std::ranges::find_if(m.cases, [](const eval::CaseResult& c) { return c.ok; });
    if (answered == m.cases.end()) {
      // Down, not worse: its score and baseline stay as they were, and the alert is raised
      // until it answers again.
      metrics_.SetEvalDown(name, m.model, static_cast<int64_t>(m.cases.size()));
      LogWarn(fmt::format("scheduled eval '{}': {} answered no case (first error: {})", name,
                          m.model, m.cases.empty() ? "" : m.cases.front().error));
      continue;
    }
    any_answered = true;
    if (m.scored == 0) continue;  // the suite has nothing to score this model by
    double baseline = std::numeric_limits<double>::quiet_NaN();
    if (const auto p = pinned.find(m.model); p != pinned.end()) {
      baseline = p->second;
    } else if (const auto prev = s.previous.find(m.model); prev != s.previous.end()) {
      baseline = prev->second;
    }
    const bool regression = !std::isnan(baseline) && eval::Regressed(m.score, baseline, max_drop);
    metrics_.SetEvalScore(name, m.model, m.score, baseline, regression, m.failed);
    s.previous[m.model] = m.score;
    summary += fmt::format(" {}={:.3f}", m.model, m.score);
    if (regression) {
      LogWarn(fmt::format(
          "scheduled eval '{}': REGRESSION {}: score {:.3f} is more than {:.3f} below {:.3f}", name,
          m.model, m.score, max_drop, baseline));
    }
  }
  if (!any_answered) {
    metrics_.RecordEvalRun(name, "failed", ended);
    return;
  }
  LogInfo(fmt::format("scheduled eval '{}': completed:{}", name, summary));
  metrics_.RecordEvalRun(name, "completed", ended);
}

}  // namespace hybridgate::gateway
