#include "gateway/gateway.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <random>
#include <utility>

#include "api/anthropic/anthropic.h"
#include "api/json.h"
#include "api/openai_chat.h"
#include "api/sse.h"
#include "classify/request_texts.h"
#include "common/json_writer.h"
#include "gateway/redaction.h"
#include "gateway/request_log.h"
#include "ledger/row.h"
#include "providers/local/local_provider.h"
#include "routing/executor.h"
#include "routing/policy.h"

namespace hybridgate::gateway {

namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
constexpr std::string_view kJson = "application/json";

namespace {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("hg-{:016x}", rng());
}

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A rough token count for admission (TPM reservation) and for upstreams that report no usage.
int64_t EstimateTokens(std::span<const std::string_view> texts, int64_t max_output) {
  int64_t bytes = 0;
  for (std::string_view t : texts) bytes += static_cast<int64_t>(t.size());
  return ledger::EstimateTokensFromBytes(bytes) + std::max<int64_t>(max_output, 0);
}

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// What every response of one request carries.
struct ResponseMeta {
  const std::string& id;
  int data_class = 0;  // 0: not classified (e.g. the body did not parse)
  Dialect dialect = Dialect::kOpenAi;
  // The key's rate-limit state (x-ratelimit-*), on answers and on errors alike.
  const std::vector<std::pair<std::string, std::string>>* limit_headers = nullptr;
  // Set when a route served the request: x-hybridgate-route and -tier.
  const routing::RouteDecision* decision = nullptr;
  // Set when the request was redacted: answers get the originals back (x-hybridgate-redacted).
  ResponseRestorer* restorer = nullptr;
};

// The chunks to send for one upstream chunk when the request was redacted: the chunk with the
// originals restored. `chunk` empty: the stream ended, flush what the restorer held back.
const std::vector<std::string>& Restored(const ResponseMeta& meta, std::string_view chunk,
                                         std::vector<std::string>& out) {
  out.clear();
  if (!chunk.empty()) {
    meta.restorer->FeedChunk(chunk, out);
  } else {
    meta.restorer->FinishStream(out);
  }
  return out;
}

std::string EncodeError(const ResponseMeta& meta, const Error& e) {
  return meta.dialect == Dialect::kAnthropic ? api::anthropic::EncodeError(e)
                                             : api::EncodeOpenAiError(e);
}

http::HeaderList ResponseHeaders(const ResponseMeta& meta, const routing::Deployment& d) {
  http::HeaderList h;
  h.emplace_back("x-hybridgate-request-id", meta.id);
  if (meta.data_class > 0)
    h.emplace_back("x-hybridgate-data-class", std::to_string(meta.data_class));
  if (d.provider) {
    h.emplace_back("x-hybridgate-provider", d.provider->name());
    h.emplace_back("x-hybridgate-model", d.model->id);
  }
  if (meta.decision) {
    h.emplace_back("x-hybridgate-route", meta.decision->route);
    if (d.provider) {
      h.emplace_back("x-hybridgate-tier", std::string(RoutePlanner::TierOf(*meta.decision, d)));
    }
  }
  if (meta.limit_headers) {
    for (const auto& [name, value] : *meta.limit_headers) h.emplace_back(name, value);
  }
  if (meta.restorer)
    h.emplace_back("x-hybridgate-redacted", std::to_string(meta.restorer->replaced()));
  return h;
}

// Streams OpenAI chat.completion.chunk events to an OpenAI-dialect client as SSE.
class OpenAiSink : public routing::StreamSink {
 public:
  OpenAiSink(http::Exchange& ex, const ResponseMeta& meta) : ex_(ex), meta_(meta) {}

  asio::awaitable<bool> Begin(const routing::Deployment& d) override {
    // Built outside co_await: GCC 12 miscompiles braced lists inside co_await expressions.
    http::HeaderList headers = ResponseHeaders(meta_, d);
    headers.emplace_back("x-hybridgate-attempts", std::to_string(attempts()));
    co_return co_await ex_.BeginStream(200, "text/event-stream", headers);
  }
  void Event(std::string_view chunk) override {
    if (!meta_.restorer) return api::AppendSseData(pending_, chunk);
    for (const std::string& c : Restored(meta_, chunk, restored_)) api::AppendSseData(pending_, c);
  }
  asio::awaitable<bool> Flush() override {
    const bool ok = co_await ex_.Write(pending_);
    pending_.clear();
    co_return ok;
  }
  asio::awaitable<void> Finish() override {
    if (meta_.restorer) {
      for (const std::string& c : Restored(meta_, {}, restored_)) api::AppendSseData(pending_, c);
    }
    pending_.append("data: [DONE]\n\n");
    co_await Flush();
    co_await ex_.End();
  }
  asio::awaitable<void> Abort(const Error& error) override {
    // No [DONE]: OpenAI clients raise the error event instead of taking a cut answer as complete.
    api::AppendSseData(pending_, api::EncodeOpenAiError(error));
    co_await Flush();
    co_await ex_.End();
  }

 private:
  http::Exchange& ex_;
  const ResponseMeta& meta_;
  std::string pending_;
  std::vector<std::string> restored_;
};

asio::awaitable<void> RespondError(http::Exchange& ex, const ResponseMeta& meta, const Error& e) {
  http::HeaderList headers = ResponseHeaders(meta, {});
  if (e.retry_after_ms >= 0 &&
      (e.code == ErrorCode::kRateLimited || e.code == ErrorCode::kUpstreamUnavailable ||
       e.code == ErrorCode::kUnavailable)) {
    headers.emplace_back("retry-after", std::to_string((e.retry_after_ms + 999) / 1000));
  }
  co_await ex.Respond(e.HttpStatus(), kJson, EncodeError(meta, e), headers);
}

// Streams to an Anthropic-dialect client: the upstream's OpenAI chunks become Messages events
// (message_start, content_block_*, message_delta, message_stop) as they arrive.
class AnthropicSink : public routing::StreamSink {
 public:
  AnthropicSink(http::Exchange& ex, const ResponseMeta& meta, std::string model)
      : ex_(ex), meta_(meta), translator_(std::move(model)) {}

  asio::awaitable<bool> Begin(const routing::Deployment& d) override {
    http::HeaderList headers = ResponseHeaders(meta_, d);
    headers.emplace_back("x-hybridgate-attempts", std::to_string(attempts()));
    co_return co_await ex_.BeginStream(200, "text/event-stream", headers);
  }
  void Event(std::string_view chunk) override {
    if (!meta_.restorer) return Translate(chunk);
    for (const std::string& c : Restored(meta_, chunk, restored_)) Translate(c);
  }
  asio::awaitable<bool> Flush() override {
    const bool ok = co_await ex_.Write(pending_);
    pending_.clear();
    co_return ok;
  }
  asio::awaitable<void> Finish() override {
    if (meta_.restorer) {
      for (const std::string& c : Restored(meta_, {}, restored_)) Translate(c);
    }
    if (error_) co_return co_await Abort(*error_);
    translator_.Finish(pending_);
    co_await Flush();
    co_await ex_.End();
  }
  asio::awaitable<void> Abort(const Error& error) override {
    // Anthropic clients see an `error` event and no message_stop: never a cut answer that looks
    // complete.
    api::AppendSseEvent(pending_, "error", api::anthropic::EncodeError(error));
    co_await Flush();
    co_await ex_.End();
  }

 private:
  void Translate(std::string_view chunk) {
    if (auto s = translator_.Feed(chunk, pending_); !s) error_ = s.error();
  }

  http::Exchange& ex_;
  const ResponseMeta& meta_;
  api::anthropic::StreamFromOpenAi translator_;
  std::string pending_;
  std::optional<Error> error_;
  std::vector<std::string> restored_;
};

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::Create(const config::Config& config) {
  std::unique_ptr<Gateway> g(new Gateway(config));
  providers::Registry registry;
  providers::RegisterBuiltins(registry);
  auto catalog = routing::Catalog::Build(config, registry);
  if (!catalog) return Fail(std::move(catalog.error()));
  g->catalog_ = std::move(*catalog);
  auto scanner = sensitivity::Scanner::Create(config.sensitivity);
  if (!scanner) {
    return Fail(
        MakeError(ErrorCode::kInvalidRequest,
                  fmt::format("{}: sensitivity: {}", config.source, scanner.error().message)));
  }
  g->scanner_.emplace(std::move(*scanner));
  ledger::LedgerConfig lc = config.ledger;
  if (lc.backend == "sqlite" && !lc.path.empty() && lc.path.front() != '/') {
    // Relative to the config file, like limits.keys_db: one place per deployment.
    lc.path = (std::filesystem::path(config.source).parent_path() / lc.path).string();
  }
  auto ledger = ledger::Ledger::Open(lc);
  if (!ledger) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: ledger: {}", config.source, ledger.error().message)));
  }
  g->ledger_ = std::move(*ledger);
  auto admission = Admission::Create(config);
  if (!admission) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: limits: {}", config.source, admission.error().message)));
  }
  g->admission_ = std::move(*admission);
  g->accounting_ = std::make_unique<Accounting>(config, g->ledger_.get(), g->metrics_);
  auto planner = RoutePlanner::Create(config);
  if (!planner) return Fail(std::move(planner.error()));
  g->planner_ = std::move(*planner);
  g->metrics_.OnScrape([gw = g.get()](metrics::Metrics& m) {
    int active = 0, queued = 0;
    for (const auto& p : gw->catalog_->providers()) {
      if (const auto* local = dynamic_cast<const providers::LocalProvider*>(p.get())) {
        const auto s = local->engine().stats();
        active += s.active;
        queued += s.queued;
      }
    }
    m.SetEngine(active, queued);
    gw->planner_->ForEachBreaker([&m](std::string_view key, routing::BreakerState s) {
      m.SetBreakerState(key, s == routing::BreakerState::kOpen ? metrics::BreakerState::kOpen
                             : s == routing::BreakerState::kHalfOpen
                                 ? metrics::BreakerState::kHalfOpen
                                 : metrics::BreakerState::kClosed);
    });
    const uint64_t redis = gw->admission_->redis_errors();
    m.AddRedisErrors(redis - std::exchange(gw->redis_errors_seen_, redis));
    const int64_t dropped =
        gw->ledger_->Stats().dropped_queue_full + gw->ledger_->Stats().dropped_write_failed;
    m.AddLedgerDroppedRows(dropped - std::exchange(gw->ledger_dropped_seen_, dropped));
  });
  for (size_t i = 0; i < config.providers.size(); ++i) {
    const auto& p = config.providers[i];
    ProviderHealth h;
    h.name = p.name;
    const providers::Provider& provider = *g->catalog_->providers()[i];
    if (provider.in_process()) {
      h.probed = h.reachable = true;
      h.detail = provider.Describe();
      const std::string line = fmt::format("provider '{}': {}", p.name, h.detail);
      if (h.detail.find("PLACEHOLDER") != std::string::npos) {
        LogWarn(line);
      } else {
        LogInfo(line);
      }
    }
    if (!p.disabled_reason.empty()) {
      h.probed = true;
      h.detail = "disabled: " + p.disabled_reason;
    }
    g->health_.push_back(std::move(h));
  }
  return g;
}

void Gateway::Attach(http::Server& server) {
  for (int i = 0; i < server.workers(); ++i) {
    pools_.push_back(std::make_unique<http::ClientPool>(server.worker_context(i)));
  }
  asio::co_spawn(server.worker_context(0), ProbeLoop(server), asio::detached);
}

std::vector<ProviderHealth> Gateway::Health() const {
  std::lock_guard lock(health_mu_);
  return health_;
}

asio::awaitable<void> Gateway::ProbeLoop(http::Server& server) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!server.draining()) {
    const auto& providers = catalog_->providers();
    for (size_t i = 0; i < providers.size(); ++i) {
      const auto& p = *providers[i];
      if (!p.config().disabled_reason.empty()) continue;
      if (p.in_process()) {
        // Loaded at startup, so always ready; the detail shows its load (slots, queue).
        std::lock_guard lock(health_mu_);
        health_[i] = {p.name(), true, true, p.Describe()};
        continue;
      }
      const auto now = Clock::now();
      auto res =
          co_await pools_[0]->Send(p.endpoint(), p.HealthProbe(),
                                   {now + std::chrono::seconds(2), now + std::chrono::seconds(3)});
      ProviderHealth h{p.name(), true, false, ""};
      if (!res) {
        h.detail = res.error().message;
      } else if (res->status == 401 || res->status == 403) {
        h.detail = fmt::format("reachable, but it rejected the API key (HTTP {})", res->status);
      } else if (res->status >= 500) {
        h.detail = fmt::format("reachable, but unhealthy (HTTP {})", res->status);
      } else {
        h.reachable = true;
        h.detail = "ok";
      }
      std::lock_guard lock(health_mu_);
      health_[i] = std::move(h);
    }
    // Probe often until something answers, then at the configured interval.
    bool any = false;
    for (const auto& h : Health()) any = any || h.reachable;
    timer.expires_after(std::chrono::milliseconds(
        any ? config_.server.health_interval_ms
            : std::min<int64_t>(1000, config_.server.health_interval_ms)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

Result<sensitivity::Classification> Gateway::Classify(std::span<const std::string_view> texts,
                                                      const http::Request& request) const {
  sensitivity::Classification c = scanner_->Classify(texts);
  const auto header = request["x-hybridgate-data-class"];
  if (!header.empty()) {
    if (header.size() != 1 || header[0] < '1' || header[0] > '5') {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            "header x-hybridgate-data-class must be a data class from 1 to 5",
                            "x-hybridgate-data-class"));
    }
    c.data_class = std::max(c.data_class, header[0] - '0');  // raise, never lower
  }
  return c;
}

namespace {

std::vector<std::string> FindingTypes(const sensitivity::Classification& c) {
  std::vector<std::string> types;
  for (const auto& f : c.findings) {
    if (std::find(types.begin(), types.end(), f.type) == types.end()) types.push_back(f.type);
  }
  if (types.empty()) types.push_back("x-hybridgate-data-class header");
  return types;
}

}  // namespace

Result<routing::RoutePlan> Gateway::ClassifyAndPlan(
    std::span<const std::string_view> texts, std::string_view model, const http::Request& request,
    const limits::KeyInfo* key, sensitivity::Classification& cls, const routing::Route* route,
    const api::ChatRequest* chat, routing::RouteDecision* decision) const {
  cls.data_class = 0;  // unknown until classified
  auto c = Classify(texts, request);
  if (!c) return Fail(std::move(c.error()));
  cls = std::move(*c);
  if (key) {
    // A key's floor raises the class (its team's data is sensitive by nature); its ceiling
    // refuses what the key may not send at all.
    cls.data_class = limits::EffectiveDataClass(*key, cls.data_class);
    if (auto ok = limits::CheckDataClass(*key, cls.data_class); !ok) {
      return Fail(std::move(ok.error()));
    }
  }
  // Residency runs before any routing decision: disallowed providers never become candidates.
  if (route && chat && decision) {
    return planner_->Plan(*route, *chat, cls.data_class, FindingTypes(cls), *catalog_, *decision);
  }
  return routing::PlanForRequest(
      {.model = model, .data_class = cls.data_class, .finding_types = FindingTypes(cls)},
      *catalog_);
}

asio::awaitable<void> Gateway::Handle(http::Exchange& ex) {
  const auto& req = ex.request();
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const bool post = req.method() == bhttp::verb::post;
  const bool get = req.method() == bhttp::verb::get;
  const std::string id = NewRequestId();
  if (path == "/v1/chat/completions" && post) co_return co_await ChatCompletions(ex, id);
  if (path == "/v1/messages" && post) co_return co_await Messages(ex, id);
  if (path == "/v1/completions" && post) co_return co_await Forward(ex, id, "/completions");
  if (path == "/v1/embeddings" && post) co_return co_await Forward(ex, id, "/embeddings");
  if (path == "/v1/models" && get) co_return co_await Models(ex);
  if (path == "/healthz" && get) co_return co_await ex.Respond(200, kJson, R"({"status":"ok"})");
  if (path == "/readyz" && get) co_return co_await Ready(ex);
  if (path == "/metrics" && get) {
    co_return co_await ex.Respond(200, metrics::kContentType, metrics_.Serialize());
  }
  if (path.starts_with("/admin/")) co_return co_await admission_->Admin(ex, path);
  const bool known = path == "/v1/chat/completions" || path == "/v1/messages" ||
                     path == "/v1/completions" || path == "/v1/embeddings" ||
                     path == "/v1/models" || path == "/healthz" || path == "/readyz" ||
                     path == "/metrics";
  Error e = known ? MakeError(ErrorCode::kMethodNotAllowed,
                              fmt::format("method {} is not allowed on {}",
                                          std::string_view(req.method_string()), path))
                  : MakeError(ErrorCode::kNotFound, fmt::format("no route for {}", path));
  if (!known) e.code = ErrorCode::kNotFound;
  co_await RespondError(ex, {id}, e);
}

namespace {

// Answers with the outcome (unless the sink already streamed it) and writes the log line.
asio::awaitable<void> Finish(http::Exchange& ex, const ResponseMeta& meta, routing::Outcome& out,
                             RequestLogEntry& log, Clock::time_point start) {
  if (out.deployment.provider) {
    log.provider = out.deployment.provider->name();
    log.upstream_model = out.deployment.model->id;
  }
  log.attempts = out.attempts;
  if (out.ok && !out.streamed && meta.dialect == Dialect::kAnthropic) {
    auto translated = api::anthropic::EncodeResponse(out.body);
    if (translated) {
      out.body = std::move(*translated);
    } else {
      out.ok = false;
      out.error =
          MakeError(ErrorCode::kUpstreamUnavailable,
                    "upstream answer could not be translated: " + translated.error().message);
    }
  }
  if (out.ok && !out.streamed) {
    http::HeaderList headers = ResponseHeaders(meta, out.deployment);
    headers.emplace_back("x-hybridgate-attempts", std::to_string(out.attempts));
    headers.emplace_back("x-hybridgate-escalated", out.escalated ? "1" : "0");
    co_await ex.Respond(out.status, kJson, std::move(out.body), headers);
  } else if (!out.ok && !out.streamed && !ex.client_gone()) {
    co_await RespondError(ex, meta, out.error);
  }
  log.status = ex.client_gone() ? 499 : out.ok ? out.status : out.error.HttpStatus();
  if (!out.ok) log.error_code = out.error.CodeName();
  if (out.usage.reported) {
    log.input_tokens = out.usage.input_tokens;
    log.output_tokens = out.usage.output_tokens;
  }
  if (out.ttft.count() >= 0) log.ttft_ms = static_cast<double>(out.ttft.count());
  log.latency_ms = MsSince(start);
  LogRequest(log);
}

}  // namespace

asio::awaitable<void> Gateway::ChatCompletions(http::Exchange& ex, const std::string& id) {
  co_await ServeChat(ex, id, Dialect::kOpenAi, api::DecodeOpenAiChat(ex.request().body()));
}

asio::awaitable<void> Gateway::Messages(http::Exchange& ex, const std::string& id) {
  co_await ServeChat(ex, id, Dialect::kAnthropic,
                     api::anthropic::DecodeRequest(ex.request().body()));
}

Result<std::shared_ptr<const limits::KeyInfo>> Gateway::Authorize(const http::Request& request,
                                                                  std::string_view model) {
  auto key = admission_->Authenticate(request);
  if (!key) {
    metrics_.RecordRejection("auth");
    return key;
  }
  if (*key) {
    if (auto ok = limits::CheckModelAllowed(**key, model); !ok) return Fail(std::move(ok.error()));
  }
  return key;
}

asio::awaitable<void> Gateway::ServeChat(http::Exchange& ex, const std::string& id, Dialect dialect,
                                         Result<api::ChatRequest> req) {
  const auto start = Clock::now();
  const bool anthropic = dialect == Dialect::kAnthropic;
  RequestLogEntry log{
      .id = id, .method = "POST", .path = anthropic ? "/v1/messages" : "/v1/chat/completions"};
  RequestFacts facts{.id = id,
                     .arrival_unix_ms = UnixMs(),
                     .endpoint = anthropic ? "messages" : "chat_completions"};
  ResponseMeta meta{id, 0, dialect};
  routing::Outcome out;
  std::shared_ptr<const limits::KeyInfo> key;
  limits::Decision admitted;
  std::vector<std::string_view> texts;
  sensitivity::Classification cls;
  const routing::Route* route = nullptr;
  routing::RouteDecision decision;
  Result<routing::RoutePlan> plan = Fail(MakeError(ErrorCode::kInternal, "not planned"));
  std::unique_ptr<ResponseRestorer> restorer;  // set when the request was redacted
  http::CancelToken cancel;
  // One exit: every early answer (bad request, 401, 403, 429) is logged and accounted the same.
  do {
    if (!req) {
      out.error = std::move(req.error());
      break;
    }
    log.model = facts.route = req->model;
    log.stream = facts.stream = req->stream;
    auto who = Authorize(ex.request(), req->model);
    if (!who) {
      out.error = std::move(who.error());
      break;
    }
    key = std::move(*who);
    facts.key = key.get();
    auto selected = planner_->Select(ex.request()["x-hybridgate-route"], req->model,
                                     key ? std::string_view(key->team) : std::string_view());
    if (!selected) {
      out.error = std::move(selected.error());
      break;
    }
    route = selected->route;
    if (route) {
      facts.route = route->name;
      decision.route = route->name;
      decision.route_why = selected->why;
      meta.decision = &decision;
    }
    classify::CollectTexts(*req, texts);
    facts.estimated_input_tokens = EstimateTokens(texts, 0);
    plan =
        ClassifyAndPlan(texts, req->model, ex.request(), key.get(), cls, route, &*req, &decision);
    meta.data_class = cls.data_class;
    log.sensitivity = facts.sensitivity = &cls;
    if (!plan &&
        RedactionApplies(config_.residency, cls, plan.error(), key ? key->max_data_class : 0)) {
      // Residency `redact`: plan again for the redacted request (the same model); the header
      // and the log keep the original class and findings (types and offsets only).
      restorer = std::make_unique<ResponseRestorer>();
      RedactRequest(*req, cls, *restorer);
      texts.clear();
      classify::CollectTexts(*req, texts);
      sensitivity::Classification redacted;
      plan = ClassifyAndPlan(texts, req->model, ex.request(), key.get(), redacted, route, &*req,
                             &decision);
      if (plan) {
        meta.restorer = restorer.get();
        metrics_.RecordResidencyAction("redact");
      }
    }
    if (!plan) {
      out.error = std::move(plan.error());
      break;
    }
    log.rerouted_to = plan->rerouted_to;
    if (!plan->rerouted_to.empty()) metrics_.RecordResidencyAction("route");
    if (key) {
      const int64_t estimate = EstimateTokens(texts, req->MaxOutputTokens().value_or(0));
      admitted = co_await admission_->limiter().Admit(*key, estimate);
      meta.limit_headers = &admitted.headers;
      if (!admitted.allowed) {
        metrics_.RecordRejection(admitted.error.code == ErrorCode::kBudgetExceeded ? "budget"
                                                                                   : "rate_limit");
        out.error = admitted.error;
        break;
      }
    }
    routing::Executor executor(*pools_[ex.worker()]);
    ex.OnClientGone([&cancel] { cancel.Cancel(); });
    // Anthropic clients get usage in message_delta, so they always want the usage chunk.
    const routing::ExecuteOptions options{
        .request_id = id,
        .cancel = &cancel,
        .client_wants_usage = anthropic || req->include_usage.value_or(false),
        .breakers = route ? &planner_->BreakersFor(*route) : nullptr};
    if (req->stream && anthropic) {
      AnthropicSink sink(ex, meta, req->model);
      out = co_await executor.ChatStream(*req, *plan, options, sink);
    } else if (req->stream) {
      OpenAiSink sink(ex, meta);
      out = co_await executor.ChatStream(*req, *plan, options, sink);
    } else {
      out = co_await executor.Chat(*req, *plan, options);
      if (restorer && out.ok) out.body = restorer->RestoreBody(out.body);
    }
  } while (false);
  if (!out.ok && out.error.code == ErrorCode::kPolicyBlocked) {
    metrics_.RecordResidencyAction("block");
  }
  co_await Finish(ex, meta, out, log, start);
  facts.status = log.status;
  facts.latency_ms = log.latency_ms;
  if (route && out.deployment.provider) {
    facts.tier = RoutePlanner::TierOf(decision, out.deployment);
    // The executor tells the breakers about every attempt; here only the escalation is counted.
    if (out.escalated) metrics_.RecordEscalation(route->name, out.escalated_from, out.escalated_to);
  }
  const double cost = accounting_->Record(facts, out);
  if (key && admitted.allowed && meta.limit_headers) {
    const int64_t estimate = EstimateTokens(texts, req ? req->MaxOutputTokens().value_or(0) : 0);
    const int64_t actual = out.usage.input_tokens + out.usage.output_tokens;
    co_await admission_->limiter().Settle(*key, estimate, actual, cost);
  }
}

asio::awaitable<void> Gateway::Forward(http::Exchange& ex, const std::string& id,
                                       std::string_view path) {
  const auto start = Clock::now();
  const std::string full_path = fmt::format("/v1{}", path);
  RequestLogEntry log{.id = id, .method = "POST", .path = full_path};
  RequestFacts facts{.id = id, .arrival_unix_ms = UnixMs(), .endpoint = path.substr(1)};
  ResponseMeta meta{id};
  std::shared_ptr<const limits::KeyInfo> key;
  routing::Outcome out;
  std::string& body = ex.request().body();
  std::string model;
  bool stream = false;
  {
    auto root = api::ParseJson(body);
    std::string_view m;
    if (!root) {
      out.error = root.error();
    } else if (!root->is_object()) {
      out.error = MakeError(ErrorCode::kInvalidRequest, "request body must be a JSON object");
    } else if ((*root)["model"].get_string().get(m) || m.empty()) {
      out.error = MakeError(ErrorCode::kInvalidRequest, "'model' is required and must be a string",
                            "model");
    } else {
      model.assign(m);
      bool s = false;
      if (!(*root)["stream"].get_bool().get(s)) stream = s;
    }
  }
  if (!model.empty()) {
    auto who = Authorize(ex.request(), model);
    if (who) {
      key = std::move(*who);
    } else {
      out.error = std::move(who.error());
      model.clear();
    }
  }
  if (model.empty()) {
    co_await Finish(ex, meta, out, log, start);
    facts.status = log.status;
    facts.latency_ms = log.latency_ms;
    accounting_->Record(facts, out);
    co_return;
  }
  log.model = facts.route = model;
  log.stream = facts.stream = stream;
  facts.key = key.get();
  // Bodies HybridGate does not model are scanned whole: every string in them leaves with them.
  const std::string_view whole[] = {body};
  sensitivity::Classification cls;
  facts.estimated_input_tokens = EstimateTokens(whole, 0);
  auto plan = ClassifyAndPlan(whole, model, ex.request(), key.get(), cls);
  meta.data_class = cls.data_class;
  log.sensitivity = facts.sensitivity = &cls;
  if (!plan) {
    out.error = std::move(plan.error());
    co_await Finish(ex, meta, out, log, start);
    facts.status = log.status;
    facts.latency_ms = log.latency_ms;
    accounting_->Record(facts, out);
    co_return;
  }
  log.rerouted_to = plan->rerouted_to;
  routing::Executor executor(*pools_[ex.worker()]);
  http::CancelToken cancel;
  ex.OnClientGone([&cancel] { cancel.Cancel(); });
  const routing::ExecuteOptions options{
      .request_id = id, .cancel = &cancel, .client_wants_usage = true};
  OpenAiSink sink(ex, meta);
  out = co_await executor.Raw(path, body, model, stream, *plan, options, &sink);
  co_await Finish(ex, meta, out, log, start);
  facts.status = log.status;
  facts.latency_ms = log.latency_ms;
  accounting_->Record(facts, out);
}

asio::awaitable<void> Gateway::Models(http::Exchange& ex) {
  std::string body;
  JsonWriter w(body);
  w.BeginObject().Field("object", "list").Key("data").BeginArray();
  for (const auto& [name, owner] : catalog_->PublicModels()) {
    w.BeginObject().Field("id", name).Field("object", "model").Field("created", 0);
    w.Field("owned_by", owner).EndObject();
  }
  w.EndArray().EndObject();
  co_await ex.Respond(200, kJson, std::move(body));
}

asio::awaitable<void> Gateway::Ready(http::Exchange& ex) {
  const auto health = Health();
  bool ready = false;
  std::string body;
  JsonWriter w(body);
  w.BeginObject().Key("providers").BeginArray();
  for (size_t i = 0; i < health.size(); ++i) {
    const auto& h = health[i];
    ready = ready || h.reachable;
    const auto& pc = config_.providers[i];
    w.BeginObject().Field("name", h.name).Field("zone", config::ZoneName(pc.zone));
    w.Field("base_url", pc.base_url).Field("reachable", h.reachable);
    w.Field("detail", h.probed ? h.detail : std::string("not probed yet")).EndObject();
  }
  w.EndArray().Field("ready", ready).Field("config", config_.source);
  if (!ready) {
    w.Field("hint",
            "no provider is reachable: start an OpenAI-compatible server at a configured "
            "base_url (e.g. vLLM on http://127.0.0.1:8000/v1), or set the API key variable of "
            "an external provider, then retry");
  }
  w.EndObject();
  co_await ex.Respond(ready ? 200 : 503, kJson, std::move(body));
}

}  // namespace hybridgate::gateway
