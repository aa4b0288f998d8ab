#include "gateway/gateway.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <random>
#include <utility>

#include "api/anthropic/anthropic.h"
#include "api/gemini/gemini.h"
#include "api/openai_chat.h"
#include "common/json_writer.h"
#include "gateway/chat_state.h"
#include "gateway/request_log.h"
#include "http/query.h"
#include "providers/local/local_provider.h"

namespace hybridgate::gateway {

namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
constexpr std::string_view kJson = "application/json";

namespace {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string id = "hg-0000000000000000";  // "hg-" and 16 hex digits, as fmt's {:016x}
  for (size_t i = id.size(); i-- > 3; v >>= 4) id[i] = kHex[v & 0xF];
  return id;
}

// The names /metrics labels may show (metrics::Metrics::SetLabelVocabulary): the config's
// providers, models, "provider/model" deployments (breakers), aliases, routes and tiers.
std::vector<std::string> LabelNames(const config::Config& cfg) {
  std::vector<std::string> names;
  for (const auto& p : cfg.providers) {
    names.push_back(p.name);
    for (const auto& m : p.models) {
      names.push_back(m.name);
      names.push_back(p.name + "/" + m.name);
    }
  }
  for (const auto& [alias, model] : cfg.aliases) names.push_back(alias);
  for (const auto& r : cfg.routes.routes) {
    names.push_back(r.name);
    names.insert(names.end(), r.aliases.begin(), r.aliases.end());
    for (const auto& t : r.tiers) names.push_back(t.name);
  }
  return names;
}

// Whether a probe of `a` says what a probe of `b` would: the same upstream, asked the same way.
bool SameUpstream(const config::ProviderConfig& a, const config::ProviderConfig& b) {
  return a.name == b.name && a.type == b.type && a.base_url == b.base_url &&
         a.api_key == b.api_key && a.disabled_reason.empty() && b.disabled_reason.empty();
}

}  // namespace

Result<std::shared_ptr<Runtime>> Gateway::BuildRuntime(config::Config config) {
  auto rt = std::make_shared<Runtime>(std::move(config));
  const config::Config& cfg = rt->config;
  providers::Registry registry;
  providers::RegisterBuiltins(registry);
  auto catalog = routing::Catalog::Build(cfg, registry);
  if (!catalog) return Fail(std::move(catalog.error()));
  rt->catalog = std::move(*catalog);
  auto scanner = sensitivity::Scanner::Create(cfg.sensitivity);
  if (!scanner) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: sensitivity: {}", cfg.source, scanner.error().message)));
  }
  rt->scanner.emplace(std::move(*scanner));
  auto planner = RoutePlanner::Create(cfg);
  if (!planner) return Fail(std::move(planner.error()));
  rt->planner = std::move(*planner);
  rt->accounting = std::make_unique<Accounting>(cfg, ledger_.get(), metrics_);
  for (size_t i = 0; i < cfg.providers.size(); ++i) {
    const auto& p = cfg.providers[i];
    ProviderHealth h;
    h.name = p.name;
    const providers::Provider& provider = *rt->catalog->providers()[i];
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
    rt->health.push_back(std::move(h));
  }
  return rt;
}

Result<std::unique_ptr<Gateway>> Gateway::Create(const config::Config& config) {
  std::unique_ptr<Gateway> g(new Gateway(config));
  dialects::RegisterBuiltins(g->dialects_);
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
  std::string store_path = config.responses.path;
  if (!store_path.empty() && store_path.front() != '/' && store_path != ":memory:") {
    store_path = (std::filesystem::path(config.source).parent_path() / store_path).string();
  }
  auto store = ResponseStore::Open(config.responses, store_path);
  if (!store) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: responses: {}", config.source, store.error().message)));
  }
  g->responses_ = std::move(*store);
  auto rt = g->BuildRuntime(config);
  if (!rt) return Fail(std::move(rt.error()));
  g->runtime_ = std::move(*rt);
  g->metrics_.SetLabelVocabulary(LabelNames(g->runtime_->config));
  g->metrics_.OnScrape([gw = g.get()](metrics::Metrics& m) {
    const auto rt = gw->runtime();
    int active = 0, queued = 0;
    for (const auto& p : rt->catalog->providers()) {
      if (const auto* local = dynamic_cast<const providers::LocalProvider*>(p.get())) {
        const auto s = local->engine().stats();
        active += s.active;
        queued += s.queued;
      }
    }
    m.SetEngine(active, queued);
    rt->planner->ForEachBreaker([&m](std::string_view key, routing::BreakerState s) {
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
    uint64_t internal = gw->internal_errors_.load(std::memory_order_relaxed);
    if (gw->server_ != nullptr) {  // scrapes come from the server's workers: it is there
      const uint64_t accepts = gw->server_->accept_errors();
      m.AddAcceptErrors(
          static_cast<int64_t>(accepts - std::exchange(gw->accept_errors_seen_, accepts)));
      internal += gw->server_->internal_errors();
    }
    m.AddInternalErrors(
        static_cast<int64_t>(internal - std::exchange(gw->internal_errors_seen_, internal)));
  });
  return g;
}

namespace {

// Names the sections of `next` that differ from `running` but only take effect on restart.
std::vector<std::string_view> RestartOnlyChanges(const config::Config& running,
                                                 const config::Config& next) {
  std::vector<std::string_view> changed;
  const auto& a = running.server;
  const auto& b = next.server;
  if (a.listen != b.listen || a.workers != b.workers || a.max_body_bytes != b.max_body_bytes ||
      a.max_header_bytes != b.max_header_bytes || a.max_connections != b.max_connections ||
      a.header_timeout_ms != b.header_timeout_ms || a.read_timeout_ms != b.read_timeout_ms ||
      a.idle_timeout_ms != b.idle_timeout_ms || a.write_timeout_ms != b.write_timeout_ms ||
      a.shutdown_grace_ms != b.shutdown_grace_ms) {
    changed.push_back("server");
  }
  if (running.ledger.enabled != next.ledger.enabled ||
      running.ledger.backend != next.ledger.backend || running.ledger.path != next.ledger.path ||
      running.ledger.dsn != next.ledger.dsn) {
    changed.push_back("ledger");
  }
  const auto& l = running.limits;
  const auto& m = next.limits;
  if (l.auth_required != m.auth_required || l.admin_key_env != m.admin_key_env ||
      l.keys_db != m.keys_db || l.backend != m.backend || l.redis_url != m.redis_url ||
      l.fail_open != m.fail_open) {
    changed.push_back("limits");
  }
  if (running.log.level != next.log.level) changed.push_back("log.level");
  return changed;
}

}  // namespace

Status Gateway::Reload(config::Config config) {
  std::lock_guard reload(reload_mu_);
  const auto changed = RestartOnlyChanges(config_, config);
  auto rt = BuildRuntime(std::move(config));
  if (!rt) return Fail(std::move(rt.error()));
  for (std::string_view section : changed) {
    LogWarn(fmt::format("config reload: '{}' changed; it takes effect on restart", section));
  }
  Runtime& next = **rt;
  {
    // What the probes saw of a provider that did not change still holds: /readyz must not turn
    // 503 on every reload until the next probe. The rest are probed at once (WakeProbes).
    const std::shared_ptr<const Runtime> current = runtime();
    const auto seen = current->Health();
    std::lock_guard lock(next.health_mu);
    for (size_t i = 0; i < next.config.providers.size(); ++i) {
      const auto& p = next.config.providers[i];
      if (next.health[i].probed) continue;  // in-process or disabled: known already
      for (size_t j = 0; j < current->config.providers.size(); ++j) {
        if (SameUpstream(p, current->config.providers[j]) && seen[j].probed) {
          next.health[i] = seen[j];
        }
      }
    }
  }
  metrics_.SetLabelVocabulary(LabelNames(next.config));
  std::shared_ptr<const Runtime> old;
  {
    std::lock_guard lock(runtime_mu_);
    old = std::exchange(runtime_, std::move(*rt));
  }
  retired_.push_back(std::move(old));
  WakeProbes();
  return {};
}

size_t Gateway::ReleaseRetired() {
  std::lock_guard reload(reload_mu_);
  // use_count 1: only this list holds it, and nothing can take a new reference to a replaced
  // runtime, so it is freed here, off the event loops.
  std::erase_if(retired_, [](const auto& rt) { return rt.use_count() == 1; });
  return retired_.size();
}

void Gateway::Attach(http::Server& server) {
  for (int i = 0; i < server.workers(); ++i) {
    pools_.push_back(std::make_unique<http::ClientPool>(server.worker_context(i)));
  }
  server_ = &server;
  probe_context_.store(&server.worker_context(0));
  asio::co_spawn(server.worker_context(0), ProbeLoop(server),
                 http::LogFailure{"the readiness probe loop", &internal_errors_});
}

void Gateway::WakeProbes() {
  probe_generation_.fetch_add(1, std::memory_order_relaxed);
  asio::io_context* const context = probe_context_.load();
  if (context == nullptr) return;
  // The timer belongs to worker 0: cancelled there. If the loop is probing rather than
  // waiting, it sees the new generation before it waits again.
  asio::post(*context, [this] {
    if (probe_timer_ != nullptr) probe_timer_->cancel();
  });
}

asio::awaitable<void> Gateway::ProbeLoop(http::Server& server) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  probe_timer_ = &timer;
  while (!server.draining()) {
    const uint64_t generation = probe_generation_.load(std::memory_order_relaxed);
    // The runtime of this round; a reload starts the next round on the new one.
    const std::shared_ptr<const Runtime> rt = runtime();
    const auto& providers = rt->catalog->providers();
    // Those never probed first: after a reload, the new and changed ones.
    std::vector<size_t> order(providers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    {
      const auto seen = rt->Health();
      std::stable_partition(order.begin(), order.end(), [&](size_t i) { return !seen[i].probed; });
    }
    for (const size_t i : order) {
      const auto& p = *providers[i];
      if (!p.config().disabled_reason.empty()) continue;
      if (p.in_process()) {
        // Loaded at startup, so always ready; the detail shows its load (slots, queue).
        std::lock_guard lock(rt->health_mu);
        rt->health[i] = {p.name(), true, true, p.Describe()};
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
      std::lock_guard lock(rt->health_mu);
      rt->health[i] = std::move(h);
    }
    // A reload during the round: the next round, on the new runtime, starts now.
    if (probe_generation_.load(std::memory_order_relaxed) != generation) continue;
    // Probe often until something answers, then at the configured interval.
    bool any = false;
    for (const auto& h : rt->Health()) any = any || h.reachable;
    const int64_t interval = rt->config.server.health_interval_ms;
    timer.expires_after(
        std::chrono::milliseconds(any ? interval : std::min<int64_t>(1000, interval)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));  // WakeProbes cancels it
  }
  probe_timer_ = nullptr;
}

// Not a coroutine: the chat endpoints, nearly all traffic, start ServeChat directly, so that a
// request carries no frame of Handle's own (it had ~2 KB: the decoded requests) and one
// coroutine level less. The rest goes through HandleOther.
asio::awaitable<void> Gateway::Handle(http::Exchange& ex) {
  auto& req = ex.request();
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (req.method() == bhttp::verb::post) {
    if (const dialects::ClientDialect* dialect = dialects_.Serving(path)) {
      // The runtime is held for the whole exchange: a reload meanwhile does not change this
      // request's rules.
      return ServeChat(ex, runtime(), Pooled<ChatState>::Make(NewRequestId(), *dialect, req, path));
    }
  }
  return HandleOther(ex, path);
}

asio::awaitable<void> Gateway::HandleOther(http::Exchange& ex, std::string_view path) {
  const auto start = Clock::now();
  const std::string id = NewRequestId();
  RequestLogEntry log{
      .id = id, .method = std::string_view(ex.request().method_string()), .path = path};
  if (co_await Route(ex, path, id, log)) co_return;
  log.status = ex.client_gone() ? 499 : ex.status();
  log.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  LogRequest(log);
}

asio::awaitable<bool> Gateway::Route(http::Exchange& ex, std::string_view path,
                                     const std::string& id, RequestLogEntry& log) {
  auto& req = ex.request();
  const bool post = req.method() == bhttp::verb::post;
  const bool get = req.method() == bhttp::verb::get;
  const std::shared_ptr<const Runtime> rt = runtime();
  constexpr std::string_view kModelsPrefix = "/v1/models/";
  // A dialect's endpoints besides its model call (dialect_endpoints.cc); they log themselves.
  const std::string_view method = req.method_string();
  if (const auto [dialect, extra] = dialects_.MatchExtra(method, path); dialect) {
    co_await ServeExtra(ex, *rt, path, id, log, *dialect, extra);
    co_return true;
  }
  if (post && (path.starts_with("/v1beta/models/") || path.starts_with(kModelsPrefix))) {
    // A model method no dialect serves: 404 naming the ones served, in the path's dialect.
    auto parsed = api::gemini::ParseModelPath(path);
    const Error e = parsed ? MakeError(ErrorCode::kNotFound, fmt::format("no route for {}", path))
                           : parsed.error();
    log.error_code = e.CodeName();
    co_await RespondError(ex, {id, 0, &dialects_.Owning(path)}, e);
    co_return false;
  }
  if (path == "/v1/completions" && post) {
    co_await Forward(ex, *rt, id, "/completions");
    co_return true;
  }
  if (path == "/v1/embeddings" && post) {
    co_await Forward(ex, *rt, id, "/embeddings");
    co_return true;
  }
  if (path == "/v1/models" && get) {
    co_await Models(ex, *rt, id);
  } else if (path.starts_with(kModelsPrefix) && path.size() > kModelsPrefix.size() && get) {
    co_await Model(ex, *rt, id, path.substr(kModelsPrefix.size()), log);
  } else if (path == "/healthz" && get) {
    co_await ex.Respond(200, kJson, R"({"status":"ok"})");
  } else if (path == "/readyz" && get) {
    co_await Ready(ex, *rt);
  } else if (path == "/metrics" && get) {
    co_await ex.Respond(200, metrics::kContentType, metrics_.Serialize());
  } else if (path.starts_with("/v1/responses/") && (get || req.method() == bhttp::verb::delete_)) {
    co_await StoredResponses(ex, path, id, log);
  } else if (path.starts_with("/v1/responses/")) {
    const Error e = MakeError(ErrorCode::kMethodNotAllowed,
                              fmt::format("method {} is not allowed on {} (GET or DELETE)",
                                          std::string_view(req.method_string()), path));
    log.error_code = e.CodeName();
    co_await RespondError(ex, {id, 0, &dialects_.Owning(path)}, e);
  } else if (path.starts_with("/admin/")) {
    co_await admission_->Admin(ex, path);
  } else {
    const bool known = dialects_.Known(path) || dialects_.MatchExtra("POST", path).first ||
                       dialects_.MatchExtra("GET", path).first || path == "/v1/completions" ||
                       path == "/v1/embeddings" || path == "/v1/models" || path == "/healthz" ||
                       path == "/readyz" || path == "/metrics" ||
                       path.starts_with("/v1beta/models/") || path.starts_with(kModelsPrefix);
    const Error e = known ? MakeError(ErrorCode::kMethodNotAllowed,
                                      fmt::format("method {} is not allowed on {}",
                                                  std::string_view(req.method_string()), path))
                          : MakeError(ErrorCode::kNotFound, fmt::format("no route for {}", path));
    log.error_code = e.CodeName();
    co_await RespondError(ex, {id, 0, &dialects_.Owning(path)}, e);
  }
  co_return false;
}

asio::awaitable<void> Gateway::Models(http::Exchange& ex, const Runtime& rt,
                                      const std::string& id) {
  std::string body;
  JsonWriter w(body);
  w.BeginObject().Field("object", "list").Key("data").BeginArray();
  for (const auto& [name, owner] : rt.catalog->PublicModels()) {
    w.BeginObject().Field("id", name).Field("object", "model").Field("created", 0);
    w.Field("owned_by", owner).EndObject();
  }
  w.EndArray().EndObject();
  http::HeaderList headers;
  headers.emplace_back("x-hybridgate-request-id", id);
  co_await ex.Respond(200, kJson, std::move(body), headers);
}

asio::awaitable<void> Gateway::Model(http::Exchange& ex, const Runtime& rt, const std::string& id,
                                     std::string_view name, RequestLogEntry& log) {
  // SDKs escape the id as a path segment: "org/model" arrives as "org%2Fmodel" (or unescaped).
  const std::string model = http::PercentDecode(name);
  log.model = name;  // a view into the request, which outlives the log line
  for (const auto& [public_name, owner] : rt.catalog->PublicModels()) {
    if (public_name != model) continue;
    std::string body;
    JsonWriter(body)
        .BeginObject()
        .Field("id", public_name)
        .Field("object", "model")
        .Field("created", 0)
        .Field("owned_by", owner)
        .EndObject();
    http::HeaderList headers;
    headers.emplace_back("x-hybridgate-request-id", id);
    co_return co_await ex.Respond(200, kJson, std::move(body), headers);
  }
  const Error e = MakeError(
      ErrorCode::kModelNotFound,
      fmt::format("The model '{}' does not exist on this gateway (GET /v1/models lists them)",
                  model),
      "model");
  log.error_code = e.CodeName();
  co_await RespondError(ex, {id, 0, &dialects_.Owning("/v1/models")}, e);
}

asio::awaitable<void> Gateway::Ready(http::Exchange& ex, const Runtime& rt) {
  const auto health = rt.Health();
  bool ready = false;
  for (const auto& h : health) ready = ready || h.reachable;
  // Upstream addresses, probe errors and the config's path are for operators: /readyz is
  // reachable by anyone who can reach the port.
  const bool details = admission_->IsAdmin(ex.request());
  std::string body;
  JsonWriter w(body);
  w.BeginObject().Field("ready", ready).Key("providers").BeginArray();
  for (size_t i = 0; i < health.size(); ++i) {
    const auto& h = health[i];
    w.BeginObject().Field("name", h.name).Field("reachable", h.reachable);
    if (details) {
      const auto& pc = rt.config.providers[i];
      w.Field("zone", config::ZoneName(pc.zone)).Field("base_url", pc.base_url);
      w.Field("detail", h.probed ? h.detail : std::string("not probed yet"));
    }
    w.EndObject();
  }
  w.EndArray();
  if (details) {
    w.Field("config", rt.config.source);
    if (!ready) {
      w.Field("hint",
              "no provider is reachable: start an OpenAI-compatible server at a configured "
              "base_url (e.g. vLLM on http://127.0.0.1:8000/v1), or set the API key variable of "
              "an external provider, then retry");
    }
  }
  w.EndObject();
  co_await ex.Respond(ready ? 200 : 503, kJson, std::move(body));
}

}  // namespace hybridgate::gateway
