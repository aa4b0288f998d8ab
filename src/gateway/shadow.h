// Shadow traffic (routes.<name>.shadow): a sampled share of a route's answered requests is sent
// again to a candidate deployment, after the client's answer was written, and the two answers are
// compared (quality/comparison.h). Each shadow call is a background::Job on the answering
// worker's Runner: the client never waits for it, and what does not fit the runner is shed.
//
// A shadow call is held to what a primary attempt is: the egress gate with the request's class
// (a target whose provider may not receive it is not even tried: counted as `residency`), and
// metering — a ledger row of its own (endpoint "shadow", no key: it is charged to the target's
// daily budget, `max_usd_per_day`, never to the client's key). Before each call its worst case
// (input plus max_tokens, or 4096, on the target's price) is reserved against that budget and
// one of the target's `max_concurrency` slots taken; settlement replaces the reservation by the
// real cost. Budgets and slots are kept by the ShadowBook, which outlives reloads.
//
// Each answered shadow call is then scored by the target's comparators (`compare`, default exact,
// json, json_schema, plus embedding and judge when their models are set; quality/comparators/).
// Their model calls go out like the shadow's own: residency with the class of the request and
// of both answers, each call's worst case reserved from the same daily budget, a ledger row each
// (endpoint: the comparator's name). A refused call counts as `<comparator>_residency` or
// `<comparator>_spend_cap`; the comparator then gives no score.
//
// Streams are shadowed as non-stream requests. Redacted requests and continued conversations are
// shadowed as what was sent upstream.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "background/runner.h"
#include "classify/sensitivity/finding.h"
#include "gateway/runtime.h"
#include "http/client.h"
#include "metrics/metrics.h"
#include "quality/comparators/comparator.h"
#include "quality/comparison.h"
#include "quality/store.h"
#include "routing/route_config.h"

namespace hybridgate::gateway {

// Every shadow target's slots in use and spend per UTC day, gateway-wide, across reloads; seeded
// at start from the comparison store, so a restart does not hand a target a fresh day's budget
// (per replica: each gateway keeps its own book). Targets are named by route and deployment
// key ("provider/model"). Thread-safe.
class ShadowBook {
 public:
  enum class Verdict { kGo, kConcurrency, kSpendCap };
  // Takes one of the target's `max_concurrency` slots and reserves `usd` of today's budget
  // (`day`: days since the epoch, UTC), unless every slot is taken or today's spend,
  // reservations included, would pass `max_usd`.
  Verdict Acquire(std::string_view route, std::string_view deployment, int64_t max_concurrency,
                  double max_usd, double usd, int64_t day);
  // Reserves `usd` more for a slot already held (a judge's calls, priced once the answers are
  // known); false when that would pass `max_usd`.
  bool Extend(std::string_view route, std::string_view deployment, double max_usd, double usd,
              int64_t day);
  // Gives the slot back and replaces what it reserved by `spent` (on `day`'s budget, unless
  // the day has turned since).
  void Release(std::string_view route, std::string_view deployment, double reserved, double spent,
               int64_t day);
  // Adds spend made before this process started (the comparison store's rows of `day`).
  void Seed(std::string_view route, std::string_view deployment, double spent, int64_t day);
  // Today's spend on a target, reservations included (for tests).
  double Spent(std::string_view route, std::string_view deployment, int64_t day) const;

 private:
  struct Entry {
    int64_t in_flight = 0;
    int64_t day = 0;
    double spent = 0;
  };
  Entry& At(std::string_view route, std::string_view deployment, int64_t day);  // mu_ held
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // "route\x1fprovider/model"
};

// Seeds `book` with today's spend per target from the comparison store at `source` (a SQLite
// file or a PostgreSQL DSN): each comparison's shadow call and its judge's.
Status SeedShadowBook(ShadowBook& book, const std::string& source);

// The day (since the epoch, UTC) `unix_ms` falls in.
int64_t UtcDay(int64_t unix_ms);

// Which of `route`'s shadow targets sample this request: bit i for route.shadow[i] (at most 64
// targets a route). Drawn before the request runs, so a stream keeps its text only when needed.
uint64_t SampleShadows(const routing::Route& route);

// The comparators a shadow target scores with, in order, with the models they call.
std::vector<quality::ComparatorSpec> ShadowComparators(const routing::ShadowTarget& target);

// What a routed request offers for shadowing once it is answered.
struct ShadowOffer {
  std::shared_ptr<const Runtime> runtime;
  const routing::Route* route = nullptr;
  std::string_view request_id;
  int64_t arrival_unix_ms = 0;
  const api::ChatRequest* request = nullptr;  // as sent upstream (redacted, conversation replayed)
  const sensitivity::Classification* classification = nullptr;
  int egress_class = 1;
  int64_t estimated_input_tokens = 0;
  uint64_t sampled = 0;  // SampleShadows
  quality::AnswerFacts primary;
  quality::ComparisonStore* store = nullptr;  // where the comparisons go (null: nowhere)
  // Told of each scored comparison (a rollout's quality gate), on the runner's worker.
  std::function<void(const quality::Comparison&)> on_scored;
};

// Submits a job for each of the route's targets that sampled `offer` and that residency, the
// target's slots and its budget allow; counts every outcome in
// hybridgate_shadow_requests_total. Event-loop thread of `runner`; never blocks.
void OfferShadows(ShadowOffer offer, background::Runner& runner, http::ClientPool& pool,
                  ShadowBook& book, metrics::Metrics& metrics);

}  // namespace hybridgate::gateway
