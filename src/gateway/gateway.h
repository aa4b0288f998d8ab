// The Gateway: HybridGate's request handler. Owns the immutable runtime (config, catalog of
// providers) and the per-worker state (upstream connection pools), and turns one HTTP exchange
// into decode -> authorize -> classify/plan -> admit (limits) -> execute -> encode -> log, ledger
// row and metrics. Endpoints: POST /v1/chat/completions, /v1/messages, /v1/completions,
// /v1/embeddings; GET /v1/models, /healthz, /readyz, /metrics; /admin/keys.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/chat_request.h"
#include "classify/sensitivity/scanner.h"
#include "config/config.h"
#include "gateway/accounting.h"
#include "gateway/admission.h"
#include "gateway/route_planner.h"
#include "http/client.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "limits/keys.h"
#include "metrics/metrics.h"
#include "routing/catalog.h"
#include "routing/policy.h"

namespace hybridgate::gateway {

namespace asio = boost::asio;

// The client's API dialect: decides the request decoder, the response and stream encoders and
// the shape of errors.
enum class Dialect : uint8_t { kOpenAi, kAnthropic };

// What the last readiness probe saw of one provider.
struct ProviderHealth {
  std::string name;
  bool probed = false;
  bool reachable = false;
  std::string detail;
};

class Gateway {
 public:
  // `config` must outlive the gateway.
  static Result<std::unique_ptr<Gateway>> Create(const config::Config& config);

  // Creates one connection pool per server worker and starts the readiness probes on worker 0.
  void Attach(http::Server& server);
  // Drops the per-worker pools; call after Server::Run() returns, while the worker contexts
  // their sockets belong to still exist.
  // Also drops the limiter, whose Redis connections belong to the worker contexts.
  void Detach() {
    pools_.clear();
    admission_->Detach();
  }
  asio::awaitable<void> Handle(http::Exchange& ex);

  std::vector<ProviderHealth> Health() const;
  // SIGHUP: re-reads the virtual keys (blocking; call off the event loops).
  void ReloadKeys() { admission_->ReloadKeys(); }

 private:
  explicit Gateway(const config::Config& config) : config_(config) {}

  // The sensitivity check: every text the request carries, plus the client's
  // x-hybridgate-data-class header, which may raise the class but never lower it.
  Result<sensitivity::Classification> Classify(std::span<const std::string_view> texts,
                                               const http::Request& request) const;
  // Classify, then plan for `model` at the request's data class (the same for every endpoint).
  // `cls` receives the classification (data_class 0 if the check itself failed).
  // `key` (may be null) raises the class to its floor and refuses classes above its ceiling.
  // With `route` (and `chat`), the route's tiers decide the candidates (`decision` receives
  // why); without, the model's deployments do.
  Result<routing::RoutePlan> ClassifyAndPlan(std::span<const std::string_view> texts,
                                             std::string_view model, const http::Request& request,
                                             const limits::KeyInfo* key,
                                             sensitivity::Classification& cls,
                                             const routing::Route* route = nullptr,
                                             const api::ChatRequest* chat = nullptr,
                                             routing::RouteDecision* decision = nullptr) const;
  // The caller's virtual key (null with auth off) and whether it may use `model`.
  Result<std::shared_ptr<const limits::KeyInfo>> Authorize(const http::Request& request,
                                                           std::string_view model);

  asio::awaitable<void> ChatCompletions(http::Exchange& ex, const std::string& id);
  // POST /v1/messages: Anthropic clients, served by any provider (OpenAI-compatible upstreams
  // answer through the Anthropic translators).
  asio::awaitable<void> Messages(http::Exchange& ex, const std::string& id);
  // Both chat dialects after decoding: classify, plan, execute, answer in `dialect`.
  asio::awaitable<void> ServeChat(http::Exchange& ex, const std::string& id, Dialect dialect,
                                  Result<api::ChatRequest> req);
  asio::awaitable<void> Forward(http::Exchange& ex, const std::string& id, std::string_view path);
  asio::awaitable<void> Models(http::Exchange& ex);
  asio::awaitable<void> Ready(http::Exchange& ex);
  asio::awaitable<void> ProbeLoop(http::Server& server);

  const config::Config& config_;
  std::unique_ptr<routing::Catalog> catalog_;
  std::optional<sensitivity::Scanner> scanner_;
  std::vector<std::unique_ptr<http::ClientPool>> pools_;  // one per worker
  mutable std::mutex health_mu_;
  std::vector<ProviderHealth> health_;
  metrics::Metrics metrics_;
  // Declared after what they use; the ledger flushes everything it queued when destroyed.
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<Accounting> accounting_;
  std::unique_ptr<RoutePlanner> planner_;
  uint64_t redis_errors_seen_ = 0;  // scrape-time deltas for the counters
  int64_t ledger_dropped_seen_ = 0;
};

}  // namespace hybridgate::gateway
