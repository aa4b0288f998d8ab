#include "routing/policy.h"

#include <fmt/format.h>

#include <algorithm>

namespace hybridgate::routing {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Splits the deployments of one model into candidates and exclusions. Returns how many were
// excluded for residency.
int Filter(const std::vector<Deployment>& deployments, const PlanInput& in, RoutePlan& plan) {
  int residency = 0;
  for (const Deployment& d : deployments) {
    const auto& pc = d.provider->config();
    if (pc.max_data_class < in.data_class) {
      ++residency;
      plan.excluded.push_back(
          {d, fmt::format("residency: provider '{}' ({}) may receive data up to class {}; this "
                          "request is class {} ({})",
                          pc.name, config::ZoneName(pc.zone), pc.max_data_class, in.data_class,
                          Join(in.finding_types))});
      continue;
    }
    if (!pc.disabled_reason.empty()) {
      plan.excluded.push_back(
          {d, fmt::format("provider '{}' is disabled: {}", pc.name, pc.disabled_reason)});
      continue;
    }
    plan.candidates.push_back(
        {d, plan.candidates.empty() ? "serves the requested model" : "fallback: same model"});
  }
  return residency;
}

std::string FallbackModel(const Catalog& catalog) {
  const auto& cfg = catalog.config();
  if (!cfg.residency.fallback_model.empty()) return cfg.residency.fallback_model;
  for (const auto& p : cfg.providers) {
    if (p.zone == config::Zone::kSelfHosted && p.disabled_reason.empty()) return p.models[0].name;
  }
  return {};
}

Error Blocked(const PlanInput& in, std::string_view why) {
  return MakeError(ErrorCode::kPolicyBlocked,
                   fmt::format("request blocked by data residency policy: it contains class {} "
                               "data ({}); {}",
                               in.data_class, Join(in.finding_types), why));
}

}  // namespace

Result<RoutePlan> PlanForRequest(const PlanInput& in, const Catalog& catalog) {
  const std::vector<Deployment> deployments = catalog.Lookup(in.model);
  if (deployments.empty()) {
    std::string names;
    for (const auto& [name, provider] : catalog.PublicModels()) {
      if (!names.empty()) names += ", ";
      names += name;
    }
    return Fail(MakeError(
        ErrorCode::kModelNotFound,
        fmt::format("model '{}' does not exist on this gateway; available: {}", in.model, names),
        "model"));
  }
  RoutePlan plan;
  const int residency_excluded = Filter(deployments, in, plan);
  if (!plan.candidates.empty()) return plan;
  if (residency_excluded > 0) {
    const auto action = catalog.config().residency.actions[std::clamp(in.data_class, 1, 5)];
    // `redact` never serves another model: the gateway redacts the request and plans again.
    if (action == config::ResidencyAction::kBlock || action == config::ResidencyAction::kRedact) {
      return Fail(Blocked(in, fmt::format("no provider of '{}' may receive it", in.model)));
    }
    const std::string fallback = FallbackModel(catalog);
    if (!fallback.empty() && fallback != in.model) {
      Filter(catalog.Lookup(fallback), in, plan);
      for (Candidate& c : plan.candidates) {
        c.reason = fmt::format("residency: class {} request served by '{}' instead of '{}'",
                               in.data_class, fallback, in.model);
      }
      if (!plan.candidates.empty()) {
        plan.rerouted_to = fallback;
        return plan;
      }
    }
    return Fail(Blocked(in, "no provider allowed to receive it is available"));
  }
  std::string why;
  for (const Excluded& e : plan.excluded) {
    if (!why.empty()) why += "; ";
    why += e.reason;
  }
  return Fail(MakeError(ErrorCode::kUnavailable,
                        fmt::format("no usable provider for model '{}': {}", in.model, why)));
}

}  // namespace hybridgate::routing
