// `hybridgate eval`'s run: a gateway is started in this process on the config (loopback, an
// ephemeral port, one worker, none of the config's scheduled evals) and the suite's cases go to
// it as a client's requests (cases.h), admitted against --key's budget and limits and metered in
// the config's ledger like any client's.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "eval/cases.h"
#include "eval/result.h"
#include "eval/suite.h"

namespace hybridgate::eval {

// The suite through each model, scored (CaseRun). Once `stop` is set no new case starts, and the
// gateway's shutdown ends (and meters) what is in flight. An error when the gateway cannot start
// on `config`, a model is not served by it or is listed twice.
Result<EvalResult> Run(config::Config config, const std::vector<SuiteCase>& suite,
                       const RunOptions& options,
                       const std::function<void(size_t, size_t)>& progress,
                       const std::atomic<bool>& stop);

}  // namespace hybridgate::eval
