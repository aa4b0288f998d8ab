#include "routing/routes.h"

#include <fmt/format.h>

namespace hybridgate::routing {
namespace {

std::string Num(double v) { return fmt::format("{:.2f}", v); }

// Which of a tier's conditions rejects the request; kNone when they all hold.
WhyCode TierRejects(const TierConditions& w, const complexity::Features& f) {
  if (w.max_complexity && f.complexity > *w.max_complexity) return WhyCode::kComplexityAbove;
  if (w.min_complexity && f.complexity < *w.min_complexity) return WhyCode::kComplexityBelow;
  if (w.max_data_class && f.data_class > *w.max_data_class) return WhyCode::kTierDataClass;
  if (w.max_input_tokens && f.est_input_tokens > *w.max_input_tokens) {
    return WhyCode::kTierInputTokens;
  }
  auto tri = [](Tri t, bool has, WhyCode wants, WhyCode takes_none) {
    if (t == Tri::kYes && !has) return wants;
    if (t == Tri::kNo && has) return takes_none;
    return WhyCode::kNone;
  };
  for (WhyCode c :
       {tri(w.images, f.has_images, WhyCode::kTierWantsImages, WhyCode::kTierTakesNoImages),
        tri(w.tools, f.has_tools, WhyCode::kTierWantsTools, WhyCode::kTierTakesNoTools),
        tri(w.json_schema, f.wants_json_schema, WhyCode::kTierWantsJsonSchema,
            WhyCode::kTierTakesNoJsonSchema)}) {
    if (c != WhyCode::kNone) return c;
  }
  return WhyCode::kNone;
}

// Why a deployment cannot serve the request (breakers aside); kNone when it can.
WhyCode DeploymentRejects(const DeploymentInfo& d, const Tier& tier,
                          const complexity::Features& f) {
  if (const WhyCode why = DeploymentUnfit(d, f); why != WhyCode::kNone) return why;
  if (tier.when.max_cost_per_mtok && d.input_per_mtok > *tier.when.max_cost_per_mtok) {
    return WhyCode::kOverCostCeiling;
  }
  return WhyCode::kNone;
}

SkippedDeployment Skipped(const DeploymentInfo& d, WhyCode code) {
  SkippedDeployment s{.key = d.key,
                      .code = code,
                      .max_data_class = d.max_data_class,
                      .context_window = d.context_window,
                      .input_per_mtok = d.input_per_mtok};
  if (code == WhyCode::kResidency || code == WhyCode::kDisabled) s.provider = d.provider;
  if (code == WhyCode::kDisabled) s.disabled_reason = d.disabled_reason;
  return s;
}

// The model entry's deployments from a ModelLookup (a copy the decision keeps) or a
// DeploymentTable (in place).
const std::vector<DeploymentInfo>& Resolve(const ModelLookup& models, std::string_view model,
                                           RouteDecision& out) {
  out.resolved.push_back(std::make_shared<const std::vector<DeploymentInfo>>(models(model)));
  return *out.resolved.back();
}
const std::vector<DeploymentInfo>& Resolve(const DeploymentTable& table, std::string_view model,
                                           RouteDecision&) {
  static const std::vector<DeploymentInfo> kNoDeployments;
  const auto it = table.find(model);
  return it == table.end() ? kNoDeployments : it->second;
}

template <typename Models>
RouteDecision ChooseFrom(const Route& route, complexity::Features features_in, const Models& models,
                         const HealthLookup& health) {
  RouteDecision out;
  out.route = route.name;
  out.features = std::move(features_in);
  const complexity::Features& features = out.features;
  out.tiers.reserve(route.tiers.size());
  // Deployments skipped only for an open breaker, kept for the last resort.
  std::vector<std::pair<size_t, RouteCandidate>> open_circuit;
  for (size_t ti = 0; ti < route.tiers.size(); ++ti) {
    const Tier& tier = route.tiers[ti];
    TierDecision& td = out.tiers.emplace_back();
    td.name = tier.name;
    td.balance = tier.balance;
    td.when = tier.when;
    td.code = TierRejects(tier.when, features);
    if (td.code != WhyCode::kNone) continue;
    std::vector<RouteCandidate> probes;
    for (const TierDeployment& entry : tier.deployments) {
      const std::vector<DeploymentInfo>& deployments = Resolve(models, entry.model, out);
      if (deployments.empty()) {
        td.skipped.push_back({.key = entry.model, .code = WhyCode::kUnknownModel});
        continue;
      }
      for (const DeploymentInfo& d : deployments) {
        if (const WhyCode no = DeploymentRejects(d, tier, features); no != WhyCode::kNone) {
          out.residency_excluded = out.residency_excluded || no == WhyCode::kResidency;
          td.skipped.push_back(Skipped(d, no));
          continue;
        }
        const BreakerState state = health ? health(d.key) : BreakerState::kClosed;
        if (state == BreakerState::kOpen) {
          open_circuit.emplace_back(ti, RouteCandidate{.info = &d,
                                                       .tier = tier.name,
                                                       .tier_index = ti,
                                                       .weight = entry.weight,
                                                       .code = WhyCode::kLastResort});
          td.skipped.push_back({.key = d.key, .code = WhyCode::kCircuitOpen});
          continue;
        }
        std::vector<RouteCandidate>& into =
            state == BreakerState::kHalfOpen ? probes : td.candidates;
        into.push_back(
            {.info = &d,
             .tier = tier.name,
             .tier_index = ti,
             .weight = entry.weight,
             .probe = state == BreakerState::kHalfOpen,
             .code = state == BreakerState::kHalfOpen ? WhyCode::kProbe : WhyCode::kAccepted});
      }
    }
    for (RouteCandidate& p : probes) td.candidates.push_back(std::move(p));
    td.eligible = !td.candidates.empty();
    td.code = td.eligible ? WhyCode::kTierServes : WhyCode::kNoUsableDeployment;
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

// What the request's features are against a serving tier's limits.
std::string TierAccepts(const TierConditions& w, const complexity::Features& f) {
  std::string why = fmt::format("complexity {}", Num(f.complexity));
  if (w.max_complexity) why += fmt::format(" <= {}", Num(*w.max_complexity));
  if (w.min_complexity) why += fmt::format(" >= {}", Num(*w.min_complexity));
  if (w.max_input_tokens) {
    why += fmt::format(", ~{} tokens <= {}", f.est_input_tokens, *w.max_input_tokens);
  }
  return why;
}

// Why a tier's conditions reject the request.
std::string TierRejectText(WhyCode code, const TierConditions& w, const complexity::Features& f) {
  switch (code) {
    case WhyCode::kComplexityAbove:
      return fmt::format("complexity {} > {}", Num(f.complexity), Num(*w.max_complexity));
    case WhyCode::kComplexityBelow:
      return fmt::format("complexity {} < {}", Num(f.complexity), Num(*w.min_complexity));
    case WhyCode::kTierDataClass:
      return fmt::format("data class {} > tier max {}", f.data_class, *w.max_data_class);
    case WhyCode::kTierInputTokens:
      return fmt::format("~{} input tokens > {}", f.est_input_tokens, *w.max_input_tokens);
    case WhyCode::kTierWantsImages:
      return "tier is for requests with images";
    case WhyCode::kTierTakesNoImages:
      return "request has images; tier takes none";
    case WhyCode::kTierWantsTools:
      return "tier is for requests with tools";
    case WhyCode::kTierTakesNoTools:
      return "request has tools; tier takes none";
    case WhyCode::kTierWantsJsonSchema:
      return "tier is for requests with a JSON schema";
    case WhyCode::kTierTakesNoJsonSchema:
      return "request has a JSON schema; tier takes none";
    default:
      return "no usable deployment";
  }
}

std::string TierText(const TierDecision& t, const complexity::Features& f) {
  if (t.code == WhyCode::kTierServes) return fmt::format("{}: {}", t.name, TierAccepts(t.when, f));
  return fmt::format("skipped {}: {}", t.name, TierRejectText(t.code, t.when, f));
}

// Why a deployment cannot serve the request, as Skipped() recorded it.
std::string DeploymentRejectText(const SkippedDeployment& s, const TierConditions& w,
                                 const complexity::Features& f) {
  switch (s.code) {
    case WhyCode::kResidency:
      return fmt::format("data class {} > max {} of provider {}", f.data_class, s.max_data_class,
                         s.provider);
    case WhyCode::kDisabled:
      return fmt::format("provider {} is disabled: {}", s.provider, s.disabled_reason);
    case WhyCode::kContextWindow:
      return fmt::format("~{} input tokens > context window {}", f.est_input_tokens,
                         s.context_window);
    case WhyCode::kNotMultimodal:
      return "request has images; model is not multimodal";
    case WhyCode::kNoToolSupport:
      return "request uses tools; model does not support them";
    case WhyCode::kNoJsonSchemaSupport:
      return "request asks for a JSON schema; model does not support structured output";
    case WhyCode::kOverCostCeiling:
      return fmt::format("input ${}/Mtok > tier ceiling ${}", Num(s.input_per_mtok),
                         Num(w.max_cost_per_mtok.value_or(0)));
    default:
      return "circuit open";
  }
}

std::string SkippedText(const SkippedDeployment& s, const TierDecision& t,
                        const complexity::Features& f) {
  if (s.code == WhyCode::kUnknownModel) return fmt::format("unknown model '{}'", s.key);
  return fmt::format("skipped {}: {}", s.key, DeploymentRejectText(s, t.when, f));
}

std::string CandidateText(const RouteCandidate& c, const RouteDecision& d) {
  switch (c.code) {
    case WhyCode::kLastResort:
      return fmt::format("{} (tier {}): circuit open; last resort", c.deployment().key, c.tier);
    case WhyCode::kProbe:
      return fmt::format("{} (tier {}): circuit half-open, probe", c.deployment().key, c.tier);
    default: {
      const TierConditions when =
          c.tier_index < d.tiers.size() ? d.tiers[c.tier_index].when : TierConditions{};
      return fmt::format("{} (tier {}): {}", c.deployment().key, c.tier,
                         TierAccepts(when, d.features));
    }
  }
}

}  // namespace

WhyCode DeploymentUnfit(const DeploymentInfo& d, const complexity::Features& f) {
  if (f.data_class > d.max_data_class) return WhyCode::kResidency;
  if (!d.disabled_reason.empty()) return WhyCode::kDisabled;
  if (d.context_window > 0 && f.est_input_tokens > d.context_window) {
    return WhyCode::kContextWindow;
  }
  if (f.has_images && d.images == false) return WhyCode::kNotMultimodal;
  if (f.has_tools && d.tools == false) return WhyCode::kNoToolSupport;
  if (f.wants_json_schema && d.json_schema == false) return WhyCode::kNoJsonSchemaSupport;
  return WhyCode::kNone;
}

RouteDecision Choose(const Route& route, const complexity::Features& features,
                     const ModelLookup& models, const HealthLookup& health) {
  RouteDecision out = ChooseFrom(route, features, models, health);
  out.Explain();
  return out;
}

RouteDecision Choose(const Route& route, complexity::Features features,
                     const DeploymentTable& table, const HealthLookup& health) {
  return ChooseFrom(route, std::move(features), table, health);
}

void RouteDecision::Explain() {
  for (TierDecision& t : tiers) {
    t.why = TierText(t, features);
    for (SkippedDeployment& s : t.skipped) s.why = SkippedText(s, t, features);
    for (RouteCandidate& c : t.candidates) c.why = CandidateText(c, *this);
  }
  for (RouteCandidate& c : candidates) c.why = CandidateText(c, *this);
}

void RouteDecision::Flatten() {
  size_t n = 0;
  for (const TierDecision& t : tiers) n += t.candidates.size();
  // Copied over the elements already there: flattening again (after a Balancer) reuses their
  // strings' storage instead of allocating anew.
  candidates.resize(n);
  auto into = candidates.begin();
  for (const TierDecision& t : tiers) {
    for (const RouteCandidate& c : t.candidates) *into++ = c;
  }
}

Status RouteDecision::ToStatus() const {
  if (!candidates.empty()) return {};
  std::string why;
  for (const TierDecision& t : tiers) {
    if (!why.empty()) why += "; ";
    why += TierText(t, features);
    for (const SkippedDeployment& s : t.skipped) {
      why += "; ";
      why += SkippedText(s, t, features);
    }
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
