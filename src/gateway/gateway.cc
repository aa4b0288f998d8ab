#include "gateway/gateway.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <utility>

#include "api/anthropic/anthropic.h"
#include "api/gemini/gemini.h"
#include "api/openai_chat.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "gateway/chat_state.h"
#include "gateway/request_log.h"
#include "http/query.h"
#include "providers/local/local_provider.h"
#include "quality/store_config.h"

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
  rt->accounting = std::make_unique<Accounting>(cfg, ledger_.get(), metrics_, feedback_->store());
  auto evals = eval::LoadScheduled(cfg);
  if (!evals) return Fail(std::move(evals.error()));
  rt->evals = std::move(*evals);
  Readiness::Seed(*rt);
  return rt;
}

Result<std::unique_ptr<Gateway>> Gateway::Create(const config::Config& config) {
  std::unique_ptr<Gateway> g(new Gateway(config));
  dialects::RegisterBuiltins(g->dialects_);
  ledger::LedgerConfig lc = config.ledger;
  ledger::ResolvePaths(lc, config.source);  // like limits.keys_db: one place per deployment
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
  g->admin_ = std::make_unique<AdminApi>(config.limits, *g->admission_);
  g->dashboard_ = std::make_unique<dashboard::Dashboard>(AdminKey(config.limits),
                                                         !lc.enabled                ? ""
                                                         : lc.backend == "postgres" ? lc.dsn
                                                                                    : lc.path);
  if (limits::KeyStore* keys = g->admission_->keys()) {
    g->dashboard_->SetKeyLister([keys] { return keys->List(true); });
  }
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
  // The stores' hash key is checked now, whether or not a store opens yet: a later reload that
  // adds a shadow must not be the first to find its variable unset.
  if (auto s = quality::CheckHashKey(quality::ResolveStoreConfig(config)); !s) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: {}", config.source, s.error().message)));
  }
  auto feedback = FeedbackApi::Create(config, *g->admission_, g->metrics_);
  if (!feedback) return Fail(std::move(feedback.error()));
  g->feedback_ = std::move(*feedback);
  g->rollouts_.SetFeedback(g->feedback_->store());
  auto rt = g->BuildRuntime(config);
  if (!rt) return Fail(std::move(rt.error()));
  if (auto s = g->OpenComparisons(config); !s) return Fail(std::move(s.error()));
  g->runtime_ = std::move(*rt);
  g->admin_->SetRollouts([gw = g.get()](std::string_view target, bool post, std::string_view body) {
    return gw->RolloutsAdmin(target, post, body);
  });
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
    const background::Stats& b = gw->background_stats_;
    m.SetBackgroundJobs(b.running.load(), b.queued.load());
    const uint64_t now[4] = {b.completed.load(), b.shed.load(), b.dropped.load(), b.failed.load()};
    static constexpr std::string_view kResults[4] = {"completed", "shed", "dropped", "failed"};
    for (int i = 0; i < 4; ++i) {
      m.AddBackgroundJobs(
          kResults[i],
          static_cast<int64_t>(now[i] - std::exchange(gw->background_seen_[i], now[i])));
    }
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
      running.ledger.dsn != next.ledger.dsn ||
      running.ledger.anchor_path != next.ledger.anchor_path) {
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
  const auto& q = running.quality;
  const auto& r = next.quality;
  if (q.backend != r.backend || q.path != r.path || q.dsn != r.dsn || q.dsn_env != r.dsn_env ||
      q.store_text_max_class != r.store_text_max_class || q.hash_key_env != r.hash_key_env ||
      q.retention_days != r.retention_days || q.max_pending != r.max_pending ||
      q.feedback != r.feedback) {
    changed.push_back("quality");
  }
  if (running.background.max_queue != next.background.max_queue ||
      running.background.max_concurrency != next.background.max_concurrency) {
    changed.push_back("background");
  }
  const auto& x = running.responses;
  const auto& y = next.responses;
  if (x.backend != y.backend || x.path != y.path || x.dsn != y.dsn || x.dsn_env != y.dsn_env ||
      x.retention_days != y.retention_days || x.max_pending != y.max_pending) {
    changed.push_back("responses");
  }
  return changed;
}

}  // namespace

Status Gateway::OpenComparisons(const config::Config& config) {
  bool shadows = false;
  for (const auto& r : config.routes.routes) shadows = shadows || !r.shadow.empty();
  if (!shadows || comparison_store_) return {};
  const quality::StoreConfig sc = quality::ResolveStoreConfig(config);
  auto store = quality::ComparisonStore::Open(sc);
  if (!store) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: quality: {}", config.source, store.error().message)));
  }
  // Today's shadow spend so far, so that a restart does not reset the targets' daily budgets.
  if (auto s = SeedShadowBook(shadow_book_, sc.backend == "postgres" ? sc.dsn : sc.path); !s) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          fmt::format("{}: quality: {}", config.source, s.error().message)));
  }
  comparison_store_ = std::move(*store);
  comparisons_.store(comparison_store_.get(), std::memory_order_release);
  return {};
}

std::pair<int, std::string> Gateway::RolloutsAdmin(std::string_view target, bool post,
                                                   std::string_view body) {
  auto error = [](const Error& e) {
    return std::pair<int, std::string>(e.HttpStatus(), api::EncodeOpenAiError(e));
  };
  const std::shared_ptr<const Runtime> rt = runtime();
  const std::shared_ptr<rollout::Store> store = rollouts_.store();
  if (!store) {
    return error(MakeError(ErrorCode::kUnavailable, "the rollout store cannot be opened"));
  }
  std::string_view rest = target.substr(std::string_view("/admin/rollouts").size());
  if (!rest.empty()) rest.remove_prefix(1);
  const size_t slash = rest.find('/');
  // Clients percent-encode a route name that is not plain ASCII (or holds a colon).
  const std::string route = http::PercentDecode(rest.substr(0, slash));
  const int64_t now = UnixMs();
  if (!post) {
    if (slash != std::string_view::npos) {
      return error(MakeError(ErrorCode::kNotFound, "GET /admin/rollouts[/{route}]"));
    }
    auto json = rollout::StatusJson(*store, rt->config, route, now);
    if (!json) return error(json.error());
    return {200, std::move(*json)};
  }
  const std::string_view verb = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  const auto command = rollout::ParseCommand(verb);
  if (route.empty() || !command) {
    return error(MakeError(ErrorCode::kNotFound,
                           "POST /admin/rollouts/{route}/{promote|pause|resume|rollback}"));
  }
  std::string reason = fmt::format("{} by hand (admin API)", verb);
  if (!body.empty()) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(body, ec);
    const boost::json::object* o = ec ? nullptr : v.if_object();
    const boost::json::value* r = o ? o->if_contains("reason") : nullptr;
    if (!o || (r && !r->is_string())) {
      return error(MakeError(ErrorCode::kInvalidRequest,
                             "the body is optional; when sent: {\"reason\": \"why\"}", "reason"));
    }
    for (const auto& field : *o) {
      if (field.key() != "reason") {
        return error(MakeError(ErrorCode::kInvalidRequest,
                               fmt::format("unknown field '{}' (the body holds only reason)",
                                           std::string_view(field.key())),
                               std::string(field.key())));
      }
    }
    if (r) reason = std::string(r->as_string());
  }
  auto s =
      rollout::RunCommand(*store, rt->config, route, *command, std::move(reason), "admin", now);
  if (!s) return error(s.error());
  auto json = rollout::StatusJson(*store, rt->config, route, now);
  if (!json) return error(json.error());
  return {200, std::move(*json)};
}

Status Gateway::Reload(config::Config config) {
  std::lock_guard reload(reload_mu_);
  const auto changed = RestartOnlyChanges(config_, config);
  if (auto s = OpenComparisons(config); !s) return s;
  auto rt = BuildRuntime(std::move(config));
  if (!rt) return Fail(std::move(rt.error()));
  for (std::string_view section : changed) {
    LogWarn(fmt::format("config reload: '{}' changed; it takes effect on restart", section));
  }
  Runtime& next = **rt;
  // Unchanged providers keep what the probes saw: /readyz must not turn 503 on every reload.
  Readiness::CarryOver(*runtime(), next);
  metrics_.SetLabelVocabulary(LabelNames(next.config));
  std::shared_ptr<const Runtime> old;
  {
    std::lock_guard lock(runtime_mu_);
    old = std::exchange(runtime_, std::move(*rt));
  }
  retired_.push_back(std::move(old));
  readiness_.Wake();  // the changed providers are probed at once
  return {};
}

size_t Gateway::ReleaseRetired() {
  std::lock_guard reload(reload_mu_);
  // use_count 1: only this list holds it, and nothing can take a new reference to a replaced
  // runtime, so it is freed here, off the event loops.
  std::erase_if(retired_, [](const auto& rt) { return rt.use_count() == 1; });
  return retired_.size();
}

void Gateway::CloseStores() {
  if (dashboard_) dashboard_->Close();
  if (responses_) responses_->Close();
  if (feedback_ && feedback_->store()) feedback_->store()->Close();
}

void Gateway::Attach(http::Server& server) {
  for (int i = 0; i < server.workers(); ++i) {
    pools_.push_back(std::make_unique<http::ClientPool>(server.worker_context(i)));
  }
  for (int i = 0; i < server.workers(); ++i) {
    runners_.push_back(std::make_unique<background::Runner>(
        server.worker_context(i).get_executor(),
        background::Limits{.max_queue = config_.background.max_queue,
                           .max_concurrency = config_.background.max_concurrency},
        background_stats_));
  }
  // Shutdown lets background work finish in the same grace period as the connections, then
  // cancels what is left (a cancelled shadow call still writes its ledger row).
  auto each = [this, &server](void (background::Runner::*f)()) {
    for (size_t i = 0; i < runners_.size(); ++i) {
      asio::post(server.worker_context(static_cast<int>(i)),
                 [r = runners_[i].get(), f] { (r->*f)(); });
    }
  };
  server.SetBackground({.close = [each] { each(&background::Runner::Close); },
                        .outstanding =
                            [this] {
                              int64_t n = 0;
                              for (const auto& r : runners_) n += r->Outstanding();
                              return n;
                            },
                        .cancel = [each] { each(&background::Runner::Cancel); }});
  server_ = &server;
  readiness_.Start(server, *pools_[0]);
  evals_.Start(server, *runners_[0]);
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
    co_await readiness_.Respond(ex, *rt, admin_->IsAdmin(req));
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
  } else if (path == "/v1/feedback") {
    co_await feedback_->Serve(ex, *rt, id, log, dialects_.Owning(path));
  } else if (dashboard::Dashboard::Handles(path)) {
    co_await dashboard_->Serve(ex, path);
  } else if (path.starts_with("/admin/")) {
    co_await admin_->Serve(ex, path);
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

}  // namespace hybridgate::gateway
