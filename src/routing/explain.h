// `hybridgate route explain`: the routing decision for a request as JSON — which route and why,
// the request's features (complexity and its top contributions), every tier considered or
// skipped with the reason, and the final ordered candidates. Nothing is sent anywhere.
#pragma once

#include <string>

#include "routing/routes.h"

namespace hybridgate::routing {

// Compact JSON:
// {"route":…, "route_why":…, "features":{…, "complexity":…, "classifier":…, "top":[{name,value}]},
//  "tiers":[{"name","eligible","balance","why","candidates":[key…],"skipped":[{key,why}]}],
//  "candidates":[{"order","key","provider","model","tier","weight","probe","why"}],
//  "status":"ok" | {"code","message"}}
// `decision` must be explained (RouteDecision::Explain, or Choose with a ModelLookup): the `why`
// fields are written as they are.
std::string ExplainJson(const RouteDecision& decision);

}  // namespace hybridgate::routing
