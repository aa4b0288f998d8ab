// Runs an eval suite through the gateway's own request path: a gateway is started in this
// process on the config (loopback, an ephemeral port, one worker), and every answer and every
// comparator model call (a judge's chat, an embedding model's vectors) is an ordinary request
// to it — routed, held to residency by the egress gate, admitted against --key's budget and
// limits, and metered in the config's ledger like any client's. Nothing here reaches a provider
// on its own.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "eval/result.h"
#include "eval/suite.h"

namespace hybridgate::eval {

struct RunOptions {
  std::vector<std::string> models;  // names as a client would send them
  std::string judge;                // a model for the pairwise judge; "" for none
  std::string embedding;            // an embeddings model; "" for none
  std::string key;                  // a virtual key, sent as a bearer token; "" for none
  int concurrency = 4;              // cases in flight at once
  std::string suite_name;
};

// Each model's answers to every case, scored: with a reference, `exact` and, when their models
// are given, `embedding` and `judge` (the answer against the reference); with a schema, whether
// the answer conforms to it (`json_schema`). An answer that a concrete model did not give itself
// (residency or a fallback served it elsewhere) is a failed case, not the model's. Comparators
// that give no score are listed with the case. `progress(done, total)` is called after each
// case; once `stop` is set no new case starts, and the gateway's shutdown ends (and meters) what
// is in flight. An error when the gateway cannot start on `config`, a model is not served by it
// or is listed twice.
Result<EvalResult> Run(config::Config config, const std::vector<SuiteCase>& suite,
                       const RunOptions& options,
                       const std::function<void(size_t, size_t)>& progress,
                       const std::atomic<bool>& stop);

}  // namespace hybridgate::eval
