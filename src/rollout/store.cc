#include "rollout/store.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <filesystem>

#include "limits/limits_config.h"

namespace hybridgate::rollout {

namespace {

// int64s per arm (requests, errors, latency buckets), the comparisons, then two doubles.
constexpr size_t kCountInts = 2 * (2 + kLatencyBuckets) + 1;
constexpr size_t kCountBytes = (kCountInts + 2) * 8;

void PutLe(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in, size_t& at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  at += 8;
  return v;
}

}  // namespace

std::string EncodeCounts(const StageCounts& c) {
  std::string out;
  out.reserve(kCountBytes);
  for (const ArmCounts* a : {&c.incumbent, &c.candidate}) {
    PutLe(out, static_cast<uint64_t>(a->requests));
    PutLe(out, static_cast<uint64_t>(a->errors));
    for (int64_t b : a->latency) PutLe(out, static_cast<uint64_t>(b));
  }
  PutLe(out, static_cast<uint64_t>(c.comparisons));
  PutLe(out, std::bit_cast<uint64_t>(c.score_sum));
  PutLe(out, std::bit_cast<uint64_t>(c.score_sq_sum));
  return out;
}

bool AddEncodedCounts(std::string_view bytes, StageCounts& c) {
  if (bytes.size() != kCountBytes) return false;
  size_t at = 0;
  const auto next = [&] { return static_cast<int64_t>(GetLe(bytes, at)); };
  for (ArmCounts* a : {&c.incumbent, &c.candidate}) {
    a->requests += next();
    a->errors += next();
    for (int64_t& b : a->latency) b += next();
  }
  c.comparisons += next();
  c.score_sum += std::bit_cast<double>(GetLe(bytes, at));
  c.score_sq_sum += std::bit_cast<double>(GetLe(bytes, at));
  return true;
}

std::string SchemaSql(std::string_view id_column, std::string_view bytes_type) {
  return fmt::format(R"sql(
CREATE TABLE IF NOT EXISTS rollouts (
  route TEXT PRIMARY KEY,
  candidate TEXT NOT NULL,
  phase TEXT NOT NULL,
  stage INTEGER NOT NULL,
  stage_started_ms BIGINT NOT NULL,
  epoch BIGINT NOT NULL,
  reason TEXT NOT NULL,
  baseline_p95_ms DOUBLE PRECISION NOT NULL,
  version BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  report TEXT NOT NULL,
  stages TEXT NOT NULL DEFAULT '',
  incumbent TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS rollout_events (
  id {},
  time_ms BIGINT NOT NULL,
  route TEXT NOT NULL,
  candidate TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rollout_events_route ON rollout_events(route, id);
CREATE TABLE IF NOT EXISTS rollout_counts (
  route TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  replica TEXT NOT NULL,
  updated_ms BIGINT NOT NULL,
  data {} NOT NULL,
  PRIMARY KEY (route, epoch, replica)
);
CREATE TABLE IF NOT EXISTS rollout_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_ms BIGINT NOT NULL
);
)sql",
                     id_column, bytes_type);
}

std::string JoinStages(const std::vector<int>& stages) {
  std::string out;
  for (int v : stages) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::vector<int> SplitStages(std::string_view text) {
  std::vector<int> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    int v = 0;
    for (char ch : part) v = ch >= '0' && ch <= '9' && v < 1000 ? v * 10 + (ch - '0') : 1000;
    if (v < 1 || v > 100) return {};  // not ours: the config's stages apply
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string Describe(const routing::RolloutConfig& config, const State& state) {
  if (state.phase == Phase::kRunning || state.phase == Phase::kPaused) {
    return fmt::format("{} {}%", PhaseName(state.phase), SharePercent(config, state));
  }
  return std::string(PhaseName(state.phase));
}

std::string StoreConfig::Name() const {
  if (backend == "postgres") return "postgres";
  if (backend == "redis") {
    auto a = limits::ParseRedisUrl(redis_url);
    return a ? fmt::format("redis {}:{}/{}", a->host, a->port, a->db) : "redis";
  }
  return "sqlite " + path;
}

StoreConfig ResolveStoreConfig(const config::Config& config) {
  const config::RolloutsConfig& r = config.rollouts;
  StoreConfig sc;
  sc.backend = !r.backend.empty()                    ? r.backend
               : config.ledger.backend == "postgres" ? "postgres"
                                                     : "sqlite";
  sc.path = r.path;
  if (!sc.path.empty() && sc.path.front() != '/' && sc.path != ":memory:") {
    sc.path = (std::filesystem::path(config.source).parent_path() / sc.path).string();
  }
  sc.dsn = r.dsn;
  if (sc.dsn.empty() && !r.dsn_env.empty()) {
    if (const char* v = std::getenv(r.dsn_env.c_str())) sc.dsn = v;
  }
  if (sc.dsn.empty() && r.dsn_env.empty()) sc.dsn = config.ledger.dsn;
  sc.redis_url = !r.redis_url.empty() ? r.redis_url : config.limits.redis_url;
  return sc;
}

Result<std::unique_ptr<Store>> Store::Open(const StoreConfig& config) {
  if (config.backend == "postgres") {
    if (config.dsn.empty()) {
      return Fail(MakeError(ErrorCode::kInvalidRequest,
                            "rollout store: postgres without a dsn (rollouts.dsn, rollouts.dsn_env "
                            "or the ledger's)"));
    }
    return OpenPostgresStore(config.dsn);
  }
  if (config.backend == "redis") return OpenRedisStore(config.redis_url);
  return OpenSqliteStore(config.path);
}

Result<std::optional<State>> Store::Peek(const std::string& route) {
  std::lock_guard lock(mu_);
  State s;
  auto found = DoRead(route, s);
  if (!found) return Fail(std::move(found.error()));
  if (!*found) return std::optional<State>();
  return std::optional<State>(std::move(s));
}

Result<State> Store::Get(const std::string& route, const routing::RolloutConfig& config,
                         int64_t now_ms, std::string* replaced) {
  std::lock_guard lock(mu_);
  // Another replica may create or move the row between our read and write: the write is a
  // compare-and-set on what was read, and a lost race reads again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    State s;
    auto found = DoRead(route, s);
    if (!found) return Fail(std::move(found.error()));
    if (*found && s.candidate == config.candidate) {
      const std::vector<int>& stages = s.stages.empty() ? config.stages : s.stages;
      s.stage = std::clamp(s.stage, 0, static_cast<int>(stages.size()) - 1);
      return s;
    }
    if (*found && (s.phase == Phase::kRunning || s.phase == Phase::kPaused)) return s;
    // A new rollout (or a new candidate): it replaces the row.
    State fresh{
        .route = route,
        .candidate = config.candidate,
        .incumbent = config.incumbent,
        .stages = config.stages,
        .phase = config.start_paused ? Phase::kPending : Phase::kRunning,
        .stage_started_ms = now_ms,
        .epoch = *found ? s.epoch + 1 : 1,
        .reason = config.start_paused ? "configured; waiting for `rollout resume`" : "configured",
        .version = *found ? s.version + 1 : 1,
        .updated_ms = now_ms};
    auto wrote = DoWrite(fresh, *found ? s.version : 0, "");
    if (!wrote) return Fail(std::move(wrote.error()));
    if (*wrote) {
      if (*found && replaced) *replaced = fmt::format("{}: {}", s.candidate, PhaseName(s.phase));
      return fresh;
    }
  }
  return Fail(MakeError(ErrorCode::kUnavailable,
                        "rollout store: the row of route '" + route + "' kept changing"));
}

Result<bool> Store::Put(State& state) {
  std::lock_guard lock(mu_);
  State next = state;
  ++next.version;
  auto wrote = DoWrite(next, state.version, state.candidate);
  if (wrote && *wrote) ++state.version;
  return wrote;
}

Status Store::AddEvent(const Event& e) {
  std::lock_guard lock(mu_);
  return DoAddEvent(e);
}

Result<std::vector<Event>> Store::Events(const std::string& route, const std::string& candidate,
                                         int limit) {
  std::lock_guard lock(mu_);
  return DoEvents(route, candidate, limit);
}

Result<std::vector<Event>> Store::EventsAfter(const std::string& route, int64_t after_id, int limit,
                                              int64_t* last_id) {
  std::lock_guard lock(mu_);
  return DoEventsAfter(route, after_id, limit, last_id);
}

Status Store::PutCounts(const std::string& route, int64_t epoch, const std::string& replica,
                        const StageCounts& counts, int64_t now_ms) {
  std::lock_guard lock(mu_);
  return DoPutCounts(route, epoch, replica, EncodeCounts(counts), now_ms);
}

Result<StageCounts> Store::SumCounts(const std::string& route, int64_t epoch) {
  std::lock_guard lock(mu_);
  auto rows = DoCounts(route, epoch);
  if (!rows) return Fail(std::move(rows.error()));
  StageCounts sum;
  for (const std::string& r : *rows) {
    if (!AddEncodedCounts(r, sum)) {
      return Fail(MakeError(ErrorCode::kInternal, "rollout store: counts of another layout"));
    }
  }
  return sum;
}

Result<bool> Store::Lease(const std::string& name, const std::string& replica, int64_t now_ms,
                          int64_t ttl_ms) {
  std::lock_guard lock(mu_);
  return DoLease(name, replica, now_ms > INT64_MAX - ttl_ms ? INT64_MAX : now_ms + ttl_ms, now_ms);
}

void Store::ReleaseLeases(const std::string& replica) {
  std::lock_guard lock(mu_);
  DoReleaseLeases(replica);
}

}  // namespace hybridgate::rollout
