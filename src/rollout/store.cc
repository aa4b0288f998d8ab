#include "rollout/store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/sqlite_stmt.h"

namespace hybridgate::rollout {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS rollouts (
  route TEXT PRIMARY KEY,
  candidate TEXT NOT NULL,
  phase TEXT NOT NULL,
  stage INTEGER NOT NULL,
  stage_started_ms INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  reason TEXT NOT NULL,
  baseline_p95_ms REAL NOT NULL,
  version INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  report TEXT NOT NULL,
  stages TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS rollout_events (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
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
  epoch INTEGER NOT NULL,
  replica TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (route, epoch, replica)
);
CREATE TABLE IF NOT EXISTS rollout_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_ms INTEGER NOT NULL
);
)sql";

// StageCounts as stored: int64s (per arm: requests, errors, the latency buckets; comparisons),
// then the two score sums, in this machine's byte order (replicas share a SQLite file on one
// host).
constexpr size_t kCountInts = 2 * (2 + kLatencyBuckets) + 1;
constexpr size_t kCountBytes = kCountInts * sizeof(int64_t) + 2 * sizeof(double);

std::string Encode(const StageCounts& c) {
  std::vector<int64_t> ints;
  ints.reserve(kCountInts);
  for (const ArmCounts* a : {&c.incumbent, &c.candidate}) {
    ints.push_back(a->requests);
    ints.push_back(a->errors);
    ints.insert(ints.end(), a->latency.begin(), a->latency.end());
  }
  ints.push_back(c.comparisons);
  std::string out(kCountBytes, '\0');
  std::memcpy(out.data(), ints.data(), kCountInts * sizeof(int64_t));
  const double sums[2] = {c.score_sum, c.score_sq_sum};
  std::memcpy(out.data() + kCountInts * sizeof(int64_t), sums, sizeof(sums));
  return out;
}

// Adds a stored blob to `c`; false when it is not one.
bool AddDecoded(std::string_view blob, StageCounts& c) {
  if (blob.size() != kCountBytes) return false;
  std::vector<int64_t> ints(kCountInts);
  std::memcpy(ints.data(), blob.data(), kCountInts * sizeof(int64_t));
  double sums[2];
  std::memcpy(sums, blob.data() + kCountInts * sizeof(int64_t), sizeof(sums));
  size_t i = 0;
  for (ArmCounts* a : {&c.incumbent, &c.candidate}) {
    a->requests += ints[i++];
    a->errors += ints[i++];
    for (int64_t& b : a->latency) b += ints[i++];
  }
  c.comparisons += ints[i];
  c.score_sum += sums[0];
  c.score_sq_sum += sums[1];
  return true;
}

Error DbError(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kInternal,
                   fmt::format("rollout store: {}: {}", what, db ? sqlite3_errmsg(db) : "no db"));
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

}  // namespace

std::string Describe(const routing::RolloutConfig& config, const State& state) {
  if (state.phase == Phase::kRunning || state.phase == Phase::kPaused) {
    return fmt::format("{} {}%", PhaseName(state.phase), SharePercent(config, state));
  }
  return std::string(PhaseName(state.phase));
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Error e = DbError(db, "cannot open " + path);
    sqlite3_close(db);
    return Fail(std::move(e));
  }
  sqlite3_busy_timeout(db, 5000);
  // WAL: the gateway's controller and a person's CLI read and write it at once.
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = DbError(db, path);
    sqlite3_close(db);
    return Fail(std::move(e));
  }
  return std::unique_ptr<Store>(new Store(db));
}

Store::~Store() { sqlite3_close(db_); }

Result<bool> Store::Read(const std::string& route, State& out) {
  SqliteStmt st(
      db_,
      "SELECT candidate, phase, stage, stage_started_ms, epoch, reason, "
      "baseline_p95_ms, version, updated_ms, report, stages FROM rollouts WHERE route = ?");
  if (!st.ok()) return Fail(DbError(db_, "read"));
  st.Text(1, route);
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return Fail(DbError(db_, "read"));
  out.route = route;
  out.candidate = st.ColText(0);
  const auto phase = ParsePhase(st.ColText(1));
  if (!phase) return Fail(DbError(db_, "unknown phase '" + st.ColText(1) + "'"));
  out.phase = *phase;
  out.stage = static_cast<int>(st.ColInt(2));
  out.stage_started_ms = st.ColInt(3);
  out.epoch = st.ColInt(4);
  out.reason = st.ColText(5);
  out.baseline_p95_ms = st.ColReal(6);
  out.version = st.ColInt(7);
  out.updated_ms = st.ColInt(8);
  out.report_json = st.ColText(9);
  out.stages = SplitStages(st.ColText(10));
  return true;
}

Result<std::optional<State>> Store::Peek(const std::string& route) {
  std::lock_guard lock(mu_);
  State s;
  auto found = Read(route, s);
  if (!found) return Fail(std::move(found.error()));
  if (!*found) return std::optional<State>();
  return std::optional<State>(std::move(s));
}

Result<State> Store::Get(const std::string& route, const routing::RolloutConfig& config,
                         int64_t now_ms, std::string* replaced) {
  std::lock_guard lock(mu_);
  State s;
  auto found = Read(route, s);
  if (!found) return Fail(std::move(found.error()));
  if (*found && s.candidate == config.candidate) {
    const std::vector<int>& stages = s.stages.empty() ? config.stages : s.stages;
    s.stage = std::clamp(s.stage, 0, static_cast<int>(stages.size()) - 1);
    return s;
  }
  if (*found && (s.phase == Phase::kRunning || s.phase == Phase::kPaused)) return s;
  if (*found && replaced) *replaced = fmt::format("{}: {}", s.candidate, PhaseName(s.phase));
  // A new rollout (or a new candidate): it replaces the row.
  State fresh{
      .route = route,
      .candidate = config.candidate,
      .phase = config.start_paused ? Phase::kPending : Phase::kRunning,
      .stage_started_ms = now_ms,
      .epoch = *found ? s.epoch + 1 : 1,
      .reason = config.start_paused ? "configured; waiting for `rollout resume`" : "configured",
      .updated_ms = now_ms};
  SqliteStmt st(db_,
                "INSERT INTO rollouts (route, candidate, phase, stage, stage_started_ms, epoch, "
                "reason, baseline_p95_ms, version, updated_ms, report, stages) "
                "VALUES (?, ?, ?, 0, ?, ?, ?, 0, 1, ?, '', ?) "
                "ON CONFLICT(route) DO UPDATE SET candidate = excluded.candidate, "
                "phase = excluded.phase, stage = 0, stage_started_ms = excluded.stage_started_ms, "
                "epoch = excluded.epoch, reason = excluded.reason, baseline_p95_ms = 0, "
                "version = rollouts.version + 1, updated_ms = excluded.updated_ms, report = '', "
                "stages = excluded.stages");
  if (!st.ok()) return Fail(DbError(db_, "create"));
  st.Text(1, route);
  st.Text(2, fresh.candidate);
  st.Text(3, PhaseName(fresh.phase));
  st.Int(4, now_ms);
  st.Int(5, fresh.epoch);
  st.Text(6, fresh.reason);
  st.Int(7, now_ms);
  st.Text(8, JoinStages(config.stages));
  if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "create"));
  State stored;
  auto again = Read(route, stored);
  if (!again) return Fail(std::move(again.error()));
  return stored;
}

Result<bool> Store::Put(State& state) {
  std::lock_guard lock(mu_);
  SqliteStmt st(db_,
                "UPDATE rollouts SET phase = ?, stage = ?, stage_started_ms = ?, epoch = ?, "
                "reason = ?, baseline_p95_ms = ?, version = version + 1, updated_ms = ?, "
                "report = ?, stages = ? WHERE route = ? AND candidate = ? AND version = ?");
  if (!st.ok()) return Fail(DbError(db_, "write"));
  st.Text(1, PhaseName(state.phase));
  st.Int(2, state.stage);
  st.Int(3, state.stage_started_ms);
  st.Int(4, state.epoch);
  st.Text(5, state.reason);
  st.Real(6, state.baseline_p95_ms);
  st.Int(7, state.updated_ms);
  st.Text(8, state.report_json);
  st.Text(9, JoinStages(state.stages));
  st.Text(10, state.route);
  st.Text(11, state.candidate);
  st.Int(12, state.version);
  if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "write"));
  if (sqlite3_changes(db_) != 1) return false;
  ++state.version;
  return true;
}

Status Store::AddEvent(const Event& e) {
  std::lock_guard lock(mu_);
  SqliteStmt st(db_,
                "INSERT INTO rollout_events (time_ms, route, candidate, from_state, to_state, "
                "reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return Fail(DbError(db_, "event"));
  st.Int(1, e.time_ms);
  st.Text(2, e.route);
  st.Text(3, e.candidate);
  st.Text(4, e.from);
  st.Text(5, e.to);
  st.Text(6, e.reason);
  st.Text(7, e.actor);
  if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "event"));
  return {};
}

Result<std::vector<Event>> Store::Events(const std::string& route, const std::string& candidate,
                                         int limit) {
  std::lock_guard lock(mu_);
  SqliteStmt st(db_,
                "SELECT time_ms, route, candidate, from_state, to_state, reason, actor FROM "
                "rollout_events WHERE route = ? AND (? = '' OR candidate = ?) "
                "ORDER BY id DESC LIMIT ?");
  if (!st.ok()) return Fail(DbError(db_, "events"));
  st.Text(1, route);
  st.Text(2, candidate);
  st.Text(3, candidate);
  st.Int(4, limit);
  std::vector<Event> out;
  int rc = 0;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back({.time_ms = st.ColInt(0),
                   .route = st.ColText(1),
                   .candidate = st.ColText(2),
                   .from = st.ColText(3),
                   .to = st.ColText(4),
                   .reason = st.ColText(5),
                   .actor = st.ColText(6)});
  }
  if (rc != SQLITE_DONE) return Fail(DbError(db_, "events"));
  return out;
}

Result<std::vector<Event>> Store::EventsAfter(const std::string& route, int64_t after_id, int limit,
                                              int64_t* last_id) {
  std::lock_guard lock(mu_);
  std::vector<Event> out;
  if (after_id < 0) {
    SqliteStmt st(db_, "SELECT COALESCE(MAX(id), 0) FROM rollout_events WHERE route = ?");
    if (!st.ok()) return Fail(DbError(db_, "events"));
    st.Text(1, route);
    if (st.Step() != SQLITE_ROW) return Fail(DbError(db_, "events"));
    *last_id = st.ColInt(0);
    return out;
  }
  SqliteStmt st(db_,
                "SELECT id, time_ms, route, candidate, from_state, to_state, reason, actor FROM "
                "rollout_events WHERE route = ? AND id > ? ORDER BY id LIMIT ?");
  if (!st.ok()) return Fail(DbError(db_, "events"));
  st.Text(1, route);
  st.Int(2, after_id);
  st.Int(3, limit);
  int rc = 0;
  *last_id = after_id;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back({.id = st.ColInt(0),
                   .time_ms = st.ColInt(1),
                   .route = st.ColText(2),
                   .candidate = st.ColText(3),
                   .from = st.ColText(4),
                   .to = st.ColText(5),
                   .reason = st.ColText(6),
                   .actor = st.ColText(7)});
    *last_id = out.back().id;
  }
  if (rc != SQLITE_DONE) return Fail(DbError(db_, "events"));
  return out;
}

Status Store::PutCounts(const std::string& route, int64_t epoch, const std::string& replica,
                        const StageCounts& counts, int64_t now_ms) {
  std::lock_guard lock(mu_);
  SqliteStmt st(db_,
                "INSERT INTO rollout_counts (route, epoch, replica, updated_ms, data) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(route, epoch, replica) DO UPDATE SET "
                "updated_ms = excluded.updated_ms, data = excluded.data");
  if (!st.ok()) return Fail(DbError(db_, "counts"));
  st.Text(1, route);
  st.Int(2, epoch);
  st.Text(3, replica);
  st.Int(4, now_ms);
  const std::string blob = Encode(counts);
  sqlite3_bind_blob(st.get(), 5, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "counts"));
  SqliteStmt old(db_, "DELETE FROM rollout_counts WHERE route = ? AND epoch < ?");
  if (!old.ok()) return Fail(DbError(db_, "counts"));
  old.Text(1, route);
  old.Int(2, epoch);
  if (old.Step() != SQLITE_DONE) return Fail(DbError(db_, "counts"));
  return {};
}

Result<StageCounts> Store::SumCounts(const std::string& route, int64_t epoch) {
  std::lock_guard lock(mu_);
  SqliteStmt st(db_, "SELECT data FROM rollout_counts WHERE route = ? AND epoch = ?");
  if (!st.ok()) return Fail(DbError(db_, "counts"));
  st.Text(1, route);
  st.Int(2, epoch);
  StageCounts sum;
  int rc = 0;
  while ((rc = st.Step()) == SQLITE_ROW) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(st.get(), 0));
    const int n = sqlite3_column_bytes(st.get(), 0);
    if (!AddDecoded(std::string_view(p ? p : "", p ? static_cast<size_t>(n) : 0), sum)) {
      return Fail(DbError(db_, "counts: a row of another layout"));
    }
  }
  if (rc != SQLITE_DONE) return Fail(DbError(db_, "counts"));
  return sum;
}

Result<bool> Store::Lease(const std::string& name, const std::string& replica, int64_t now_ms,
                          int64_t ttl_ms) {
  std::lock_guard lock(mu_);
  SqliteStmt st(db_,
                "INSERT INTO rollout_leases (name, holder, expires_ms) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
                "expires_ms = excluded.expires_ms "
                "WHERE rollout_leases.holder = excluded.holder OR rollout_leases.expires_ms < ?");
  if (!st.ok()) return Fail(DbError(db_, "lease"));
  st.Text(1, name);
  st.Text(2, replica);
  st.Int(3, now_ms > INT64_MAX - ttl_ms ? INT64_MAX : now_ms + ttl_ms);
  st.Int(4, now_ms);
  if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "lease"));
  SqliteStmt who(db_, "SELECT holder FROM rollout_leases WHERE name = ?");
  if (!who.ok()) return Fail(DbError(db_, "lease"));
  who.Text(1, name);
  if (who.Step() != SQLITE_ROW) return Fail(DbError(db_, "lease"));
  return who.ColText(0) == replica;
}

void Store::ReleaseLeases(const std::string& replica) {
  std::lock_guard lock(mu_);
  SqliteStmt st(db_, "DELETE FROM rollout_leases WHERE holder = ?");
  if (!st.ok()) return;
  st.Text(1, replica);
  st.Step();
}

}  // namespace hybridgate::rollout
