// Route selection: (route, request features, what each model's deployments can do, their
// health) -> the ordered candidates to try, each with why, and every tier or deployment left out
// with why. Pure: no I/O, no clocks, no shared state — table-testable and explainable.
#pragma once

#include <cstdint>
#include <functional>
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
// Breaker state of a deployment key; a default-constructed HealthLookup says "closed" for all.
using HealthLookup = std::function<BreakerState(std::string_view key)>;

struct RouteCandidate {
  DeploymentInfo deployment;
  std::string tier;
  size_t tier_index = 0;
  int weight = 1;
  bool probe = false;  // breaker half-open: this attempt is its probe
  std::string why;
};

struct SkippedDeployment {
  std::string key;  // or the model name when it resolved to nothing
  std::string why;
};

struct TierDecision {
  std::string name;
  BalanceStrategy balance = BalanceStrategy::kWeighted;
  bool eligible = false;
  std::string why;                         // why the tier serves, or why it was skipped
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

  // OK when there are candidates; otherwise policy_blocked (residency removed something and
  // nothing is left) or unavailable, with every reason.
  Status ToStatus() const;
  // Rebuilds `candidates` from `tiers` (after a Balancer reordered a tier).
  void Flatten();
};

// Decides the candidates of `route` for a request with `features`. Rules, per tier in order:
// the tier's `when` conditions (complexity, tier data class, input tokens, images/tools/json
// schema) select or skip the whole tier; then each deployment of a selected tier is dropped
// when its provider may not receive the data class (residency: from EVERY tier), it is
// disabled, its context window is smaller than the estimated input, it lacks a capability the
// request needs, it costs more than the tier's ceiling, or its breaker is open. Half-open
// deployments stay, marked as probes, after the closed ones of their tier. When breakers alone
// emptied the plan, the open deployments come back as a last resort (`panic`).
RouteDecision Choose(const Route& route, const complexity::Features& features,
                     const ModelLookup& models, const HealthLookup& health = {});

}  // namespace hybridgate::routing
