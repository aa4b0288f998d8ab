// The Runtime: everything built from one config file (providers, routes, detectors, prices and
// what the readiness probes saw of each provider), replaced whole on reload. A request holds the
// runtime it started with for its whole life, so a reload never changes the rules under an
// in-flight request; a replaced runtime (its providers, breakers, an embedded engine) is freed
// once no request holds it any more.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "classify/sensitivity/scanner.h"
#include "config/config.h"
#include "eval/scheduled.h"
#include "gateway/accounting.h"
#include "gateway/route_planner.h"
#include "routing/catalog.h"

namespace hybridgate::gateway {

// What the last readiness probe saw of one provider (readiness.h).
struct ProviderHealth {
  std::string name;
  bool probed = false;
  bool reachable = false;
  std::string detail;
};

struct Runtime {
  explicit Runtime(config::Config c) : config(std::move(c)) {}
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const config::Config config;  // everything below points into it
  std::unique_ptr<routing::Catalog> catalog;
  std::optional<sensitivity::Scanner> scanner;
  std::unique_ptr<RoutePlanner> planner;
  std::unique_ptr<Accounting> accounting;
  std::vector<eval::ScheduledSuite> evals;  // config.evals, loaded (scheduled_evals.h)
  // What the readiness probes saw, by provider index (written by the probe loop on worker 0).
  mutable std::mutex health_mu;
  mutable std::vector<ProviderHealth> health;

  std::vector<ProviderHealth> Health() const {
    std::lock_guard lock(health_mu);
    return health;
  }
};

}  // namespace hybridgate::gateway
