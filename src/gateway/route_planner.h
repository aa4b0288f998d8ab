// Routes and tiers at request time (issue #5): which route a request takes (x-hybridgate-route
// header, model name or alias, the key's team), its complexity from the route's classifier
// (heuristic, or the learned router), and routing::Choose's ordered candidates turned into the
// executor's RoutePlan. Immutable after Create except the breakers and balancer state, which are
// thread-safe. Requests that select no route keep plain model routing (routing::PlanForRequest).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "api/chat_request.h"
#include "classify/complexity/classifier.h"
#include "config/config.h"
#include "routing/balancer.h"
#include "routing/breaker.h"
#include "routing/catalog.h"
#include "routing/policy.h"
#include "routing/routes.h"

namespace hybridgate::gateway {

class RoutePlanner {
 public:
  // Loads each route's classifier and checks that every tier's models exist in the config.
  static Result<std::unique_ptr<RoutePlanner>> Create(const config::Config& config);

  Result<routing::RouteSelection> Select(std::string_view header, std::string_view model,
                                         std::string_view team) const;

  // The route's decision for `req` at `data_class` (filled into `decision`) as a plan over the
  // catalog's deployments. When residency removed every candidate, the residency policy of
  // PlanForRequest decides (serve the self-hosted fallback model, or refuse). The plan points at
  // the planner's live deployment stats (plan.stats), which the executor updates per attempt
  // and the route's balancers read: the planner must outlive the request.
  Result<routing::RoutePlan> Plan(const routing::Route& route, const api::ChatRequest& req,
                                  int data_class, const std::vector<std::string>& finding_types,
                                  const routing::Catalog& catalog,
                                  routing::RouteDecision& decision);

  // The tier of `decision` that `d` belongs to ("" when none).
  static std::string_view TierOf(const routing::RouteDecision& decision,
                                 const routing::Deployment& d);
  // The breakers of `route`'s deployments (the executor asks and tells them per attempt): the
  // route's own when it has a `breaker:` section, else the set shared by all routes.
  routing::BreakerSet& BreakersFor(const routing::Route& route);
  // Calls f(deployment key, state) for every breaker; a deployment with breakers in several
  // sets reports the worst state (open, then half-open) once.
  void ForEachBreaker(const std::function<void(std::string_view, routing::BreakerState)>& f) const;
  // A tier's model entry resolved against the config: what routing::Choose needs to know.
  // Read from a table built at Create (the planner is rebuilt with the config on reload).
  std::vector<routing::DeploymentInfo> Lookup(std::string_view model) const;

 private:
  explicit RoutePlanner(const config::Config& config)
      : config_(config), balancers_(config.routes) {}

  const config::Config& config_;
  routing::DeploymentTable deployments_;  // every resolvable tier entry -> its deployments
  std::map<std::string, std::unique_ptr<complexity::Classifier>, std::less<>> classifiers_;
  routing::BreakerSet breakers_{routing::BreakerConfig{}};
  std::map<std::string, std::unique_ptr<routing::BreakerSet>, std::less<>> route_breakers_;
  routing::StatsSet stats_;
  routing::RouteBalancers balancers_;
};

// `hybridgate route explain --config F --request req.json [--route R] [--team T]`: the decision
// as JSON (route, features with the complexity score's top contributions, every tier considered
// or skipped with why, the ordered candidates). Returns the exit code.
int RunRouteExplain(const std::string& config_path, const std::string& request_path,
                    const std::string& route_header, const std::string& team);

}  // namespace hybridgate::gateway
