#include "routing/routes.h"

#include <fmt/format.h>

namespace hybridgate::routing {
namespace {

std::string Num(double v) { return fmt::format("{:.2f}", v); }

// Why a tier's conditions reject the request; empty when they hold.
std::string TierRejects(const TierConditions& w, const complexity::Features& f) {
  if (w.max_complexity && f.complexity > *w.max_complexity) {
    return fmt::format("complexity {} > {}", Num(f.complexity), Num(*w.max_complexity));
  }
  if (w.min_complexity && f.complexity < *w.min_complexity) {
    return fmt::format("complexity {} < {}", Num(f.complexity), Num(*w.min_complexity));
  }
  if (w.max_data_class && f.data_class > *w.max_data_class) {
    return fmt::format("data class {} > tier max {}", f.data_class, *w.max_data_class);
  }
  if (w.max_input_tokens && f.est_input_tokens > *w.max_input_tokens) {
    return fmt::format("~{} input tokens > {}", f.est_input_tokens, *w.max_input_tokens);
  }
  auto tri = [](Tri t, bool has, std::string_view what) -> std::string {
    if (t == Tri::kYes && !has) return fmt::format("tier is for requests with {}", what);
    if (t == Tri::kNo && has) return fmt::format("request has {}; tier takes none", what);
    return {};
  };
  if (auto s = tri(w.images, f.has_images, "images"); !s.empty()) return s;
  if (auto s = tri(w.tools, f.has_tools, "tools"); !s.empty()) return s;
  if (auto s = tri(w.json_schema, f.wants_json_schema, "a JSON schema"); !s.empty()) return s;
  return {};
}

std::string TierAccepts(const TierConditions& w, const complexity::Features& f) {
  std::string why = fmt::format("complexity {}", Num(f.complexity));
  if (w.max_complexity) why += fmt::format(" <= {}", Num(*w.max_complexity));
  if (w.min_complexity) why += fmt::format(" >= {}", Num(*w.min_complexity));
  if (w.max_input_tokens) {
    why += fmt::format(", ~{} tokens <= {}", f.est_input_tokens, *w.max_input_tokens);
  }
  return why;
}

// Why a deployment cannot serve the request (breakers aside); empty when it can.
// `residency` is set when the reason is the data class.
std::string DeploymentRejects(const DeploymentInfo& d, const Tier& tier,
                              const complexity::Features& f, bool& residency) {
  residency = false;
  if (f.data_class > d.max_data_class) {
    residency = true;
    return fmt::format("data class {} > max {} of provider {}", f.data_class, d.max_data_class,
                       d.provider);
  }
  if (!d.disabled_reason.empty()) {
    return fmt::format("provider {} is disabled: {}", d.provider, d.disabled_reason);
  }
  if (d.context_window > 0 && f.est_input_tokens > d.context_window) {
    return fmt::format("~{} input tokens > context window {}", f.est_input_tokens,
                       d.context_window);
  }
  if (f.has_images && d.images == false) return "request has images; model is not multimodal";
  if (f.has_tools && d.tools == false) return "request uses tools; model does not support them";
  if (f.wants_json_schema && d.json_schema == false) {
    return "request asks for a JSON schema; model does not support structured output";
  }
  if (tier.when.max_cost_per_mtok && d.input_per_mtok > *tier.when.max_cost_per_mtok) {
    return fmt::format("input ${}/Mtok > tier ceiling ${}", Num(d.input_per_mtok),
                       Num(*tier.when.max_cost_per_mtok));
  }
  return {};
}

}  // namespace

RouteDecision Choose(const Route& route, const complexity::Features& features,
                     const ModelLookup& models, const HealthLookup& health) {
  RouteDecision out;
  out.route = route.name;
  out.features = features;
  // Deployments skipped only for an open breaker, kept for the last resort.
  std::vector<std::pair<size_t, RouteCandidate>> open_circuit;
  for (size_t ti = 0; ti < route.tiers.size(); ++ti) {
    const Tier& tier = route.tiers[ti];
    TierDecision td;
    td.name = tier.name;
    td.balance = tier.balance;
    if (std::string no = TierRejects(tier.when, features); !no.empty()) {
      td.why = fmt::format("skipped {}: {}", tier.name, no);
      out.tiers.push_back(std::move(td));
      continue;
    }
    std::vector<RouteCandidate> probes;
    for (const TierDeployment& entry : tier.deployments) {
      const std::vector<DeploymentInfo> deployments = models(entry.model);
      if (deployments.empty()) {
        td.skipped.push_back({entry.model, fmt::format("unknown model '{}'", entry.model)});
        continue;
      }
      for (const DeploymentInfo& d : deployments) {
        bool residency = false;
        if (std::string no = DeploymentRejects(d, tier, features, residency); !no.empty()) {
          out.residency_excluded = out.residency_excluded || residency;
          td.skipped.push_back({d.key, fmt::format("skipped {}: {}", d.key, no)});
          continue;
        }
        RouteCandidate c{
            .deployment = d, .tier = tier.name, .tier_index = ti, .weight = entry.weight};
        const BreakerState state = health ? health(d.key) : BreakerState::kClosed;
        if (state == BreakerState::kOpen) {
          c.why = fmt::format("{} (tier {}): circuit open; last resort", d.key, tier.name);
          open_circuit.emplace_back(out.tiers.size(), c);
          td.skipped.push_back({d.key, fmt::format("skipped {}: circuit open", d.key)});
          continue;
        }
        if (state == BreakerState::kHalfOpen) {
          c.probe = true;
          c.why = fmt::format("{} (tier {}): circuit half-open, probe", d.key, tier.name);
          probes.push_back(std::move(c));
          continue;
        }
        c.why = fmt::format("{} (tier {}): {}", d.key, tier.name, TierAccepts(tier.when, features));
        td.candidates.push_back(std::move(c));
      }
    }
    for (RouteCandidate& p : probes) td.candidates.push_back(std::move(p));
    td.eligible = !td.candidates.empty();
    td.why = td.eligible ? fmt::format("{}: {}", tier.name, TierAccepts(tier.when, features))
                         : fmt::format("skipped {}: no usable deployment", tier.name);
    out.tiers.push_back(std::move(td));
  }
  out.Flatten();
  if (out.candidates.empty() && !open_circuit.empty()) {
    out.panic = true;
    for (auto& [ti, c] : open_circuit) {
      out.tiers[ti].candidates.push_back(std::move(c));
      out.tiers[ti].eligible = true;
    }
    out.Flatten();
  }
  return out;
}

void RouteDecision::Flatten() {
  candidates.clear();
  for (const TierDecision& t : tiers) {
    for (const RouteCandidate& c : t.candidates) candidates.push_back(c);
  }
}

Status RouteDecision::ToStatus() const {
  if (!candidates.empty()) return {};
  std::string why;
  for (const TierDecision& t : tiers) {
    if (!why.empty()) why += "; ";
    why += t.why;
    for (const SkippedDeployment& s : t.skipped) why += "; " + s.why;
  }
  if (residency_excluded) {
    return Fail(MakeError(ErrorCode::kPolicyBlocked,
                          fmt::format("request blocked by data residency policy: route '{}' has "
                                      "no deployment allowed to receive class {} data ({})",
                                      route, features.data_class, why)));
  }
  return Fail(MakeError(ErrorCode::kUnavailable,
                        fmt::format("no usable deployment on route '{}': {}", route, why)));
}

}  // namespace hybridgate::routing
