// The Policy seam: (request, catalog) -> RoutePlan, the ordered candidates the executor will try,
// each with the reason it was kept or dropped. Pure and table-testable. This first policy serves
// the requested model from every deployment that has it, in config order (later ones are
// fallbacks); richer policies (sensitivity, complexity, cost tiers) plug in here.
#pragma once

#include <string>
#include <vector>

#include "api/chat_request.h"
#include "common/result.h"
#include "routing/catalog.h"
#include "routing/route_config.h"

namespace hybridgate::routing {

class StatsSet;

struct Candidate {
  Deployment deployment;
  std::string reason;  // empty on a route's plan: its RouteDecision says why (Explain)
  // Route tiers: the candidate's tier (escalation asks a later one). -1/"" for plain routing.
  int tier_index = -1;
  std::string tier;
};

struct Excluded {
  Deployment deployment;
  std::string reason;
};

struct RoutePlan {
  std::vector<Candidate> candidates;
  std::vector<Excluded> excluded;
  std::string rerouted_to;  // non-empty when residency served another model than requested
  // How the executor works through the candidates: the route's settings; plain model routing
  // keeps one try per deployment, the providers' own timeouts and no escalation.
  RetryConfig retry{.attempts = 1};
  DeadlineConfig deadlines;
  EscalationConfig escalation;
  bool panic = false;  // breakers alone emptied the route: open deployments are tried anyway
  // The deployments' live stats the route's balancers read; the executor counts every attempt
  // in them. Null: none kept (plain model routing).
  StatsSet* stats = nullptr;
};

// What the policy knows about a request.
struct PlanInput {
  std::string_view model;
  int data_class = 1;                      // from the sensitivity check (1..5)
  std::vector<std::string> finding_types;  // distinct, for messages; never the matched text
};

// Plans for a request naming `model`. Unknown model -> not_found listing what exists; known but
// every deployment unusable -> unavailable saying why. Data residency comes first: a provider whose
// max_data_class is below the request's class is never a candidate; when that empties the plan the
// class's action decides: `route` serves the residency fallback model (a self-hosted one) instead,
// `block` and `redact` refuse (the gateway answers `redact` by planning the redacted request
// again) — all with policy_blocked when nothing allowed is left. Never a silent
// downgrade to an external provider.
Result<RoutePlan> PlanForRequest(const PlanInput& input, const Catalog& catalog);
inline Result<RoutePlan> PlanForModel(std::string_view model, const Catalog& catalog) {
  return PlanForRequest({.model = model}, catalog);
}

}  // namespace hybridgate::routing
