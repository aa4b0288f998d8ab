// The rollout store in one SQLite file (rollout/store.h): one host's gateways and CLI.
#include <fmt/format.h>
#include <sqlite3.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/sqlite_stmt.h"
#include "rollout/store.h"

namespace hybridgate::rollout {

namespace {

Error DbError(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kInternal,
                   fmt::format("rollout store: {}: {}", what, db ? sqlite3_errmsg(db) : "no db"));
}

// Fields of a rollouts row, in this order, for SELECT and for writes.
constexpr const char* kColumns =
    "candidate, phase, stage, stage_started_ms, epoch, reason, baseline_p95_ms, version, "
    "updated_ms, report, stages, incumbent";

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close(db_); }

 private:
  Result<bool> DoRead(const std::string& route, State& out) override {
    SqliteStmt st(db_, fmt::format("SELECT {} FROM rollouts WHERE route = ?", kColumns).c_str());
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
    out.incumbent = st.ColText(11);
    return true;
  }

  Result<bool> DoWrite(const State& s, int64_t expected, const std::string& candidate) override {
    SqliteStmt st(
        db_,
        expected == 0
            ? "INSERT INTO rollouts (candidate, phase, stage, stage_started_ms, epoch, reason, "
              "baseline_p95_ms, version, updated_ms, report, stages, incumbent, route) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(route) DO NOTHING"
            : "UPDATE rollouts SET candidate = ?, phase = ?, stage = ?, stage_started_ms = ?, "
              "epoch = ?, reason = ?, baseline_p95_ms = ?, version = ?, updated_ms = ?, "
              "report = ?, stages = ?, incumbent = ? WHERE route = ? AND version = ? AND (? = '' "
              "OR candidate = ?)");
    if (!st.ok()) return Fail(DbError(db_, "write"));
    st.Text(1, s.candidate);
    st.Text(2, PhaseName(s.phase));
    st.Int(3, s.stage);
    st.Int(4, s.stage_started_ms);
    st.Int(5, s.epoch);
    st.Text(6, s.reason);
    st.Real(7, s.baseline_p95_ms);
    st.Int(8, s.version);
    st.Int(9, s.updated_ms);
    st.Text(10, s.report_json);
    st.Text(11, JoinStages(s.stages));
    st.Text(12, s.incumbent);
    st.Text(13, s.route);
    if (expected != 0) {
      st.Int(14, expected);
      st.Text(15, candidate);
      st.Text(16, candidate);
    }
    if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "write"));
    return sqlite3_changes(db_) == 1;
  }

  Status DoAddEvent(const Event& e) override {
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

  // Reads events (id, time_ms, route, candidate, from, to, reason, actor) from `st`.
  Result<std::vector<Event>> ReadEvents(SqliteStmt& st) {
    std::vector<Event> out;
    int rc = 0;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back({.id = st.ColInt(0),
                     .time_ms = st.ColInt(1),
                     .route = st.ColText(2),
                     .candidate = st.ColText(3),
                     .from = st.ColText(4),
                     .to = st.ColText(5),
                     .reason = st.ColText(6),
                     .actor = st.ColText(7)});
    }
    if (rc != SQLITE_DONE) return Fail(DbError(db_, "events"));
    return out;
  }

  Result<std::vector<Event>> DoEvents(const std::string& route, const std::string& candidate,
                                      int limit) override {
    SqliteStmt st(db_,
                  "SELECT id, time_ms, route, candidate, from_state, to_state, reason, actor FROM "
                  "rollout_events WHERE route = ? AND (? = '' OR candidate = ?) "
                  "ORDER BY id DESC LIMIT ?");
    if (!st.ok()) return Fail(DbError(db_, "events"));
    st.Text(1, route);
    st.Text(2, candidate);
    st.Text(3, candidate);
    st.Int(4, limit);
    return ReadEvents(st);
  }

  Result<std::vector<Event>> DoEventsAfter(const std::string& route, int64_t after_id, int limit,
                                           int64_t* last_id) override {
    if (after_id < 0) {
      SqliteStmt st(db_, "SELECT COALESCE(MAX(id), 0) FROM rollout_events WHERE route = ?");
      if (!st.ok()) return Fail(DbError(db_, "events"));
      st.Text(1, route);
      if (st.Step() != SQLITE_ROW) return Fail(DbError(db_, "events"));
      *last_id = st.ColInt(0);
      return std::vector<Event>();
    }
    SqliteStmt st(db_,
                  "SELECT id, time_ms, route, candidate, from_state, to_state, reason, actor FROM "
                  "rollout_events WHERE route = ? AND id > ? ORDER BY id LIMIT ?");
    if (!st.ok()) return Fail(DbError(db_, "events"));
    st.Text(1, route);
    st.Int(2, after_id);
    st.Int(3, limit);
    auto out = ReadEvents(st);
    if (out) *last_id = out->empty() ? after_id : out->back().id;
    return out;
  }

  Status DoPutCounts(const std::string& route, int64_t epoch, const std::string& replica,
                     const std::string& encoded, int64_t now_ms) override {
    SqliteStmt st(db_,
                  "INSERT INTO rollout_counts (route, epoch, replica, updated_ms, data) "
                  "VALUES (?, ?, ?, ?, ?) ON CONFLICT(route, epoch, replica) DO UPDATE SET "
                  "updated_ms = excluded.updated_ms, data = excluded.data");
    if (!st.ok()) return Fail(DbError(db_, "counts"));
    st.Text(1, route);
    st.Int(2, epoch);
    st.Text(3, replica);
    st.Int(4, now_ms);
    sqlite3_bind_blob(st.get(), 5, encoded.data(), static_cast<int>(encoded.size()),
                      SQLITE_TRANSIENT);
    if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "counts"));
    SqliteStmt old(db_, "DELETE FROM rollout_counts WHERE route = ? AND epoch < ?");
    if (!old.ok()) return Fail(DbError(db_, "counts"));
    old.Text(1, route);
    old.Int(2, epoch);
    if (old.Step() != SQLITE_DONE) return Fail(DbError(db_, "counts"));
    return {};
  }

  Result<std::vector<std::string>> DoCounts(const std::string& route, int64_t epoch) override {
    SqliteStmt st(db_, "SELECT data FROM rollout_counts WHERE route = ? AND epoch = ?");
    if (!st.ok()) return Fail(DbError(db_, "counts"));
    st.Text(1, route);
    st.Int(2, epoch);
    std::vector<std::string> out;
    int rc = 0;
    while ((rc = st.Step()) == SQLITE_ROW) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(st.get(), 0));
      const int n = sqlite3_column_bytes(st.get(), 0);
      out.emplace_back(p ? p : "", p ? static_cast<size_t>(n) : 0);
    }
    if (rc != SQLITE_DONE) return Fail(DbError(db_, "counts"));
    return out;
  }

  Result<bool> DoLease(const std::string& name, const std::string& replica, int64_t expires_ms,
                       int64_t now_ms) override {
    SqliteStmt st(db_,
                  "INSERT INTO rollout_leases (name, holder, expires_ms) VALUES (?, ?, ?) "
                  "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
                  "expires_ms = excluded.expires_ms "
                  "WHERE rollout_leases.holder = excluded.holder OR rollout_leases.expires_ms < ?");
    if (!st.ok()) return Fail(DbError(db_, "lease"));
    st.Text(1, name);
    st.Text(2, replica);
    st.Int(3, expires_ms);
    st.Int(4, now_ms);
    if (st.Step() != SQLITE_DONE) return Fail(DbError(db_, "lease"));
    SqliteStmt who(db_, "SELECT holder FROM rollout_leases WHERE name = ?");
    if (!who.ok()) return Fail(DbError(db_, "lease"));
    who.Text(1, name);
    if (who.Step() != SQLITE_ROW) return Fail(DbError(db_, "lease"));
    return who.ColText(0) == replica;
  }

  void DoReleaseLeases(const std::string& replica) override {
    SqliteStmt st(db_, "DELETE FROM rollout_leases WHERE holder = ?");
    if (!st.ok()) return;
    st.Text(1, replica);
    st.Step();
  }

  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
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
      sqlite3_exec(db, SchemaSql("INTEGER PRIMARY KEY", "BLOB").c_str(), nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    Error e = DbError(db, path);
    sqlite3_close(db);
    return Fail(std::move(e));
  }
  // A file made before rollouts kept their incumbent gets the column.
  bool has_incumbent = false;
  sqlite3_exec(
      db, "SELECT name FROM pragma_table_info('rollouts') WHERE name = 'incumbent'",
      [](void* found, int, char**, char**) {
        *static_cast<bool*>(found) = true;
        return 0;
      },
      &has_incumbent, nullptr);
  if (!has_incumbent &&
      sqlite3_exec(db, "ALTER TABLE rollouts ADD COLUMN incumbent TEXT NOT NULL DEFAULT ''",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = DbError(db, path);
    sqlite3_close(db);
    return Fail(std::move(e));
  }
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(db));
}

}  // namespace hybridgate::rollout
