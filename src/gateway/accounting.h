// Per-request accounting, after the answer: the request's cost (catalog arithmetic), its ledger
// row, its metrics, and who may rate it (the feedback store). Runs on the event loop and does no
// I/O: the ledger and the feedback store queue rows for their writer threads, metrics are atomic
// counters.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "api/openai_response.h"
#include "classify/sensitivity/finding.h"
#include "config/config.h"
#include "ledger/ledger.h"
#include "ledger/pricing.h"
#include "limits/keys.h"
#include "metrics/metrics.h"
#include "quality/feedback.h"
#include "routing/executor.h"

namespace hybridgate::gateway {

// What the handler knows about a request besides the executor's Outcome.
struct RequestFacts {
  std::string_view id;
  int64_t arrival_unix_ms = 0;
  std::string_view endpoint;  // "chat_completions" | "messages" | "completions" | "embeddings"
  std::string_view route;     // the route, else the model name or alias the client asked for
  std::string_view tier;      // the route's tier that answered, "" without a route
  const limits::KeyInfo* key = nullptr;
  const sensitivity::Classification* sensitivity = nullptr;
  bool stream = false;
  int64_t estimated_input_tokens = 0;  // used when the upstream reports no usage
  int status = 0;                      // what the client got (499: it left)
  double latency_ms = 0;
  // What residency did to the request, for the ledger's audit: "none", "route" (served by a
  // self-hosted model instead), "redact" (findings replaced before it left) or "block".
  std::string_view residency_action = "none";
  // A rollout with a feedback gate that answered it (rollout::LiveRollout::feedback_name, the
  // arm whose model answered, the stage's epoch); "" when none.
  std::string_view rollout, rollout_arm;
  int64_t rollout_epoch = 0;
};

// The ledger's egress column for `trail`: "provider:zone:max_data_class:result" per attempt, in
// order (the format in ledger/audit.h).
std::string EgressTrail(std::span<const routing::AttemptRecord> trail);

class Accounting {
 public:
  // `ledger` may be null (disabled); `config` must outlive this. `feedback` (may be null: off)
  // remembers who made each answered request, so that only they may rate it.
  Accounting(const config::Config& config, ledger::Ledger* ledger, metrics::Metrics& metrics,
             quality::FeedbackStore* feedback = nullptr);

  // USD for `usage` on deployment `d`: the model's configured prices when it has any, else the
  // ledger's catalog (config overrides over the dated defaults), else the GPU cost of a model in
  // ledger.self_hosted (-1 when its throughput is to be measured: the ledger prices the row);
  // 0 when unknown.
  double Cost(const routing::Deployment& d, const api::Usage& usage) const;

  // Records the ledger row and the metrics; returns what it charged — the served answer's
  // plus those of the weak answers escalation did not serve (out.unserved). The row carries the
  // residency facts: finding types (never values), the answering provider's zone and
  // max_data_class, the residency action and every attempt's destination (out.trail).
  // What the key is charged, as the row says: its tokens (estimated when the upstream sent no
  // usage) and its cost.
  struct Charge {
    int64_t tokens = 0;
    double cost_usd = 0;
  };
  Charge Record(const RequestFacts& facts, const routing::Outcome& out);

 private:
  const config::Config& config_;
  ledger::Ledger* ledger_;
  metrics::Metrics& metrics_;
  quality::FeedbackStore* feedback_;
  ledger::PriceCatalog catalog_;
};

}  // namespace hybridgate::gateway
