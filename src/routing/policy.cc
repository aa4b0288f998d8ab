#include "routing/policy.h"

#include <fmt/format.h>

namespace hybridgate::routing {

Result<RoutePlan> PlanForModel(std::string_view model, const Catalog& catalog) {
  const std::vector<Deployment> deployments = catalog.Lookup(model);
  if (deployments.empty()) {
    std::string names;
    for (const auto& [name, provider] : catalog.PublicModels()) {
      if (!names.empty()) names += ", ";
      names += name;
    }
    return Fail(MakeError(
        ErrorCode::kNotFound,
        fmt::format("model '{}' does not exist on this gateway; available: {}", model, names),
        "model"));
  }
  RoutePlan plan;
  for (const Deployment& d : deployments) {
    const auto& pc = d.provider->config();
    if (!pc.disabled_reason.empty()) {
      plan.excluded.push_back(
          {d, fmt::format("provider '{}' is disabled: {}", pc.name, pc.disabled_reason)});
      continue;
    }
    plan.candidates.push_back(
        {d, plan.candidates.empty() ? "serves the requested model" : "fallback: same model"});
  }
  if (plan.candidates.empty()) {
    std::string why;
    for (const Excluded& e : plan.excluded) {
      if (!why.empty()) why += "; ";
      why += e.reason;
    }
    return Fail(MakeError(ErrorCode::kUnavailable,
                          fmt::format("no usable provider for model '{}': {}", model, why)));
  }
  return plan;
}

}  // namespace hybridgate::routing
