#include "gateway/route_planner.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <list>
#include <sstream>

#include "api/openai_chat.h"
#include "classify/body_strings.h"
#include "classify/complexity/heuristic.h"
#include "classify/complexity/learned_classifier.h"
#include "classify/request_texts.h"
#include "classify/sensitivity/scanner.h"
#include "gateway/shadow.h"
#include "routing/explain.h"

namespace hybridgate::gateway {

namespace {

std::string Key(const config::ProviderConfig& p, const config::ModelConfig& m) {
  return fmt::format("{}/{}", p.name, m.name);
}

// A tier's model entry, resolved against the config the way the catalog resolves it: an alias,
// "provider/model", or a model name served by one or more providers.
std::vector<routing::DeploymentInfo> Resolve(const config::Config& config, std::string_view name) {
  for (const auto& [alias, target] : config.aliases) {
    if (alias == name) name = target;
  }
  std::vector<routing::DeploymentInfo> out;
  for (const config::ProviderConfig& p : config.providers) {
    for (const config::ModelConfig& m : p.models) {
      std::string key = Key(p, m);
      if (m.name != name && key != name) continue;
      routing::DeploymentInfo d;
      d.key = std::move(key);
      d.provider = p.name;
      d.model = m.name;
      d.max_data_class = p.max_data_class;
      d.disabled_reason = p.disabled_reason;
      d.context_window = m.context_window;
      d.input_per_mtok = m.input_per_mtok;
      if (p.type == "local") {
        d.images = false;  // the embedded engine is text-only and has no tool calling yet
        d.tools = false;
        d.json_schema = false;
      }
      d.handle = &m;
      out.push_back(std::move(d));
    }
  }
  return out;
}

// Every name a tier entry can resolve (aliases, model names, "provider/model") with its
// deployments, so that requests read them in place instead of scanning the config.
routing::DeploymentTable BuildTable(const config::Config& config) {
  routing::DeploymentTable table;
  auto add = [&](const std::string& name) {
    if (table.contains(name)) return;
    if (auto d = Resolve(config, name); !d.empty()) table.emplace(name, std::move(d));
  };
  for (const auto& [alias, target] : config.aliases) add(alias);
  for (const config::ProviderConfig& p : config.providers) {
    for (const config::ModelConfig& m : p.models) {
      add(m.name);
      add(Key(p, m));
    }
  }
  return table;
}

}  // namespace

Result<std::unique_ptr<RoutePlanner>> RoutePlanner::Create(const config::Config& config) {
  std::unique_ptr<RoutePlanner> p(new RoutePlanner(config));
  p->deployments_ = BuildTable(config);
  for (const routing::Route& r : config.routes.routes) {
    if (r.classifier == routing::ClassifierKind::kLearned) {
      auto c = complexity::LearnedClassifier::Load(r.learned_model);
      if (!c) {
        return Fail(
            MakeError(ErrorCode::kInvalidRequest,
                      fmt::format("{}: routes.{}: {}", config.source, r.name, c.error().message)));
      }
      p->classifiers_[r.name] = std::move(*c);
    } else {
      p->classifiers_[r.name] = std::make_unique<complexity::HeuristicClassifier>();
    }
    if (r.breaker) p->route_breakers_[r.name] = std::make_unique<routing::BreakerSet>(*r.breaker);
  }
  auto exists = [&p](std::string_view name) { return p->deployments_.contains(name); };
  if (auto ok = routing::CheckRouteModels(config.routes, config.source, exists); !ok) {
    return Fail(std::move(ok.error()));
  }
  for (const routing::Route& r : config.routes.routes) {
    // The same deployment under another spelling ("provider/model", an alias) would compare the
    // incumbent with itself: every gate passes and the rollout proves nothing.
    if (r.rollout) {
      for (const routing::DeploymentInfo& c : p->Lookup(r.rollout->candidate)) {
        for (const routing::DeploymentInfo& i : p->Lookup(r.rollout->incumbent)) {
          if (c.key != i.key) continue;
          return Fail(MakeError(
              ErrorCode::kInvalidRequest,
              fmt::format("{}: routes.{}.rollout.candidate: '{}' is served by '{}', as the "
                          "incumbent '{}' is: a rollout needs another deployment",
                          config.source, r.name, r.rollout->candidate, c.key,
                          r.rollout->incumbent)));
        }
      }
    }
    for (size_t i = 0; i < r.shadow.size(); ++i) {
      const routing::ShadowTarget& t = r.shadow[i];
      for (const auto& [field, name] :
           {std::pair<std::string_view, const std::string*>{"deployment", &t.deployment},
            {"judge", &t.judge},
            {"embedding", &t.embedding}}) {
        if (name->empty() && field != "deployment") continue;
        if (!exists(*name)) {
          return Fail(MakeError(ErrorCode::kInvalidRequest,
                                fmt::format("{}: routes.{}.shadow[{}].{}: '{}' is not a "
                                            "configured model (a model name, alias or "
                                            "provider/model)",
                                            config.source, r.name, i, field, *name)));
        }
      }
      for (const quality::ComparatorSpec& spec : ShadowComparators(t)) {
        if (auto made = quality::MakeComparator(spec); !made) {
          return Fail(MakeError(
              ErrorCode::kInvalidRequest,
              fmt::format("{}: routes.{}.shadow[{}].compare: {}{}", config.source, r.name, i,
                          made.error().message,
                          quality::ComparatorNeedsModel(spec.name)
                              ? fmt::format(" (set routes.{}.shadow[{}].{})", r.name, i, spec.name)
                              : "")));
        }
      }
    }
  }
  return p;
}

std::vector<routing::DeploymentInfo> RoutePlanner::Lookup(std::string_view name) const {
  const auto it = deployments_.find(name);
  return it == deployments_.end() ? std::vector<routing::DeploymentInfo>{} : it->second;
}

Result<routing::RouteSelection> RoutePlanner::Select(std::string_view header,
                                                     std::string_view model,
                                                     std::string_view team) const {
  return routing::SelectRoute(config_.routes, header, model, team);
}

Result<routing::RoutePlan> RoutePlanner::Plan(const routing::Route& route,
                                              const api::ChatRequest& req, int data_class,
                                              const std::vector<std::string>& finding_types,
                                              const routing::Catalog& catalog,
                                              routing::RouteDecision& decision) {
  const complexity::Classifier& classifier = *classifiers_.at(route.name);
  complexity::Features features = complexity::Classify(classifier, req);
  features.data_class = data_class;
  routing::BreakerSet& breakers = BreakersFor(route);
  decision = routing::Choose(route, std::move(features), deployments_,
                             [&breakers](std::string_view key) { return breakers.StateOf(key); });
  balancers_.Apply(decision, &stats_);
  if (decision.candidates.empty()) {
    if (decision.residency_excluded && !route.tiers.empty() &&
        !route.tiers.front().deployments.empty()) {
      // Same rule as plain model routing: the class's residency action decides.
      auto fallback =
          routing::PlanForRequest({.model = route.tiers.front().deployments.front().model,
                                   .data_class = data_class,
                                   .finding_types = finding_types},
                                  catalog);
      if (fallback) fallback->stats = &stats_;
      return fallback;
    }
    if (auto st = decision.ToStatus(); !st) return Fail(std::move(st.error()));
  }
  routing::RoutePlan plan;
  plan.candidates.reserve(decision.candidates.size());
  for (const routing::RouteCandidate& c : decision.candidates) {
    for (const routing::Deployment& d : catalog.Find(c.deployment().key)) {
      // No reason text: the decision keeps why (RouteDecision::Explain writes it on demand).
      plan.candidates.push_back(
          {.deployment = d, .tier_index = static_cast<int>(c.tier_index), .tier = c.tier});
    }
  }
  plan.retry = route.retries;
  plan.deadlines = route.deadlines;
  plan.escalation = route.escalation;
  plan.panic = decision.panic;
  plan.stats = &stats_;  // the executor feeds what balancers_ read
  return plan;
}

std::string_view RoutePlanner::TierOf(const routing::RouteDecision& decision,
                                      const routing::Deployment& d) {
  for (const routing::RouteCandidate& c : decision.candidates) {
    if (c.deployment().handle == d.model) return c.tier;
  }
  return {};
}

routing::BreakerSet& RoutePlanner::BreakersFor(const routing::Route& route) {
  const auto it = route_breakers_.find(route.name);
  return it == route_breakers_.end() ? breakers_ : *it->second;
}

void RoutePlanner::ForEachBreaker(
    const std::function<void(std::string_view, routing::BreakerState)>& f) const {
  // Worst first: open, half-open, closed.
  auto rank = [](routing::BreakerState s) {
    return s == routing::BreakerState::kOpen ? 2 : s == routing::BreakerState::kHalfOpen ? 1 : 0;
  };
  std::map<std::string, routing::BreakerState, std::less<>> worst;
  auto take = [&](std::string_view key, routing::BreakerState s) {
    auto [it, fresh] = worst.try_emplace(std::string(key), s);
    if (!fresh && rank(s) > rank(it->second)) it->second = s;
  };
  breakers_.ForEach(take);
  for (const auto& [name, set] : route_breakers_) set->ForEach(take);
  for (const auto& [key, state] : worst) f(key, state);
}

int RunRouteExplain(const std::string& config_path, const std::string& request_path,
                    const std::string& route_header, const std::string& team) {
  auto cfg = config::LoadConfig(config_path);
  if (!cfg) {
    std::cerr << cfg.error().message << "\n";
    return 2;
  }
  std::ifstream in(request_path);
  if (!in) {
    std::cerr << "route explain: cannot read " << request_path << "\n";
    return 2;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string body = buffer.str();
  auto req = api::DecodeOpenAiChat(body);
  if (!req) {
    std::cerr << "route explain: " << request_path << ": " << req.error().message << "\n";
    return 2;
  }
  auto planner = RoutePlanner::Create(*cfg);
  if (!planner) {
    std::cerr << planner.error().message << "\n";
    return 2;
  }
  auto sel = (*planner)->Select(route_header, req->model, team);
  if (!sel) {
    std::cerr << "route explain: " << sel.error().message << "\n";
    return 2;
  }
  if (!sel->route) {
    std::cout
        << fmt::format(
               R"({{"route":null,"why":"model '{}' selects no route: plain model routing applies"}})",
               req->model)
        << "\n";
    return 0;
  }
  auto scanner = sensitivity::Scanner::Create(cfg->sensitivity);
  if (!scanner) {
    std::cerr << "route explain: sensitivity: " << scanner.error().message << "\n";
    return 2;
  }
  // The class the gateway gives it: every string of the request body.
  classify::BodyStrings strings;
  if (auto s = classify::CollectBodyStrings(body, strings); !s) {
    std::cerr << "route explain: " << s.error().message << "\n";
    return 2;
  }
  const int data_class = classify::ClassifyStrings(*scanner, cfg->residency, strings).data_class;
  const complexity::HeuristicClassifier heuristic;
  complexity::Features features = complexity::Classify(heuristic, *req);
  if (sel->route->classifier == routing::ClassifierKind::kLearned) {
    auto learned = complexity::LearnedClassifier::Load(sel->route->learned_model);
    if (!learned) {
      std::cerr << learned.error().message << "\n";
      return 2;
    }
    features = complexity::Classify(**learned, *req);
  }
  features.data_class = data_class;
  routing::RouteDecision decision = routing::Choose(
      *sel->route, features, [&](std::string_view m) { return (*planner)->Lookup(m); });
  decision.route_why = sel->Why();
  std::cout << routing::ExplainJson(decision) << "\n";
  return 0;
}

}  // namespace hybridgate::gateway
