// The config's scheduled evals (`evals:`, config::ScheduledEvalConfig) made ready to run: each
// suite and pinned baseline read, and each key taken from its variable, when a runtime is built
// (at start and on every reload), so a missing file or variable is a config error then and not a
// failed run days later. The gateway runs them (gateway/scheduled_evals.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "eval/cases.h"
#include "eval/suite.h"

namespace hybridgate::eval {

struct ScheduledSuite {
  const config::ScheduledEvalConfig* config = nullptr;  // into the config it was loaded from
  std::vector<SuiteCase> cases;
  std::map<std::string, double> baseline;  // the pinned baseline's scores; empty without one
  RunOptions options;                      // models, judge, embedding, key, concurrency
};

// Errors name the config file and the eval: a suite or baseline that cannot be read or parsed,
// `key_env` naming an unset or empty variable, no `key_env` while the gateway requires keys
// (limits.auth_required), or a model, judge or embedding model the config does not serve.
Result<std::vector<ScheduledSuite>> LoadScheduled(const config::Config& cfg);

}  // namespace hybridgate::eval
