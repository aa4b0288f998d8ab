// Route selection: (route, request features, what each model's deployments can do, their
// health) -> the ordered candidates to try, each with why, and every tier or deployment left out
// with why. Pure: no I/O, no clocks, no shared state — table-testable and explainable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "classify/complexity/features.h"
#include "common/result.h"
#include "routing/breaker.h"
#include "routing/route_config.h"

namespace hybridgate::routing {

// What routing needs to know about one deployment (a provider serving a model). Built by the
// caller from the catalog; `handle` carries the caller's own pointer (e.g. a Deployment) through.
struct DeploymentInfo {
  std::string key;       // stable identity for breakers and balancers: "provider/model"
  std::string provider;  // provider name
  std::string model;     // public model name
  int max_data_class = 5;
  std::string disabled_reason;  // non-empty: configured but unusable
  int64_t context_window = 0;   // tokens; 0 = unknown (not checked)
  // Capabilities; nullopt = not declared (assumed to work).
  std::optional<bool> images;
  std::optional<bool> tools;
  std::optional<bool> json_schema;
  double input_per_mtok = 0;  // USD per million input tokens
  const void* handle = nullptr;
};

// Deployments serving a tier's `model` entry, in order; empty when the name is unknown.
using ModelLookup = std::function<std::vector<DeploymentInfo>(std::string_view model)>;
// The same resolved ahead of time: tier model entry -> its deployments (a name missing here is
// unknown). Built once per config, read in place per request.
using DeploymentTable = std::map<std::string, std::vector<DeploymentInfo>, std::less<>>;
// Breaker state of a deployment key; a default-constructed HealthLookup says "closed" for all.
using HealthLookup = std::function<BreakerState(std::string_view key)>;

// Why a tier or deployment was kept or left out. Choose records the code; the sentence (which
// quotes the request's features and the limits involved) is written only when asked for —
// RouteDecision::Explain, ToStatus — never on the request path.
enum class WhyCode : uint8_t {
  kNone,
  // Tiers
  kTierServes,       // "{tier}: complexity 0.20 <= 0.40, ~100 tokens <= 6000"
  kComplexityAbove,  // the tier's conditions reject the request, one code per condition
  kComplexityBelow,
  kTierDataClass,
  kTierInputTokens,
  kTierWantsImages,
  kTierTakesNoImages,
  kTierWantsTools,
  kTierTakesNoTools,
  kTierWantsJsonSchema,
  kTierTakesNoJsonSchema,
  kNoUsableDeployment,
  // Deployments left out
  kUnknownModel,
  kResidency,
  kDisabled,
  kContextWindow,
  kNotMultimodal,
  kNoToolSupport,
  kNoJsonSchemaSupport,
  kOverCostCeiling,
  kCircuitOpen,
  // Candidates
  kAccepted,
  kProbe,
  kLastResort,
};

struct RouteCandidate {
  // The deployment, in place: in the DeploymentTable the decision was made from, or in the
  // decision's own `resolved` copies (the ModelLookup form).
  const DeploymentInfo* info = nullptr;
  const DeploymentInfo& deployment() const { return *info; }
  std::string tier;
  size_t tier_index = 0;
  int weight = 1;
  bool probe = false;  // breaker half-open: this attempt is its probe
  std::string why;     // empty until RouteDecision::Explain
  WhyCode code = WhyCode::kAccepted;
};

struct SkippedDeployment {
  std::string key;  // or the model name when it resolved to nothing
  std::string why;  // empty until RouteDecision::Explain
  WhyCode code = WhyCode::kNone;
  // The deployment's side of the comparison the text quotes. The strings are kept only for the
  // codes that name them (residency, disabled).
  int max_data_class = 0;
  int64_t context_window = 0;
  double input_per_mtok = 0;
  std::string provider;
  std::string disabled_reason;
};

struct TierDecision {
  std::string name;
  BalanceStrategy balance = BalanceStrategy::kWeighted;
  bool eligible = false;
  std::string why;  // why the tier serves, or why it was skipped; empty until Explain
  WhyCode code = WhyCode::kNone;
  TierConditions when;                     // the tier's conditions, for the text
  std::vector<RouteCandidate> candidates;  // in config order (a Balancer reorders)
  std::vector<SkippedDeployment> skipped;
};

struct RouteDecision {
  std::string route;
  std::string route_why;  // how the request selected the route (SelectRoute), if given
  complexity::Features features;
  std::vector<TierDecision> tiers;  // every tier of the route, in order
  // The candidates to try, in order: the first eligible tier, then later eligible tiers as
  // fallbacks and escalation targets. Empty: nothing may serve the request (see Status()).
  std::vector<RouteCandidate> candidates;
  bool residency_excluded = false;  // some deployment was removed for the request's data class
  bool panic = false;  // every healthy option was gone; open-circuit deployments were kept
  // What a ModelLookup returned, kept for the candidates that point into it (shared, so that a
  // copied decision's candidates stay valid too).
  std::vector<std::shared_ptr<const std::vector<DeploymentInfo>>> resolved;

  // OK when there are candidates; otherwise policy_blocked (residency removed something and
  // nothing is left) or unavailable, with every reason.
  Status ToStatus() const;
  // Rebuilds `candidates` from `tiers` (after a Balancer reordered a tier).
  void Flatten();
  // Writes every `why` (tiers, skipped deployments, candidates) from the recorded codes.
  void Explain();
};

// Why deployment `d` cannot serve a request with features `f` — residency, disabled, context
// window, a capability it lacks — or kNone (a tier's cost ceiling and breakers aside).
WhyCode DeploymentUnfit(const DeploymentInfo& d, const complexity::Features& f);

// Decides the candidates of `route` for a request with `features`. Rules, per tier in order:
// the tier's `when` conditions (complexity, tier data class, input tokens, images/tools/json
// schema) select or skip the whole tier; then each deployment of a selected tier is dropped
// when its provider may not receive the data class (residency: from EVERY tier), it is
// disabled, its context window is smaller than the estimated input, it lacks a capability the
// request needs, it costs more than the tier's ceiling, or its breaker is open. Half-open
// deployments stay, marked as probes, after the closed ones of their tier. When breakers alone
// emptied the plan, the open deployments come back as a last resort (`panic`).
// This form copies each tier entry's deployments from `models` and explains the decision (every
// `why` is written): for tools and tests.
RouteDecision Choose(const Route& route, const complexity::Features& features,
                     const ModelLookup& models, const HealthLookup& health = {});
// The request path: the same decision, reading the deployments in place from `table`, with the
// `why` texts left empty (call Explain() when they are wanted; ToStatus() needs none).
RouteDecision Choose(const Route& route, complexity::Features features,
                     const DeploymentTable& table, const HealthLookup& health = {});

}  // namespace hybridgate::routing
