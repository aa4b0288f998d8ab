// The Catalog: every model the gateway can serve, by public name, with the deployments (provider +
// upstream model id) that serve it. Built once from Config and the provider adapters; immutable.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "providers/provider.h"

namespace hybridgate::routing {

struct Deployment {
  const providers::Provider* provider = nullptr;
  const config::ModelConfig* model = nullptr;
  // "provider/model", owned by the catalog that made this; empty in a hand-built one (KeyOf()
  // then formats it).
  std::string_view key;
};

class Catalog {
 public:
  // Creates a provider adapter per config entry. `config` must outlive the catalog.
  static Result<std::unique_ptr<Catalog>> Build(const config::Config& config,
                                                const providers::Registry& registry);

  // Deployments serving `name`: a public model name, an alias, or "provider/model".
  // Empty when nothing matches.
  std::vector<Deployment> Lookup(std::string_view name) const;
  // The same without a copy: a view into the catalog, valid as long as it is.
  std::span<const Deployment> Find(std::string_view name) const;
  // Public names (models and aliases) for /v1/models, each with its first provider's name.
  std::vector<std::pair<std::string, std::string>> PublicModels() const;

  const std::vector<std::unique_ptr<providers::Provider>>& providers() const { return providers_; }
  const config::Config& config() const { return config_; }

 private:
  explicit Catalog(const config::Config& config) : config_(config) {}

  const config::Config& config_;
  std::vector<std::unique_ptr<providers::Provider>> providers_;
  std::map<std::string, std::vector<Deployment>, std::less<>> by_name_;
  std::map<std::string, std::string, std::less<>> aliases_;
};

}  // namespace hybridgate::routing
