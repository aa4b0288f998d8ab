#include "routing/catalog.h"

#include <fmt/format.h>

namespace hybridgate::routing {

Result<std::unique_ptr<Catalog>> Catalog::Build(const config::Config& config,
                                                const providers::Registry& registry) {
  std::unique_ptr<Catalog> c(new Catalog(config));
  for (const config::ProviderConfig& pc : config.providers) {
    auto p = registry.Create(pc);
    if (!p) return Fail(std::move(p.error()));
    c->providers_.push_back(std::move(*p));
    const providers::Provider* provider = c->providers_.back().get();
    for (const config::ModelConfig& m : pc.models) {
      // The map's node keeps the "provider/model" string where the deployments can point at it.
      const auto qualified = c->by_name_.try_emplace(fmt::format("{}/{}", pc.name, m.name)).first;
      const Deployment d{provider, &m, qualified->first};
      qualified->second.push_back(d);
      c->by_name_[m.name].push_back(d);
    }
  }
  for (const auto& [alias, target] : config.aliases) {
    if (!c->by_name_.count(target)) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            fmt::format("{}: alias '{}' points at unknown model '{}'",
                                        config.source, alias, target)));
    }
    c->aliases_[alias] = target;
  }
  const std::string& fallback = config.residency.fallback_model;
  if (!fallback.empty() && c->Lookup(fallback).empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: residency.fallback_model '{}' is not a configured model",
                                      config.source, fallback)));
  }
  return c;
}

std::vector<Deployment> Catalog::Lookup(std::string_view name) const {
  const std::span<const Deployment> found = Find(name);
  return {found.begin(), found.end()};
}

std::span<const Deployment> Catalog::Find(std::string_view name) const {
  if (auto a = aliases_.find(name); a != aliases_.end()) name = a->second;
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return {};
  return it->second;
}

std::vector<std::pair<std::string, std::string>> Catalog::PublicModels() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& pc : config_.providers) {
    for (const auto& m : pc.models) {
      bool seen = false;
      for (const auto& o : out) seen = seen || o.first == m.name;
      if (!seen) out.emplace_back(m.name, pc.name);
    }
  }
  for (const auto& [alias, target] : aliases_) out.emplace_back(alias, "hybridgate");
  return out;
}

}  // namespace hybridgate::routing
