// A suite's cases sent to a running gateway over HTTP, as a client sends them: every answer and
// every comparator model call (a judge's chat, an embedding model's vectors) is an ordinary
// request — routed, held to residency by the egress gate, admitted against the key's budget and
// limits, and metered in the ledger. Used by `hybridgate eval` (run.h, against a gateway it starts
// in the process) and by the gateway's scheduled evals (against itself, on loopback). Nothing
// here reaches a provider on its own.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
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

// Where the gateway listens: an IP address (v4 or v6) and a port.
struct Endpoint {
  std::string address;
  uint16_t port = 0;
};

// Whether `model` is one `cfg` serves: in `listed` (GET /v1/models' ids, or the config's model
// names and aliases), a route or a route's alias, or "provider/model". The error names it.
Status CheckModel(const config::Config& cfg, const std::set<std::string>& listed,
                  std::string_view model);
// The model names and aliases of `cfg` (what GET /v1/models lists).
std::set<std::string> ConfiguredModels(const config::Config& cfg);

// One run of a suite through each model. Each model's answers to every case are scored: with a
// reference, `exact` and, when their models are given, `embedding` and `judge` (the answer
// against the reference); with a schema, whether the answer conforms to it (`json_schema`). An
// answer that a concrete model did not give itself (residency or a fallback served it
// elsewhere) is a failed case, not the model's. Comparators that give no score are listed with
// the case.
class CaseRun {
 public:
  // `cfg`, `suite` and `options` must outlive the run. `progress(done, total)` is called after
  // each case; once `stop` is set no new case starts.
  CaseRun(const config::Config& cfg, const std::vector<SuiteCase>& suite, const RunOptions& options,
          Endpoint at, std::function<void(size_t, size_t)> progress, const std::atomic<bool>& stop);
  ~CaseRun();
  CaseRun(const CaseRun&) = delete;
  CaseRun& operator=(const CaseRun&) = delete;

  // Checks that the gateway serves every model (GET /v1/models), then runs the cases,
  // `options.concurrency` at once, on the calling coroutine's executor. An error when a model is
  // not served or the gateway cannot be reached for that check.
  boost::asio::awaitable<Result<EvalResult>> Run();
  // Ends every exchange in flight now (its case fails): for a run that was stopped, once waiting
  // for the gateway to end them is over. On the run's executor.
  void CancelAll();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybridgate::eval
