// The Gateway: HybridGate's request pipeline. Owns the current Runtime (runtime.h: everything
// built from the config, replaced whole on reload) and the per-worker state (upstream connection
// pools), and turns one HTTP exchange into decode -> authorize -> classify/plan -> admit (limits)
// -> execute -> encode -> log, ledger row and metrics. Its routing table: the registered client
// dialects' model calls (POST /v1/chat/completions, /v1/messages, /v1/responses,
// /v1beta/models/{model}:generateContent and :streamGenerateContent) and their other endpoints
// (count_tokens, countTokens, embedContent, model lists: dialect_endpoints.cc); /v1/completions,
// /v1/embeddings; stored responses (responses_api.cc); GET /v1/models, /healthz, /metrics. Parts
// with a job of their own answer the rest: readiness (readiness.h, /readyz and the probes), the
// admin API (admin_api.h, /admin/keys), feedback (feedback_api.h, POST /v1/feedback) and the
// dashboard (dashboard/dashboard.h, /ui and /admin/api/).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/chat_request.h"
#include "background/runner.h"
#include "classify/sensitivity/scanner.h"
#include "common/pooled.h"
#include "config/config.h"
#include "dashboard/dashboard.h"
#include "dialects/dialect.h"
#include "gateway/accounting.h"
#include "gateway/admin_api.h"
#include "gateway/admission.h"
#include "gateway/client_dialect.h"
#include "gateway/feedback_api.h"
#include "gateway/readiness.h"
#include "gateway/response_store.h"
#include "gateway/rollouts.h"
#include "gateway/route_planner.h"
#include "gateway/runtime.h"
#include "gateway/scheduled_evals.h"
#include "gateway/settlement.h"
#include "gateway/shadow.h"
#include "http/client.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "limits/keys.h"
#include "metrics/metrics.h"
#include "routing/catalog.h"
#include "routing/egress.h"
#include "routing/policy.h"

namespace hybridgate::gateway {

struct ChatState;     // chat_state.h
struct ForwardState;  // chat_state.h

// A dialect's embeddings request forwarded as OpenAI's /embeddings (dialect_endpoints.cc): the
// translated body is what is sent, while the client's body as received is what is classified
// (every string it sent), and answers and errors are written by `dialect`.
struct ForwardVia {
  const dialects::ClientDialect* dialect = nullptr;
  std::string_view log_path;  // the client's path, for the log line
  std::string body;           // the OpenAI body
  // The client's own request for a deployment whose upstream speaks its dialect (Gemini's
  // embedContent at a `gemini` provider), whose answer then goes back as it is; kNotFound for
  // the others, which get `body`. Unused for a redacted request (its original strings).
  routing::NativeEncode native;
};

namespace asio = boost::asio;

class Gateway {
 public:
  // `config` must outlive the gateway: the server, ledger and limits sections are read from it
  // once (changing them takes a restart); the rest is copied into the first Runtime.
  static Result<std::unique_ptr<Gateway>> Create(const config::Config& config);

  // Creates one connection pool per server worker and starts the readiness probes on worker 0.
  // /metrics then also counts the server's failed accepts and escaped exceptions.
  void Attach(http::Server& server);
  // Drops the per-worker pools; call after Server::Run() returns, while the worker contexts
  // their sockets belong to still exist.
  // Also drops the limiter, whose Redis connections belong to the worker contexts.
  void Detach() {
    pools_.clear();
    admission_->Detach();
    server_ = nullptr;
    readiness_.Stop();
  }
  // Stops the threads of the stores whose answers resume requests on the worker contexts (the
  // Responses API's, feedback's): call after Server::Run() returns and before the server goes.
  void CloseStores();
  asio::awaitable<void> Handle(http::Exchange& ex);

  // Hot reload: builds a Runtime from `config` (providers, routes, residency, detectors,
  // prices, aliases) and, only if all of it is valid, makes it the one new requests get;
  // requests in flight finish on the old one. On error nothing changes. Readiness carries over
  // for unchanged providers, and the probe loop starts a round at once for the others.
  // Blocking (an embedded engine loads its model): call off the event loops. Sections that need
  // a restart (server, ledger, limits) are compared and a warning is logged when they differ.
  Status Reload(config::Config config);
  // Frees replaced runtimes that no request holds any more (their embedded engines join their
  // threads, so this also runs off the event loops). Returns how many are still held.
  size_t ReleaseRetired();
  // SIGHUP: re-reads the virtual keys (blocking; call off the event loops).
  void ReloadKeys() { admission_->ReloadKeys(); }

  // Starts the canary rollouts' controller (gateway/rollouts.h): `serve` only, so that a
  // gateway in `eval` or `config check` neither moves nor counts toward a rollout.
  void StartRollouts() { rollouts_.Start(); }

  // The runtime new requests get.
  std::shared_ptr<const Runtime> runtime() const {
    std::lock_guard lock(runtime_mu_);
    return runtime_;
  }

 private:
  explicit Gateway(const config::Config& config) : config_(config) {}

  // Builds every config-derived part; errors name the config file.
  Result<std::shared_ptr<Runtime>> BuildRuntime(config::Config config);

  // The sensitivity check over every string of a JSON body (keys and values at any depth,
  // unescaped, JSON inside strings; classify/body_strings.h), plus the client's
  // x-hybridgate-data-class header, which may raise the class but never lower it.
  // `estimated_tokens` (optional) receives a token estimate of those strings.
  static Result<sensitivity::Classification> ClassifyBody(const Runtime& rt, std::string_view body,
                                                          const http::Request& request,
                                                          int64_t* estimated_tokens = nullptr);
  // The same over given texts (a redacted request's), for findings placed in those texts.
  static Result<sensitivity::Classification> Classify(const Runtime& rt,
                                                      std::span<const std::string_view> texts,
                                                      const http::Request& request);
  // Plans for `model` at `cls`'s class (the same for every endpoint). `key` (may be null) raises
  // the class to its floor, refuses classes above its ceiling, and keeps only candidates whose
  // model the key may use (KeepAllowedModels). With a selected route (and `chat`), the route's
  // tiers decide the candidates (`decision` receives why); without, the model's deployments do.
  static Result<routing::RoutePlan> Plan(const Runtime& rt, std::string_view model,
                                         const limits::KeyInfo* key,
                                         sensitivity::Classification& cls,
                                         const routing::RouteSelection* selected = nullptr,
                                         const api::ChatRequest* chat = nullptr,
                                         routing::RouteDecision* decision = nullptr);
  // A key's model list holds against the plan, not the string the client sent: candidates the
  // key may not call are dropped; none left is 403.
  static Status KeepAllowedModels(const limits::KeyInfo& key, std::string_view requested,
                                  const routing::RouteSelection* selected,
                                  routing::RoutePlan& plan);
  // What a keyed request reserves: its estimated input plus `max_output` (kDefaultOutputReserve
  // when the client set none) tokens, and their cost on the plan's dearest candidate.
  // `choices` answers (OpenAI's `n`) are reserved for, at most kMaxChoices.
  static constexpr int64_t kDefaultOutputReserve = 4096;
  static constexpr int64_t kMaxChoices = 128;
  static limits::Reservation WorstCase(const Runtime& rt, const routing::RoutePlan& plan,
                                       int64_t input_tokens, std::optional<int64_t> max_output,
                                       int64_t choices);
  // The egress gate of a request planned at `data_class`.
  static routing::EgressGate Gate(const Runtime& rt, int data_class,
                                  const sensitivity::Classification& cls,
                                  const limits::KeyInfo* key);
  // The caller's virtual key (null with auth off) and whether it may use `model`.
  Result<std::shared_ptr<const limits::KeyInfo>> Authorize(const http::Request& request,
                                                           std::string_view model);
  // Admission for every endpoint: reserves the request's worst case (WorstCase) against the
  // key's buckets and budgets. True when admitted (`settlement` then owns the reservation);
  // false with `out.error` set (429, or 503 when the shared limiter is down and fails closed).
  asio::awaitable<bool> Admit(const Runtime& rt, const std::shared_ptr<const limits::KeyInfo>& key,
                              const routing::RoutePlan& plan, int64_t input_tokens,
                              std::optional<int64_t> max_output, int64_t choices,
                              limits::Decision& decision, Settlement& settlement,
                              routing::Outcome& out);
  // Every endpoint's one exit: answers (or ends the stream), writes the log line and the ledger
  // row, and settles the reservation with what was used.
  asio::awaitable<void> Conclude(http::Exchange& ex, const Runtime& rt, const ResponseMeta& meta,
                                 RequestLogEntry& log, RequestFacts& facts, routing::Outcome& out,
                                 Settlement& settlement,
                                 std::chrono::steady_clock::time_point start);

  // The chat dialects after decoding (OpenAI chat completions, Anthropic messages, Gemini
  // generateContent): classify, plan, execute, answer in `dialect`.
  // Takes the runtime and the request's state along: Handle starts it without a frame of its
  // own. The state (id, dialect, decoded request, and all that the request keeps until its
  // ledger row) is a Pooled block, which keeps this coroutine's frame small (chat_state.h).
  asio::awaitable<void> ServeChat(http::Exchange& ex, std::shared_ptr<const Runtime> held,
                                  Pooled<ChatState> state);
  // Opens the comparison store if `config` shadows anything and it is not open yet.
  Status OpenComparisons(const config::Config& config);
  // After a routed request was answered: offers it to its route's shadow targets (shadow.h).
  void Shadow(http::Exchange& ex, const std::shared_ptr<const Runtime>& held, const ChatState& st);
  // ServeChat's synchronous part: authorize, select the route, classify, plan (and redact).
  // False when the request stops there, with `st.out.error` saying why.
  bool PrepareChat(http::Exchange& ex, const Runtime& rt, ChatState& st);
  // PrepareChat's residency `redact`: redacts the decoded request and plans it again.
  void RedactChat(http::Exchange& ex, const Runtime& rt, ChatState& st);
  // /admin/rollouts (AdminApi::RolloutsHandler): GET [/{route}] the status JSON; POST
  // /{route}/{promote|pause|resume|rollback} with an optional {"reason": "…"}.
  std::pair<int, std::string> RolloutsAdmin(std::string_view target, bool post,
                                            std::string_view body);
  // The request's arm when its route has a rollout (Rollouts::Assign), within what its key may
  // use; sets the x-hybridgate-rollout header.
  void AssignRollout(const Runtime& rt, ChatState& st);
  // ServeChat's call to the executor, in a frame of its own (the executor's answer is a
  // temporary there).
  asio::awaitable<void> ExecuteChat(http::Exchange& ex, const Runtime& rt, ChatState& st);
  // Every endpoint but the OpenAI and Anthropic chat ones (`path` without the query). Every
  // answer gets its log line: the pipeline's own, or one written here (models, health, metrics,
  // admin, and errors — no route, wrong method — in the dialect of the path).
  asio::awaitable<void> HandleOther(http::Exchange& ex, std::string_view path);
  // HandleOther's routing table. Returns true when the pipeline answered and logged the request;
  // otherwise sets `log.error_code` for an error it answered.
  asio::awaitable<bool> Route(http::Exchange& ex, std::string_view path, const std::string& id,
                              RequestLogEntry& log);
  // A dialect with conversation state (responses_api.cc): loads the conversation a request
  // continues (its key's, else 404) into the request and raises its class to the
  // conversation's, and arranges for the answer to be stored. False with `st.out.error` set.
  asio::awaitable<bool> LoadConversation(http::Exchange& ex, ChatState& st);
  // GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.
  asio::awaitable<void> StoredResponses(http::Exchange& ex, std::string_view path,
                                        const std::string& id, RequestLogEntry& log);
  // POST /v1/completions and /v1/embeddings: bodies HybridGate does not model, forwarded after
  // the same authorization, classification, planning, admission and egress gate as chat.
  // `via`: a dialect's embeddings request (ForwardVia), else the body as received.
  asio::awaitable<void> Forward(http::Exchange& ex, const Runtime& rt, const std::string& id,
                                std::string_view path, const ForwardVia* via = nullptr);
  bool PrepareForward(http::Exchange& ex, const Runtime& rt, ForwardState& st);
  // A dialect's endpoints besides its model call (dialects::Extra; dialect_endpoints.cc): token
  // counting, embeddings (through Forward), its model list. Each writes its own log line.
  asio::awaitable<void> ServeExtra(http::Exchange& ex, const Runtime& rt, std::string_view path,
                                   const std::string& id, RequestLogEntry& log,
                                   const dialects::ClientDialect& dialect,
                                   const dialects::Extra& extra);
  // Anthropic's count_tokens, Gemini's countTokens: authorized and classified like a model call
  // and planned at the request's class, then counted by the first candidate's upstream when it
  // has the endpoint (and the egress gate lets the request go there), by the embedded engine's
  // tokenizer when that serves it, else estimated (ledger::EstimateTokensFromBytes plus the
  // chat template's per-message tokens, as PrepareChat reserves). Not billed.
  asio::awaitable<void> CountTokens(http::Exchange& ex, const Runtime& rt, const std::string& id,
                                    RequestLogEntry& log, const dialects::ClientDialect& dialect,
                                    const dialects::Extra& extra);
  // The configured models in the dialect's list shape, or one of them (404 in its shape).
  asio::awaitable<void> DialectModels(http::Exchange& ex, const Runtime& rt, const std::string& id,
                                      RequestLogEntry& log, const dialects::ClientDialect& dialect,
                                      const dialects::Extra& extra);
  asio::awaitable<void> Models(http::Exchange& ex, const Runtime& rt, const std::string& id);
  // GET /v1/models/{model}: the entry GET /v1/models lists for `name` (percent-encoded in the
  // path), or 404 model_not_found in OpenAI's shape.
  asio::awaitable<void> Model(http::Exchange& ex, const Runtime& rt, const std::string& id,
                              std::string_view name, RequestLogEntry& log);
  const config::Config& config_;  // the startup config: server, ledger and limits sections
  dialects::Registry dialects_;   // the client dialects: which POST paths are model calls
  mutable std::mutex runtime_mu_;
  std::shared_ptr<const Runtime> runtime_;
  std::vector<std::shared_ptr<const Runtime>> retired_;   // replaced, maybe still in use
  std::mutex reload_mu_;                                  // one reload at a time
  std::vector<std::unique_ptr<http::ClientPool>> pools_;  // one per worker
  // Work that outlives its request (shadow calls): one runner per worker, kept until the
  // gateway goes (a job's frame may outlive Detach on a stopped worker).
  // What the jobs use is declared before the runners, so it outlives them.
  ShadowBook shadow_book_;  // shadow targets' slots and daily spend, across reloads
  // The comparison store, opened once a config has shadow targets (at start or on a reload)
  // and kept; `comparisons_` publishes it to the workers.
  std::unique_ptr<quality::ComparisonStore> comparison_store_;
  std::atomic<quality::ComparisonStore*> comparisons_{nullptr};
  background::Stats background_stats_;
  // Scheduled evals: a loop on worker 0 whose runs are jobs of runners_[0].
  ScheduledEvals evals_{[this] { return runtime(); }, metrics_, internal_errors_};
  std::vector<std::unique_ptr<background::Runner>> runners_;
  uint64_t background_seen_[4] = {};  // scrape-time deltas: completed, shed, dropped, failed
  metrics::Metrics metrics_;
  // Canary rollouts: their controller thread and the board requests read (after metrics_, which
  // it reports to; stopped before it goes).
  Rollouts rollouts_{[this] { return runtime(); }, metrics_};
  // Declared after what they use; the ledger flushes everything it queued when destroyed.
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<ResponseStore> responses_;  // the Responses API's conversation state
  uint64_t redis_errors_seen_ = 0;            // scrape-time deltas for the counters
  int64_t ledger_dropped_seen_ = 0;
  uint64_t accept_errors_seen_ = 0;
  uint64_t internal_errors_seen_ = 0;
  // The server between Attach and Detach (its counters are read at scrape time).
  http::Server* server_ = nullptr;
  // Exceptions that escaped the gateway's own background coroutines (the probe loop).
  std::atomic<uint64_t> internal_errors_{0};
  Readiness readiness_{[this] { return runtime(); }, internal_errors_};
  std::unique_ptr<AdminApi> admin_;                  // after admission_, whose key store it uses
  std::unique_ptr<dashboard::Dashboard> dashboard_;  // /ui and /admin/api/
  // After admission_, which it authenticates with. Its store is where Accounting (in every
  // runtime) remembers answered requests; opened before the first runtime is built.
  std::unique_ptr<FeedbackApi> feedback_;
};

}  // namespace hybridgate::gateway
