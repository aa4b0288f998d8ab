// Routes: named, ordered lists of tiers (small-local → reasoning → frontier), each a set of
// weighted deployments with conditions on request features, plus the route's escalation, retry,
// deadline and classifier settings. Parsed from the `routes:` mapping of the config file;
// immutable afterwards. Errors name the file, the line and the full key path.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "routing/breaker.h"

namespace YAML {
class Node;
}

namespace hybridgate::routing {

enum class BalanceStrategy : uint8_t { kWeighted, kLeastOutstanding, kLatencyEwma };
std::string_view BalanceName(BalanceStrategy b);

// A condition on a boolean request feature: `any` (default), `true` (only requests that have
// it) or `false` (only requests that do not).
enum class Tri : uint8_t { kAny, kYes, kNo };

struct TierDeployment {
  std::string model;  // public name, alias or "provider/model", as the catalog resolves it
  int weight = 1;     // 1..1000, for `weighted` balancing
};

// When a tier serves a request. Unset limits do not constrain.
struct TierConditions {
  std::optional<double> min_complexity;  // 0..1: tier only for requests at least this hard
  std::optional<double> max_complexity;  // 0..1
  std::optional<int> max_data_class;     // 1..5 (on top of each provider's own limit)
  std::optional<int64_t> max_input_tokens;
  Tri images = Tri::kAny;
  Tri tools = Tri::kAny;
  Tri json_schema = Tri::kAny;
  // Ceiling on a deployment's input price (USD per million tokens); pricier ones are skipped.
  std::optional<double> max_cost_per_mtok;
};

struct Tier {
  std::string name;
  std::vector<TierDeployment> deployments;
  BalanceStrategy balance = BalanceStrategy::kWeighted;
  TierConditions when;
};

enum class EscalationTrigger : uint8_t { kLowLogprob, kInvalidJson };
std::string_view TriggerName(EscalationTrigger t);

// Confidence escalation of non-streaming answers (the executor applies it).
struct EscalationConfig {
  bool enabled = false;
  // Threshold on exp(mean token logprob) of the answer: below it the next tier is asked.
  double min_confidence = 0.6;
  std::vector<EscalationTrigger> on;  // default when enabled: low_logprob
};

enum class Jitter : uint8_t { kNone, kFull, kEqual };
std::string_view JitterName(Jitter j);

// Retries of one deployment before falling back to the next candidate.
struct RetryConfig {
  int attempts = 2;  // total tries per deployment (1 = no retry), 1..10
  int64_t backoff_ms = 200;
  int64_t max_backoff_ms = 2000;
  Jitter jitter = Jitter::kFull;
  // A Retry-After longer than this makes the executor move on instead of waiting.
  int64_t max_retry_after_ms = 10'000;
};

// 0 = no limit of its own (the provider's timeouts still apply).
struct DeadlineConfig {
  int64_t total_ms = 0;    // whole request, all attempts
  int64_t attempt_ms = 0;  // one upstream attempt
  int64_t ttft_ms = 0;     // streams: first token must arrive within this
};

enum class ClassifierKind : uint8_t { kHeuristic, kLearned };
std::string_view ClassifierName(ClassifierKind k);

// A candidate deployment shadowed on the route's real traffic (gateway/shadow.h): a sampled
// request is also sent there, after the client's answer, and the two answers are compared.
struct ShadowTarget {
  std::string deployment;       // as a tier's model: public name, alias or "provider/model"
  double sample = 0;            // 0..1: the share of the route's answered requests shadowed
  int64_t max_concurrency = 8;  // shadow calls in flight at once, gateway-wide
  double max_usd_per_day = 0;   // spend on this target per UTC day (its judge's too); required
  // A model that judges the two answers pairwise (quality/comparators/judge/); "" for none.
  std::string judge;
  // An embeddings model for the embedding comparator; "" for none.
  std::string embedding;
  // The comparators, by registered name (quality/comparators/registry.cc); empty: exact, json,
  // json_schema, and embedding / judge when their model is set.
  std::vector<std::string> compare;
};

// A canary rollout (rollout/): `candidate` takes over the route's traffic for `incumbent` stage
// by stage, promoted on evidence and rolled back on its own (rollout/gates.h holds the rules).
// Eligible: requests whose first choice is the incumbent and that the candidate may receive
// (residency, capabilities, context window). The incumbent stays the fallback.
struct RolloutGates {
  std::optional<double> quality_drop_max;       // 1 - mean shadow score of candidate vs incumbent
  std::optional<double> error_rate_max;         // candidate-arm requests the candidate failed
  std::optional<double> p95_latency_ratio_max;  // candidate p95 / incumbent p95
  // Mean user feedback (POST /v1/feedback, normalized to 0..1) on the incumbent's answers minus
  // that on the candidate's, both of the stage; needs quality.feedback.
  std::optional<double> feedback_drop_max;
};
enum class Sticky : uint8_t { kKey, kUser, kNone };
std::string_view StickyName(Sticky s);

struct RolloutConfig {
  std::string candidate;  // a model name, alias or "provider/model"
  std::string incumbent;  // the one it replaces; default: the route's only deployment
  std::vector<int> stages{5, 25, 50, 75, 100};  // percent of eligible traffic, increasing
  int64_t min_requests = 500;                   // candidate-arm requests per stage
  int64_t min_duration_ms = 86'400'000;         // per stage
  int64_t interval_ms = 10'000;                 // how often the gates are evaluated
  RolloutGates gates;
  Sticky sticky = Sticky::kKey;
  bool start_paused = false;  // true: stays pending until `hybridgate rollout resume`
};

struct Route {
  std::string name;                  // also the model alias that selects it ("auto")
  std::vector<std::string> aliases;  // more model names that select it
  std::vector<std::string> teams;    // keys of these teams use this route by default
  ClassifierKind classifier = ClassifierKind::kHeuristic;
  std::string learned_model;  // classifier: learned — path to the model file
  std::vector<Tier> tiers;
  EscalationConfig escalation;
  RetryConfig retries;
  DeadlineConfig deadlines;
  // The route's own breaker settings for its deployments; unset: the shared defaults.
  std::optional<BreakerConfig> breaker;
  std::vector<ShadowTarget> shadow;
  std::optional<RolloutConfig> rollout;
};

struct RoutesConfig {
  std::vector<Route> routes;

  const Route* Find(std::string_view name) const;  // by name or alias
  const Route* ForTeam(std::string_view team) const;
};

// How a request picked its route, for explain and headers.
struct RouteSelection {
  enum class By : uint8_t { kNone, kHeader, kModel, kTeam };
  const Route* route = nullptr;  // null: no route applies (plain model routing)
  By by = By::kNone;
  std::string_view name;  // the header value, model or team that selected it (the caller's)
  // How the request selected the route ("model 'smart' is an alias of route 'auto'"), written
  // only when asked for: the request path never needs it.
  std::string Why() const;
};

// Header `x-hybridgate-route` first (an unknown name is an error), then the model name (a
// route name or alias), then the key's team.
Result<RouteSelection> SelectRoute(const RoutesConfig& routes, std::string_view header,
                                   std::string_view model, std::string_view team);

// Parses the mapping under `routes:` (a node that itself holds `routes:` is accepted too).
// Unknown keys and bad values are errors: "file:line: 'routes.auto.tiers[1].when.x': message".
// Model names are not checked against the catalog here (CheckRouteModels does).
Result<RoutesConfig> ParseRoutesConfig(const YAML::Node& routes_node, std::string_view file);

// Parses YAML text holding a `routes:` key; for tests and `route explain`.
Result<RoutesConfig> ParseRoutesYaml(std::string_view yaml, std::string_view file);

// Every deployment model must exist: `exists` says whether the catalog resolves a name.
Status CheckRouteModels(const RoutesConfig& config, std::string_view file,
                        const std::function<bool(std::string_view)>& exists);

}  // namespace hybridgate::routing
