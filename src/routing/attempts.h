// The executor's bookkeeping, as plain code the coroutines in executor.cc only await around
// (GCC 12 miscompiles some coroutines here): Attempts orders the tries over a plan — retries with
// backoff, breakers, deadlines, escalation, the deployments' live stats — and InProcessDeadline
// gives an in-process attempt, which has no socket to time out, the same deadlines. Internal to
// the executor; used on one event loop at a time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "routing/balancer.h"
#include "routing/executor.h"

namespace hybridgate::routing {

// "provider/model": the key of a deployment's breaker and stats.
std::string KeyOf(const Deployment& d);
Error CancelledError();

// The order of attempts over a plan: each candidate up to plan.retry.attempts times with backoff
// between tries, its breaker asked before and told after each try, the total deadline over all
// of them, and escalation of a weak answer to the next tier's first candidate. Each attempt's
// I/O is counted in its deployment's live stats (plan.stats, which the balancer reads): from
// Begin() until the attempt's end, sampling the latency of a success — a non-stream answer's
// response time, a stream's time to first token (what a streaming client waits for, and what
// the total time of a long answer would drown in its length).
class Attempts {
 public:
  using Clock = http::Clock;

  Attempts(const RoutePlan& plan, const ExecuteOptions& options, const api::ChatRequest* chat,
           bool stream);
  // An attempt still open when the run goes away (an exception, a destroyed coroutine) is ended
  // as cancelled: its breaker gets its half-open probe back, its load its outstanding count.
  ~Attempts() { EndAttempt(false, false, -1); }
  Attempts(const Attempts&) = delete;
  Attempts& operator=(const Attempts&) = delete;

  // Moves to the next attempt; false when there is none (out.error says why, unless an answer
  // is ready). Sets out.deployment and counts the attempt.
  bool Next(Outcome& out);

  const Candidate& candidate() const { return plan_.candidates[index_]; }
  std::chrono::milliseconds delay() const { return delay_; }

  // The chat request to send to the current candidate: the client's, or a copy asking for
  // logprobs when its answer may be escalated on confidence.
  const api::ChatRequest* Request();

  // The current attempt's I/O begins `now`: counts it as outstanding on its deployment, and
  // returns its deadlines — the provider's timeouts, tightened by the plan's per-attempt and
  // total deadlines.
  http::Deadlines Begin(Clock::time_point now);
  // Streams: the deadline for the response head and the first event (time to first token).
  Clock::time_point FirstEventDeadline(Clock::time_point now);

  // The attempt failed with out.error: retry the deployment after delay(), or move on, or (an
  // error another attempt cannot fix) stop.
  void Failed(Outcome& out);
  // The candidate cannot serve this kind of request: the next one may.
  void Skip(Outcome& out, Error why);
  // The client went away (or the job was cancelled): not the deployment's failure. `in_flight`:
  // the upstream had the request (out.cancelled_in_flight, charged by estimate).
  void Cancelled(Outcome& out, bool in_flight = true);
  // A streamed answer completed.
  void Succeeded(Outcome& out);
  // A non-stream answer is in `out`: true when it is the answer; false when it was escalated
  // (kept in case the next tier fails) and the loop goes on.
  bool Answered(Outcome& out);
  // After the last attempt: a weak answer beats an error when the stronger tier failed.
  void Finish(Outcome& out);

 private:
  struct Weak {
    Deployment deployment;
    int status;
    std::string body;
    std::string native_body;
    api::Usage usage;
    std::chrono::milliseconds ttft;
    std::string why;
  };

  bool WantsLogprobs() const;
  // Whether the current candidate's answer may be escalated: a later candidate is of a later tier.
  bool MayEscalate() const;
  void NextCandidate();
  // Tells the breaker and the stats how the attempt went (`latency_ms` < 0: no sample).
  void EndAttempt(bool success, bool failure, double latency_ms);

  const RoutePlan& plan_;
  const ExecuteOptions& options_;
  const api::ChatRequest* chat_;
  const Clock::time_point started_;
  std::optional<Clock::time_point> total_;
  const bool escalation_;  // non-stream chat on a route that enables escalation
  std::optional<api::ChatRequest> probing_;
  size_t index_ = 0;
  int tries_ = 0;  // attempts made on the current candidate
  std::chrono::milliseconds delay_{0};
  Breaker* breaker_ = nullptr;  // the current attempt's, until told how it went
  AttemptLoad load_;            // the current attempt's share of its deployment's stats
  bool stopped_ = false;
  int escalated_from_ = -1;  // tier index of the last escalated answer
  std::optional<Weak> weak_;
  Clock::time_point response_deadline_{};
  Clock::time_point first_deadline_{};
};

// Deadlines for an in-process attempt (the embedded engine): a timer cancels the engine job
// through the attempt's own CancelToken, which the provider is given instead of the client's
// (and which follows the client's: a client that leaves cancels it too). Arm() (re)sets the
// deadline — the time-to-first-token one first, the attempt's once the first chunk is out.
class InProcessDeadline {
 public:
  InProcessDeadline(const boost::asio::any_io_executor& ex, http::CancelToken* client);
  InProcessDeadline(const InProcessDeadline&) = delete;
  InProcessDeadline& operator=(const InProcessDeadline&) = delete;
  ~InProcessDeadline();

  http::CancelToken* token() { return &state_->token; }
  void Arm(http::Clock::time_point deadline);
  // The deadline passed and the job was cancelled for it.
  bool expired() const { return state_->expired; }
  // The error of an attempt whose deadline passed.
  static Error TimeoutError(const Deployment& d);

 private:
  // Shared with the timer's handler, which may run after this object is gone.
  struct State {
    http::CancelToken token;
    http::Clock::time_point deadline{};
    bool expired = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  boost::asio::steady_timer timer_;
  http::CancelToken* client_;
};

}  // namespace hybridgate::routing
