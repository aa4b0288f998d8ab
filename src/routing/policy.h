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

namespace hybridgate::routing {

struct Candidate {
  Deployment deployment;
  std::string reason;
};

struct Excluded {
  Deployment deployment;
  std::string reason;
};

struct RoutePlan {
  std::vector<Candidate> candidates;
  std::vector<Excluded> excluded;
};

// Plans for a request naming `model`. Unknown model -> not_found listing what exists; known but
// every deployment unusable -> unavailable saying why.
Result<RoutePlan> PlanForModel(std::string_view model, const Catalog& catalog);

}  // namespace hybridgate::routing
