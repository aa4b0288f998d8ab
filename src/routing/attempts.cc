#include "routing/attempts.h"

#include <fmt/format.h>

#include <algorithm>

#include "routing/backoff.h"
#include "routing/escalation.h"

namespace hybridgate::routing {

using std::chrono::milliseconds;

namespace {

http::Deadlines DeadlinesFor(const Deployment& d, http::Clock::time_point now) {
  const auto& pc = d.provider->config();
  const int64_t total = d.model->timeout_ms > 0 ? d.model->timeout_ms : pc.timeout_ms;
  return {now + milliseconds(pc.connect_timeout_ms), now + milliseconds(total)};
}

}  // namespace

std::string KeyOf(const Deployment& d) {
  if (!d.key.empty()) return std::string(d.key);
  return fmt::format("{}/{}", d.provider->name(), d.model->name);
}

Error CancelledError() {
  return MakeError(ErrorCode::kUpstreamUnavailable, "client closed the connection");
}

Attempts::Attempts(const RoutePlan& plan, const ExecuteOptions& options,
                   const api::ChatRequest* chat, bool stream)
    : plan_(plan),
      options_(options),
      chat_(chat),
      started_(Clock::now()),
      escalation_(plan.escalation.enabled && chat != nullptr && !stream) {
  if (plan.deadlines.total_ms > 0) total_ = started_ + milliseconds(plan.deadlines.total_ms);
}

bool Attempts::MayEscalate() const {
  if (!escalation_ || index_ >= plan_.candidates.size()) return false;
  const int tier = plan_.candidates[index_].tier_index;
  return std::any_of(plan_.candidates.begin() + static_cast<std::ptrdiff_t>(index_) + 1,
                     plan_.candidates.end(),
                     [tier](const Candidate& c) { return c.tier_index > tier; });
}

bool Attempts::Next(Outcome& out) {
  while (!stopped_ && index_ < plan_.candidates.size()) {
    if (total_ && Clock::now() >= *total_) {
      out.error = MakeError(
          ErrorCode::kUpstreamTimeout,
          fmt::format("no answer within the route's deadline of {} ms", plan_.deadlines.total_ms));
      return false;
    }
    const Candidate& c = plan_.candidates[index_];
    if (tries_ == 0 && escalated_from_ >= 0 && c.tier_index <= escalated_from_) {
      ++index_;  // escalation asks the next tier: the weak tier's other deployments are skipped
      continue;
    }
    breaker_ = options_.breakers ? &options_.breakers->Get(KeyOf(c.deployment)) : nullptr;
    if (breaker_ && !breaker_->Allow() && !plan_.panic) {
      breaker_ = nullptr;
      if (out.attempts == 0) {
        out.error =
            MakeError(ErrorCode::kUpstreamUnavailable,
                      fmt::format("the circuit breaker of '{}' is open", KeyOf(c.deployment)));
      }
      NextCandidate();
      continue;
    }
    if (tries_ == 0 && escalated_from_ >= 0 && out.escalated_to.empty()) {
      out.escalated_to = c.tier;
    }
    ++tries_;
    ++out.attempts;
    response_deadline_ = first_deadline_ = {};
    out.deployment = c.deployment;
    out.trail.push_back({KeyOf(c.deployment), "", c.deployment.provider});
    return true;
  }
  return false;
}

const api::ChatRequest* Attempts::Request() {
  if (!chat_ || !MayEscalate() || !WantsLogprobs()) return chat_;
  if (!probing_) {
    probing_.emplace(*chat_);
    probing_->logprobs = true;
  }
  return &*probing_;
}

http::Deadlines Attempts::Begin(Clock::time_point now) {
  load_.Start(plan_.stats, KeyOf(candidate().deployment));
  http::Deadlines dl = DeadlinesFor(candidate().deployment, now);
  if (plan_.deadlines.attempt_ms > 0) {
    dl.response = std::min(dl.response, now + milliseconds(plan_.deadlines.attempt_ms));
  }
  if (total_) dl.response = std::min(dl.response, *total_);
  dl.connect = std::min(dl.connect, dl.response);
  response_deadline_ = first_deadline_ = dl.response;
  return dl;
}

Attempts::Clock::time_point Attempts::FirstEventDeadline(Clock::time_point now) {
  if (plan_.deadlines.ttft_ms > 0) {
    first_deadline_ = std::min(response_deadline_, now + milliseconds(plan_.deadlines.ttft_ms));
  }
  return first_deadline_;
}

void Attempts::EndAttempt(bool success, bool failure, double latency_ms) {
  load_.Finish(latency_ms);
  if (!breaker_) return;
  if (success) {
    breaker_->OnSuccess();
  } else if (failure) {
    breaker_->OnFailure();
  } else {
    breaker_->OnCancel();
  }
  breaker_ = nullptr;
}

void Attempts::Failed(Outcome& out) {
  if (!out.streamed && out.error.code == ErrorCode::kUpstreamTimeout &&
      first_deadline_ < response_deadline_ && Clock::now() >= first_deadline_) {
    out.error.message =
        fmt::format("no first token within the route's ttft_ms ({} ms)", plan_.deadlines.ttft_ms);
  }
  out.trail.back().result = out.error.CodeName();
  const bool retryable = out.error.Retryable();
  // A client error says nothing about the deployment's health.
  EndAttempt(false, retryable, -1);
  if (!retryable) {
    stopped_ = true;
    return;
  }
  int64_t remaining = -1;
  if (total_) {
    remaining = std::max<int64_t>(
        0, std::chrono::duration_cast<milliseconds>(*total_ - Clock::now()).count());
  }
  const RetryDecision d =
      DecideRetry(plan_.retry, out.error, tries_, BackoffRng::ThreadLocal().Uniform(), remaining);
  if (d.retry) {
    delay_ = milliseconds(d.delay_ms);
  } else {
    NextCandidate();
  }
}

void Attempts::Skip(Outcome& out, Error why) {
  out.error = std::move(why);
  out.trail.back().result = out.error.CodeName();
  EndAttempt(false, false, -1);
  NextCandidate();
}

void Attempts::Cancelled(Outcome& out, bool in_flight) {
  out.cancelled_in_flight = in_flight;
  EndAttempt(false, false, -1);
  if (!out.trail.empty() && out.trail.back().result.empty()) out.trail.back().result = "cancelled";
  out.ok = false;
  out.error = CancelledError();
}

void Attempts::Succeeded(Outcome& out) {
  out.ok = true;
  out.trail.back().result = "ok";
  // A stream's sample is its time to first token (-1, no sample, when it sent no event).
  EndAttempt(true, false, static_cast<double>(out.ttft.count()));
}

bool Attempts::Answered(Outcome& out) {
  // A weak answer is still a success of the deployment: the sample is its response time.
  EndAttempt(true, false, static_cast<double>(out.ttft.count()));
  EscalationVerdict verdict;
  if (chat_ && MayEscalate()) {
    verdict = CheckAnswer(plan_.escalation, *chat_, out.body);
    // The logprobs were HybridGate's question, not the client's.
    if (WantsLogprobs() && !chat_->logprobs.value_or(false)) {
      out.body = StripLogprobs(out.body);
    }
  }
  if (!verdict.escalate) {
    out.ok = true;
    out.trail.back().result = "ok";
    return true;
  }
  out.trail.back().result = "escalated";
  out.escalated = true;
  out.unserved.push_back({out.deployment, out.usage});
  if (out.escalated_from.empty()) out.escalated_from = candidate().tier;
  out.escalated_to.clear();
  weak_.emplace(Weak{out.deployment, out.status, std::move(out.body), std::move(out.native_body),
                     out.usage, out.ttft, std::move(verdict.why)});
  out.body.clear();
  out.native_body.clear();
  out.error = MakeError(ErrorCode::kUpstreamUnavailable, "escalated: " + weak_->why);
  escalated_from_ = candidate().tier_index;
  NextCandidate();
  return false;
}

void Attempts::Finish(Outcome& out) {
  if (out.ok || !weak_ || out.client_gone || (options_.cancel && options_.cancel->cancelled())) {
    return;
  }
  out.ok = true;
  out.deployment = weak_->deployment;
  out.status = weak_->status;
  out.body = std::move(weak_->body);
  out.native_body = std::move(weak_->native_body);
  out.usage = weak_->usage;
  out.ttft = weak_->ttft;
  out.unserved.pop_back();  // the last weak answer is the one served after all
  weak_.reset();
}

bool Attempts::WantsLogprobs() const {
  const auto& on = plan_.escalation.on;
  return std::find(on.begin(), on.end(), EscalationTrigger::kLowLogprob) != on.end();
}

void Attempts::NextCandidate() {
  ++index_;
  tries_ = 0;
  delay_ = milliseconds(0);
}

InProcessDeadline::InProcessDeadline(const boost::asio::any_io_executor& ex,
                                     http::CancelToken* client)
    : timer_(ex), client_(client) {
  if (!client_) return;
  if (client_->cancelled()) state_->token.Cancel();
  client_->Set([s = state_] { s->token.Cancel(); });
}

InProcessDeadline::~InProcessDeadline() {
  timer_.cancel();
  if (client_) client_->Set(nullptr);
}

void InProcessDeadline::Arm(http::Clock::time_point deadline) {
  state_->deadline = deadline;
  timer_.expires_at(deadline);
  // A handler already queued for an earlier deadline finds the new one not yet passed.
  timer_.async_wait([s = state_](const boost::system::error_code& ec) {
    if (ec || s->expired || http::Clock::now() < s->deadline) return;
    s->expired = true;
    s->token.Cancel();
  });
}

Error InProcessDeadline::TimeoutError(const Deployment& d) {
  return MakeError(ErrorCode::kUpstreamTimeout,
                   fmt::format("provider '{}' (in-process) gave no answer within the attempt's "
                               "deadline",
                               d.provider->name()));
}

}  // namespace hybridgate::routing
